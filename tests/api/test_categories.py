"""The categories API: public reads, permission-guarded writes, CSV import and export."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cityops.categories import service
from cityops.categories.models import Category
from tests.factories import login, make_city, make_user

PROBLEM = "application/problem+json"
HEADER = "code,name,kind,parent_code,register,dispatch,acknowledge,handle,verify,active\n"


@pytest.fixture
def admin(client: TestClient, session: Session) -> dict[str, str]:
    make_city(session)
    service.seed_city_management(session)
    make_user(session, username="city.admin", roles=["administrator"], area_code="990000")
    return login(client, "city.admin")


@pytest.fixture
def operator(client: TestClient, admin: dict[str, str], session: Session) -> dict[str, str]:
    make_user(session, username="city.operator", roles=["operator"], area_code="990000")
    return login(client, "city.operator")


def count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Category))


def test_anyone_can_list_filter_and_page_categories(client: TestClient, admin: dict[str, str]) -> None:
    response = client.get("/api/v1/categories", params={"kind": "component", "depth": 0})
    assert response.status_code == 200
    body = response.json()
    assert [c["code"] for c in body["items"]] == ["C01", "C02", "C03", "C04", "C05", "C06", "C07"]
    assert body["items"][0]["time_limits"] == {"register": "1wh", "dispatch": "1wh", "acknowledge": "2wh",
                                               "handle": "3wd", "verify": "4wh"}
    children = client.get("/api/v1/categories", params={"parent": "E01", "limit": 3, "offset": 1}).json()
    assert [c["code"] for c in children["items"]] == ["E0102", "E0103", "E0104"] and children["total"] == 12
    found = client.get("/api/v1/categories", params={"q": "井盖"}).json()
    assert found["total"] >= 12 and all("井盖" in c["name"] for c in found["items"])


def test_the_tree_nests_subclasses(client: TestClient, admin: dict[str, str]) -> None:
    body = client.get("/api/v1/categories/tree", params={"kind": "event"}).json()
    assert [n["code"] for n in body["items"]] == ["E01", "E02", "E03", "E04", "E05", "E06"]
    assert body["items"][0]["children"][1] == {
        "code": "E0102", "name": "暴露垃圾", "kind": "event", "active": True,
        "time_limits": {"handle": "4wh"}, "children": []}
    assert body["total"] == 6 + sum(len(n["children"]) for n in body["items"])


def test_one_category_shows_where_each_effective_limit_comes_from(client: TestClient,
                                                                  admin: dict[str, str]) -> None:
    body = client.get("/api/v1/categories/E0102").json()
    assert body["path"] == ["E01", "E0102"]
    assert body["effective_limits"]["handle"] == {"limit": "4wh", "words": "4 working hours",
                                                  "working_time": True, "source": "E0102"}
    assert body["effective_limits"]["verify"]["source"] == "E01"


def test_unknown_codes_and_bad_queries_are_problems(client: TestClient, admin: dict[str, str]) -> None:
    missing = client.get("/api/v1/categories/E9999")
    assert missing.status_code == 404 and missing.headers["content-type"] == PROBLEM
    assert missing.json()["code"] == "unknown_category"
    assert client.get("/api/v1/categories", params={"parent": "E99"}).status_code == 404
    bad = client.get("/api/v1/categories", params={"kind": "thing", "limit": 0})
    assert bad.status_code == 422 and bad.json()["code"] == "invalid_input"


def test_writes_need_manage_categories(client: TestClient, operator: dict[str, str]) -> None:
    body = {"code": "E0199", "name": "其他", "kind": "event", "parent_code": "E01"}
    assert client.post("/api/v1/categories", json=body).status_code == 401
    denied = client.post("/api/v1/categories", json=body, headers=operator)
    assert denied.status_code == 403 and denied.headers["content-type"] == PROBLEM
    assert client.patch("/api/v1/categories/E01", json={"active": False}, headers=operator).status_code == 403
    assert client.get("/api/v1/categories/export", headers=operator).status_code == 403
    files = {"file": ("c.csv", HEADER + "E0199,其他,event,E01,,,,,,\n", "text/csv")}
    assert client.post("/api/v1/categories/import", files=files, headers=operator).status_code == 403
    assert client.get("/api/v1/categories/E0199").status_code == 404


def test_an_administrator_creates_and_changes_a_category(client: TestClient, admin: dict[str, str]) -> None:
    created = client.post("/api/v1/categories", headers=admin, json={
        "code": "E0199", "name": "其他市容问题", "kind": "event", "parent_code": "E01",
        "time_limits": {"handle": "3wd"}})
    assert created.status_code == 201, created.text
    assert created.json()["effective_limits"]["handle"]["source"] == "E0199"
    again = client.post("/api/v1/categories", headers=admin,
                        json={"code": "E0199", "name": "x", "kind": "event"})
    assert again.status_code == 409 and again.json()["code"] == "duplicate_code"
    patched = client.patch("/api/v1/categories/E0199", headers=admin,
                           json={"name": "其他", "time_limits": {"handle": None, "verify": "1h"}})
    assert patched.status_code == 200, patched.text
    assert patched.json()["time_limits"] == {"verify": "1h"}
    assert patched.json()["effective_limits"]["handle"]["source"] == "E01"
    root = client.patch("/api/v1/categories/E0199", headers=admin, json={"parent_code": None})
    assert root.json()["path"] == ["E0199"] and root.json()["depth"] == 0


def test_bad_writes_name_the_field_and_change_nothing(client: TestClient, admin: dict[str, str],
                                                      session: Session) -> None:
    before = count(session)
    cases = [
        ({"code": "E0199", "name": "x", "kind": "event", "time_limits": {"handle": "4 hours"}},
         "time_limits.handle"),
        ({"code": "e0199", "name": "x", "kind": "event"}, "code"),
        ({"code": "E0199", "name": "x", "kind": "event", "parent_code": "C01"}, "parent_code"),
        ({"code": "E0199", "name": "x", "kind": "event", "colour": "red"}, "colour"),
    ]
    for body, field in cases:
        response = client.post("/api/v1/categories", headers=admin, json=body)
        assert response.status_code == 422, response.text
        assert response.json()["field"] == field
    unknown_parent = client.post("/api/v1/categories", headers=admin,
                                 json={"code": "E0199", "name": "x", "kind": "event", "parent_code": "E99"})
    assert unknown_parent.status_code == 404 and unknown_parent.json()["field"] == "parent_code"
    cycle = client.patch("/api/v1/categories/E01", headers=admin, json={"parent_code": "E0101"})
    assert cycle.status_code == 422 and "cycle" in cycle.json()["detail"]
    assert count(session) == before
    assert client.get("/api/v1/categories/E01").json()["parent_code"] is None


def test_csv_round_trip_through_the_api(client: TestClient, admin: dict[str, str]) -> None:
    exported = client.get("/api/v1/categories/export", headers=admin)
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    files = {"file": ("categories.csv", exported.content, "text/csv")}
    report = client.post("/api/v1/categories/import", files=files, headers=admin)
    assert report.status_code == 200, report.text
    assert report.json()["updated"] == report.json()["created"] == 0
    assert client.get("/api/v1/categories/export", headers=admin).content == exported.content
    events = client.get("/api/v1/categories/export", params={"kind": "event"}, headers=admin).text
    assert events.startswith(HEADER) and ",component," not in events


def test_a_bad_csv_is_refused_with_every_row_and_imports_nothing(client: TestClient, admin: dict[str, str],
                                                                 session: Session) -> None:
    before = count(session)
    text = HEADER + "N01,ok,event,,,,,,,\nN0101,x,event,NOPE,,,,,,\nN0102,y,event,N01,,,,3x,,\n"
    response = client.post("/api/v1/categories/import", headers=admin,
                           files={"file": ("bad.csv", text.encode(), "text/csv")})
    assert response.status_code == 422 and response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["code"] == "invalid_file"
    assert [(r["row"], r["field"]) for r in body["rows"]] == [(3, "parent_code"), (4, "handle")]
    assert count(session) == before
