"""Joint handling (联办) and summons (吹哨报到): pure data over the departments working on one case.

**Joint handling.** A dispatch names one lead department (主办) and any number of assisting ones (协办),
in parallel (并联: all are dispatched at once) or in series (串联: the lead first, then the assisting
ones in the listed order, each dispatched when the one before it reports). Every department must
report before the case as a whole is handled. Each department's part is an ``Assignment``::

    waiting ──(its turn, serial)──▶ dispatched ──acknowledged──▶ in_progress ──reported──▶ reported
                                         └──────────returned──────────┴──▶ returned
    waiting, dispatched or in_progress ──(another department returned)──▶ withdrawn

``waiting`` exists only in series: the roster is known from the start (so the timeline and the inboxes
can show who comes next) but the department has nothing to do yet. Acknowledging an assignment starts
the work, as it does for the case, so "acknowledged" and "in progress" are one status here. Rework
after a failed verification, and a reopened case, go back to the lead (主办负责): its assignment
returns to ``in_progress`` and the case is handled again when it reports.

A return by any one department sends the whole case back to the centre, so every other part that
has not reported is ``withdrawn`` at once (from ``waiting``, ``dispatched`` or ``in_progress``): nobody
is left holding a case that can no longer be acted on, and the return's timeline entry names them.
Parts already ``reported`` stay so, as the record of the work done. ``withdrawn`` and ``returned`` are
final: the centre's ``reassign`` plans a fresh roster.

**Summons.** A street calls departments to a case (吹哨); each must report in (报到) by its own deadline.
A department can be summoned again once it has reported in, never twice at once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from cityops.errors import Conflict, InvalidInput, PermissionDenied
from cityops.org.routing import JointMode
from cityops.times import as_utc


class AssignmentRole(StrEnum):
    lead = "lead"
    assisting = "assisting"


class AssignmentStatus(StrEnum):
    waiting = "waiting"
    dispatched = "dispatched"
    in_progress = "in_progress"
    reported = "reported"
    returned = "returned"
    withdrawn = "withdrawn"


ACTIVE_STATUSES = frozenset({AssignmentStatus.waiting, AssignmentStatus.dispatched, AssignmentStatus.in_progress})
"""A department in these has still to report; another department's return withdraws it."""


class Event(StrEnum):
    """What a department does with its assignment."""

    acknowledged = "acknowledged"
    reported = "reported"
    returned = "returned"


@dataclass(frozen=True)
class Assignment:
    department_code: str
    role: AssignmentRole
    position: int
    """0 for the lead, then the assisting departments in the listed order (the serial order)."""
    status: AssignmentStatus


@dataclass(frozen=True)
class JointStep:
    assignments: tuple[Assignment, ...]
    all_reported: bool
    """Every department has reported: the case as a whole is handled."""
    next_department: str | None
    """In series, the department this step dispatched."""
    withdrawn: tuple[str, ...] = ()
    """On a return, the other departments whose parts it withdrew, in roster order."""


# Event → (assignment statuses it may happen in, the status it leads to).
EVENTS: dict[Event, tuple[frozenset[AssignmentStatus], AssignmentStatus]] = {
    Event.acknowledged: (frozenset({AssignmentStatus.dispatched}), AssignmentStatus.in_progress),
    Event.reported: (frozenset({AssignmentStatus.in_progress}), AssignmentStatus.reported),
    Event.returned: (frozenset({AssignmentStatus.dispatched, AssignmentStatus.in_progress}),
                     AssignmentStatus.returned),
}


def _department_code(value: Any, *, field: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"{field} must be a department code", code="department_required", field=field)
    return value.strip()


def plan(*, lead: Any, assisting: Any = (), mode: JointMode) -> tuple[Assignment, ...]:
    """The assignments of a fresh dispatch: the lead at position 0, then the assisting departments."""
    if isinstance(assisting, str) or not isinstance(assisting, Sequence):
        raise InvalidInput("assisting must be a list of department codes", code="assisting_not_a_list",
                           field="assisting")
    codes = [_department_code(lead, field="lead"),
             *(_department_code(code, field="assisting") for code in assisting)]
    if len(set(codes)) != len(codes):
        raise InvalidInput("a department can appear only once among the lead and assisting departments",
                           code="department_repeated", field="assisting")
    return tuple(
        Assignment(code, AssignmentRole.lead if position == 0 else AssignmentRole.assisting, position,
                   AssignmentStatus.dispatched if position == 0 or mode == JointMode.parallel
                   else AssignmentStatus.waiting)
        for position, code in enumerate(codes))


def department_index(assignments: Sequence[Assignment], department: str | None) -> int:
    """Where ``department``'s assignment is; a department without one may not act on the case."""
    for index, assignment in enumerate(assignments):
        if assignment.department_code == department:
            return index
    raise PermissionDenied(f"department {department or '(none)'} has no assignment on this case",
                           code="not_assigned")


def advance(assignments: tuple[Assignment, ...], *, mode: JointMode, department: str | None,
            event: Event) -> JointStep:
    """Record that ``department`` acknowledged, reported or returned its part; a return withdraws
    every other part that has not reported."""
    index = department_index(assignments, department)
    assignment = assignments[index]
    sources, target = EVENTS[event]
    if assignment.status not in sources:
        why = {AssignmentStatus.waiting: " (it waits for its turn in the series)",
               AssignmentStatus.withdrawn: " (another department returned the case to the centre)"}
        raise Conflict(f"department {department} cannot have {event} an assignment that is "
                       f"{assignment.status}{why.get(assignment.status, '')}", code="illegal_transition",
                       extra={"department": department, "event": str(event),
                              "assignment_status": str(assignment.status), "allowed": sorted(sources)})
    updated = list(assignments)
    updated[index] = replace(assignment, status=target)
    if event == Event.returned:
        withdrawn = [i for i, a in enumerate(updated) if a.status in ACTIVE_STATUSES]
        for i in withdrawn:
            updated[i] = replace(updated[i], status=AssignmentStatus.withdrawn)
        return JointStep(tuple(updated), False, None, tuple(updated[i].department_code for i in withdrawn))
    next_department = None
    if event == Event.reported and mode == JointMode.serial:
        following = next((i for i, a in enumerate(updated) if a.status is AssignmentStatus.waiting), None)
        if following is not None:
            updated[following] = replace(updated[following], status=AssignmentStatus.dispatched)
            next_department = updated[following].department_code
    return JointStep(tuple(updated), all(a.status is AssignmentStatus.reported for a in updated), next_department)


def rework(assignments: tuple[Assignment, ...]) -> tuple[Assignment, ...]:
    """Send the lead back to work (rework after a failed verification, or a reopened case)."""
    return tuple(replace(a, status=AssignmentStatus.in_progress) if a.role is AssignmentRole.lead else a
                 for a in assignments)


def outstanding(assignments: Sequence[Assignment]) -> tuple[str, ...]:
    """The departments that have still to report, in order (not those that returned or were withdrawn)."""
    return tuple(a.department_code for a in assignments if a.status in ACTIVE_STATUSES)


@dataclass(frozen=True)
class SummonsCall:
    department_code: str
    summoned_at: datetime
    deadline: datetime
    reported_in_at: datetime | None = None


def summon(calls: tuple[SummonsCall, ...], *, deadlines: Mapping[str, Any], at: datetime) -> tuple[SummonsCall, ...]:
    """Call departments to the case, each with the deadline by which it must report in."""
    if not isinstance(deadlines, Mapping) or not deadlines:
        raise InvalidInput("name at least one department to summon, each with its deadline", code="value_required",
                           field="departments")
    at = as_utc(at, field="at")
    waiting = set(awaiting(calls))
    added = []
    for code, value in deadlines.items():
        code = _department_code(code, field="departments")
        if code in waiting:
            raise Conflict(f"department {code} is already summoned and has not reported in yet",
                           code="already_summoned", extra={"department": code})
        deadline = as_utc(value, field="departments")
        if deadline <= at:
            raise InvalidInput(f"the deadline for {code} must lie after the summons", code="deadline_before_summons",
                               field="departments", extra={"department": code})
        added.append(SummonsCall(code, at, deadline))
        waiting.add(code)
    return (*calls, *added)


def report_in(calls: tuple[SummonsCall, ...], *, department: str | None, at: datetime) -> tuple[SummonsCall, ...]:
    """A summoned department reports in (报到)."""
    at = as_utc(at, field="at")
    for index, call in enumerate(calls):
        if call.department_code == department and call.reported_in_at is None:
            return (*calls[:index], replace(call, reported_in_at=at), *calls[index + 1:])
    if any(call.department_code == department for call in calls):
        raise Conflict(f"department {department} has already reported in", code="already_reported_in",
                       extra={"department": department})
    raise PermissionDenied(f"department {department or '(none)'} was not summoned to this case",
                           code="not_summoned")


def awaiting(calls: Sequence[SummonsCall]) -> tuple[str, ...]:
    """The summoned departments that have still to report in."""
    return tuple(call.department_code for call in calls if call.reported_in_at is None)


def overdue(calls: Sequence[SummonsCall], *, now: datetime) -> tuple[str, ...]:
    """The summoned departments past their deadline without reporting in."""
    now = as_utc(now, field="now")
    return tuple(call.department_code for call in calls if call.reported_in_at is None and call.deadline < now)


def reported_late(calls: Sequence[SummonsCall]) -> tuple[str, ...]:
    """The departments that reported in after their deadline (one entry per late call)."""
    return tuple(call.department_code for call in calls
                 if call.reported_in_at is not None and call.reported_in_at > call.deadline)
