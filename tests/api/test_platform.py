"""Operational endpoints, sign-in, the caller, and error rendering."""

from __future__ import annotations

from pathlib import Path

from alembic.script import ScriptDirectory
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

import cityops
from cityops.models import User
from tests.factories import PASSWORD, login, make_city, make_user


def test_healthz_reports_the_store(client: TestClient, engine) -> None:  # noqa: ANN001
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    head = ScriptDirectory(str(Path(cityops.__file__).parent / "migrations")).get_current_head()
    assert body["store"] == {"backend": engine.dialect.name, "revision": head, "ok": True}


def test_metrics_count_requests_by_route_template(client: TestClient) -> None:
    client.get("/api/v1/areas/310101")
    client.get("/api/v1/areas/310104")
    text = client.get("/metrics").text
    assert 'cityops_http_requests_total{method="GET",route="/api/v1/areas/{code}",status="401"} 2.0' in text
    assert "cityops_http_request_seconds_bucket" in text


def test_unknown_route_is_problem_json(client: TestClient) -> None:
    response = client.get("/api/v1/nowhere")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "not_found"


def test_nul_in_the_url_is_refused(client: TestClient) -> None:
    response = client.get("/api/v1/categories?q=a%00b")
    assert response.status_code == 422 and response.json()["code"] == "invalid_input"


def test_a_request_that_fails_validation_names_each_error_by_kind_and_limit(client: TestClient,
                                                                          session: Session) -> None:
    """Beside pydantic's English message, each error's ``type`` and plain limits (``ctx``), so that a
    screen can say it in its user's language."""
    make_city(session)
    make_user(session, username="street.op", roles=["operator"], area_code="99010101")
    refused = client.post("/api/v1/cases", headers=login(client, "street.op"),
                          json={"channel": "hotline_12345", "title": ""})
    assert refused.status_code == 422, refused.text
    problem = refused.json()
    assert (problem["code"], problem["field"]) == ("invalid_input", "title")
    first = problem["errors"][0]
    assert (first["field"], first["type"], first["ctx"]) == ("title", "string_too_short", {"min_length": 1})
    assert first["message"] and problem["detail"].startswith("title: ")


def test_sign_in_and_who_am_i(client: TestClient, session: Session) -> None:
    make_city(session)
    make_user(session, username="street.op", roles=["operator"], area_code="99010101")
    headers = login(client, "street.op")
    me = client.get("/api/v1/me", headers=headers).json()
    assert me["area_code"] == "99010101" and me["roles"] == ["operator"] and me["kind"] == "user"
    assert "manage_users" not in me["permissions"]


def test_wrong_password_and_bad_token_are_401_problems(client: TestClient, session: Session) -> None:
    make_city(session)
    make_user(session, username="street.op", roles=["operator"], area_code="99010101")
    wrong = client.post("/api/v1/auth/token", data={"username": "street.op", "password": "nope-nope"})
    assert wrong.status_code == 401 and wrong.json()["code"] == "bad_credentials"
    assert wrong.headers["www-authenticate"] == "Bearer"
    bad = client.get("/api/v1/me", headers={"Authorization": "Bearer not.a.jwt"})
    assert bad.status_code == 401 and bad.json()["code"] == "invalid_token"


def test_api_client_token_works_until_revoked(client: TestClient, session: Session) -> None:
    make_city(session)
    make_user(session, username="city.admin", roles=["administrator"], area_code="990000")
    admin = login(client, "city.admin")
    created = client.post("/api/v1/api-clients", headers=admin,
                          json={"name": "12345 hotline", "kind": "system", "area_code": "990101"})
    assert created.status_code == 201
    token = {"Authorization": f"Bearer {created.json()['token']}"}
    assert client.get("/api/v1/me", headers=token).json()["name"] == "12345 hotline"
    listed = client.get("/api/v1/api-clients", headers=admin).json()
    assert "token" not in listed[0] and listed[0]["token_hint"] == created.json()["token"][-4:]
    assert client.post(f"/api/v1/api-clients/{created.json()['id']}/revoke", headers=admin).status_code == 200
    assert client.get("/api/v1/me", headers=token).status_code == 401


def test_bad_user_input_names_the_field_and_writes_nothing(client: TestClient, session: Session) -> None:
    make_city(session)
    make_user(session, username="city.admin", roles=["administrator"], area_code="990000")
    admin = login(client, "city.admin")
    before = session.scalar(select(func.count()).select_from(User))
    cases = [
        ({"username": "x1", "display_name": "x", "password": "short", "area_code": "990101",
          "roles": ["operator"]}, 422, "password"),
        ({"username": "x2", "display_name": "x", "password": PASSWORD, "area_code": "nowhere",
          "roles": ["operator"]}, 404, "area_code"),
        ({"username": "x3", "display_name": "x", "password": PASSWORD, "area_code": "990101",
          "roles": ["mayor"]}, 422, "roles.0"),
        ({"username": "city.admin", "display_name": "x", "password": PASSWORD, "area_code": "990101",
          "roles": ["operator"]}, 409, "username"),
    ]
    for body, status, field in cases:
        response = client.post("/api/v1/users", headers=admin, json=body)
        assert response.status_code == status, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["field"] == field
    assert session.scalar(select(func.count()).select_from(User)) == before


def test_a_leader_reads_but_cannot_write(client: TestClient, session: Session) -> None:
    make_city(session)
    make_user(session, username="leader", roles=["leader"], area_code="990000")
    headers = login(client, "leader")
    assert client.get("/api/v1/users", headers=headers).json()["total"] == 1
    response = client.post("/api/v1/departments", headers=headers,
                           json={"code": "d1", "name": "x", "level": "city", "area_code": "990000"})
    assert response.status_code == 403 and response.json()["code"] == "permission_denied"
