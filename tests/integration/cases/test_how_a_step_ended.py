"""A step's deadline row says how it ended: a return by an assisting department ends the case's handling
step as returned (the lead's part withdrawn), never as met; a deferral as deferred; the work done as
met. Repeated steps after a reassignment belong to the second dispatch and name its lead. A summons'
report-in keeps the time the summons gave, to the minute. Rows written before (migration 0023) get
how they ended from the timeline."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from cityops.cases import deadlines, service
from cityops.cases.lifecycle import Action
from cityops.cases.models import Case, CaseDeadline
from cityops.db import migrate, unit_of_work
from tests.factories import downgrade
from tests.integration.cases.conftest import JointCity, local

START = local(2025, 9, 30, 9, 0)


def rows(session: Session, case_id: int) -> list[CaseDeadline]:
    return list(session.scalars(select(CaseDeadline).where(CaseDeadline.case_id == case_id)
                                .order_by(CaseDeadline.id)))


def ends(session: Session, case_id: int) -> list[tuple[str, str | None]]:
    return [(row.step, row.ended) for row in rows(session, case_id)]


def cases(session: Session) -> dict[str, Any]:
    """A parallel case its assisting department returned after the lead acknowledged, then reassigned
    and acknowledged again; a case deferred while in progress; a case summoned with a deadline
    11 h 10 min away."""
    city = JointCity(session, START)
    case, times = city.case, city.times

    summoned_at = START + timedelta(minutes=15)  # the 16th move below
    return {"times": times, "summoned_at": summoned_at, **{
        "returned": case("returned", ("dispatcher", None, Action.dispatch, {"lead": "D1", "assisting": ["D2"]}),
                         ("handler", "D1", Action.acknowledge, {}), ("handler", "D2", Action.return_, {}),
                         ("dispatcher", None, Action.reassign, {"lead": "D3"}),
                         ("handler", "D3", Action.acknowledge, {})),
        "deferred": case("deferred", ("dispatcher", None, Action.dispatch, {"lead": "D1"}),
                         ("handler", "D1", Action.acknowledge, {}), ("dispatcher", None, Action.defer, {}),
                         ("dispatcher", None, Action.resume, {})),
        "summoned": case("summoned", ("operator", None, Action.summon, {"departments": {
            "D2": (summoned_at + timedelta(hours=11, minutes=10)).isoformat()}})),
    }}


RETURNED = [("register", "met"), ("dispatch", "met"), ("acknowledge", "met"), ("handle", "returned"),
            ("dispatch", "met"), ("acknowledge", "met"), ("handle", None)]
DEFERRED = [("register", "met"), ("dispatch", "met"), ("acknowledge", "met"), ("handle", "deferred"),
            ("handle", None)]


def test_a_return_ends_the_handling_step_as_returned_and_rounds_tell_repeats_apart(session: Session) -> None:
    made = cases(session)
    case_id = made["returned"]
    steps = rows(session, case_id)
    assert [(row.step, row.ended) for row in steps] == RETURNED
    handle = steps[3]
    assert handle.met_at == made["times"]["returned.return.D2"]

    shown = deadlines.shown(steps, service.timeline(session, case=session.get(Case, case_id)))
    assert [(row["step"], row["round"], row["lead"]) for row in shown] == [
        ("register", None, None), ("dispatch", 1, None), ("acknowledge", 1, "D1"), ("handle", 1, "D1"),
        ("dispatch", 2, None), ("acknowledge", 2, "D3"), ("handle", 2, "D3")]
    assert (shown[3]["ended"], shown[3]["returned_by"], shown[3]["withdrawn"]) == ("returned", "D2", ["D1"])
    assert all(row["returned_by"] is None and row["withdrawn"] == [] for index, row in enumerate(shown) if index != 3)


def test_a_deferral_ends_the_step_as_deferred_and_resuming_starts_it_again(session: Session) -> None:
    made = cases(session)
    assert ends(session, made["deferred"]) == DEFERRED
    shown = deadlines.shown(rows(session, made["deferred"]),
                            service.timeline(session, case=session.get(Case, made["deferred"])))
    assert [(row["round"], row["lead"]) for row in shown[3:]] == [(1, "D1"), (1, "D1")]


def test_a_summons_keeps_the_deadline_it_gave_and_its_limit_to_the_minute(session: Session) -> None:
    made = cases(session)
    (report_in,) = [row for row in rows(session, made["summoned"]) if row.step == deadlines.REPORT_IN]
    assert report_in.department_code == "D2"
    assert report_in.started_at == made["times"]["summoned.summon.None"] == made["summoned_at"]
    assert report_in.due_at == made["summoned_at"] + timedelta(hours=11, minutes=10)
    assert report_in.time_limit == "670m"  # 11 h 10 min, not 12h
    assert report_in.ended is None


def test_summons_limit_is_the_time_given_never_rounded_up() -> None:
    at = START
    assert deadlines.summons_limit(at, at + timedelta(hours=11, minutes=10)) == "670m"
    assert deadlines.summons_limit(at, at + timedelta(hours=12)) == "12h"
    assert deadlines.summons_limit(at, at + timedelta(minutes=29, seconds=20)) == "30m"
    assert deadlines.summons_limit(at, at + timedelta(days=400, minutes=1)) == "9601h"


def test_rows_written_before_get_how_they_ended_from_the_timeline(scratch_store: Engine) -> None:
    with unit_of_work(scratch_store) as session:
        made = cases(session)
    ids = [made[name] for name in ("returned", "deferred", "summoned")]
    with unit_of_work(scratch_store) as session:  # the summons' limit as it was written before: whole hours
        session.execute(update(CaseDeadline).where(CaseDeadline.step == deadlines.REPORT_IN).values(time_limit="12h"))

    downgrade(scratch_store, "0022")
    migrate(scratch_store)
    with Session(scratch_store) as session:
        assert [ends(session, case_id) for case_id in ids[:2]] == [RETURNED, DEFERRED]
        limits = {row.step: row.time_limit for row in rows(session, made["summoned"])}
        assert limits[deadlines.REPORT_IN] == "670m"
        assert ends(session, made["summoned"]) == [("register", "met"), ("dispatch", None), ("report_in", None)]
