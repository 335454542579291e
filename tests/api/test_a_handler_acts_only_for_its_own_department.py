"""A handler acts for its own department only: naming another department in the request must not let
a street's handler acknowledge and report a case dispatched to the district's greening department."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cityops.models import CaseEvent
from tests.api.conftest import IN_STREET, STREET, act
from tests.factories import login, make_user


def test_a_handler_cannot_act_for_another_department(client: TestClient, loop: dict[str, Any],
                                                     session: Session) -> None:
    make_user(session, username="street.handler", roles=["handler"], area_code=STREET,
              department_code="street-99010101")
    street_handler = login(client, "street.handler")
    case = client.post("/api/v1/cases", headers=loop["op"], json={
        "channel": "grid_patrol", "title": "垃圾", "category_code": "E0102", **IN_STREET}).json()
    assert case["assignments"][0]["department_code"] == "greening-990101"
    events = session.scalar(select(func.count()).select_from(CaseEvent))
    posing = act(client, street_handler, case["id"], "acknowledge", department_code="greening-990101")
    assert posing.status_code == 403 and posing.json()["code"] == "not_assigned", posing.text
    assert session.scalar(select(func.count()).select_from(CaseEvent)) == events
