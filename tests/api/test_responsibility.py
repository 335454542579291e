"""The responsibility matrix API: jurisdiction-scoped reads, guarded writes, CSV and route preview."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cityops.categories import service as categories_service
from cityops.org import service as org_service
from cityops.org.models import Responsibility
from tests.factories import login, make_city, make_user

STREET, OTHER_STREET = "99010101", "99010102"
PROBLEM = "application/problem+json"
HEADER = "category_code,area_code,lead_department_code,assisting_department_codes,joint_mode,note\n"


@pytest.fixture
def people(client: TestClient, session: Session) -> dict[str, dict[str, str]]:
    make_city(session)
    categories_service.seed_city_management(session)
    for code, level, area, fallback in [("d1-sanitation", "district", "990101", False),
                                        ("s11-office", "street", STREET, True),
                                        ("s11-cg", "street", STREET, False),
                                        ("s12-office", "street", OTHER_STREET, True)]:
        org_service.create_department(session, code=code, name=code, level=level, area_code=area,
                                      kind="general", is_area_fallback=fallback, origin="test")
    users = {"admin": ("administrator", "990000"), "dispatcher": ("dispatcher", STREET),
             "operator": ("operator", STREET), "other": ("dispatcher", OTHER_STREET)}
    for name, (role, area) in users.items():
        make_user(session, username=name, roles=[role], area_code=area)
    return {name: login(client, name) for name in users}


def cells(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Responsibility))


def put(client: TestClient, headers: dict, category: str, area: str, **body) -> object:  # noqa: ANN003
    return client.put(f"/api/v1/responsibilities/{category}/{area}", headers=headers, json=body)


def test_a_dispatcher_sets_replaces_and_removes_a_street_cell(client: TestClient, people: dict) -> None:
    created = put(client, people["dispatcher"], "E0102", STREET, lead_department_code="s11-cg",
                  assisting_department_codes=["d1-sanitation", "s11-office"], joint_mode="serial")
    assert created.status_code == 201, created.text
    assert created.json()["assisting_department_codes"] == ["d1-sanitation", "s11-office"]
    replaced = put(client, people["dispatcher"], "E0102", STREET, lead_department_code="s11-office")
    assert replaced.status_code == 200 and replaced.json()["assisting_department_codes"] == []
    got = client.get(f"/api/v1/responsibilities/E0102/{STREET}", headers=people["operator"])
    assert got.json()["lead_department_code"] == "s11-office"
    path = f"/api/v1/responsibilities/E0102/{STREET}"
    assert client.delete(path, headers=people["dispatcher"]).status_code == 204
    assert client.get(path, headers=people["operator"]).status_code == 404


def test_writes_need_the_permission_and_the_jurisdiction(client: TestClient, people: dict,
                                                         session: Session) -> None:
    put(client, people["other"], "E0102", OTHER_STREET, lead_department_code="s12-office")
    before = cells(session)
    assert put(client, {}, "E0102", STREET, lead_department_code="s11-cg").status_code == 401
    denied = put(client, people["operator"], "E0102", STREET, lead_department_code="s11-cg")
    assert denied.status_code == 403 and denied.json()["code"] == "permission_denied"
    outside = put(client, people["dispatcher"], "E0102", OTHER_STREET, lead_department_code="s12-office")
    assert outside.status_code == 403 and outside.json()["code"] == "outside_jurisdiction"
    assert outside.headers["content-type"] == PROBLEM
    removed = client.delete(f"/api/v1/responsibilities/E0102/{OTHER_STREET}", headers=people["dispatcher"])
    assert removed.status_code == 403
    assert cells(session) == before


def test_bad_cells_are_problems_with_a_field(client: TestClient, people: dict, session: Session) -> None:
    attempts = [
        (("E9999", STREET, {"lead_department_code": "s11-cg"}), 404, "category_code"),
        (("E0102", STREET, {"lead_department_code": "nobody"}), 404, "lead_department_code"),
        (("E0102", STREET, {"lead_department_code": "s12-office"}), 422, "lead_department_code"),
        (("E0102", STREET, {"lead_department_code": "s11-cg", "assisting_department_codes": ["s11-cg"]}), 422,
         "assisting_department_codes"),
        (("E0102", STREET, {"lead_department_code": "s11-cg", "joint_mode": "sideways"}), 422, "joint_mode"),
        (("E0102", STREET, {"lead_department_code": "s11-cg", "owner": "me"}), 422, "owner"),
    ]
    for (category, area, body), status, field in attempts:
        response = put(client, people["admin"], category, area, **body)
        assert response.status_code == status, response.text
        assert response.json()["field"] == field
    assert cells(session) == 0


def test_reading_is_scoped_to_the_jurisdiction(client: TestClient, people: dict) -> None:
    put(client, people["admin"], "E0102", STREET, lead_department_code="s11-cg")
    put(client, people["admin"], "E01", "990101", lead_department_code="d1-sanitation")
    put(client, people["admin"], "E0102", OTHER_STREET, lead_department_code="s12-office")
    mine = client.get("/api/v1/responsibilities", headers=people["operator"]).json()
    assert [(c["category_code"], c["area_code"]) for c in mine["items"]] == [("E0102", STREET)]
    everything = client.get("/api/v1/responsibilities", headers=people["admin"],
                            params={"area": "990101", "limit": 2}).json()
    assert everything["total"] == 3 and len(everything["items"]) == 2
    led = client.get("/api/v1/responsibilities", headers=people["admin"], params={"department": "s12-office"})
    assert [c["area_code"] for c in led.json()["items"]] == [OTHER_STREET]
    assert client.get(f"/api/v1/responsibilities/E0102/{OTHER_STREET}",
                      headers=people["operator"]).status_code == 404
    assert client.get("/api/v1/responsibilities").status_code == 401


def test_csv_import_and_export(client: TestClient, people: dict, session: Session) -> None:
    text = HEADER + (f"E0102,{STREET},s11-cg,d1-sanitation;s11-office,serial,先清运\n"
                     f"E01,{STREET},s11-office,,,\n")
    imported = client.post("/api/v1/responsibilities/import", headers=people["dispatcher"],
                           files={"file": ("m.csv", text.encode(), "text/csv")})
    assert imported.status_code == 200, imported.text
    assert imported.json() == {"rows": 2, "created": 2, "updated": 0, "unchanged": 0}
    exported = client.get("/api/v1/responsibilities/export", headers=people["operator"])
    assert exported.headers["content-type"].startswith("text/csv")
    assert exported.text == HEADER + (f"E01,{STREET},s11-office,,parallel,\n"
                                      f"E0102,{STREET},s11-cg,d1-sanitation;s11-office,serial,先清运\n")
    assert client.get("/api/v1/responsibilities/export", headers=people["other"]).text == HEADER
    denied = client.post("/api/v1/responsibilities/import", headers=people["operator"],
                         files={"file": ("m.csv", text.encode(), "text/csv")})
    assert denied.status_code == 403


def test_a_bad_csv_imports_nothing(client: TestClient, people: dict, session: Session) -> None:
    text = HEADER + f"E0102,{STREET},s11-cg,,,\nE0103,{OTHER_STREET},s12-office,,,\n"
    response = client.post("/api/v1/responsibilities/import", headers=people["dispatcher"],
                           files={"file": ("m.csv", text.encode(), "text/csv")})
    assert response.status_code == 422 and response.headers["content-type"] == PROBLEM
    assert response.json()["rows"] == [{"row": 3, "field": "area_code",
                                        "reason": f"area {OTHER_STREET} lies outside your jurisdiction "
                                                  f"({STREET})"}]
    assert cells(session) == 0


def test_route_preview(client: TestClient, people: dict) -> None:
    put(client, people["admin"], "E01", STREET, lead_department_code="s11-cg",
        assisting_department_codes=["s11-office"])
    routed = client.get("/api/v1/responsibilities/route", headers=people["operator"],
                        params={"category": "E0102", "area": STREET + "0101"})
    assert routed.status_code == 200, routed.text
    body = routed.json()
    assert (body["lead"], body["assisting"]) == ({"code": "s11-cg", "name": "s11-cg"},
                                                 [{"code": "s11-office", "name": "s11-office"}])
    assert (body["matched_area_code"], body["matched_category_code"]) == (STREET, "E01")
    assert not body["fallback"]
    fallback = client.get("/api/v1/responsibilities/route", headers=people["operator"],
                          params={"category": "C0101", "area": STREET}).json()
    assert (fallback["lead"]["code"], fallback["fallback"]) == ("s11-office", True)
    outside = client.get("/api/v1/responsibilities/route", headers=people["operator"],
                         params={"category": "E0102", "area": OTHER_STREET})
    assert outside.status_code == 403
    unroutable = client.get("/api/v1/responsibilities/route", headers=people["admin"],
                            params={"category": "E0102", "area": "990102"})
    assert unroutable.status_code == 409 and unroutable.json()["code"] == "unroutable"
    assert client.get("/api/v1/responsibilities/route", headers=people["admin"],
                      params={"category": "E0102"}).status_code == 422
