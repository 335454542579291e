"""A summoned department's report-in is a deadline like any step's: listed with the case, reminded,
marked overdue and supervised by the sweeper, met by reporting in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from cityops.calendar.workcalendar import WorkCalendar
from cityops.cases import sweeper
from cityops.cases.models import CaseDeadline
from cityops.categories.time_limits import parse_limit
from cityops.notify import service as notify
from cityops.org import service as org_service
from tests.api.conftest import IN_STREET, act
from tests.factories import login, make_user


def summoned(client: TestClient, loop: dict[str, Any], session: Session, until: datetime) -> int:
    org_service.create_department(session, code="water-990101", name="水务", level="district", area_code="990101",
                                  kind="water", origin="test")
    make_user(session, username="waterman", roles=["handler"], area_code="990101", department_code="water-990101")
    loop["water"] = login(client, "waterman")
    case = client.post("/api/v1/cases", headers=loop["op"], json={
        "channel": "hotline_12345", "title": "道路积水", **IN_STREET}).json()
    act(client, loop["op"], case["id"], "register")
    answer = act(client, loop["op"], case["id"], "summon", reason="积水严重，吹哨",
                 data={"departments": {"water-990101": until.isoformat()}})
    assert answer.status_code == 200, answer.text
    return case["id"]


def report_in_deadlines(session: Session, case_id: int) -> list[CaseDeadline]:
    return list(session.scalars(select(CaseDeadline).where(CaseDeadline.case_id == case_id,
                                                           CaseDeadline.step == "report_in")))


def test_a_summons_is_a_deadline_met_by_reporting_in(client: TestClient, loop: dict[str, Any],
                                                      session: Session) -> None:
    until = datetime.now(UTC) + timedelta(hours=2)
    case_id = summoned(client, loop, session, until)
    [due] = report_in_deadlines(session, case_id)
    assert (due.department_code, due.due_at, due.met_at, due.time_limit) == ("water-990101", until, None, "2h")
    shown = client.get(f"/api/v1/cases/{case_id}", headers=loop["op"]).json()["deadlines"]
    assert [d["step"] for d in shown].count("report_in") == 1
    assert [d["step"] for d in shown if d["met_at"] is None] == ["dispatch", "report_in"]  # the step runs on
    act(client, loop["water"], case_id, "report_in")
    session.refresh(due)
    assert due.met_at is not None


def test_a_department_late_to_report_in_is_marked_overdue_and_told(client: TestClient, loop: dict[str, Any],
                                                                    session: Session) -> None:
    until = datetime.now(UTC) + timedelta(minutes=30)
    case_id = summoned(client, loop, session, until)
    notify.fan_out(session, now=datetime.now(UTC))
    client.get("/api/v1/inbox", headers=loop["water"])
    later = until + timedelta(minutes=1)
    result = sweeper.sweep(session, now=later, calendar=WorkCalendar(), supervision_limit=parse_limit("1d"))
    [due] = report_in_deadlines(session, case_id)
    assert due.overdue_at == later and result.overdue >= 1
    notify.fan_out(session, now=later)
    topics = [n["topic"] for n in client.get("/api/v1/inbox", params={"unread": True}, headers=loop["water"]).json()]
    assert "case.overdue" in topics
