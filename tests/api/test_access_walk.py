"""The access walk: every route in the OpenAPI document, called as a street-level user and as an
anonymous client, with identifiers from inside and outside the street. Nothing outside the street
comes back to the street user; nothing private comes back to the anonymous client; no write
outside the caller's jurisdiction changes anything."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cityops.calendar.workcalendar import WorkCalendar
from cityops.cases import service as cases_service
from cityops.cases.channels import Channel
from cityops.cases.lifecycle import Action
from cityops.geo import service as geo_service
from cityops.geo.levels import AreaLevel
from cityops.geo.locator import AreaShape, Locator
from cityops.models import (
    ApiClient,
    Area,
    Case,
    CaseEvent,
    Department,
    OpsCentre,
    PlaceholderPoint,
    Responsibility,
    User,
)
from cityops.org import service as org_service
from tests.factories import PASSWORD, login, make_city, make_user

STREET = "99010101"          # the street user's jurisdiction
OTHER_STREET = "99010102"    # same district, another street
OTHER_DISTRICT = "990102"
# Public reference data any anonymous client may read (the category tree), sign-in, the citizens'
# own endpoints and Open311 (whose public view shows only what citizens themselves reported).
PUBLIC_READS = ("/api/v1/categories", "/healthz")


def is_public(method: str, path: str) -> bool:
    return ((method == "GET" and path.startswith(PUBLIC_READS)) or path == "/api/v1/auth/token"
            or path.startswith(("/api/v1/public/", "/open311/")))


def strings_in(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from strings_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings_in(item)


@pytest.fixture
def world(session: Session) -> dict[str, Any]:
    city = make_city(session)
    for area in city.areas.values():
        if area.level in {"city", "district", "street"}:
            org_service.create_ops_centre(session, code=f"oc-{area.code}", name=f"{area.name}城运中心",
                                          level=area.level, area_code=area.code, origin="test")
            org_service.create_department(session, code=f"dept-{area.code}", name=f"{area.name}执法",
                                          level=area.level, area_code=area.code, kind="enforcement",
                                          is_area_fallback=area.level == "street", origin="test")
    make_user(session, username="street.operator", roles=["operator"], area_code=STREET)
    make_user(session, username="street.admin", roles=["administrator"], area_code=STREET)
    for code in (OTHER_STREET, OTHER_DISTRICT, "990000"):
        make_user(session, username=f"user-{code}", roles=["operator"], area_code=code)
    client, _ = org_service.create_api_client(session, name=f"client-{OTHER_DISTRICT}", kind="system",
                                              area_code=OTHER_DISTRICT, roles=["system"], origin="test")
    located = Locator([AreaShape(id=a.id, code=a.code, name=a.name, level=AreaLevel(a.level),
                                 parent_id=a.parent_id, geometry=geo_service.geometry_of(a))
                       for a in city.areas.values()])
    cases = {}
    for label, receiver_area, lon in (("inside", STREET, 121.02), ("outside", OTHER_DISTRICT, 121.3)):
        receiver = org_service.principal_of_user(session, make_user(
            session, username=f"intake-{label}", roles=["operator"], area_code=receiver_area))
        report = cases_service.Report(channel=Channel.hotline_12345, title=f"case-{label}", lon=lon, lat=31.05,
                                      reporter_phone="13800000000" if label == "outside" else None)
        cases[label] = cases_service.intake(session, report=report, actor=cases_service.actor_for(
            receiver, Action.intake), receiver=receiver, locator=located, calendar=WorkCalendar(), at=datetime.now(UTC),
            policy=cases_service.IntakePolicy()).case
    session.flush()
    inside = {a.code for a in city.areas.values() if a.path.startswith(city[STREET].path)}
    outside_areas = [a for a in city.areas.values() if a.code not in inside]
    private_outside = {a.code for a in outside_areas} | {a.name for a in outside_areas}
    private_outside |= {f"oc-{c}" for c in private_outside} | {f"dept-{c}" for c in private_outside}
    private_outside |= {"user-" + c for c in (OTHER_STREET, OTHER_DISTRICT, "990000")} | {client.name}
    private_outside |= {"case-outside", "intake-outside", cases["outside"].tracking_code, "13800000000"}
    private_all = {a.code for a in city.areas.values()} | {"street.operator", "street.admin"}
    private_all |= {f"dept-{a.code}" for a in city.areas.values()} | private_outside
    private_all |= {"case-inside", "intake-inside", "13800000000"}
    return {"city": city, "outside": private_outside, "private": private_all, "client_id": client.id,
            "cases": {label: case.id for label, case in cases.items()},
            "tracking": {label: case.tracking_code for label, case in cases.items()}}


def path_values(world: dict[str, Any]) -> list[dict[str, str]]:
    """Identifiers to put in path parameters: inside the street and outside it."""
    return [
        {"code": STREET, "username": "street.operator", "client_id": "1", "category_code": "E0101",
         "area_code": STREET, "case_id": str(world["cases"]["inside"]), "action": "register",
         "tracking_code": "NOSUCHCODE", "year": "2025", "day": "2031-01-01"},
        {"code": OTHER_DISTRICT, "username": f"user-{OTHER_DISTRICT}", "client_id": str(world["client_id"]),
         "category_code": "E0101", "area_code": OTHER_DISTRICT, "case_id": str(world["cases"]["outside"]),
         "action": "register", "tracking_code": "NOSUCHCODE", "year": "2031", "day": "2031-01-02"},
        {"code": f"dept-{OTHER_STREET}", "username": "user-990000", "client_id": str(world["client_id"]),
         "category_code": "E0101", "area_code": OTHER_STREET, "case_id": str(world["cases"]["outside"]),
         "action": "close", "tracking_code": "NOSUCHCODE", "year": "2030", "day": "2031-01-03"},
    ]


QUERY_SAMPLES = {"lon": "121.35", "lat": "31.15", "area": OTHER_DISTRICT, "category": "E0101",
                 "parent": OTHER_DISTRICT}


def operations(client: TestClient) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, methods in client.app.openapi()["paths"].items():
        for method, operation in methods.items():
            yield path, method.upper(), operation


def fill(path: str, values: dict[str, str]) -> str:
    return re.sub(r"{(\w+)}", lambda m: values.get(m.group(1), "x"), path)


def required_query(operation: dict[str, Any]) -> dict[str, str]:
    return {p["name"]: QUERY_SAMPLES.get(p["name"], "1") for p in operation.get("parameters", [])
            if p.get("in") == "query" and p.get("required")}


def counts(session: Session) -> tuple[int, ...]:
    return tuple(session.scalar(select(func.count()).select_from(model)) for model in
                 (Area, User, Department, OpsCentre, ApiClient, Responsibility, PlaceholderPoint, Case, CaseEvent))


def test_street_user_sees_nothing_outside_the_street(client: TestClient, world: dict[str, Any]) -> None:
    walked = 0
    for role_user in ("street.operator", "street.admin"):
        headers = login(client, role_user, PASSWORD)
        for path, method, operation in operations(client):
            if method != "GET" or is_public(method, path):
                continue
            for values in path_values(world):
                for extra in ({}, {"format": "geojson"}, {"parent": OTHER_DISTRICT}, {"level": "street"}):
                    response = client.get(fill(path, values), params={**required_query(operation), **extra},
                                          headers=headers)
                    walked += 1
                    assert response.status_code < 500, (path, response.text)
                    # JSON bodies (incl. problem+json, whose detail may echo the identifier asked
                    # for) are compared value by value; anything else is searched as text.
                    if "json" in response.headers.get("content-type", ""):
                        leaked = set(strings_in(response.json())) & world["outside"]
                    else:
                        leaked = {s for s in world["outside"] if re.search(rf"\b{re.escape(s)}\b", response.text)}
                    assert not leaked, f"{role_user} GET {response.request.url} leaked {sorted(leaked)[:5]}"
    assert walked > 50


def test_anonymous_client_gets_nothing_private(client: TestClient, world: dict[str, Any]) -> None:
    for path, method, operation in operations(client):
        for values in path_values(world):
            response = client.request(method, fill(path, values), params=required_query(operation))
            assert response.status_code < 500, (method, path, response.text)
            if is_public(method, path):
                if response.headers.get("content-type", "").startswith("application/json"):
                    assert not set(strings_in(response.json())) & world["private"], (method, path)
                continue
            assert response.status_code == 401, (method, path, response.status_code)
            assert response.headers["content-type"] == "application/problem+json"


def test_street_writes_outside_the_street_change_nothing(client: TestClient, world: dict[str, Any],
                                                         session: Session) -> None:
    headers = login(client, "street.admin", PASSWORD)
    before = counts(session)
    attempts = [
        ("POST", "/api/v1/users", {"json": {"username": "intruder", "display_name": "x", "password": "p" * 10,
                                            "area_code": OTHER_STREET, "roles": ["operator"]}}),
        ("POST", "/api/v1/departments", {"json": {"code": "d-x", "name": "x", "level": "district",
                                                  "area_code": OTHER_DISTRICT}}),
        ("POST", "/api/v1/ops-centres", {"json": {"code": "oc-x", "name": "x", "level": "street",
                                                  "area_code": OTHER_STREET}}),
        ("POST", "/api/v1/api-clients", {"json": {"name": "x", "kind": "system", "area_code": OTHER_STREET}}),
        ("PATCH", f"/api/v1/users/user-{OTHER_STREET}", {"json": {"active": False}}),
        ("POST", f"/api/v1/api-clients/{world['client_id']}/revoke", {}),
        ("POST", "/api/v1/placeholders", {"json": {"name": "x", "lon": 121.3, "lat": 31.1,
                                                   "area_code": OTHER_DISTRICT}}),
        ("POST", "/api/v1/cases", {"json": {"channel": "hotline_12345", "title": "x", "lon": 121.3, "lat": 31.05}}),
        ("POST", f"/api/v1/cases/{world['cases']['outside']}/actions/register", {"json": {}}),
        ("POST", f"/api/v1/cases/{world['cases']['outside']}/actions/reject", {"json": {"reason": "x"}}),
    ]
    for method, path, kwargs in attempts:
        response = client.request(method, path, headers=headers, **kwargs)
        assert response.status_code in (403, 404), (method, path, response.status_code, response.text)
        assert response.headers["content-type"] == "application/problem+json"
    assert counts(session) == before
    assert session.get(ApiClient, world["client_id"]).revoked_at is None
    assert session.scalar(select(User.active).where(User.username == f"user-{OTHER_STREET}"))
