"""Shared fixtures of the API tests: the closed loop's little world."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from cityops.categories import service as categories_service
from cityops.geo import service as geo_service
from cityops.org import responsibility
from cityops.org import service as org_service
from cityops.org.responsibility import CellSpec
from cityops.sensing import devices as registry
from cityops.sensing.devices import DeviceSpec
from tests.factories import login, make_city, make_user

STREET, OTHER_STREET = "99010101", "99010102"
IN_STREET = {"lon": 121.02, "lat": 31.05}
IN_OTHER_STREET = {"lon": 121.15, "lat": 31.05}


@pytest.fixture
def loop(client: TestClient, session: Session) -> dict[str, Any]:
    make_city(session)
    categories_service.create_category(session, code="E01", name="市容环境", kind="event", origin="test")
    categories_service.create_category(session, code="E0102", name="暴露垃圾", kind="event", parent_code="E01",
                                       origin="test")
    categories_service.create_category(session, code="E0199", name="无主事项", kind="event", parent_code="E01",
                                       origin="test")
    for code, area, fallback in (("greening-990101", "990101", False), ("street-99010101", STREET, True),
                                 ("street-99010102", OTHER_STREET, True)):
        level = "district" if len(area) == 6 else "street"
        org_service.create_department(session, code=code, name=code, level=level, area_code=area,
                                      kind="greening" if not fallback else "street_office",
                                      is_area_fallback=fallback, origin="test")
    responsibility.set_cell(session, spec=CellSpec(category_code="E0102", area_code="990101",
                                                   lead_department_code="greening-990101"))
    make_user(session, username="op", roles=["operator"], area_code=STREET)
    make_user(session, username="disp", roles=["dispatcher"], area_code=STREET)
    make_user(session, username="insp", roles=["inspector"], area_code=STREET)
    make_user(session, username="greener", roles=["handler"], area_code="990101",
              department_code="greening-990101")
    make_user(session, username="other.op", roles=["operator"], area_code=OTHER_STREET)
    return {name: login(client, name) for name in ("op", "disp", "insp", "greener", "other.op")}


def act(client: TestClient, headers: dict[str, str], case_id: int, action: str, **body: Any):  # noqa: ANN201
    return client.post(f"/api/v1/cases/{case_id}/actions/{action}", headers=headers, json=body)


@pytest.fixture
def joint(client: TestClient, loop: dict[str, Any], session: Session) -> dict[str, Any]:
    """The loop's people and a second district department, 水务, with its handler ``water``."""
    org_service.create_department(session, code="water-990101", name="水务", level="district", area_code="990101",
                                  kind="water", origin="test")
    make_user(session, username="waterman", roles=["handler"], area_code="990101", department_code="water-990101")
    return {**loop, "water": login(client, "waterman")}


def registered(client: TestClient, people: dict[str, Any]) -> int:
    """A hotline report in the street, registered by the operator: its id."""
    case = client.post("/api/v1/cases", headers=people["op"], json={
        "channel": "hotline_12345", "title": "道路积水", **IN_STREET}).json()
    assert act(client, people["op"], case["id"], "register").status_code == 200
    return case["id"]


@pytest.fixture
def sensed(loop: dict[str, Any], client: TestClient, session: Session) -> dict[str, Any]:
    """The loop's people and city, with water-level gauges WL-1 in the street and WL-2 in the next one,
    and administrators of the street and of the city."""
    locator = geo_service.build_locator(session, boundary_distance_m=30)
    registry.create_device_type(session, code="wl", name="水位计", metrics={"water_level": "m"})
    for code, place in (("WL-1", IN_STREET), ("WL-2", IN_OTHER_STREET)):
        registry.create_device(session, spec=DeviceSpec(code=code, name=code, type_code="wl", lon=place["lon"],
                                                        lat=place["lat"]), locator=locator, actor=None, origin="test")
    make_user(session, username="admin", roles=["administrator"], area_code=STREET)
    make_user(session, username="city.admin", roles=["administrator"], area_code="990000")
    return loop | {"admin": login(client, "admin"), "city.admin": login(client, "city.admin")}
