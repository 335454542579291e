"""The time-limit sweeper: reminds before a step's deadline, marks it overdue after, and opens a
supervision record (督办) at the operations centre one level up, escalating while it stays overdue.
An extension re-arms a step (``cases.deadlines``): it is reminded again before its new deadline and
marked overdue again only after it. A finished case's steps are no longer swept, and their
supervisions end: a summoned department that never reported in before its case closed stays
unmet on the record (and counts as overdue if its time had passed), but nobody chases it.

Every change is a conditional update of rows not yet marked, so a sweep repeated or interrupted
never reminds or supervises twice; the ``sweeper`` lease keeps two workers from sweeping at once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import exists, select, update
from sqlalchemy.orm import Session

from cityops import outbox
from cityops.calendar.deadlines import deadline
from cityops.calendar.workcalendar import WorkCalendar
from cityops.cases import service as cases_service
from cityops.cases.models import Case, CaseDeadline, Supervision
from cityops.cases.states import FINISHED_STATUSES
from cityops.categories.time_limits import TimeLimit
from cityops.geo import service as geo_service
from cityops.org import service as org_service

ESCALATION = ("street", "district", "city")
# correlated: each candidate step looks its case up by key, rather than listing every open case
_OF_OPEN_CASE = exists().where(Case.id == CaseDeadline.case_id,
                               Case.status.not_in([status.value for status in FINISHED_STATUSES]))


@dataclass
class SweepResult:
    reminded: int = 0
    overdue: int = 0
    supervised: int = 0
    escalated: int = 0


def sweep(session: Session, *, now: datetime, calendar: WorkCalendar, supervision_limit: TimeLimit,
          batch: int = 1000) -> SweepResult:
    result = SweepResult()
    # The updates repeat their selection's conditions: an extension committed in between moves the
    # deadline, and the step must then wait for the new one.
    remindable = (CaseDeadline.met_at.is_(None), CaseDeadline.reminded_at.is_(None), CaseDeadline.remind_at <= now,
                  CaseDeadline.due_at > now, _OF_OPEN_CASE)
    to_remind = session.scalars(select(CaseDeadline).where(*remindable).limit(batch)).all()
    for step in to_remind:
        marked = session.execute(update(CaseDeadline).where(CaseDeadline.id == step.id, *remindable)
                                 .values(reminded_at=now))
        if marked.rowcount:
            result.reminded += 1
            _announce(session, step, "case.reminder", now)
    running_late = (CaseDeadline.met_at.is_(None), CaseDeadline.overdue_at.is_(None), CaseDeadline.due_at <= now,
                    _OF_OPEN_CASE)
    due = session.scalars(select(CaseDeadline).where(*running_late).order_by(CaseDeadline.due_at).limit(batch)).all()
    for step in due:
        marked = session.execute(update(CaseDeadline).where(CaseDeadline.id == step.id, *running_late)
                                 .values(overdue_at=now))
        if not marked.rowcount:
            continue
        result.overdue += 1
        _announce(session, step, "case.overdue", now)
        if _supervise(session, step=step, now=now, calendar=calendar, limit=supervision_limit, level_above="street"):
            result.supervised += 1
    _close_ended(session, now=now)
    # A supervision past its deadline hands over to the level above; the city's stays open until the
    # step is met, as there is nobody above it.
    for supervision in session.scalars(select(Supervision).where(
            Supervision.closed_at.is_(None), Supervision.due_at <= now, Supervision.level != ESCALATION[-1])
            .limit(batch)).all():
        handed_over = session.execute(update(Supervision).where(Supervision.id == supervision.id,
                                                                Supervision.closed_at.is_(None))
                                      .values(closed_at=now))
        if not handed_over.rowcount:
            continue
        step = session.get(CaseDeadline, supervision.deadline_id)
        if _supervise(session, step=step, now=now, calendar=calendar, limit=supervision_limit,
                      level_above=supervision.level):
            result.escalated += 1
    session.flush()
    return result


def _supervise(session: Session, *, step: CaseDeadline, now: datetime, calendar: WorkCalendar,
               limit: TimeLimit, level_above: str) -> bool:
    """Open a supervision at the centre one level above ``level_above`` for the case's place."""
    if level_above not in ESCALATION[:-1]:
        return False
    level = ESCALATION[ESCALATION.index(level_above) + 1]
    case = session.get(Case, step.case_id)
    chain = [c for c in case.area_path.strip("/").split("/") if c]
    centre = org_service.ops_centre_for(session, area_codes=chain, level=level)
    if centre is None:
        return False
    session.add(Supervision(case_id=case.id, deadline_id=step.id, ops_centre_id=centre.id, level=level,
                            opened_at=now, due_at=deadline(now, limit, calendar)))
    _announce(session, step, "case.supervised", now, centre_area_path=geo_service.get_area_by_id(
        session, area_id=centre.area_id).path, level=level)
    return True


def _announce(session: Session, step: CaseDeadline, topic: str, now: datetime, **extra: str) -> None:
    case = session.get(Case, step.case_id)
    departments = [step.department_code] if step.department_code else [
        a.department_code for a in cases_service.assignments(session, case=case)
        if a.status in ("dispatched", "in_progress")]
    outbox.emit(session, topic=topic, area_path=case.area_path, case_id=case.id, at=now, payload={
        "title": case.title, "status": case.status, "step": step.step, "due_at": step.due_at.isoformat(),
        "departments": departments, **extra})


def _close_ended(session: Session, *, now: datetime) -> None:
    """Supervisions of steps that are no longer overdue are over: the step was met (closed when it
    was), or an extension moved its deadline past now, or the case is finished (closed now; the step
    is supervised afresh if it runs out again)."""
    ended = session.execute(select(Supervision.id, CaseDeadline.met_at).join(
        CaseDeadline, Supervision.deadline_id == CaseDeadline.id).where(
        Supervision.closed_at.is_(None),
        CaseDeadline.met_at.is_not(None) | (CaseDeadline.overdue_at.is_(None) & (CaseDeadline.due_at > now))
        | ~_OF_OPEN_CASE)).all()
    for supervision_id, met_at in ended:
        session.execute(update(Supervision).where(Supervision.id == supervision_id, Supervision.closed_at.is_(None))
                        .values(closed_at=met_at or now))


def supervisions_of(session: Session, *, case: Case) -> list[Supervision]:
    return list(session.scalars(select(Supervision).where(Supervision.case_id == case.id).order_by(Supervision.id)))

