"""Time limits on the steps of a case: each status a case enters starts a step with a deadline from
its category's limits (or the platform default) on the work calendar; leaving the status meets it.

An approved extension moves the open deadline later (never earlier: ``check_moved_later``), keeps the
original, and re-arms the sweeper: a reminder before the new deadline, overdue only after it. The
approval's timeline entry keeps what the replaced deadline was and when it was reminded or marked
overdue (``replaced``), so the record holds both. Deferral stops the clock: the open step is closed
with its marks, and resuming starts the step again with its full limit and marks of its own."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from cityops.bulk import new_row
from cityops.calendar.deadlines import deadline, warning_time
from cityops.calendar.workcalendar import WorkCalendar
from cityops.cases.joint import SummonsCall
from cityops.cases.lifecycle import Action, CaseStatus, TimelineEntry
from cityops.cases.models import Case, CaseDeadline, CaseEvent
from cityops.categories import service as categories_service
from cityops.categories.time_limits import Step, TimeLimit, TimeUnit, format_limit, parse_limit
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
HOUR = timedelta(hours=1)


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
                # a summons gives a time, not a limit: the hours it allowed are kept as the limit
                time_limit=f"{max(1, math.ceil((call.deadline - call.summoned_at) / HOUR))}h",
                started_at=call.summoned_at, due_at=call.deadline,
                remind_at=warning_time(call.summoned_at, call.deadline, calendar, working=False)))
        else:
            session.execute(update(CaseDeadline).where(
                CaseDeadline.case_id == case.id, CaseDeadline.step == REPORT_IN,
                CaseDeadline.department_code == call.department_code, CaseDeadline.met_at.is_(None))
                .values(met_at=call.reported_in_at))


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
