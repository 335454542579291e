"""Outlines simplified for a zoom level: fewer points when zoomed out, the same shape to the eye."""

from __future__ import annotations

import math

import pytest
from shapely.geometry import Polygon

from cityops.geo.outlines import pixel_size_m, simplified


def _wiggly_disc(points: int = 2000) -> Polygon:
    """A disc of about 5 km radius near Shanghai whose edge wiggles by a few metres."""
    return Polygon([(121.47 + 0.05 * (1 + 0.0005 * math.sin(40 * t)) * math.cos(t),
                     31.23 + 0.045 * (1 + 0.0005 * math.sin(40 * t)) * math.sin(t))
                    for t in (2 * math.pi * i / points for i in range(points))])


def test_a_pixel_halves_with_each_zoom_level() -> None:
    assert pixel_size_m(11, 31.2) == pytest.approx(pixel_size_m(10, 31.2) / 2)
    assert pixel_size_m(0, 0) == pytest.approx(156_543.03, rel=1e-6)


def test_zoomed_out_shapes_keep_fewer_points_and_their_area() -> None:
    disc = _wiggly_disc()
    city_view, street_view = simplified(disc, zoom=9), simplified(disc, zoom=16)
    assert len(city_view.exterior.coords) < len(street_view.exterior.coords) < len(disc.exterior.coords)
    assert len(city_view.exterior.coords) < 200
    for shape in (city_view, street_view):
        assert shape.is_valid
        assert shape.area == pytest.approx(disc.area, rel=0.05)
