"""Subdividing polygons into exact tilings: the geometry under the demo city's synthetic areas."""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely.geometry import MultiPolygon, Point, Polygon, box, shape

from cityops.demo.subdivide import sample_inside, subdivide
from tests.conftest import SHARED_DATA, needs_shared_data


def assert_tiles(whole: Polygon | MultiPolygon, parts: list[Polygon | MultiPolygon], count: int) -> None:
    assert len(parts) == count
    for part in parts:
        assert isinstance(part, Polygon | MultiPolygon)
        assert part.is_valid, shapely.is_valid_reason(part)
        assert not part.is_empty
        assert all(piece.area > 0 for piece in shapely.get_parts(part))
    assert sum(p.area for p in parts) == pytest.approx(whole.area, rel=1e-9)
    union = shapely.union_all(parts)
    assert union.symmetric_difference(whole).area <= 1e-9 * whole.area
    for a, b in itertools.combinations(parts, 2):
        assert a.intersection(b).area <= 1e-9 * whole.area


def star_polygon(radii: list[float], centre: tuple[float, float] = (0.0, 0.0)) -> Polygon:
    """A concave polygon: vertices at equal angles and the given distances from ``centre``."""
    step = 2 * math.pi / len(radii)
    return Polygon([(centre[0] + r * math.cos(i * step), centre[1] + r * math.sin(i * step))
                    for i, r in enumerate(radii)])


convex_polygons = st.lists(st.tuples(st.floats(-50, 50), st.floats(-50, 50)), min_size=3, max_size=30).map(
    lambda pts: shapely.MultiPoint(pts).convex_hull).filter(
    lambda g: isinstance(g, Polygon) and g.area > 1.0 and g.minimum_rotated_rectangle.area < 30 * g.area)
concave_polygons = st.lists(st.floats(0.3, 10.0), min_size=5, max_size=40).map(star_polygon)


def test_one_part_is_the_whole() -> None:
    square = box(0, 0, 1, 1)
    assert subdivide(square, 1, seed=0) == [square]


def test_square_into_many_parts_of_similar_size() -> None:
    square = box(0, 0, 10, 10)
    parts = subdivide(square, 12, seed=3)
    assert_tiles(square, parts, 12)
    assert all(isinstance(p, Polygon) for p in parts)
    areas = [p.area for p in parts]
    assert max(areas) / min(areas) < 3


def test_same_seed_same_parts_other_seed_other_parts() -> None:
    shape_ = star_polygon([5, 2, 6, 3, 7, 2.5, 6, 1.5, 5, 3])
    first = subdivide(shape_, 7, seed=42)
    again = subdivide(shape_, 7, seed=42)
    other = subdivide(shape_, 7, seed=43)
    assert [p.wkb for p in first] == [p.wkb for p in again]
    assert [p.wkb for p in first] != [p.wkb for p in other]


def test_islands_all_belong_to_some_part() -> None:
    mainland = box(0, 0, 10, 10)
    islands = [box(12, 0, 12.2, 0.2), box(20, 20, 20.1, 20.1), box(-5, 4, -4.5, 4.5)]
    archipelago = MultiPolygon([mainland, *islands])
    parts = subdivide(archipelago, 5, seed=1)
    assert_tiles(archipelago, parts, 5)
    for island in islands:
        assert sum(1 for p in parts if p.covers(island.centroid)) == 1


def test_more_parts_than_islands_each_part_non_empty() -> None:
    pieces = MultiPolygon([box(i * 3, 0, i * 3 + 1, 1) for i in range(4)])
    parts = subdivide(pieces, 9, seed=5)
    assert_tiles(pieces, parts, 9)


def test_consecutive_parts_tend_to_be_neighbours() -> None:
    square = box(0, 0, 10, 10)
    parts = subdivide(square, 16, seed=9)
    touching = sum(1 for a, b in itertools.pairwise(parts) if a.distance(b) < 1e-9)
    assert touching >= 12


def test_x_scale_makes_parts_compact_in_scaled_units() -> None:
    wide = box(0, 0, 20, 10)
    parts = subdivide(wide, 8, seed=2, x_scale=0.5)
    assert_tiles(wide, parts, 8)
    widths = [p.bounds[2] - p.bounds[0] for p in parts]
    heights = [p.bounds[3] - p.bounds[1] for p in parts]
    assert np.mean(widths) > 1.3 * np.mean(heights)


def test_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        subdivide(box(0, 0, 1, 1), 0, seed=0)
    with pytest.raises(ValueError, match="zero-area"):
        subdivide(Polygon(), 2, seed=0)
    with pytest.raises(ValueError, match="invalid"):
        subdivide(Polygon([(0, 0), (1, 1), (1, 0), (0, 1)]), 2, seed=0)
    with pytest.raises(ValueError, match="Point"):
        subdivide(Point(0, 0), 2, seed=0)


def test_samples_lie_inside() -> None:
    shape_ = star_polygon([3, 1, 3, 1, 3, 1])
    points = sample_inside(shape_, 500, np.random.default_rng(0))
    assert points.shape == (500, 2)
    assert shapely.contains_xy(shape_, points[:, 0], points[:, 1]).all()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(polygon=convex_polygons, parts=st.integers(1, 12), seed=st.integers(0, 2**32 - 1))
def test_convex_polygons_tile_exactly(polygon: Polygon, parts: int, seed: int) -> None:
    assert_tiles(polygon, subdivide(polygon, parts, seed=seed), parts)


@settings(max_examples=40, deadline=None)
@given(polygon=concave_polygons, parts=st.integers(1, 12), seed=st.integers(0, 2**32 - 1),
       x_scale=st.sampled_from([1.0, 0.85, 0.5]))
def test_concave_polygons_tile_exactly(polygon: Polygon, parts: int, seed: int, x_scale: float) -> None:
    assert_tiles(polygon, subdivide(polygon, parts, seed=seed, x_scale=x_scale), parts)


@needs_shared_data
@pytest.mark.parametrize("adcode", ["310101", "310115", "310151"])
def test_real_district_tiles_exactly(adcode: str) -> None:
    features = json.loads((SHARED_DATA / "china" / "shanghai_310000_districts.json").read_text("utf-8"))
    district = next(shape(f["geometry"]) for f in features["features"]
                    if str(f["properties"]["adcode"]) == adcode)
    parts = subdivide(district, 20, seed=int(adcode), x_scale=math.cos(math.radians(31.2)))
    assert_tiles(district, parts, 20)
    # Only parts that picked up an island are multi-part.
    assert sum(isinstance(p, MultiPolygon) for p in parts) <= len(shapely.get_parts(district)) - 1


def test_empty_clusters_take_the_worst_served_points_without_emptying_others() -> None:
    from cityops.demo.subdivide import _fill_empty_clusters

    labels = np.array([0, 0, 0, 1, 1])
    costs = np.array([[0, 5, 5, 5], [1, 5, 5, 5], [9, 5, 5, 5], [5, 0, 5, 5], [5, 3, 5, 5]], dtype=float)
    assert _fill_empty_clusters(labels, costs, 4).tolist() == [0, 0, 2, 1, 3]
    lonely = np.array([0, 1, 1])
    assert sorted(_fill_empty_clusters(lonely, np.ones((3, 3)), 3).tolist()) == [0, 1, 2]
