"""A summoned department's report-in is a deadline like any step's: listed with the case, reminded,
marked overdue and supervised by the sweeper, met by reporting in — and no longer chased once its case
is finished."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from cityops.analytics import service as analytics
from cityops.calendar.workcalendar import WorkCalendar
from cityops.cases import sweeper
from cityops.cases.models import CaseDeadline, Supervision
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
    topics = [n["topic"] for n in client.get("/api/v1/inbox", params={"unread": True},
                                             headers=loop["water"]).json()["items"]]
    assert "case.overdue" in topics


def centres(session: Session) -> None:
    for code, level, area in (("centre-990000", "city", "990000"), ("centre-990101", "district", "990101")):
        org_service.create_ops_centre(session, code=code, name=code, level=level, area_code=area, origin="test")


def close(client: TestClient, loop: dict[str, Any], case_id: int) -> None:
    act(client, loop["disp"], case_id, "dispatch", data={"lead": "greening-990101"})
    act(client, loop["greener"], case_id, "acknowledge")
    act(client, loop["greener"], case_id, "report", reason="已排水")
    assert act(client, loop["insp"], case_id, "verify", data={"passed": True}).json()["status"] == "closed"


def test_a_finished_case_s_overdue_summons_stays_on_record_but_its_supervision_ends(
        client: TestClient, loop: dict[str, Any], session: Session) -> None:
    centres(session)
    until = datetime.now(UTC) + timedelta(minutes=30)
    case_id = summoned(client, loop, session, until)
    late = until + timedelta(minutes=1)
    first = sweeper.sweep(session, now=late, calendar=WorkCalendar(), supervision_limit=parse_limit("1h"))
    assert first.supervised == 1
    overdue_open = analytics.screen_counts(session, area_path="/", day_start=late, now=late)["overdue"]
    close(client, loop, case_id)

    later = until + timedelta(days=2)   # past the district's supervision deadline: it would go to the city
    again = sweeper.sweep(session, now=later, calendar=WorkCalendar(), supervision_limit=parse_limit("1h"))
    assert (again.supervised, again.escalated) == (0, 0)
    assert [(s.level, s.closed_at) for s in session.scalars(
        select(Supervision).where(Supervision.case_id == case_id))] == [("district", later)]
    [due] = report_in_deadlines(session, case_id)
    assert (due.met_at, due.overdue_at) == (None, late)   # the record keeps that it was never met
    assert analytics.screen_counts(session, area_path="/", day_start=late, now=later)["overdue"] == overdue_open - 1


def test_a_summons_still_running_when_its_case_closes_is_never_marked_overdue(
        client: TestClient, loop: dict[str, Any], session: Session) -> None:
    centres(session)
    until = datetime.now(UTC) + timedelta(minutes=30)
    case_id = summoned(client, loop, session, until)
    close(client, loop, case_id)
    swept = sweeper.sweep(session, now=until + timedelta(minutes=1), calendar=WorkCalendar(),
                          supervision_limit=parse_limit("1h"))
    assert (swept.overdue, swept.supervised) == (0, 0)
    [due] = report_in_deadlines(session, case_id)
    assert (due.met_at, due.overdue_at) == (None, None)
    assert session.scalars(select(Supervision).where(Supervision.case_id == case_id)).all() == []
