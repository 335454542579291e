"""An administrator changes a user: roles, area, department, active flag and password, only what is given;
a change that does not fit (a department that does not serve the area, an area outside the administrator's
jurisdiction, an unknown department) names its field and changes nothing."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from cityops.org import service as org_service
from tests.factories import PASSWORD, login, make_city, make_user

STREET, OTHER_STREET, OTHER_DISTRICT_STREET = "99010101", "99010102", "99010201"


def world(client: TestClient, session: Session) -> dict[str, str]:
    make_city(session)
    for code, area in (("street-a", STREET), ("street-b", OTHER_STREET), ("street-c", OTHER_DISTRICT_STREET)):
        org_service.create_department(session, code=code, name=code, level="street", area_code=area,
                                      kind="street_office", origin="test")
    org_service.create_department(session, code="district-1", name="district-1", level="district", area_code="990101",
                                  kind="greening", origin="test")
    make_user(session, username="handler.a", roles=["handler"], area_code=STREET, department_code="street-a")
    make_user(session, username="district.admin", roles=["administrator"], area_code="990101")
    return login(client, "district.admin")


def shape(user: dict[str, Any]) -> tuple[Any, ...]:
    return user["roles"], user["area_code"], user["department_code"], user["active"], user["display_name"]


def test_area_and_department_move_together_and_only_given_fields_change(client: TestClient,
                                                                          session: Session) -> None:
    admin = world(client, session)
    moved = client.patch("/api/v1/users/handler.a", headers=admin,
                         json={"area_code": OTHER_STREET, "department_code": "street-b"})
    assert moved.status_code == 200, moved.text
    assert shape(moved.json()) == (["handler"], OTHER_STREET, "street-b", True, "handler.a")
    # a district's department serves its streets; the roles change and nothing else does
    changed = client.patch("/api/v1/users/handler.a", headers=admin,
                           json={"department_code": "district-1", "roles": ["handler", "inspector"]})
    assert shape(changed.json()) == (["handler", "inspector"], OTHER_STREET, "district-1", True, "handler.a")
    cleared = client.patch("/api/v1/users/handler.a", headers=admin, json={"department_code": None})
    assert shape(cleared.json()) == (["handler", "inspector"], OTHER_STREET, None, True, "handler.a")
    assert client.get("/api/v1/users/handler.a", headers=admin).json() == cleared.json()


def test_a_change_that_does_not_fit_names_its_field_and_changes_nothing(client: TestClient,
                                                                         session: Session) -> None:
    admin = world(client, session)
    before = client.get("/api/v1/users/handler.a", headers=admin).json()
    refused = [
        ({"area_code": OTHER_STREET}, 422, "department_code"),  # street-a does not serve the other street
        ({"department_code": "street-b", "display_name": "改名"}, 422, "department_code"),
        ({"department_code": "nowhere"}, 404, "department_code"),
        ({"area_code": "nowhere"}, 404, "area_code"),
        ({"area_code": OTHER_DISTRICT_STREET, "department_code": "street-c"}, 403, None),
        ({"roles": ["mayor"], "active": False}, 422, "roles.0"),
        ({"password": "short", "active": False}, 422, "password"),
    ]
    for body, status, field in refused:
        response = client.patch("/api/v1/users/handler.a", headers=admin, json=body)
        assert (response.status_code, response.json().get("field")) == (status, field), (body, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        assert client.get("/api/v1/users/handler.a", headers=admin).json() == before, body


def test_deactivation_and_a_new_password(client: TestClient, session: Session) -> None:
    admin = world(client, session)
    assert client.patch("/api/v1/users/handler.a", headers=admin,
                        json={"password": "a-new-password"}).status_code == 200
    assert client.post("/api/v1/auth/token", data={"username": "handler.a", "password": PASSWORD}).status_code == 401
    login(client, "handler.a", "a-new-password")
    off = client.patch("/api/v1/users/handler.a", headers=admin, json={"active": False})
    assert off.json()["active"] is False
    assert client.post("/api/v1/auth/token",
                       data={"username": "handler.a", "password": "a-new-password"}).status_code == 401
    own = client.patch("/api/v1/users/district.admin", headers=admin, json={"active": False})
    assert (own.status_code, own.json()["field"]) == (422, "active")
