"""Area outlines for maps drawn in the browser: each polygon simplified to what a zoom level can show.

No map tiles can be reached offline, so the screens draw the areas themselves as vector shapes; a shape
simplified to about one screen pixel at the map's zoom looks the same and weighs a fraction.
"""

from __future__ import annotations

import math

import shapely
from shapely.geometry.base import BaseGeometry

# Web-map convention: at zoom 0 the equator's 40,075 km span 256 pixels.
METRES_PER_PIXEL_AT_ZOOM_0 = 156_543.03392
METRES_PER_DEGREE = 111_320.0
MIN_ZOOM = 6
MAX_ZOOM = 18


def pixel_size_m(zoom: int, lat: float) -> float:
    """Ground size of one screen pixel at ``zoom`` and latitude ``lat``."""
    return METRES_PER_PIXEL_AT_ZOOM_0 * math.cos(math.radians(lat)) / 2**zoom


def simplified(geometry: BaseGeometry, *, zoom: int) -> BaseGeometry:
    """``geometry`` (WGS84) simplified to one pixel at ``zoom``, its rings kept valid and its areas
    never dropped (topology preserved)."""
    tolerance_deg = pixel_size_m(zoom, geometry.centroid.y) / METRES_PER_DEGREE
    return shapely.simplify(geometry, tolerance_deg, preserve_topology=True)
