"""Extensions and deferrals put a step's deadline off, never earlier, and re-arm the sweeper: a
reminder before the new deadline, overdue only after it. The approval's timeline entry keeps the
replaced deadline with its marks, so the record holds both; a refused move writes nothing."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cityops.cases import service, sweeper
from cityops.cases.lifecycle import Action
from cityops.categories.time_limits import parse_limit
from cityops.errors import InvalidInput
from cityops.models import CaseEvent
from cityops.outbox import OutboxEvent
from tests.integration.cases.conftest import CALENDAR, local, staff

ONE_DAY = parse_limit("1wd")
MINUTE = timedelta(minutes=1)
HANDLER = staff("handler", "D1")


def sweep(session: Session, now):  # noqa: ANN001, ANN201
    return sweeper.sweep(session, now=now, calendar=CALENDAR, supervision_limit=ONE_DAY)


def _in_hand(session: Session, case):  # noqa: ANN001, ANN202
    """The case in the hands of D1 from Monday 3 November 2025 09:00: handling (3wd) due Thursday 18:00."""
    start = local(2025, 11, 3, 9, 0)
    service.act(session, case=case, action=Action.register, actor=staff("operator"), at=start, calendar=CALENDAR)
    service.act(session, case=case, action=Action.dispatch, actor=staff("dispatcher"), at=start, calendar=CALENDAR,
                data={"lead": "D1"})
    service.act(session, case=case, action=Action.acknowledge, actor=HANDLER, at=start, calendar=CALENDAR)
    handle = service.deadlines_of(session, case=case)[-1]
    assert (handle.step, handle.due_at) == ("handle", local(2025, 11, 6, 18, 0))
    return handle


def _extend(session: Session, case, *, asked_at, until) -> None:  # noqa: ANN001
    service.act(session, case=case, action=Action.request_extension, actor=HANDLER, at=asked_at, calendar=CALENDAR,
                reason="需要采购材料", data={"until": until.isoformat()})
    service.act(session, case=case, action=Action.approve_extension, actor=staff("dispatcher"),
                at=asked_at + timedelta(hours=1), calendar=CALENDAR)


def _reminders(session: Session, case) -> list[datetime]:  # noqa: ANN001
    return [datetime.fromisoformat(e.payload["due_at"]) for e in session.scalars(select(OutboxEvent).where(
        OutboxEvent.case_id == case.id, OutboxEvent.topic == "case.reminder").order_by(OutboxEvent.id))]


def test_an_extension_re_arms_the_reminder_and_the_overdue_mark(session: Session, case) -> None:  # noqa: ANN001
    handle = _in_hand(session, case)
    first_reminder = handle.remind_at + MINUTE
    assert sweep(session, first_reminder).reminded == 1
    until = local(2025, 11, 20, 18, 0)
    _extend(session, case, asked_at=local(2025, 11, 5, 9, 0), until=until)
    assert (handle.due_at, handle.original_due_at, handle.reminded_at) == (until, local(2025, 11, 6, 18, 0), None)
    assert local(2025, 11, 5, 10, 0) < handle.remind_at < until
    old_deadline = sweep(session, local(2025, 11, 6, 18, 5))
    assert (old_deadline.reminded, old_deadline.overdue) == (0, 0)
    assert sweep(session, handle.remind_at + MINUTE).reminded == 1
    assert sweep(session, until - MINUTE).overdue == 0
    assert sweep(session, until + MINUTE).overdue == 1
    assert _reminders(session, case) == [local(2025, 11, 6, 18, 0), until]
    approval = service.timeline(session, case=case)[-1]
    assert approval.action == "approve_extension"
    assert {key: datetime.fromisoformat(value) if value else None
            for key, value in approval.data["replaced_deadline"].items()} == {
        "due_at": local(2025, 11, 6, 18, 0), "remind_at": first_reminder - MINUTE, "reminded_at": first_reminder,
        "overdue_at": None}
    service.state_of(session, case=case)  # the timeline with the kept marks still replays


def test_an_extension_after_the_overdue_mark_clears_it_and_keeps_it_on_the_record(
        session: Session, case) -> None:  # noqa: ANN001
    handle = _in_hand(session, case)
    late = local(2025, 11, 6, 18, 5)
    assert sweep(session, late).overdue == 1
    _extend(session, case, asked_at=local(2025, 11, 7, 9, 0), until=local(2025, 11, 14, 18, 0))
    assert handle.overdue_at is None
    replaced = service.timeline(session, case=case)[-1].data["replaced_deadline"]
    assert datetime.fromisoformat(replaced["overdue_at"]) == late
    assert sweep(session, local(2025, 11, 10, 9, 0)).overdue == 0
    assert sweep(session, handle.remind_at + MINUTE).reminded == 1


def _events(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(CaseEvent))


@pytest.mark.parametrize("move", ["request earlier", "request the same", "approve earlier", "approve lapsed",
                                  "defer earlier"])
def test_a_move_that_would_not_put_the_deadline_off_is_refused_and_writes_nothing(
        session: Session, case, move: str) -> None:  # noqa: ANN001
    handle = _in_hand(session, case)
    asked_at = local(2025, 11, 4, 9, 0)
    dispatcher = staff("dispatcher")
    if move.startswith("approve"):
        asked_for = local(2025, 11, 7, 18, 0)
        service.act(session, case=case, action=Action.request_extension, actor=HANDLER, at=asked_at,
                    calendar=CALENDAR, reason="需要采购材料", data={"until": asked_for.isoformat()})
    events, due = _events(session), handle.due_at
    attempts = {
        "request earlier": (Action.request_extension, HANDLER, asked_at, {"until": local(2025, 11, 5, 18, 0)}),
        "request the same": (Action.request_extension, HANDLER, asked_at, {"until": handle.due_at}),
        "approve earlier": (Action.approve_extension, dispatcher, asked_at, {"until": local(2025, 11, 6, 12, 0)}),
        "approve lapsed": (Action.approve_extension, dispatcher, local(2025, 11, 10, 9, 0), {}),
        "defer earlier": (Action.defer, dispatcher, asked_at, {"until": local(2025, 11, 5, 9, 0)}),
    }
    action, actor, at, data = attempts[move]
    with pytest.raises(InvalidInput) as refused:
        service.act(session, case=case, action=action, actor=actor, at=at, calendar=CALENDAR, reason="说明",
                    data={key: value.isoformat() for key, value in data.items()})
    assert (refused.value.field, refused.value.code) == ("until", "deadline_not_later")
    assert (_events(session), handle.due_at, handle.met_at) == (events, due, None)
    assert not case.deferred


def test_a_deferral_re_arms_the_step_when_it_resumes_and_the_met_step_keeps_its_marks(
        session: Session, case) -> None:  # noqa: ANN001
    handle = _in_hand(session, case)
    assert sweep(session, local(2025, 11, 6, 18, 5)).overdue == 1
    dispatcher = staff("dispatcher")
    service.act(session, case=case, action=Action.defer, actor=dispatcher, at=local(2025, 11, 7, 9, 0),
                calendar=CALENDAR, reason="等待汛期结束", data={"until": local(2025, 12, 1, 9, 0).isoformat()})
    assert handle.met_at == local(2025, 11, 7, 9, 0) and handle.overdue_at is not None
    assert vars(sweep(session, local(2025, 11, 28, 9, 0))) == vars(sweeper.SweepResult())  # the clock stopped
    service.act(session, case=case, action=Action.resume, actor=dispatcher, at=local(2025, 12, 1, 9, 0),
                calendar=CALENDAR)
    resumed = service.deadlines_of(session, case=case)[-1]
    assert (resumed.step, resumed.due_at, resumed.reminded_at, resumed.overdue_at) == (
        "handle", local(2025, 12, 4, 18, 0), None, None)
    assert sweep(session, resumed.remind_at + MINUTE).reminded == 1
    assert sweep(session, resumed.due_at - MINUTE).overdue == 0
    assert sweep(session, resumed.due_at + MINUTE).overdue == 1
