"""Random runs of the lifecycle: whatever anyone tries, a case only ever moves as the table says, its
invariants hold, refusals name the right rule, and its timeline replays to the same state."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cityops.cases.joint import AssignmentRole, AssignmentStatus
from cityops.cases.lifecycle import DEPARTMENT_ACTIONS, TABLE, Action, CaseState, CaseStatus, TimelineEntry, replay
from cityops.errors import CityOpsError, Conflict, InvalidInput, PermissionDenied
from cityops.org.roles import Role
from tests.unit.cases.builders import Run

S = CaseStatus
ROLES = [*Role, "citizen"]
DEPARTMENTS = ("water", "roads", "parks", "police")
ACTIVE = (S.dispatched, S.in_progress, S.returned, S.handled)
BEFORE_DISPATCH = (S.reported, S.registered, S.rejected, S.merged)
FORWARD = {Action.register, Action.dispatch, Action.acknowledge, Action.report, Action.verify, Action.reassign}


def draw_data(draw: Any, action: Action, run: Run) -> dict[str, Any]:
    later = st.integers(-2, 72).map(run.later)
    if action in (Action.dispatch, Action.reassign):
        roster = draw(st.lists(st.sampled_from(DEPARTMENTS), min_size=0, max_size=3, unique=True))
        return {"lead": roster[0] if roster else draw(st.sampled_from(["", None])), "assisting": roster[1:],
                "mode": draw(st.sampled_from(["parallel", "serial", "parallel", "serial", "sideways"]))}
    return {
        Action.merge: lambda: {"primary": draw(st.sampled_from([41, 7, 0, None]))},
        Action.verify: lambda: {"passed": draw(st.sampled_from([True, False, None]))},
        Action.rate: lambda: {"score": draw(st.integers(0, 6)), "comment": "ok"},
        Action.request_extension: lambda: {"until": draw(later)},
        Action.approve_extension: lambda: {"until": draw(st.none() | later)},
        Action.defer: lambda: {"until": draw(st.none() | later)},
        Action.summon: lambda: {"departments": draw(st.dictionaries(st.sampled_from(DEPARTMENTS), later,
                                                                    max_size=2))},
    }.get(action, dict)()


def check_invariants(before: CaseState, after: CaseState, entry: TimelineEntry) -> None:
    rule = TABLE[entry.action]
    assert before.status in rule.sources
    assert entry.from_status is before.status and entry.to_status is after.status
    assert after.status in (rule.targets or {before.status})
    assert after.version == before.version + 1 == entry.version
    for count in ("rework_count", "return_count", "reopen_count"):
        assert getattr(before, count) <= getattr(after, count)
    if after.status is S.closed and before.status is not S.closed:
        assert (entry.action is Action.verify and entry.data["passed"] is True) or entry.action is Action.close
        assert before.status in (S.handled, S.registered)
        assert before.status is S.handled or not after.assignments
    assert after.rating is None or (after.status in (S.closed, S.merged) and 1 <= after.rating <= 5)
    assert (after.duplicate_of is not None) == (after.status is S.merged) == (after.status_before_merge is not None)
    assert not after.deferred or after.status in (S.registered, S.in_progress)
    assert not after.extension_pending or after.status is S.in_progress
    statuses = [a.status for a in after.assignments]
    if after.status in BEFORE_DISPATCH:
        assert not statuses
    if after.status in ACTIVE:
        assert [a.role for a in after.assignments].count(AssignmentRole.lead) == 1
        assert [a.position for a in after.assignments] == list(range(len(statuses)))
    if after.status is S.handled:
        assert set(statuses) == {AssignmentStatus.reported}
    if after.status is S.in_progress:  # someone has started, someone has still to report, nobody returned
        assert {AssignmentStatus.in_progress, AssignmentStatus.reported} & set(statuses)
        assert AssignmentStatus.returned not in statuses and set(statuses) != {AssignmentStatus.reported}
    if after.status is S.dispatched:
        assert set(statuses) <= {AssignmentStatus.dispatched, AssignmentStatus.waiting}
    if after.status is S.returned:  # one department returned it; the others reported or were withdrawn
        assert statuses.count(AssignmentStatus.returned) == 1
        assert set(statuses) <= {AssignmentStatus.returned, AssignmentStatus.reported, AssignmentStatus.withdrawn}
    else:
        assert AssignmentStatus.withdrawn not in statuses
    if entry.action is Action.return_:
        assert entry.data.get("withdrawn", []) == [a.department_code for a in after.assignments
                                                   if a.status is AssignmentStatus.withdrawn]


def check_refusal(error: CityOpsError, case: CaseState, action: Action, role: str, department: str | None,
                  reason: str | None) -> None:
    """The refusal names the first rule broken, in the order: role, department, status, reason."""
    rule = TABLE[action]
    if role not in rule.roles:
        assert isinstance(error, PermissionDenied) and error.code == "role_not_allowed"
    elif action in DEPARTMENT_ACTIONS and not department:
        assert isinstance(error, PermissionDenied) and error.code == "not_assigned"
    elif case.status not in rule.sources:
        assert isinstance(error, Conflict) and error.code == "illegal_transition"
        assert error.extra == {"action": action, "case_status": case.status, "allowed": sorted(rule.sources)}
    elif rule.requires_reason and not (reason or "").strip():
        assert isinstance(error, InvalidInput) and error.field == "reason"


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_random_runs_move_only_by_the_table_and_replay_to_the_same_state(data: st.DataObject) -> None:
    run = Run()
    for _ in range(data.draw(st.integers(1, 45), label="steps")):
        case = run.case
        legal = sorted(a for a, rule in TABLE.items() if case.status in rule.sources)
        legal += [a for a in legal if a in FORWARD] * 3  # so that runs get round the loop, not just start it
        action = data.draw(st.sampled_from(legal) if legal and data.draw(st.integers(0, 9)) else
                           st.sampled_from(list(Action)), label="action")
        allowed = sorted(TABLE[action].roles)
        role = data.draw(st.sampled_from(allowed) if data.draw(st.integers(0, 9)) else st.sampled_from(ROLES),
                         label="role")
        # Mostly a department that is on the case, sometimes any (or none).
        on_case = ([c.department_code for c in case.summons] if action is Action.report_in
                   else [a.department_code for a in case.assignments])
        department = data.draw(st.sampled_from(on_case) if on_case and data.draw(st.integers(0, 5))
                               else st.sampled_from([*DEPARTMENTS, None]), label="department")
        reason = data.draw(st.sampled_from(["because", "because", "because", None, " "]), label="reason")
        payload = draw_data(data.draw, action, run)
        try:
            entry = run.do(action, role, department=department, reason=reason, data=payload)
        except CityOpsError as error:
            assert run.case is case
            check_refusal(error, case, action, role, department, reason)
            continue
        check_invariants(case, run.case, entry)
    assert replay(run.timeline) == run.case
    assert [e.version for e in run.timeline] == list(range(1, len(run.timeline) + 1))
    assert all(later.at - earlier.at == timedelta(minutes=1) or later.at > earlier.at
               for earlier, later in zip(run.timeline, run.timeline[1:], strict=False))


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_a_timeline_with_an_entry_missing_never_replays(data: st.DataObject) -> None:
    run = Run()
    script = [(Action.register, "operator", None, None, None),
              (Action.dispatch, "dispatcher", None, None, {"lead": "water", "assisting": ["roads"]}),
              (Action.acknowledge, "handler", "water", None, None),
              (Action.acknowledge, "handler", "roads", None, None),
              (Action.report, "handler", "roads", "done", None),
              (Action.report, "handler", "water", "done", None),
              (Action.verify, "inspector", None, "still leaking", {"passed": False}),
              (Action.report, "handler", "water", "done again", None),
              (Action.close, "operator", None, "verified by phone", None)]
    for action, role, department, reason, payload in script:
        run.do(action, role, department=department, reason=reason, data=payload)
    missing = data.draw(st.integers(1, len(run.timeline) - 2))
    with pytest.raises(CityOpsError):
        replay(run.timeline[:missing] + run.timeline[missing + 1:])
