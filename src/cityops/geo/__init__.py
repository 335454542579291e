"""Places: the five-level area tree, coordinate systems, the locator and GeoJSON import."""
