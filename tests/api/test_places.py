"""Areas, locate, GeoJSON import and placeholders through the API."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from shapely.geometry import box
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cityops.geo import service as geo_service
from cityops.geo.coords import Crs, convert
from cityops.geo.levels import AreaLevel
from cityops.models import Area
from tests.conftest import SHARED_DATA, needs_shared_data
from tests.factories import login, make_city, make_user


@pytest.fixture
def admin(client: TestClient, session: Session) -> dict[str, str]:
    make_city(session)
    make_user(session, username="city.admin", roles=["administrator"], area_code="990000")
    make_user(session, username="street.op", roles=["operator"], area_code="99010101")
    return login(client, "city.admin")


def test_locate_gives_the_whole_chain_in_any_crs(client: TestClient, admin: dict[str, str]) -> None:
    wgs = (121.02, 31.05)  # inside street 99010101, grid 01, far from its edges
    for crs in Crs:
        lon, lat = convert(*wgs, source=Crs.wgs84, target=crs)
        body = client.get("/api/v1/locate", params={"lon": lon, "lat": lat, "crs": crs.value}, headers=admin).json()
        assert [a["code"] for a in body["chain"]] == ["990000", "990101", "99010101", "9901010101", "990101010101"]
        assert body["lon"] == pytest.approx(wgs[0], abs=1e-6) and body["lat"] == pytest.approx(wgs[1], abs=1e-6)
        assert body["routable"] and not body["near_boundary"] and body["input_crs"] == crs.value


def test_a_point_on_a_street_boundary_is_flagged(client: TestClient, admin: dict[str, str]) -> None:
    body = client.get("/api/v1/locate", params={"lon": 121.1, "lat": 31.05}, headers=admin).json()
    assert body["near_boundary"] and body["boundary_distance_m"] < 1
    assert body["chain"][2]["code"] in {"99010101", "99010102"}


def test_street_user_locates_inside_only(client: TestClient, admin: dict[str, str]) -> None:
    street = login(client, "street.op")
    inside = client.get("/api/v1/locate", params={"lon": 121.02, "lat": 31.05}, headers=street).json()
    assert [a["code"] for a in inside["chain"]] == ["99010101", "9901010101", "990101010101"]
    outside = client.get("/api/v1/locate", params={"lon": 121.35, "lat": 31.05}, headers=street)
    assert outside.status_code == 403 and outside.json()["code"] == "outside_jurisdiction"
    assert "990102" not in outside.text


def test_placeholder_is_flagged_and_never_routable(client: TestClient, admin: dict[str, str]) -> None:
    gcj = convert(121.03, 31.06, source=Crs.wgs84, target=Crs.gcj02)
    created = client.post("/api/v1/placeholders", headers=admin,
                          json={"name": "市政府默认点", "lon": gcj[0], "lat": gcj[1], "crs": "gcj02", "radius_m": 40})
    assert created.status_code == 201 and created.json()["lon"] == pytest.approx(121.03, abs=1e-6)
    body = client.get("/api/v1/locate", params={"lon": 121.0302, "lat": 31.06}, headers=admin).json()
    assert body["placeholder"] == "市政府默认点" and not body["routable"]
    assert body["chain"][-1]["code"] == "990101010101"


def test_areas_list_filters_and_serves_simplified_geojson(client: TestClient, admin: dict[str, str]) -> None:
    page = client.get("/api/v1/areas", params={"level": "street", "parent": "990102"}, headers=admin).json()
    assert [a["code"] for a in page["items"]] == ["99010201", "99010202"] and page["total"] == 2
    response = client.get("/api/v1/areas", params={"level": "district", "format": "geojson", "simplify": 100},
                          headers=admin)
    assert response.headers["content-type"] == "application/geo+json"
    collection = response.json()
    assert collection["type"] == "FeatureCollection" and len(collection["features"]) == 2
    assert collection["features"][0]["geometry"]["type"] == "Polygon"
    detail = client.get("/api/v1/areas/99010101", params={"geometry": True}, headers=admin).json()
    assert [a["code"] for a in detail["chain"]] == ["990000", "990101", "99010101"]


def test_street_user_lists_only_its_street(client: TestClient, admin: dict[str, str]) -> None:
    street = login(client, "street.op")
    page = client.get("/api/v1/areas", headers=street).json()
    assert {a["code"][:8] for a in page["items"]} == {"99010101"} and page["total"] == 5
    assert page["items"][0]["parent_code"] is None  # the district is outside the street's view
    assert client.get("/api/v1/areas/990102", headers=street).status_code == 404


def _collection(features: list[dict]) -> bytes:
    return json.dumps({"type": "FeatureCollection", "features": features}).encode()


def _square(code: str, x: float, y: float, size: float = 0.01) -> dict:
    ring = [[x, y], [x + size, y], [x + size, y + size], [x, y + size], [x, y]]
    return {"type": "Feature", "properties": {"id": code, "nm": f"区域{code}"},
            "geometry": {"type": "Polygon", "coordinates": [ring]}}


def test_import_nests_each_feature_under_the_parent_holding_it(client: TestClient, admin: dict[str, str],
                                                               session: Session) -> None:
    # Two communities-to-be under grids of two different streets; no --parent given.
    body = _collection([_square("G1", 121.01, 31.01), _square("G2", 121.31, 31.11)])
    response = client.post("/api/v1/areas/import", headers=admin, files={"file": ("g.geojson", body)},
                           data={"level": "community", "code_field": "id", "name_field": "nm"})
    assert response.status_code == 201, response.text
    assert response.json()["parents"] == {"9901010101": 1, "9901020202": 1}
    located = client.get("/api/v1/locate", params={"lon": 121.315, "lat": 31.115}, headers=admin).json()
    assert located["area_code"] in {"G2", "990102020201"}


@pytest.mark.parametrize(("features", "field"), [
    ([_square("G1", 121.01, 31.01), _square("G1", 121.02, 31.02)], "features[1].properties.id"),
    ([_square("G1", 121.01, 31.01), {"type": "Feature", "properties": {"id": "G2", "nm": "x"},
                                     "geometry": {"type": "Point", "coordinates": [121, 31]}}],
     "features[1].geometry"),
    ([_square("G1", 121.01, 31.01), _square("G3", 100.0, 10.0)], "features[1]"),
])
def test_a_bad_file_imports_nothing(client: TestClient, admin: dict[str, str], session: Session,
                                    features: list[dict], field: str) -> None:
    before = session.scalar(select(func.count()).select_from(Area))
    response = client.post("/api/v1/areas/import", headers=admin,
                           files={"file": ("bad.geojson", _collection(features))},
                           data={"level": "community", "code_field": "id", "name_field": "nm"})
    assert response.status_code in (409, 422), response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["field"].startswith(field)
    assert session.scalar(select(func.count()).select_from(Area)) == before


def test_not_json_is_a_clear_error(client: TestClient, admin: dict[str, str]) -> None:
    response = client.post("/api/v1/areas/import", headers=admin, files={"file": ("x.geojson", b"{not json")},
                           data={"level": "district", "code_field": "id", "name_field": "nm", "parent": "990000"})
    assert response.status_code == 422 and response.json()["code"] == "invalid_file"


def test_existing_code_is_refused(client: TestClient, admin: dict[str, str]) -> None:
    body = _collection([_square("99010101", 121.01, 31.01)])
    response = client.post("/api/v1/areas/import", headers=admin, files={"file": ("g.geojson", body)},
                           data={"level": "community", "code_field": "id", "name_field": "nm"})
    assert response.status_code == 409 and response.json()["code"] == "duplicate_code"


@needs_shared_data
def test_import_real_shanghai_districts_from_gcj02(client: TestClient, session: Session) -> None:
    geo_service.create_area(session, code="310000", name="上海市", level=AreaLevel.city, parent=None,
                            geometry=box(120.8, 30.6, 122.2, 31.9), origin="test")
    make_user(session, username="sh.admin", roles=["administrator"], area_code="310000")
    headers = login(client, "sh.admin")
    raw = (SHARED_DATA / "china" / "shanghai_310000_districts.json").read_bytes()
    response = client.post("/api/v1/areas/import", headers=headers, files={"file": ("sh.json", raw)},
                           data={"level": "district", "code_field": "adcode", "name_field": "name",
                                 "city": "上海市", "crs": "gcj02"})
    assert response.status_code == 201, response.text
    assert response.json()["imported"] == 16 and response.json()["parents"] == {"310000": 16}
    huangpu = session.scalar(select(Area).where(Area.code == "310101"))
    assert huangpu.name == "黄浦区" and huangpu.path == "/310000/310101/"
    gcj_peoples_square = {"lon": 121.4737, "lat": 31.2304, "crs": "gcj02"}
    located = client.get("/api/v1/locate", params=gcj_peoples_square, headers=headers).json()
    assert [a["name"] for a in located["chain"]] == ["上海市", "黄浦区"]


def test_an_administrator_cannot_import_into_another_city(client: TestClient, admin: dict[str, str],
                                                          session: Session) -> None:
    before = session.scalar(select(func.count()).select_from(Area))
    body = _collection([_square("880101", 100.0, 10.0)])
    response = client.post("/api/v1/areas/import", headers=admin, files={"file": ("x.geojson", body)},
                           data={"level": "district", "code_field": "id", "name_field": "nm", "city": "别的市"})
    assert response.status_code == 403 and response.json()["code"] == "outside_jurisdiction"
    assert session.scalar(select(func.count()).select_from(Area)) == before


def test_the_locator_sees_changes_made_after_it_was_built(client: TestClient, admin: dict[str, str]) -> None:
    point = {"lon": 121.0502, "lat": 31.15}
    before = client.get("/api/v1/locate", params=point, headers=admin).json()
    assert before["placeholder"] is None and before["routable"]
    client.post("/api/v1/placeholders", headers=admin, json={"name": "区政府默认点", "lon": 121.05, "lat": 31.15})
    after = client.get("/api/v1/locate", params=point, headers=admin).json()
    assert after["placeholder"] == "区政府默认点" and not after["routable"]
