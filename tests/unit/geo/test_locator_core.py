"""The in-memory locator: area chains, gaps, boundaries, placeholders, and agreement with brute force."""

from __future__ import annotations

import math

import numpy as np
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely.geometry import box

from cityops.errors import InvalidInput, NotFound
from cityops.geo.levels import AreaLevel
from cityops.geo.locator import (
    METRES_PER_DEGREE,
    AreaShape,
    Locator,
    Placeholder,
    equirectangular_m,
)

# A small city near Shanghai, 0.04° square (about 3.8 km × 4.4 km):
#   district 2 is the west half, district 3 the east half;
#   district 2 has streets 4 (south-west quarter) and 5 (north-west quarter, with a hole);
#   the strip between x = 121.018 and 121.020 in district 2 has no street (a gap);
#   street 4 holds grids 6 and 7 (its west and east halves) but only up to y = 31.015 (another gap).
CITY = box(121.00, 31.00, 121.04, 31.04)
SHAPES = [
    AreaShape(1, "310000", "City", AreaLevel.city, None, CITY),
    AreaShape(2, "310101", "West", AreaLevel.district, 1, box(121.00, 31.00, 121.02, 31.04)),
    AreaShape(3, "310102", "East", AreaLevel.district, 1, box(121.02, 31.00, 121.04, 31.04)),
    AreaShape(4, "310101001", "South-west street", AreaLevel.street, 2, box(121.00, 31.00, 121.018, 31.02)),
    AreaShape(5, "310101002", "North-west street", AreaLevel.street, 2,
              shapely.Polygon(box(121.00, 31.02, 121.018, 31.04).exterior.coords,
                              [box(121.005, 31.025, 121.010, 31.030).exterior.coords])),
    AreaShape(6, "G6", "Grid 6", AreaLevel.grid, 4, box(121.000, 31.00, 121.009, 31.015)),
    AreaShape(7, "G7", "Grid 7", AreaLevel.grid, 4, box(121.009, 31.00, 121.018, 31.015)),
]
CITY_HALL = Placeholder("City hall", 121.03, 31.03, 50.0)


@pytest.fixture(scope="module")
def locator() -> Locator:
    return Locator(SHAPES, [CITY_HALL], boundary_distance_m=30.0)


def ids(chain) -> list[int]:
    return [ref.id for ref in chain]


def test_a_point_gets_its_whole_chain_from_parent_links(locator):
    location = locator.locate(121.004, 31.005)
    assert ids(location.chain) == [1, 2, 4, 6]
    assert [ref.level for ref in location.chain] == [AreaLevel.city, AreaLevel.district, AreaLevel.street,
                                                    AreaLevel.grid]
    assert location.leaf.code == "G6" and location.leaf.name == "Grid 6"
    assert location.routable and not location.near_boundary and location.placeholder is None
    assert locator.chain(6) == location.chain
    assert len(locator) == len(SHAPES)


@pytest.mark.parametrize(("lon", "lat", "leaf"), [
    (121.019, 31.010, 2),   # in district 2 but in no street
    (121.004, 31.018, 4),   # in street 4 above its grids
    (121.0075, 31.0275, 2),  # in the hole of street 5
    (121.030, 31.010, 3),   # district 3 has no streets at all
])
def test_gaps_fall_back_to_the_next_level_up(locator, lon, lat, leaf):
    assert locator.locate(lon, lat).leaf.id == leaf


@pytest.mark.parametrize(("lon", "lat"), [(121.05, 31.02), (0.0, 0.0), (-73.98, 40.75), (180.0, -90.0)])
def test_outside_every_area(locator, lon, lat):
    location = locator.locate(lon, lat)
    assert location.chain == () and location.leaf is None
    assert location.boundary_distance_m is None and not location.near_boundary
    assert not location.routable


def test_a_point_on_a_shared_edge_goes_to_a_neighbour_and_is_flagged(locator):
    location = locator.locate(121.009, 31.005)  # the edge between grids 6 and 7
    assert location.leaf.id in (6, 7)
    assert location.near_boundary and location.boundary_distance_m == pytest.approx(0.0, abs=1e-6)
    batch = locator.locate_many(np.array([121.009]), np.array([31.005]))
    assert batch.area_ids[0] == location.leaf.id and batch.near_boundary[0]


def test_the_outer_edge_belongs_to_the_city(locator):
    location = locator.locate(121.03, 31.04)
    assert ids(location.chain) == [1, 3] and location.near_boundary


@pytest.mark.parametrize("inside_m", [5.0, 29.0, 31.0, 200.0])
def test_boundary_distance_in_metres(locator, inside_m):
    # Due north of grid 6's southern edge (y = 31.0), well away from its other edges.
    location = locator.locate(121.0045, 31.0 + inside_m / METRES_PER_DEGREE)
    assert location.leaf.id == 6
    assert location.boundary_distance_m == pytest.approx(inside_m, rel=1e-3)
    assert location.near_boundary == (inside_m <= 30.0)


def test_east_west_distances_use_the_latitude(locator):
    # 20 m east of grid 6's western edge (x = 121.0) at latitude 31.005.
    lon = 121.0 + 20.0 / (METRES_PER_DEGREE * math.cos(math.radians(31.005)))
    assert locator.locate(lon, 31.005).boundary_distance_m == pytest.approx(20.0, rel=1e-2)


def test_a_placeholder_is_located_but_never_routable(locator):
    location = locator.locate(121.0302, 31.0301)
    assert location.placeholder == "City hall" and ids(location.chain) == [1, 3]
    assert not location.routable
    lons, lats = np.array([121.0302, 121.0310]), np.array([31.0301, 31.0301])  # ~20 m and ~95 m away
    assert locator.locate_many(lons, lats).placeholder.tolist() == [True, False]
    assert locator.locate(121.0310, 31.0301).placeholder is None


def test_a_placeholder_outside_every_area_still_counts():
    locator = Locator(SHAPES, [Placeholder("Ferry pier", 121.1, 31.1, 100.0)])
    location = locator.locate(121.1005, 31.1)
    assert location.placeholder == "Ferry pier" and location.chain == ()
    batch = locator.locate_many(np.array([121.1005, 121.1020]), np.array([31.1, 31.1]))
    assert batch.placeholder.tolist() == [True, False] and batch.area_ids.tolist() == [-1, -1]


def test_nearest_placeholder_names_the_point(locator):
    both = Locator(SHAPES, [Placeholder("Far", 121.0300, 31.0300, 500.0),
                            Placeholder("Near", 121.0305, 31.0300, 500.0)])
    assert both.locate(121.0306, 31.0300).placeholder == "Near"


def test_overlapping_areas_of_one_level_go_to_the_first_given():
    shapes = [AreaShape(1, "A", "A", AreaLevel.grid, None, box(0.0, 0.0, 0.02, 0.02)),
              AreaShape(2, "B", "B", AreaLevel.grid, None, box(0.01, 0.0, 0.03, 0.02))]
    assert Locator(shapes).locate(0.015, 0.01).leaf.id == 1
    assert Locator(shapes[::-1]).locate(0.015, 0.01).leaf.id == 2


def test_multipolygon_areas():
    islands = shapely.MultiPolygon([box(0.0, 0.0, 0.01, 0.01), box(0.02, 0.0, 0.03, 0.01)])
    locator = Locator([AreaShape(1, "I", "Islands", AreaLevel.district, None, islands)])
    assert locator.locate_many(np.array([0.005, 0.015, 0.025]), np.array([0.005] * 3)).area_ids.tolist() == [
        1, -1, 1]


def test_invalid_geometry_is_repaired_and_located():
    bow_tie = shapely.Polygon([(0, 0), (0.02, 0.02), (0.02, 0), (0, 0.02), (0, 0)])
    locator = Locator([AreaShape(1, "B", "Bow tie", AreaLevel.grid, None, bow_tie)])
    assert locator.locate(0.018, 0.01).leaf.id == 1
    assert locator.locate(0.01, 0.002).leaf is None


def test_stray_lines_and_points_in_a_collection_are_dropped():
    collection = shapely.GeometryCollection([box(0.0, 0.0, 0.01, 0.01), shapely.LineString([(0, 0), (1, 1)]),
                                             shapely.Point(0.5, 0.2)])
    locator = Locator([AreaShape(1, "C", "Clipped", AreaLevel.grid, None, collection)])
    assert locator.locate(0.005, 0.005).leaf.id == 1
    assert locator.locate(0.5, 0.5).leaf is None and locator.locate(0.5, 0.2).leaf is None


def test_rejects_broken_area_sets():
    with pytest.raises(ValueError, match="unique"):
        Locator([SHAPES[0], SHAPES[0]])
    with pytest.raises(ValueError, match="own ancestor"):
        Locator([AreaShape(1, "A", "A", AreaLevel.city, 2, box(0, 0, 1, 1)),
                 AreaShape(2, "B", "B", AreaLevel.district, 1, box(0, 0, 1, 1))])
    with pytest.raises(ValueError, match="no polygonal geometry"):
        Locator([AreaShape(1, "P", "Point", AreaLevel.city, None, shapely.Point(0, 0))])
    with pytest.raises(ValueError, match="boundary_distance_m"):
        Locator(SHAPES, boundary_distance_m=-1)


def test_a_missing_parent_ends_the_chain():
    orphan = AreaShape(9, "G9", "Orphan", AreaLevel.grid, 404, box(0, 0, 0.01, 0.01))
    assert ids(Locator([orphan]).chain(9)) == [9]


def test_bad_input(locator):
    with pytest.raises(NotFound):
        locator.chain(12345)
    with pytest.raises(InvalidInput) as error:
        locator.locate(121.0, math.nan)
    assert error.value.field == "lat"
    with pytest.raises(InvalidInput):
        locator.locate(181.0, 31.0)
    with pytest.raises(ValueError, match="1-D"):
        locator.locate_many(np.zeros(3), np.zeros(2))


def test_batch_edge_cases(locator):
    batch = locator.locate_many(np.array([np.nan, np.inf, 121.004]), np.array([31.005, 31.005, np.nan]))
    assert batch.area_ids.tolist() == [-1, -1, -1] and not batch.near_boundary.any()
    empty = locator.locate_many(np.array([]), np.array([]))
    assert empty.area_ids.dtype == np.int64 and len(empty.area_ids) == 0


def test_an_empty_locator_knows_nothing():
    locator = Locator([])
    assert len(locator) == 0 and locator.locate(121.0, 31.0).chain == ()
    assert locator.locate_many(np.array([121.0]), np.array([31.0])).area_ids.tolist() == [-1]


# ---- agreement with brute force -------------------------------------------------------------------


def brute_force(shapes: list[AreaShape], lons: np.ndarray, lats: np.ndarray) -> np.ndarray:
    """Deepest area holding each point (boundary included), the first given among equals; -1 if none."""
    points = shapely.points(lons, lats)
    answer = np.full(len(lons), -1, dtype=np.int64)
    best_rank = np.full(len(lons), -1)
    for shape in shapes:
        fresh = shapely.from_wkb(shapely.to_wkb(shape.geometry))  # unprepared, independent of the locator
        holds = shapely.intersects(fresh, points) & (shape.level.rank > best_rank)
        answer[holds], best_rank[holds] = shape.id, shape.level.rank
    return answer


def boundary_distance_at_point_latitude(geometry, lon: float, lat: float) -> float:
    """Metres to the boundary on the plane tangent at the point's own latitude."""
    scale = math.cos(math.radians(lat))
    local = shapely.transform(shapely.boundary(geometry),
                              lambda c: np.column_stack(((c[:, 0] - lon) * scale, c[:, 1] - lat)))
    return shapely.distance(local, shapely.Point(0, 0)) * METRES_PER_DEGREE


def haversine_m(lon1, lat1, lon2, lat2) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    half_chord = (math.sin((p2 - p1) / 2) ** 2
                  + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2)
    return 2 * 6_371_008.8 * math.asin(math.sqrt(half_chord))


def edge_points(shapes: list[AreaShape], rng: np.random.Generator, count: int) -> np.ndarray:
    """Vertices of the areas and points along their edges: the hard cases."""
    rings = shapely.get_rings(shapely.get_parts([s.geometry for s in shapes]))
    coords, ring = shapely.get_coordinates(rings, return_index=True)
    segment_start = rng.choice(np.flatnonzero(ring[1:] == ring[:-1]), count)
    along = rng.choice([0.0, 0.25, 0.5], count)[:, None]  # 0: the vertex itself
    return coords[segment_start] + (coords[segment_start + 1] - coords[segment_start]) * along


def tessellated_city(rng: np.random.Generator, cells: int, lat0: float) -> list[AreaShape]:
    """A district with a lake, and a Voronoi grid over part of it (the rest is a gap), in a city."""
    city = box(100.0, lat0, 100.06, lat0 + 0.05)
    lake = box(100.02, lat0 + 0.012, 100.026, lat0 + 0.018).exterior.coords
    district = shapely.Polygon([(100.005, lat0 + 0.005), (100.055, lat0 + 0.004), (100.05, lat0 + 0.045),
                                (100.03, lat0 + 0.03), (100.01, lat0 + 0.046)], [lake])
    seeds = shapely.multipoints(rng.uniform((100.0, lat0), (100.06, lat0 + 0.05), size=(cells, 2)))
    voronoi = shapely.get_parts(shapely.voronoi_polygons(seeds, extend_to=city))
    grids = [g for g in shapely.intersection(voronoi, district) if g.is_valid and not g.is_empty
             and g.geom_type in ("Polygon", "MultiPolygon")]
    kept = [g for g in grids if rng.uniform() < 0.8]  # the rest leaves gaps in the district
    shapes = [AreaShape(1, "C", "City", AreaLevel.city, None, city),
              AreaShape(2, "D", "District", AreaLevel.district, 1, district)]
    shapes += [AreaShape(10 + i, f"G{i}", f"Grid {i}", AreaLevel.grid, 2, g) for i, g in enumerate(kept)]
    return shapes


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), cells=st.integers(2, 120), lat0=st.floats(-60.0, 60.0),
       boundary_distance_m=st.sampled_from([0.0, 5.0, 30.0, 120.0, 600.0]))
def test_locate_many_equals_brute_force(seed, cells, lat0, boundary_distance_m):
    rng = np.random.default_rng(seed)
    shapes = tessellated_city(rng, cells, lat0)
    placeholder = Placeholder("P", 100.03 + rng.uniform(-0.02, 0.02), lat0 + 0.025,
                              radius_m=float(rng.uniform(20, 400)))
    locator = Locator(shapes, [placeholder], boundary_distance_m=boundary_distance_m)
    extent = np.array([[99.995, lat0 - 0.005], [100.065, lat0 + 0.055]])
    points = np.vstack([rng.uniform(extent[0], extent[1], size=(3000, 2)), edge_points(shapes, rng, 500)])
    lons, lats = points[:, 0], points[:, 1]

    batch = locator.locate_many(lons, lats)
    expected = brute_force(shapes, lons, lats)
    np.testing.assert_array_equal(batch.area_ids, expected)
    assert not batch.near_boundary[expected == -1].any()

    by_id = {s.id: s for s in shapes}
    checked = np.concatenate([rng.choice(3000, 300, replace=False), np.arange(3000, len(points))])
    for i in checked.tolist():
        distance_to_placeholder = haversine_m(lons[i], lats[i], placeholder.lon, placeholder.lat)
        if abs(distance_to_placeholder - placeholder.radius_m) > 1e-3 * placeholder.radius_m:
            assert batch.placeholder[i] == (distance_to_placeholder <= placeholder.radius_m)
        if expected[i] == -1:
            continue
        distance = boundary_distance_at_point_latitude(by_id[expected[i]].geometry, lons[i], lats[i])
        # The locator measures on a plane about the areas' middle latitude: 1 % slack at most here.
        if abs(distance - boundary_distance_m) > 1e-2 * boundary_distance_m + 1e-6:
            assert batch.near_boundary[i] == (distance <= boundary_distance_m), (i, distance)


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_locate_and_locate_many_agree(seed):
    rng = np.random.default_rng(seed)
    shapes = tessellated_city(rng, 60, 31.0)
    locator = Locator(shapes, [Placeholder("P", 100.03, 31.025, 300.0)])
    points = np.vstack([rng.uniform((100.0, 31.0), (100.06, 31.05), size=(150, 2)),
                        edge_points(shapes, rng, 50)])
    batch = locator.locate_many(points[:, 0], points[:, 1])
    for (lon, lat), area_id, near, placeholder in zip(points, batch.area_ids, batch.near_boundary,
                                                       batch.placeholder, strict=True):
        location = locator.locate(float(lon), float(lat))
        assert (location.leaf.id if location.leaf else -1) == area_id
        assert location.near_boundary == near and (location.placeholder is not None) == placeholder
        if location.leaf:
            assert location.chain == locator.chain(int(area_id))


def test_a_realistic_grid_layer_agrees_with_an_strtree():
    rng = np.random.default_rng(7)
    shapes = tessellated_city(rng, 3000, 31.2)
    grids = [s for s in shapes if s.level is AreaLevel.grid]
    locator = Locator(grids)
    points = rng.uniform((100.0, 31.2), (100.06, 31.25), size=(100_000, 2))
    point_at, grid_at = shapely.STRtree([g.geometry for g in grids]).query(shapely.points(points),
                                                                             predicate="within")
    expected = np.full(len(points), -1)
    expected[point_at] = np.array([g.id for g in grids])[grid_at]
    np.testing.assert_array_equal(locator.locate_many(points[:, 0], points[:, 1]).area_ids, expected)


def test_equirectangular_distance():
    assert equirectangular_m(121.0, 31.0, 121.0, 31.001) == pytest.approx(111.195, rel=1e-4)
    east = haversine_m(121.0, 31.0, 121.01, 31.0)
    assert equirectangular_m(121.0, 31.0, 121.01, 31.0) == pytest.approx(east, rel=1e-6)


def test_placeholders_alone_are_found_before_any_area_is_imported() -> None:
    locator = Locator([], [Placeholder(name="默认点", lon=121.0, lat=31.0, radius_m=30.0)])
    assert locator.locate(121.0, 31.0).placeholder == "默认点"
    assert locator.locate(121.0, 31.0).chain == () and not locator.locate(121.0, 31.0).routable
    assert locator.locate(121.01, 31.0).placeholder is None
