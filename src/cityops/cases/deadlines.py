"""Time limits on the steps of a case: each status a case enters starts a step with a deadline from
its category's limits (or the platform default) on the work calendar; leaving the status meets it.

An approved extension moves the open deadline later (never earlier: ``check_moved_later``), keeps the
original, and re-arms the sweeper: a reminder before the new deadline, overdue only after it. The
approval's timeline entry keeps what the replaced deadline was and when it was reminded or marked
overdue (``replaced``), so the record holds both. Deferral stops the clock: the open step is closed
with its marks, and resuming starts the step again with its full limit and marks of its own.

A step's row says how it ended (``ended``, ``StepEnd``): its work done, or cut short by a return (any
department's return sends the whole case back to the centre and withdraws the other parts) or by a
deferral. A return is never shown as the step done. ``shown`` gives the case page each row with the
round of dispatch it belongs to, so a step met again after a reassignment says whose it was."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from cityops.bulk import new_row
from cityops.calendar.deadlines import deadline, warning_time
from cityops.calendar.workcalendar import WorkCalendar
from cityops.cases.joint import SummonsCall
from cityops.cases.lifecycle import Action, CaseStatus, TimelineEntry
from cityops.cases.models import Case, CaseDeadline, CaseEvent
from cityops.categories import service as categories_service
from cityops.categories.time_limits import MAX_AMOUNT, Step, TimeLimit, TimeUnit, format_limit, parse_limit
from cityops.errors import InvalidInput
from cityops.times import as_utc

STEP_OF_STATUS: dict[CaseStatus, Step] = {
    CaseStatus.reported: Step.register,
    CaseStatus.registered: Step.dispatch,
    CaseStatus.returned: Step.dispatch,
    CaseStatus.dispatched: Step.acknowledge,
    CaseStatus.in_progress: Step.handle,
    CaseStatus.handled: Step.verify,
}
WORKING_UNITS = frozenset({TimeUnit.working_hours, TimeUnit.working_days})
REPORT_IN = "report_in"
"""The step of a summoned department's deadline to report in (吹哨报到)."""
MINUTE = timedelta(minutes=1)


class StepEnd(StrEnum):
    """How a step's deadline stopped running."""

    met = "met"
    """The step's work was done (registered, dispatched, acknowledged, handled, verified, reported in …)."""
    returned = "returned"
    """A department returned the case to the centre: the step ended undone, the other parts withdrawn."""
    deferred = "deferred"
    """A deferral stopped the clock; resuming starts the step again."""


ENDED_BY: dict[Action, StepEnd] = {Action.return_: StepEnd.returned, Action.defer: StepEnd.deferred}
ROSTER_ACTIONS = (Action.dispatch.value, Action.reassign.value)


def open_deadline(session: Session, *, case: Case) -> CaseDeadline | None:
    """The open deadline of the case's current step (summonses have their own)."""
    return session.scalar(select(CaseDeadline).where(CaseDeadline.case_id == case.id, CaseDeadline.met_at.is_(None),
                                                     CaseDeadline.department_code.is_(None)))


def track_summons(session: Session, *, case: Case, before: Sequence[SummonsCall], after: Sequence[SummonsCall],
                  calendar: WorkCalendar) -> None:
    """Each department summoned gets a ``report_in`` deadline at the time the summons gave it; its
    report-in meets it."""
    for call in after:
        if call in before:
            continue
        if call.reported_in_at is None:
            session.add(CaseDeadline(
                case_id=case.id, step=REPORT_IN, department_code=call.department_code,
                time_limit=summons_limit(call.summoned_at, call.deadline),
                started_at=call.summoned_at, due_at=call.deadline,
                remind_at=warning_time(call.summoned_at, call.deadline, calendar, working=False)))
        else:
            session.execute(update(CaseDeadline).where(
                CaseDeadline.case_id == case.id, CaseDeadline.step == REPORT_IN,
                CaseDeadline.department_code == call.department_code, CaseDeadline.met_at.is_(None))
                .values(met_at=call.reported_in_at, ended=StepEnd.met.value))


def summons_limit(summoned_at: datetime, deadline: datetime) -> str:
    """A summons gives a time, not a limit: the time it allowed is kept as the limit, to the minute
    (``670m`` for 11 h 10 min, ``12h`` for 12 h), never rounded up to hours it did not give."""
    minutes = max(1, math.ceil((deadline - summoned_at) / MINUTE))
    if minutes % 60 == 0 or minutes > MAX_AMOUNT[TimeUnit.minutes]:
        return f"{math.ceil(minutes / 60)}h"
    return f"{minutes}m"


def check_moved_later(session: Session, *, case: Case, entry: TimelineEntry, current: CaseDeadline | None) -> None:
    """An extension asked for or granted, or a deferral with an ``until``, must put the open step's
    deadline off: a time after its current deadline (and after now). Raises ``InvalidInput`` on
    ``until`` otherwise; the caller checks before writing anything."""
    if entry.action not in (Action.request_extension, Action.approve_extension, Action.defer) or current is None:
        return
    until = _until(session, case=case, entry=entry)
    if until is None:
        return
    if until <= current.due_at:
        raise InvalidInput(f"until ({until.isoformat()}) must lie after the step's current deadline "
                           f"({current.due_at.isoformat()}): {entry.action} puts a deadline off, never earlier",
                           field="until", code="deadline_not_later")
    if until <= entry.at:
        raise InvalidInput(f"the deadline asked for ({until.isoformat()}) has passed; give a later until",
                           field="until", code="deadline_not_later")


def replaced(current: CaseDeadline | None) -> dict[str, str | None]:
    """What an extension replaces, for the approval's timeline entry: the deadline in force and the
    sweeper's marks against it, which the extension clears to re-arm the step."""
    if current is None:
        return {}
    return {key: value.isoformat() if value is not None else None for key, value in (
        ("due_at", current.due_at), ("remind_at", current.remind_at), ("reminded_at", current.reminded_at),
        ("overdue_at", current.overdue_at))}


def track(session: Session, *, case: Case, entry: TimelineEntry, calendar: WorkCalendar,
          current: CaseDeadline | None) -> CaseDeadline | None:
    """Bring the case's deadlines up to date with one timeline entry; ``current`` is its open
    deadline before the entry. Returns the open deadline after it."""
    if entry.action is Action.approve_extension:
        until = _until(session, case=case, entry=entry)
        if until is not None and current is not None:
            _extend(current, until=until, at=entry.at, calendar=calendar)
        return current
    changed = entry.from_status != entry.to_status
    restarts = (entry.action in (Action.defer, Action.resume)
                or (entry.action is Action.verify and entry.to_status is CaseStatus.in_progress))
    if not (changed or restarts or entry.from_status is None):
        return current
    if current is not None:
        current.met_at = entry.at
        current.ended = ENDED_BY.get(entry.action, StepEnd.met).value
    step = STEP_OF_STATUS.get(entry.to_status)
    if step is None or case.deferred:
        return None
    if case.category_id is not None:
        code = categories_service.code_of(session, category_id=case.category_id)
        limit = categories_service.category_limits(session, code=code)[step].limit
    else:
        limit = categories_service.PLATFORM_DEFAULT_LIMITS[step]
    due, remind = due_and_reminder(entry.at, limit, calendar)
    return new_row(session, CaseDeadline, case_id=case.id, step=step.value, time_limit=format_limit(limit),
                   started_at=entry.at, due_at=due, remind_at=remind)


def due_and_reminder(start: datetime, limit: TimeLimit, calendar: WorkCalendar) -> tuple[datetime, datetime]:
    """When a step started at ``start`` is due under ``limit``, and when to remind before that."""
    due = deadline(start, limit, calendar)
    return due, warning_time(start, due, calendar, working=limit.unit in WORKING_UNITS)


def _until(session: Session, *, case: Case, entry: TimelineEntry) -> datetime | None:
    """The deadline an entry asks for or grants: its own ``until``, or for an approval without one,
    the pending request's."""
    until = entry.data.get("until")
    if until is None and entry.action is Action.approve_extension:
        request = session.scalar(select(CaseEvent).where(
            CaseEvent.case_id == case.id, CaseEvent.action == Action.request_extension.value)
            .order_by(CaseEvent.version.desc()).limit(1))
        until = request.data.get("until") if request is not None else None
    return as_utc(until, field="until") if until is not None else None


def _extend(current: CaseDeadline, *, until: datetime, at: datetime, calendar: WorkCalendar) -> None:
    current.original_due_at = current.original_due_at or current.due_at
    current.due_at = until
    # the reminder falls as far into the time granted as it did into the step's own limit
    current.remind_at = warning_time(at, until, calendar,
                                     working=parse_limit(current.time_limit).unit in WORKING_UNITS)
    current.reminded_at = None
    current.overdue_at = None


def shown(rows: Iterable[CaseDeadline], events: Iterable[CaseEvent]) -> list[dict[str, Any]]:
    """The case's deadline rows (given in the order written) for its page, each with what tells repeated
    steps apart: ``round``, the dispatch it belongs to (1 for the first, 2 after a reassignment; the
    dispatch step counts the dispatch it waits for), and ``lead``, that dispatch's lead department;
    for a step a return ended, the department that returned (``returned_by``) and the parts it
    withdrew (``withdrawn``), from the return's timeline entry. A summons' report-in has no round and
    names its department."""
    timeline = sorted(events, key=lambda event: event.version)
    leads = [(event.data or {}).get("lead") for event in timeline if event.action in ROSTER_ACTIONS]
    returns = {event.at: event for event in timeline if event.action == Action.return_.value}
    dispatched = 0
    found = []
    for row in rows:
        round_: int | None = None
        lead = None
        if row.department_code is None and row.step != Step.register.value:
            if row.step == Step.acknowledge.value:
                dispatched += 1  # each dispatch or reassignment starts exactly one acknowledge step
            round_ = dispatched + 1 if row.step == Step.dispatch.value else dispatched
            if row.step != Step.dispatch.value and 0 < round_ <= len(leads):
                lead = leads[round_ - 1]
        ended = row.ended or (StepEnd.met.value if row.met_at is not None else None)
        returned = returns.get(row.met_at) if ended == StepEnd.returned.value else None
        found.append({
            "step": row.step, "time_limit": row.time_limit, "started_at": row.started_at, "due_at": row.due_at,
            "remind_at": row.remind_at, "original_due_at": row.original_due_at, "overdue_at": row.overdue_at,
            "met_at": row.met_at, "ended": ended, "department_code": row.department_code, "round": round_,
            "lead": lead, "returned_by": returned.actor_department if returned is not None else None,
            "withdrawn": list((returned.data or {}).get("withdrawn", ())) if returned is not None else []})
    return found
