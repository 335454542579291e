"""Reading area boundaries from GeoJSON: real DataV files, broken files, and nesting under parents."""

from __future__ import annotations

import copy
import json

import pytest
import shapely
from shapely.geometry import box, shape

from cityops.errors import InvalidFile
from cityops.geo.coords import Crs, convert, convert_geometry
from cityops.geo.geojson import ParsedFeature, assign_parents, read_feature_collection
from cityops.geo.levels import AreaLevel
from cityops.geo.locator import AreaShape, equirectangular_m
from tests.conftest import SHARED_DATA, needs_shared_data

SHANGHAI = SHARED_DATA / "china" / "shanghai_310000_districts.json"
NANJING = SHARED_DATA / "china" / "nanjing_320100_districts.json"


def square(lon: float, lat: float, size: float = 0.01) -> list:
    return [[[lon, lat], [lon + size, lat], [lon + size, lat + size], [lon, lat + size], [lon, lat]]]


def collection(*features: dict) -> dict:
    return {"type": "FeatureCollection", "features": list(features)}


def feature(code, name, coordinates=None, kind="Polygon") -> dict:
    return {"type": "Feature", "properties": {"adcode": code, "name": name},
            "geometry": {"type": kind, "coordinates": coordinates or square(121.0, 31.0)}}


def read(raw, crs: Crs = Crs.wgs84) -> list[ParsedFeature]:
    return read_feature_collection(raw, code_field="adcode", name_field="name", crs=crs)


def refused(raw) -> InvalidFile:
    with pytest.raises(InvalidFile) as error:
        read(raw)
    return error.value


@needs_shared_data
def test_shanghai_districts_come_out_in_wgs84():
    raw = SHANGHAI.read_bytes()
    features = read(raw, crs=Crs.gcj02)
    assert len(features) == 16
    assert [f.code for f in features][:3] == ["310101", "310104", "310105"]
    assert features[0].name == "黄浦区" and features[0].properties["center"] == [121.490317, 31.222771]
    assert all(f.repaired is None and f.geometry.is_valid for f in features)
    assert {f.geometry.geom_type for f in features} == {"MultiPolygon"}
    source = shape(json.loads(raw)["features"][0]["geometry"])
    first_vertex = shapely.get_coordinates(source)[0]
    assert tuple(shapely.get_coordinates(features[0].geometry)[0]) == pytest.approx(
        convert(*first_vertex, source=Crs.gcj02, target=Crs.wgs84), abs=1e-9)
    # The datum shift moves Huangpu by a few hundred metres, not more.
    shift = equirectangular_m(*source.centroid.coords[0], *features[0].geometry.centroid.coords[0])
    assert 100 < shift < 700


@needs_shared_data
def test_nanjing_invalid_districts_are_repaired_and_say_why():
    features = read(NANJING.read_bytes(), crs=Crs.gcj02)
    assert len(features) == 11
    repaired = {f.name: f.repaired for f in features if f.repaired}
    assert set(repaired) == {"雨花台区", "高淳区"}
    assert all("Self-intersection" in reason and "gcj02" in reason for reason in repaired.values())
    sources = {f["properties"]["name"]: shape(f["geometry"])
               for f in json.loads(NANJING.read_text())["features"]}
    for f in features:
        assert f.geometry.is_valid and f.geometry.geom_type in ("Polygon", "MultiPolygon")
        # Repair keeps the area: the lost slivers are tiny.
        expected = convert_geometry(shapely.make_valid(sources[f.name]), source=Crs.gcj02, target=Crs.wgs84)
        assert f.geometry.area == pytest.approx(expected.area, rel=1e-3)


def test_accepts_bytes_text_dicts_and_a_byte_order_mark():
    document = collection(feature(310101, "黄浦区"))
    text = json.dumps(document, ensure_ascii=False)
    for raw in (document, text, text.encode(), b"\xef\xbb\xbf" + text.encode()):
        (parsed,) = read(raw)
        assert parsed.code == "310101" and parsed.name == "黄浦区" and parsed.index == 0


def test_codes_become_text():
    features = read(collection(feature(310101.0, "A"), feature(" 310102 ", "B", square(121.1, 31.0)),
                               feature("G-7", "C", square(121.2, 31.0))))
    assert [f.code for f in features] == ["310101", "310102", "G-7"]


def test_multipolygons_and_holes_survive():
    hole = [[121.02, 31.02], [121.03, 31.02], [121.03, 31.03], [121.02, 31.02]]
    holed = [square(121.0, 31.0, 0.1)[0], hole]
    (parsed,) = read(collection(feature(1, "A", [holed, square(121.5, 31.0)], kind="MultiPolygon")))
    assert parsed.geometry.geom_type == "MultiPolygon" and len(parsed.geometry.geoms[0].interiors) == 1


def test_altitudes_are_dropped():
    ring = [[lon, lat, 12.5] for lon, lat in square(121.0, 31.0)[0]]
    (parsed,) = read(collection(feature(1, "A", [ring])))
    assert not parsed.geometry.has_z


def test_a_bow_tie_is_repaired_to_its_two_triangles():
    bow_tie = [[[121.0, 31.0], [121.1, 31.1], [121.1, 31.0], [121.0, 31.1], [121.0, 31.0]]]
    (parsed,) = read(collection(feature(1, "A", bow_tie)))
    assert parsed.repaired.startswith("Self-intersection[121.05 31.05]")
    assert parsed.geometry.geom_type == "MultiPolygon" and len(parsed.geometry.geoms) == 2


@pytest.mark.parametrize(("raw", "field", "words"), [
    (b"{not json", "file", "not valid JSON"),
    (b"\xff\xfe{}", "file", "not valid JSON"),
    ({"type": "Feature"}, "type", "not a GeoJSON FeatureCollection"),
    (b"[1, 2]", "type", "not a GeoJSON FeatureCollection"),
    ({"type": "FeatureCollection"}, "features", "list of features"),
    (collection(), "features", "no features"),
    (collection({"type": "Polygon"}), "features[0]", "not a GeoJSON Feature"),
    (collection({"type": "Feature", "geometry": None}), "features[0].properties", "needs properties"),
])
def test_refuses_files_that_are_not_feature_collections(raw, field, words):
    error = refused(raw)
    assert error.field == field and words in error.detail and error.code == "invalid_file"


def broken(change) -> dict:
    """A good two-feature collection with ``change`` applied to it."""
    document = collection(feature(310101, "A"), feature(310102, "B", square(121.1, 31.0)))
    document = copy.deepcopy(document)
    change(document)
    return document


def set_in(path: list, value):
    def change(document):
        target = document
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
    return change


@pytest.mark.parametrize(("change", "field", "words"), [
    (set_in(["features", 1, "properties", "adcode"], None), "features[1].properties.adcode", "missing"),
    (set_in(["features", 0, "properties", "name"], ""), "features[0].properties.name", "empty"),
    (set_in(["features", 0, "properties", "name"], "  "), "features[0].properties.name", "not text"),
    (set_in(["features", 0, "properties", "adcode"], True), "features[0].properties.adcode", "not text"),
    (set_in(["features", 0, "properties", "adcode"], [1]), "features[0].properties.adcode", "not text"),
    (set_in(["features", 1, "properties", "adcode"], 310101), "features[1].properties.adcode",
     "repeats that of features[0]"),
    (set_in(["features", 0, "geometry"], None), "features[0].geometry", "no geometry"),
    (set_in(["features", 0, "geometry"], {"type": "Point", "coordinates": [121, 31]}),
     "features[0].geometry.type", "not Polygon or MultiPolygon"),
    (set_in(["features", 0, "geometry", "coordinates"], []), "features[0].geometry.coordinates",
     "non-empty list of rings"),
    (set_in(["features", 0, "geometry", "coordinates", 0], [[121, 31], [121.1, 31], [121, 31]]),
     "features[0].geometry.coordinates[0]", "at least 4 positions"),
    (set_in(["features", 0, "geometry", "coordinates", 0, 2], [200.0, 31.0]),
     "features[0].geometry.coordinates[0][2]", "outside lon -180..180"),
    (set_in(["features", 1, "geometry", "coordinates", 0, 1], [121.0, -91.0]),
     "features[1].geometry.coordinates[0][1]", "outside lon -180..180"),
    (set_in(["features", 0, "geometry", "coordinates", 0, 3], ["121", 31.0]),
     "features[0].geometry.coordinates[0][3]", "not a [lon, lat] position"),
    (set_in(["features", 0, "geometry", "coordinates", 0, 3], [121.0]),
     "features[0].geometry.coordinates[0][3]", "not a [lon, lat] position"),
    (set_in(["features", 0, "geometry"], {"type": "MultiPolygon", "coordinates": [square(121, 31), [[]]]}),
     "features[0].geometry.coordinates[1][0]", "at least 4 positions"),
    (set_in(["features", 0, "geometry"], {"type": "MultiPolygon", "coordinates": []}),
     "features[0].geometry.coordinates", "non-empty list of polygons"),
])
def test_refuses_bad_features_naming_the_json_path(change, field, words):
    error = refused(broken(change))
    assert error.field == field and words in error.detail
    assert error.extra["problems"][0] == {"field": field, "detail": error.detail}


def test_every_problem_is_reported_at_once():
    def two_problems(document):
        document["features"][0]["properties"]["adcode"] = ""
        document["features"][1]["geometry"] = None
    error = refused(broken(two_problems))
    assert error.field == "features[0].properties.adcode" and "and 1 more problem" in error.detail
    assert [p["field"] for p in error.extra["problems"]] == ["features[0].properties.adcode",
                                                             "features[1].geometry"]


def test_nan_coordinates_are_refused():
    text = json.dumps(collection(feature(1, "A"))).replace("121.01", "NaN", 1)
    assert refused(text).field == "file"  # NaN is not JSON at all
    document = collection(feature(1, "A"))
    document["features"][0]["geometry"]["coordinates"][0][1][0] = float("nan")
    assert refused(document).field == "features[0].geometry.coordinates[0][1]"


# ---- nesting under parents --------------------------------------------------------------------------

PARENTS = [AreaShape(1, "W", "West", AreaLevel.district, None, box(121.0, 31.0, 121.1, 31.1)),
           AreaShape(2, "E", "East", AreaLevel.district, None, box(121.1, 31.0, 121.2, 31.1))]


def parsed(geometry, index: int = 0) -> ParsedFeature:
    return ParsedFeature(index=index, code=str(index), name=str(index), geometry=geometry, repaired=None,
                         properties={})


@pytest.mark.parametrize(("geometry", "parent"), [
    (box(121.01, 31.01, 121.02, 31.02), 1),   # wholly inside West
    (box(121.15, 31.05, 121.16, 31.06), 2),   # wholly inside East
    (box(121.0, 31.0, 121.1, 31.1), 1),       # exactly West
    (box(121.07, 31.05, 121.11, 31.06), 1),   # 75 % West, 25 % East
    (box(121.09, 31.05, 121.13, 31.06), 2),   # 25 % West, 75 % East
    (box(121.19, 31.05, 121.23, 31.06), None),  # only 25 % inside any parent
    (box(122.0, 31.0, 122.1, 31.1), None),    # far away
])
def test_each_feature_goes_to_the_parent_holding_most_of_it(geometry, parent):
    assert assign_parents([parsed(geometry)], PARENTS) == [parent]


def test_assign_parents_keeps_order_and_handles_nothing():
    features = [parsed(box(121.15, 31.05, 121.16, 31.06), 0), parsed(box(121.01, 31.01, 121.02, 31.02), 1)]
    assert assign_parents(features, PARENTS) == [2, 1]
    assert assign_parents([], PARENTS) == []
    assert assign_parents(features, []) == [None, None]


@needs_shared_data
def test_pieces_of_real_districts_find_their_district():
    districts = read(SHANGHAI.read_bytes(), crs=Crs.gcj02)
    parents = [AreaShape(100 + i, d.code, d.name, AreaLevel.district, None, d.geometry)
               for i, d in enumerate(districts)]
    pieces = [parsed(d.geometry.representative_point().buffer(0.002), i) for i, d in enumerate(districts)]
    assert assign_parents(pieces, parents) == [p.id for p in parents]
