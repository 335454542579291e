"""A case goes only to departments that exist, are active and serve the place it lies in: a street's
dispatcher cannot hand it to the next street's office, as lead, as an assisting department or by a
summons. Each refusal names the field and writes nothing."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from cityops.models import CaseEvent, Department
from tests.api.conftest import IN_STREET, act

LATER = "2099-01-01T00:00:00+08:00"


def registered(client: TestClient, loop: dict[str, Any]) -> int:
    case = client.post("/api/v1/cases", headers=loop["op"], json={
        "channel": "hotline_12345", "title": "井盖缺失", **IN_STREET}).json()
    act(client, loop["op"], case["id"], "register")
    return case["id"]


@pytest.mark.parametrize(("action", "data", "field", "code"), [
    ("dispatch", {"lead": "street-99010102"}, "lead", "department_elsewhere"),
    ("dispatch", {"lead": "greening-990101", "assisting": ["street-99010102"]}, "assisting",
     "department_elsewhere"),
    ("dispatch", {"lead": "nobody"}, "lead", "unknown_department"),
    ("summon", {"departments": {"street-99010102": LATER}}, "departments", "department_elsewhere"),
])
def test_a_case_goes_only_to_departments_serving_its_place(client: TestClient, loop: dict[str, Any], session: Session,
                                                           action: str, data: dict, field: str, code: str) -> None:
    case_id = registered(client, loop)
    events = session.scalar(select(func.count()).select_from(CaseEvent))
    refused = act(client, loop["disp"] if action == "dispatch" else loop["op"], case_id, action, reason="派遣",
                  data=data)
    assert refused.status_code in (404, 409), refused.text
    assert (refused.json()["code"], refused.json()["field"]) == (code, field)
    assert session.scalar(select(func.count()).select_from(CaseEvent)) == events


def test_an_inactive_department_gets_no_case(client: TestClient, loop: dict[str, Any], session: Session) -> None:
    case_id = registered(client, loop)
    session.execute(update(Department).where(Department.code == "greening-990101").values(active=False))
    refused = act(client, loop["disp"], case_id, "dispatch", data={"lead": "greening-990101"})
    assert refused.status_code == 409 and refused.json()["code"] == "department_inactive", refused.text


def test_the_street_office_and_the_district_department_serve_the_street(client: TestClient,
                                                                       loop: dict[str, Any]) -> None:
    case_id = registered(client, loop)
    sent = act(client, loop["disp"], case_id, "dispatch", data={"lead": "street-99010101",
                                                               "assisting": ["greening-990101"]})
    assert sent.status_code == 200 and sent.json()["status"] == "dispatched", sent.text


def test_a_street_dispatcher_is_offered_the_departments_that_serve_the_street(client: TestClient,
                                                                             loop: dict[str, Any]) -> None:
    """Their own jurisdiction holds only the street office; the district's bureau serves the street
    too, and the next street's office does not."""
    own = client.get("/api/v1/departments", headers=loop["disp"])
    assert [d["code"] for d in own.json()] == ["street-99010101"], own.text
    offered = client.get("/api/v1/departments", headers=loop["disp"], params={"serving": "99010101"})
    assert offered.status_code == 200, offered.text
    assert [d["code"] for d in offered.json()] == ["greening-990101", "street-99010101"]
    bureaus = client.get("/api/v1/departments", headers=loop["disp"], params={"serving": "99010101",
                                                                             "level": "district"})
    assert [d["code"] for d in bureaus.json()] == ["greening-990101"]


def test_departments_serving_a_grid_include_every_level_above_it_but_no_inactive_one(
        client: TestClient, loop: dict[str, Any], session: Session) -> None:
    session.execute(update(Department).where(Department.code == "street-99010101").values(active=False))
    offered = client.get("/api/v1/departments", headers=loop["disp"], params={"serving": "9901010101"})
    assert [d["code"] for d in offered.json()] == ["greening-990101"], offered.text


@pytest.mark.parametrize(("serving", "status", "code"), [
    ("99010102", 403, "outside_jurisdiction"),  # the next street
    ("nowhere", 404, "unknown_area"),
])
def test_departments_serving_an_area_outside_the_jurisdiction_or_unknown_are_refused(
        client: TestClient, loop: dict[str, Any], serving: str, status: int, code: str) -> None:
    refused = client.get("/api/v1/departments", headers=loop["disp"], params={"serving": serving})
    assert (refused.status_code, refused.json()["code"]) == (status, code), refused.text
