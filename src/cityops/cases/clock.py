"""Moves on a case's clock: a department asks for an extension and the centre grants or refuses
it; the centre defers a case (缓办/挂账) and resumes it. They change no status; ``cases.deadlines``
moves the deadlines they put off."""

from __future__ import annotations

from collections.abc import Callable

from cityops.cases import joint
from cityops.cases.states import Action, CaseState, Effect, Move, evolve
from cityops.errors import Conflict, InvalidInput
from cityops.times import as_utc


def _optional_time(move: Move, key: str) -> None:
    if move.data.get(key) is not None and as_utc(move.data[key], field=key) <= move.at:
        raise InvalidInput(f"{key} must lie after the time of the action", code="until_in_past", field=key)


def _request_extension(case: CaseState, move: Move) -> Effect:
    if case.extension_pending:
        raise Conflict("an extension request is already waiting for a decision", code="extension_pending")
    if case.deferred:
        raise Conflict("the case is deferred: its clock is stopped", code="case_deferred")
    if move.data.get("until") is None:
        raise InvalidInput("until: the deadline asked for is required", code="value_required", field="until")
    _optional_time(move, "until")
    assignment = case.assignments[joint.department_index(case.assignments, move.actor.department)]
    if assignment.status is not joint.AssignmentStatus.in_progress:
        raise Conflict(f"department {assignment.department_code} is not handling the case "
                       f"(its assignment is {assignment.status})", code="illegal_transition")
    return evolve(case, extension_pending=True), {}


def _decide_extension(case: CaseState, move: Move) -> Effect:
    if not case.extension_pending:
        raise Conflict("no extension request is waiting for a decision", code="no_extension_pending")
    _optional_time(move, "until")
    return evolve(case, extension_pending=False), {}


def _defer(case: CaseState, move: Move) -> Effect:
    if case.deferred:
        raise Conflict("the case is already deferred", code="already_deferred")
    if case.extension_pending:
        raise Conflict("decide the pending extension request first", code="extension_pending")
    _optional_time(move, "until")
    return evolve(case, deferred=True), {}


def _resume(case: CaseState, move: Move) -> Effect:
    if not case.deferred:
        raise Conflict("the case is not deferred", code="not_deferred")
    return evolve(case, deferred=False), {}


HANDLERS: dict[Action, Callable[[CaseState, Move], Effect]] = {
    Action.request_extension: _request_extension,
    Action.approve_extension: _decide_extension,
    Action.deny_extension: _decide_extension,
    Action.defer: _defer,
    Action.resume: _resume,
}
