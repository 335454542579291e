"""A department's 已超期 (overdue) and 督办中 (supervised) queues hold the steps that are its own to take —
its part of a case dispatched to it or in progress, or its report-in to a summons — not every late case
in its area; operations-centre staff (operator, dispatcher, leader) see all of their jurisdiction's.
GET /cases/queues counts what GET /cases lists, for each of them. Each row shows the late step that put the
case in the caller's queue: a department's own report-in when that alone is its, else the case's step."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.orm import Session

from cityops.calendar.workcalendar import WorkCalendar
from cityops.cases import sweeper
from cityops.cases.models import CaseDeadline
from cityops.categories.time_limits import parse_limit
from cityops.org import service as org_service
from tests.api.conftest import act, registered
from tests.factories import login, make_user

CENTRE_STAFF = ("op", "disp", "leader")


@pytest.fixture
def people(client: TestClient, joint: dict[str, Any], session: Session) -> dict[str, Any]:
    """The two district departments' handlers (greener, water), the street's operator and dispatcher, a
    district leader, and the district's and the city's centres to supervise late steps."""
    for code, level, area in (("centre-990000", "city", "990000"), ("centre-990101", "district", "990101")):
        org_service.create_ops_centre(session, code=code, name=code, level=level, area_code=area, origin="test")
    make_user(session, username="leader", roles=["leader"], area_code="990101")
    return {**joint, "leader": login(client, "leader")}


def run_late(session: Session, case_id: int) -> None:
    """Every open step of the case falls due a minute ago; the sweeper marks it overdue and supervises it."""
    now = datetime.now(UTC)
    session.execute(update(CaseDeadline).where(CaseDeadline.case_id == case_id, CaseDeadline.met_at.is_(None))
                    .values(due_at=now - timedelta(minutes=1), remind_at=now - timedelta(minutes=2)))
    sweeper.sweep(session, now=now, calendar=WorkCalendar(), supervision_limit=parse_limit("1d"))


def listed(client: TestClient, headers: dict[str, str], queue: str) -> set[int]:
    answer = client.get("/api/v1/cases", headers=headers, params={"queue": queue, "limit": 200})
    assert answer.status_code == 200, answer.text
    return {case["id"] for case in answer.json()["items"]}


def seen(client: TestClient, headers: dict[str, str]) -> dict[str, set[int]]:
    """The caller's overdue and supervised cases, after checking that the queue list counts each."""
    counted = {q["name"]: q["count"] for q in client.get("/api/v1/cases/queues", headers=headers).json()}
    found = {queue: listed(client, headers, queue) for queue in ("overdue", "supervised")}
    assert {queue: counted[queue] for queue in found} == {queue: len(ids) for queue, ids in found.items()}
    return found


def dispatched(client: TestClient, people: dict[str, Any], lead: str, **plan: Any) -> int:
    case_id = registered(client, people)
    answer = act(client, people["disp"], case_id, "dispatch", data={"lead": lead, **plan})
    assert answer.status_code == 200, answer.text
    return case_id


def test_a_handler_sees_its_departments_late_case_and_not_the_other_departments_in_the_same_street(
        client: TestClient, people: dict[str, Any], session: Session) -> None:
    greening = dispatched(client, people, "greening-990101")
    water = dispatched(client, people, "water-990101")
    assert act(client, people["water"], water, "acknowledge").status_code == 200  # late handling, not acknowledging
    for case_id in (greening, water):
        run_late(session, case_id)

    assert seen(client, people["greener"]) == {"overdue": {greening}, "supervised": {greening}}
    assert seen(client, people["water"]) == {"overdue": {water}, "supervised": {water}}
    for centre in CENTRE_STAFF:
        assert seen(client, people[centre]) == {"overdue": {greening, water}, "supervised": {greening, water}}, centre


def test_a_summoned_departments_late_report_in_is_its_own_and_not_the_others(
        client: TestClient, people: dict[str, Any], session: Session) -> None:
    summoned = registered(client, people)
    until = datetime.now(UTC) + timedelta(hours=2)
    answer = act(client, people["op"], summoned, "summon", reason="积水严重，吹哨",
                 data={"departments": {"water-990101": until.isoformat()}})
    assert answer.status_code == 200, answer.text
    run_late(session, summoned)  # the summons and the centre's dispatch step alike

    assert seen(client, people["water"]) == {"overdue": {summoned}, "supervised": {summoned}}
    assert seen(client, people["greener"]) == {"overdue": set(), "supervised": set()}
    for centre in CENTRE_STAFF:
        assert seen(client, people[centre]) == {"overdue": {summoned}, "supervised": {summoned}}, centre


def test_a_department_waiting_its_turn_in_series_or_whose_part_was_returned_is_not_behind(
        client: TestClient, people: dict[str, Any], session: Session) -> None:
    in_series = dispatched(client, people, "greening-990101", assisting=["water-990101"], mode="serial")
    returned = dispatched(client, people, "water-990101")
    assert act(client, people["water"], returned, "return", reason="不属于本部门职责").status_code == 200
    for case_id in (in_series, returned):
        run_late(session, case_id)  # the lead's acknowledging; the centre's dispatching again

    assert seen(client, people["greener"]) == {"overdue": {in_series}, "supervised": {in_series}}
    assert seen(client, people["water"]) == {"overdue": set(), "supervised": set()}
    for centre in CENTRE_STAFF:
        assert seen(client, people[centre]) == {"overdue": {in_series, returned},
                                                "supervised": {in_series, returned}}, centre


def test_in_parallel_each_department_still_to_act_is_behind(client: TestClient, people: dict[str, Any],
                                                            session: Session) -> None:
    together = dispatched(client, people, "greening-990101", assisting=["water-990101"], mode="parallel")
    assert act(client, people["water"], together, "acknowledge").status_code == 200
    run_late(session, together)
    for handler in ("greener", "water"):
        assert seen(client, people[handler]) == {"overdue": {together}, "supervised": {together}}, handler


def rows(client: TestClient, headers: dict[str, str],
         queue: str) -> dict[int, tuple[str | None, datetime | None, bool]]:
    """Each listed case's step, when it is due and whether it is late, as the queue's rows show them."""
    answer = client.get("/api/v1/cases", headers=headers, params={"queue": queue, "limit": 200})
    assert answer.status_code == 200, answer.text
    return {row["id"]: (row["step"], row["step_due_at"] and datetime.fromisoformat(row["step_due_at"]),
                        row["overdue"]) for row in answer.json()["items"]}


def open_steps(client: TestClient, headers: dict[str, str], case_id: int) -> dict[tuple[str, str | None], datetime]:
    """The case's open steps, by step and department (a summons' report-in), with when each is due."""
    detail = client.get(f"/api/v1/cases/{case_id}", headers=headers).json()
    return {(d["step"], d["department_code"]): datetime.fromisoformat(d["due_at"])
            for d in detail["deadlines"] if d["met_at"] is None}


def test_a_summoned_departments_row_shows_its_late_report_in_not_the_cases_step_on_time(
        client: TestClient, people: dict[str, Any], session: Session) -> None:
    case_id = registered(client, people)
    answer = act(client, people["op"], case_id, "summon", reason="积水严重，吹哨",
                 data={"departments": {"water-990101": (datetime.now(UTC) + timedelta(hours=2)).isoformat()}})
    assert answer.status_code == 200, answer.text
    now = datetime.now(UTC)
    session.execute(update(CaseDeadline).where(CaseDeadline.case_id == case_id, CaseDeadline.met_at.is_(None),
                                               CaseDeadline.department_code == "water-990101")
                    .values(due_at=now - timedelta(minutes=1), remind_at=now - timedelta(minutes=2)))
    sweeper.sweep(session, now=now, calendar=WorkCalendar(), supervision_limit=parse_limit("1d"))
    due = open_steps(client, people["op"], case_id)
    assert due[("dispatch", None)] > now  # the centre's step is on time: only the report-in is late

    for queue in ("overdue", "supervised"):
        assert rows(client, people["water"], queue) == {case_id: ("report_in", due[("report_in", "water-990101")],
                                                                  True)}, queue
        for centre in CENTRE_STAFF:  # the centre's rows keep the case's step
            assert rows(client, people[centre], queue) == {case_id: ("dispatch", due[("dispatch", None)], False)}, (
                queue, centre)


def test_a_departments_late_step_of_the_case_is_its_row_though_its_report_in_is_late_too(
        client: TestClient, people: dict[str, Any], session: Session) -> None:
    greening = dispatched(client, people, "greening-990101")
    until = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
    for department in ("greening-990101", "water-990101"):
        answer = act(client, people["op"], greening, "summon", reason="积水严重，吹哨",
                     data={"departments": {department: until}})
        assert answer.status_code == 200, answer.text
    run_late(session, greening)  # greening's acknowledging, and both report-ins
    due = open_steps(client, people["op"], greening)

    for queue in ("overdue", "supervised"):
        assert rows(client, people["greener"], queue) == {greening: ("acknowledge", due[("acknowledge", None)],
                                                                     True)}, queue
        assert rows(client, people["water"], queue) == {greening: ("report_in", due[("report_in", "water-990101")],
                                                                   True)}, queue
