"""Open311 GeoReport v2: the city's services and service requests in the standard citizens' apps speak."""
