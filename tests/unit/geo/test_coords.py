"""WGS84 ↔ GCJ-02 ↔ BD-09: published pairs, accurate inverses, no shift abroad."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from hypothesis import given
from hypothesis import strategies as st

from cityops.geo.coords import Crs, convert, convert_geometry, convert_many, in_china
from cityops.geo.locator import equirectangular_m

# googollee/eviltransform's test suite (every port uses them): (wgs lat, wgs lon, gcj lat, gcj lon).
EVILTRANSFORM_PAIRS = [
    (31.1774276, 121.5272106, 31.17530398364597, 121.531541859215),  # Shanghai
    (22.543847, 113.912316, 22.540796131694766, 113.9171764808363),  # Shenzhen
    (39.911954, 116.377817, 39.91334545536069, 116.38404722455657),  # Beijing
]
# wandergis/coordtransform's test/app.js: each function applied to (116.404, 39.915).
COORDTRANSFORM_INPUT = (116.404, 39.915)
COORDTRANSFORM_FORWARD = {
    (Crs.wgs84, Crs.gcj02): (116.41024449916938, 39.91640428150164),
    (Crs.gcj02, Crs.bd09): (116.41036949371029, 39.92133699351021),
}
# Its inverses are the common one-step approximations; ours must land near them and do better.
COORDTRANSFORM_ONE_STEP = {
    (Crs.gcj02, Crs.wgs84): (116.39775550083061, 39.91359571849836),
    (Crs.bd09, Crs.gcj02): (116.39762729119315, 39.90865673957631),
}

# Denver, Brisbane, Rio de Janeiro (eviltransform's edge cases), London, Tokyo.
ABROAD = [(-104.9903, 39.7392), (153.0251, -27.4698), (-43.1729, -22.9068), (-0.1276, 51.5072),
          (139.767125, 35.681236)]

china_lons = st.floats(min_value=73.5, max_value=135.0)
china_lats = st.floats(min_value=18.0, max_value=53.5)
crs_values = st.sampled_from(list(Crs))


@pytest.mark.parametrize(("wgs_lat", "wgs_lon", "gcj_lat", "gcj_lon"), EVILTRANSFORM_PAIRS)
def test_wgs84_to_gcj02_matches_eviltransform(wgs_lat, wgs_lon, gcj_lat, gcj_lon):
    assert convert(wgs_lon, wgs_lat, source=Crs.wgs84, target=Crs.gcj02) == pytest.approx(
        (gcj_lon, gcj_lat), abs=1e-9)


@pytest.mark.parametrize(("wgs_lat", "wgs_lon", "gcj_lat", "gcj_lon"), EVILTRANSFORM_PAIRS)
def test_gcj02_to_wgs84_recovers_eviltransform_inputs(wgs_lat, wgs_lon, gcj_lat, gcj_lon):
    assert convert(gcj_lon, gcj_lat, source=Crs.gcj02, target=Crs.wgs84) == pytest.approx(
        (wgs_lon, wgs_lat), abs=1e-8)


@pytest.mark.parametrize(("pair", "expected"), list(COORDTRANSFORM_FORWARD.items()))
def test_forward_formulas_match_coordtransform(pair, expected):
    source, target = pair
    assert convert(*COORDTRANSFORM_INPUT, source=source, target=target) == pytest.approx(expected, abs=1e-9)


@pytest.mark.parametrize(("pair", "one_step"), list(COORDTRANSFORM_ONE_STEP.items()))
def test_inverses_are_iterated_not_one_step_approximations(pair, one_step):
    source, target = pair
    ours = convert(*COORDTRANSFORM_INPUT, source=source, target=target)
    # The one-step answer misses: converting it forward again does not give back the input ...
    assert equirectangular_m(*convert(*one_step, source=target, target=source), *COORDTRANSFORM_INPUT) > 0.01
    # ... ours does, to a millimetre, and lies close to the one-step answer.
    assert equirectangular_m(*convert(*ours, source=target, target=source), *COORDTRANSFORM_INPUT) < 1e-3
    assert equirectangular_m(*ours, *one_step) < 1.0


def test_the_shift_in_shanghai_is_hundreds_of_metres():
    lon, lat = 121.4737, 31.2304
    shifted = convert(lon, lat, source=Crs.wgs84, target=Crs.gcj02)
    assert 100 < equirectangular_m(lon, lat, *shifted) < 700


@pytest.mark.parametrize(("lon", "lat"), ABROAD)
@pytest.mark.parametrize(("source", "target"), [(Crs.wgs84, Crs.gcj02), (Crs.gcj02, Crs.wgs84)])
def test_no_shift_outside_china(lon, lat, source, target):
    assert not in_china(lon, lat)
    assert convert(lon, lat, source=source, target=target) == (lon, lat)


def test_same_system_is_the_identity():
    for crs in Crs:
        assert convert(121.5, 31.2, source=crs, target=crs) == (121.5, 31.2)


def test_wgs84_to_bd09_goes_through_gcj02():
    gcj = convert(121.5, 31.2, source=Crs.wgs84, target=Crs.gcj02)
    assert convert(121.5, 31.2, source=Crs.wgs84, target=Crs.bd09) == convert(*gcj, source=Crs.gcj02,
                                                                              target=Crs.bd09)


@given(lon=china_lons, lat=china_lats, source=crs_values, target=crs_values)
def test_round_trips_within_a_millionth_of_a_degree(lon, lat, source, target):
    there = convert(lon, lat, source=source, target=target)
    back = convert(*there, source=target, target=source)
    assert back == pytest.approx((lon, lat), abs=1e-6)


@given(lon=china_lons, lat=china_lats)
def test_gcj02_inverse_reproduces_its_input_to_the_tolerance(lon, lat):
    wgs = convert(lon, lat, source=Crs.gcj02, target=Crs.wgs84)
    assert convert(*wgs, source=Crs.wgs84, target=Crs.gcj02) == pytest.approx((lon, lat), abs=1e-7)


@given(points=st.lists(st.tuples(st.floats(-180, 180), st.floats(-90, 90)), min_size=1, max_size=30),
       source=crs_values, target=crs_values)
def test_vector_and_scalar_agree(points, source, target):
    lons, lats = np.array(points).T
    many_lons, many_lats = convert_many(lons, lats, source=source, target=target)
    for lon, lat, many_lon, many_lat in zip(lons, lats, many_lons, many_lats, strict=True):
        # The vector inverse iterates until its worst point converges, so it may be a hair closer.
        one = convert(lon, lat, source=source, target=target)
        assert one == pytest.approx((many_lon, many_lat), abs=1e-9)


def test_convert_many_rejects_mismatched_shapes_and_leaves_inputs_alone():
    lons, lats = np.array([121.5, 121.6]), np.array([31.2, 31.3])
    with pytest.raises(ValueError, match="differ in shape"):
        convert_many(lons, lats[:1], source=Crs.wgs84, target=Crs.gcj02)
    same_lons, _ = convert_many(lons, lats, source=Crs.wgs84, target=Crs.wgs84)
    same_lons[0] = 0.0
    assert lons[0] == 121.5


def test_a_nan_in_a_batch_stays_nan_and_spoils_nothing_else():
    lons, lats = convert_many(np.array([np.nan, 121.5]), np.array([31.2, 31.2]), source=Crs.gcj02,
                              target=Crs.wgs84)
    assert np.isnan(lons[0])
    assert (lons[1], lats[1]) == pytest.approx(convert(121.5, 31.2, source=Crs.gcj02, target=Crs.wgs84),
                                               abs=1e-12)


def test_convert_geometry_moves_every_vertex():
    polygon = shapely.Polygon([(121.40, 31.20), (121.50, 31.20), (121.50, 31.25), (121.40, 31.20)],
                              [[(121.46, 31.21), (121.48, 31.21), (121.48, 31.22), (121.46, 31.21)]])
    converted = convert_geometry(polygon, source=Crs.gcj02, target=Crs.wgs84)
    before, after = shapely.get_coordinates(polygon), shapely.get_coordinates(converted)
    assert len(shapely.get_interior_ring(converted, 0).coords) == 4
    for (lon, lat), moved in zip(before, after, strict=True):
        assert tuple(moved) == pytest.approx(convert(lon, lat, source=Crs.gcj02, target=Crs.wgs84), abs=1e-9)
    assert convert_geometry(polygon, source=Crs.bd09, target=Crs.bd09) is polygon
