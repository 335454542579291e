"""An operator files a report under its category as they register it (立案定类): a hotline call taken
in without one, or under the wrong one, gets the category the operator names; the steps from there on
take that category's time limits (and the dispatch form routes by it); the timeline keeps what was named and
what it replaced. A category that does not exist or is out of service is refused and nothing changes."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cityops.categories import service as categories_service
from cityops.models import CaseEvent
from tests.api.conftest import IN_STREET, act


def _reported(client: TestClient, loop: dict[str, Any], **body: Any) -> dict[str, Any]:
    made = client.post("/api/v1/cases", headers=loop["op"], json={
        "channel": "hotline_12345", "title": "路边堆着垃圾", **IN_STREET, **body})
    assert made.status_code == 201, made.text
    return made.json()


def test_registering_files_an_uncategorised_case_under_the_category_named(
        client: TestClient, loop: dict[str, Any], session: Session) -> None:
    categories_service.create_category(session, code="E0103", name="积存垃圾", kind="event", parent_code="E01",
                                       time_limits={"dispatch": "3wh"}, origin="test")
    case = _reported(client, loop)
    assert case["category_code"] is None
    registered = act(client, loop["op"], case["id"], "register", data={"category": "E0103"})
    assert registered.status_code == 200, registered.text
    detail = registered.json()
    assert (detail["status"], detail["category_code"]) == ("registered", "E0103")
    assert detail["timeline"][-1]["data"] == {"category": "E0103"}
    dispatch_step = next(d for d in detail["deadlines"] if d["step"] == "dispatch")
    assert dispatch_step["time_limit"] == "3wh"  # the category's own limit, not the platform's default



def test_a_category_named_at_registration_replaces_the_reported_one(client: TestClient,
                                                                    loop: dict[str, Any]) -> None:
    case = _reported(client, loop, category_code="E0199")
    detail = act(client, loop["op"], case["id"], "register", data={"category": "E0102"}).json()
    assert detail["category_code"] == "E0102"
    assert detail["timeline"][-1]["data"] == {"category": "E0102", "replaced_category": "E0199"}


def test_registering_without_a_category_keeps_the_reported_one(client: TestClient, loop: dict[str, Any]) -> None:
    case = _reported(client, loop, category_code="E0199")
    detail = act(client, loop["op"], case["id"], "register").json()
    assert (detail["status"], detail["category_code"]) == ("registered", "E0199")


@pytest.mark.parametrize(("category", "status", "code"), [
    ("E9999", 404, "unknown_category"),
    ("E0104", 422, "inactive_category"),
    ("", 422, "invalid_input"),
    (12, 422, "invalid_input"),
])
def test_a_category_that_cannot_take_cases_is_refused_and_nothing_changes(
        client: TestClient, loop: dict[str, Any], session: Session, category: object, status: int, code: str) -> None:
    categories_service.create_category(session, code="E0104", name="停用分类", kind="event", parent_code="E01",
                                       active=False, origin="test")
    case = _reported(client, loop)
    events = session.scalar(select(func.count()).select_from(CaseEvent))
    refused = act(client, loop["op"], case["id"], "register", data={"category": category})
    assert (refused.status_code, refused.json()["code"], refused.json()["field"]) == (status, code, "category"), \
        refused.text
    assert session.scalar(select(func.count()).select_from(CaseEvent)) == events
    after = client.get(f"/api/v1/cases/{case['id']}", headers=loop["op"]).json()
    assert (after["status"], after["category_code"], after["version"]) == ("reported", None, case["version"])
