"""The categories API: public reads, permission-guarded writes, CSV import and export. Every refusal the
category screens can meet has a problem code the console says in Chinese (``problem.<code>``)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cityops.categories import service
from cityops.categories.models import Category
from tests.conftest import REPO
from tests.factories import login, make_city, make_user

PROBLEM = "application/problem+json"
HEADER = "code,name,kind,parent_code,register,dispatch,acknowledge,handle,verify,active\n"
PROBLEM_ZH = json.loads((REPO / "web" / "src" / "locales" / "zh-CN.json").read_text(encoding="utf-8"))["problem"]


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


def refused(response: httpx.Response, *, code: str, field: str, status: int = 422) -> dict[str, Any]:
    """A problem with ``code`` naming ``field``, and a code the console has Chinese words for."""
    assert (response.status_code, response.headers["content-type"]) == (status, PROBLEM), response.text
    body = response.json()
    assert (body["code"], body["field"]) == (code, field), body
    assert code in PROBLEM_ZH, f"the console has no Chinese words for {code}"
    return body


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


@pytest.mark.parametrize(("content", "field"), [
    (b"", "header"), ("编码,名称\nN01,x\n".encode(), "header"), ("N01,名称".encode("utf-16"), "file")],
    ids=["empty", "another-header", "not-text"])
def test_a_file_that_cannot_be_read_is_refused_in_words_the_console_has_in_chinese(
        client: TestClient, admin: dict[str, str], session: Session, content: bytes, field: str) -> None:
    before = count(session)
    refused(client.post("/api/v1/categories/import", headers=admin,
                        files={"file": ("categories.csv", content, "text/csv")}), code="invalid_file", field=field)
    assert count(session) == before


def test_a_name_of_blanks_alone_is_refused_as_missing_and_nothing_is_stored(client: TestClient,
                                                                             admin: dict[str, str],
                                                                             session: Session) -> None:
    before = count(session)
    for name in ("   ", "\u3000", " \t "):
        refused(client.post("/api/v1/categories", headers=admin, json={
            "code": "E0199", "name": name, "kind": "event", "parent_code": "E01"}), code="value_required", field="name")
        refused(client.patch("/api/v1/categories/E0102", headers=admin, json={"name": name}),
                code="value_required", field="name")
    assert count(session) == before
    assert client.get("/api/v1/categories/E0199").status_code == 404
    assert client.get("/api/v1/categories/E0102").json()["name"] == "暴露垃圾"


def test_each_refused_change_has_a_code_said_in_chinese_and_changes_nothing(client: TestClient,
                                                                            admin: dict[str, str]) -> None:
    assert client.patch("/api/v1/categories/E04", headers=admin, json={"active": False}).status_code == 200
    before = client.get("/api/v1/categories/export", headers=admin).text
    new = {"code": "E0199", "name": "其他", "kind": "event"}
    post, patch = "/api/v1/categories", "/api/v1/categories/{}"
    cases = [
        (post, {**new, "parent_code": "C01"}, "parent_kind_mismatch", "parent_code", 422),
        (post, {**new, "parent_code": "E99"}, "unknown_category", "parent_code", 404),
        (post, {**new, "code": "E0102"}, "duplicate_code", "code", 409),
        (post, {**new, "time_limits": {"handle": "999wd"}}, "time_limit_out_of_range", "time_limits.handle", 422),
        (post, {**new, "parent_code": "E04"}, "parent_inactive", "active", 422),
        (patch.format("E01"), {"parent_code": "E0101"}, "category_cycle", "parent_code", 422),
        (patch.format("E0102"), {"parent_code": "E0102"}, "category_cycle", "parent_code", 422),
        (patch.format("E0102"), {"parent_code": "C01"}, "parent_kind_mismatch", "parent_code", 422),
        (patch.format("E0401"), {"active": True}, "parent_inactive", "active", 422),
    ]
    for path, body, code, field, status in cases:
        method = client.post if path == post else client.patch
        problem = refused(method(path, headers=admin, json=body), code=code, field=field, status=status)
        if code == "parent_inactive":
            assert problem["inactive"] == "E04"  # the Chinese words name it: 上级分类 E04 已停用
        if code == "time_limit_out_of_range":
            assert (problem["value"], problem["max"]) == ("999wd", 250)
    assert client.get("/api/v1/categories/export", headers=admin).text == before


def test_each_rejected_row_of_a_file_has_a_code_said_in_chinese(client: TestClient, admin: dict[str, str]) -> None:
    before = client.get("/api/v1/categories/export", headers=admin).text
    rows = [  # (the row, the field and code it is refused for); the header is row 1
        ("N01,成组,event,,,,,,,", None),
        ("N0101,x,event,NOPE,,,,,,", ("parent_code", "unknown_category")),
        ("N0102,y,event,N01,,,,3x,,", ("handle", "bad_time_limit")),
        ("N0103,  ,event,N01,,,,,,", ("name", "value_required")),
        ("n0104,z,event,N01,,,,,,", ("code", "bad_category_code")),
        ("N0105,z,thing,,,,,,,", ("kind", "bad_category_kind")),
        ("N01,again,event,,,,,,,", ("code", "code_repeated")),
        ("N0106,z,event,C01,,,,,,", ("parent_code", "parent_kind_mismatch")),
        ("N0107,z,event,N01,,,,,,maybe", ("active", "bad_active_flag")),
        ("C0101,z,event,,,,,,,", ("kind", "kind_unchangeable")),
        ("N0108,z,event,N01,,,,,,,one cell too many", ("row", "row_too_long")),
        ("N0109,z,event,N01,,,,999wd,,", ("handle", "time_limit_out_of_range")),
        ("E01,市容环境,event,E0101,,,,,,", ("parent_code", "category_cycle")),
        ("N02,停用的组,event,,,,,,,false", None),
        ("N0201,z,event,N02,,,,,,true", ("active", "parent_inactive")),
    ]
    text = HEADER + "".join(f"{row}\n" for row, _ in rows)
    response = client.post("/api/v1/categories/import", headers=admin,
                           files={"file": ("bad.csv", text.encode(), "text/csv")})
    assert (response.status_code, response.headers["content-type"]) == (422, PROBLEM), response.text
    body = response.json()  # the screen says "导入被拒绝，未写入任何数据" and then each row
    assert (body["code"], body["field"]) == ("invalid_file", "rows")
    assert [(r["row"], r["field"], r["code"]) for r in body["rows"]] == [
        (number, *refusal) for number, (_, refusal) in enumerate(rows, start=2) if refusal]
    assert all(r["code"] in PROBLEM_ZH for r in body["rows"])
    values = {r["code"]: r for r in body["rows"]}
    assert (values["code_repeated"]["value"], values["code_repeated"]["first_row"]) == ("N01", 2)
    assert values["bad_category_code"]["value"] == "n0104" and values["bad_time_limit"]["value"] == "3x"
    assert values["parent_inactive"]["inactive"] == "N02"
    assert client.get("/api/v1/categories/export", headers=admin).text == before
