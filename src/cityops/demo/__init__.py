"""The demo city (issue #3): Shanghai's or Nanjing's real districts and street names, with
synthetic street, grid and community polygons, units, a responsibility matrix and demo logins."""
