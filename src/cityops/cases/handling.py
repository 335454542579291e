"""Moves of joint handling (联办) and summons (吹哨报到) on a case: dispatching a roster (in parallel
or in series), each department's acknowledgement, report and return, a street's summons and each
summoned department's report-in. The rosters themselves are ``cityops.cases.joint``'s.

Derived entry data: a report in series names the ``next_department`` it dispatched; a return lists as
``withdrawn`` the other departments whose parts had not reported, so the timeline shows who was taken off."""

from __future__ import annotations

from collections.abc import Callable

from cityops.cases import joint
from cityops.cases.states import Action, CaseState, CaseStatus, Effect, Move, evolve
from cityops.errors import InvalidInput
from cityops.org.routing import JointMode


def _dispatch(case: CaseState, move: Move) -> Effect:
    mode = move.data.get("mode", JointMode.parallel)
    if not isinstance(mode, str) or mode not in set(JointMode):
        raise InvalidInput(f"mode must be one of {', '.join(JointMode)}", code="bad_joint_mode", field="mode")
    mode = JointMode(mode)
    roster = joint.plan(lead=move.data.get("lead"), assisting=move.data.get("assisting", ()), mode=mode)
    return evolve(case, status=CaseStatus.dispatched, joint_mode=mode, assignments=roster), {}


def _department_event(event: joint.Event) -> Callable[[CaseState, Move], Effect]:
    def handle(case: CaseState, move: Move) -> Effect:
        step = joint.advance(case.assignments, mode=case.joint_mode or JointMode.parallel,
                             department=move.actor.department, event=event)
        if event is joint.Event.returned:
            extra = {"withdrawn": list(step.withdrawn)} if step.withdrawn else {}
            return evolve(case, status=CaseStatus.returned, assignments=step.assignments,
                          return_count=case.return_count + 1), extra
        status = CaseStatus.handled if step.all_reported else CaseStatus.in_progress
        extra = {"next_department": step.next_department} if step.next_department else {}
        return evolve(case, status=status, assignments=step.assignments), extra
    return handle


def _summon(case: CaseState, move: Move) -> Effect:
    return evolve(case, summons=joint.summon(case.summons, deadlines=move.data.get("departments"),
                                             at=move.at)), {}


def _report_in(case: CaseState, move: Move) -> Effect:
    return evolve(case, summons=joint.report_in(case.summons, department=move.actor.department, at=move.at)), {}


HANDLERS: dict[Action, Callable[[CaseState, Move], Effect]] = {
    Action.dispatch: _dispatch,
    Action.reassign: _dispatch,
    Action.acknowledge: _department_event(joint.Event.acknowledged),
    Action.report: _department_event(joint.Event.reported),
    Action.return_: _department_event(joint.Event.returned),
    Action.summon: _summon,
    Action.report_in: _report_in,
}
