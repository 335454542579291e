"""The public area outlines the citizen page draws its map from."""

from __future__ import annotations

from fastapi.testclient import TestClient
from shapely.geometry import Point, shape
from sqlalchemy.orm import Session

from tests.factories import make_city


def test_anyone_gets_the_districts_as_geojson(client: TestClient, session: Session) -> None:
    make_city(session)
    response = client.get("/api/v1/public/areas", params={"level": "district", "zoom": 10})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/geo+json")
    body = response.json()
    assert body["type"] == "FeatureCollection" and body["total"] == 2
    properties = [f["properties"] for f in body["features"]]
    centres = [p.pop("center") for p in properties]
    assert properties == [{"code": "990101", "name": "测试1区", "level": "district"},
                          {"code": "990102", "name": "测试2区", "level": "district"}]
    for feature, centre in zip(body["features"], centres, strict=True):
        assert feature["geometry"]["type"] == "Polygon"
        assert shape(feature["geometry"]).contains(Point(centre))  # where a keyboard user's pin goes


def test_the_streets_of_one_district(client: TestClient, session: Session) -> None:
    make_city(session)
    body = client.get("/api/v1/public/areas", params={"level": "street", "parent": "990102", "zoom": 13}).json()
    assert [f["id"] for f in body["features"]] == ["99010201", "99010202"]


def test_a_zoom_beyond_the_maps_range_is_refused(client: TestClient) -> None:
    response = client.get("/api/v1/public/areas", params={"zoom": 30})
    assert response.status_code == 422 and response.json()["field"] == "zoom"
