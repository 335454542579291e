"""Joint handling (联办, parallel and serial) and summons (吹哨报到) as pure data."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cityops.cases import joint
from cityops.cases.joint import Assignment, AssignmentRole, AssignmentStatus, Event, SummonsCall
from cityops.errors import Conflict, InvalidInput, PermissionDenied
from cityops.org.routing import JointMode

W, D, P, R = (AssignmentStatus.waiting, AssignmentStatus.dispatched, AssignmentStatus.in_progress,
              AssignmentStatus.reported)
RET, X = AssignmentStatus.returned, AssignmentStatus.withdrawn
T0 = datetime(2025, 10, 1, 2, 0, tzinfo=UTC)
DEPARTMENTS = ("water", "roads", "parks", "police", "market")
# The assignment moves as the module's diagram draws them, written out independently of ``EVENTS``.
LEGAL = {(D, Event.acknowledged): P, (P, Event.reported): R, (D, Event.returned): AssignmentStatus.returned,
         (P, Event.returned): AssignmentStatus.returned}


def statuses(assignments: tuple[Assignment, ...]) -> list[AssignmentStatus]:
    return [a.status for a in assignments]


def test_a_parallel_plan_dispatches_everyone_and_a_serial_one_the_lead_first() -> None:
    parallel = joint.plan(lead="water", assisting=["roads", "parks"], mode=JointMode.parallel)
    assert [(a.department_code, a.role, a.position) for a in parallel] == [
        ("water", AssignmentRole.lead, 0), ("roads", AssignmentRole.assisting, 1),
        ("parks", AssignmentRole.assisting, 2)]
    assert statuses(parallel) == [D, D, D]
    assert statuses(joint.plan(lead="water", assisting=["roads", "parks"], mode=JointMode.serial)) == [D, W, W]
    assert statuses(joint.plan(lead=" water ", mode=JointMode.serial)) == [D]


@pytest.mark.parametrize(("lead", "assisting", "field", "code"), [
    (None, (), "lead", "department_required"), ("  ", (), "lead", "department_required"),
    ("water", "roads", "assisting", "assisting_not_a_list"),
    ("water", ["roads", 3], "assisting", "department_required"),
    ("water", ["roads", "roads"], "assisting", "department_repeated"),
    ("water", ["water"], "assisting", "department_repeated")])
def test_a_plan_needs_one_lead_and_distinct_departments(lead: object, assisting: object, field: str,
                                                        code: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        joint.plan(lead=lead, assisting=assisting, mode=JointMode.parallel)
    assert (caught.value.field, caught.value.code) == (field, code)


def acknowledged(roster: tuple[Assignment, ...], *departments: str) -> tuple[Assignment, ...]:
    """The parallel roster once ``departments`` have acknowledged, in that order."""
    for department in departments:
        roster = joint.advance(roster, mode=JointMode.parallel, department=department,
                               event=Event.acknowledged).assignments
    return roster


def test_in_parallel_the_case_is_handled_only_when_the_last_department_reports() -> None:
    roster = acknowledged(joint.plan(lead="water", assisting=["roads"], mode=JointMode.parallel), "roads", "water")
    step = joint.advance(roster, mode=JointMode.parallel, department="roads", event=Event.reported)
    assert (step.all_reported, step.next_department, joint.outstanding(step.assignments)) == (False, None, ("water",))
    step = joint.advance(step.assignments, mode=JointMode.parallel, department="water", event=Event.reported)
    assert step.all_reported and joint.outstanding(step.assignments) == ()


def test_in_series_each_report_dispatches_the_next_department() -> None:
    roster = joint.plan(lead="water", assisting=["roads", "parks"], mode=JointMode.serial)
    with pytest.raises(Conflict) as caught:
        joint.advance(roster, mode=JointMode.serial, department="roads", event=Event.acknowledged)
    assert caught.value.code == "illegal_transition" and "its turn" in caught.value.detail
    order = []
    for department in ("water", "roads", "parks"):
        roster = joint.advance(roster, mode=JointMode.serial, department=department,
                               event=Event.acknowledged).assignments
        step = joint.advance(roster, mode=JointMode.serial, department=department, event=Event.reported)
        roster = step.assignments
        order.append(step.next_department)
        assert step.all_reported is (department == "parks")
    assert order == ["roads", "parks", None]


def test_rework_reopens_the_leads_part_only() -> None:
    roster = tuple(Assignment(code, role, i, R) for i, (code, role) in
                   enumerate([("water", AssignmentRole.lead), ("roads", AssignmentRole.assisting)]))
    assert statuses(joint.rework(roster)) == [P, R]


def test_when_the_lead_returns_in_parallel_every_assisting_part_is_withdrawn() -> None:
    roster = joint.plan(lead="water", assisting=["roads", "parks"], mode=JointMode.parallel)
    roster = joint.advance(roster, mode=JointMode.parallel, department="parks", event=Event.acknowledged).assignments
    step = joint.advance(roster, mode=JointMode.parallel, department="water", event=Event.returned)
    assert statuses(step.assignments) == [RET, X, X]  # one still to acknowledge, one already at work
    assert step.withdrawn == ("roads", "parks") and not step.all_reported and step.next_department is None
    assert joint.outstanding(step.assignments) == ()


def test_when_the_lead_returns_in_series_the_waiting_departments_are_withdrawn() -> None:
    roster = joint.plan(lead="water", assisting=["roads", "parks"], mode=JointMode.serial)
    roster = joint.advance(roster, mode=JointMode.serial, department="water", event=Event.acknowledged).assignments
    step = joint.advance(roster, mode=JointMode.serial, department="water", event=Event.returned)
    assert statuses(step.assignments) == [RET, X, X] and step.withdrawn == ("roads", "parks")


def test_when_an_assisting_department_returns_the_lead_is_withdrawn_too() -> None:
    roster = acknowledged(joint.plan(lead="water", assisting=["roads"], mode=JointMode.parallel), "water", "roads")
    step = joint.advance(roster, mode=JointMode.parallel, department="roads", event=Event.returned)
    assert statuses(step.assignments) == [X, RET] and step.withdrawn == ("water",)


@pytest.mark.parametrize("mode", list(JointMode))
def test_a_reported_part_stays_reported_when_another_department_returns(mode: JointMode) -> None:
    roster = joint.plan(lead="water", assisting=["roads", "parks"], mode=mode)
    roster = joint.advance(roster, mode=mode, department="water", event=Event.acknowledged).assignments
    roster = joint.advance(roster, mode=mode, department="water", event=Event.reported).assignments
    step = joint.advance(roster, mode=mode, department="roads", event=Event.returned)
    assert statuses(step.assignments) == [R, RET, X] and step.withdrawn == ("parks",)
    alone = joint.advance(roster[:2], mode=mode, department="roads", event=Event.returned)
    assert statuses(alone.assignments) == [R, RET] and alone.withdrawn == ()  # nobody else to withdraw


@pytest.mark.parametrize("event", list(Event))
def test_a_withdrawn_part_can_do_nothing_more(event: Event) -> None:
    roster = joint.plan(lead="water", assisting=["roads"], mode=JointMode.parallel)
    withdrawn = joint.advance(roster, mode=JointMode.parallel, department="water", event=Event.returned).assignments
    with pytest.raises(Conflict) as caught:
        joint.advance(withdrawn, mode=JointMode.parallel, department="roads", event=event)
    assert caught.value.code == "illegal_transition" and caught.value.extra["assignment_status"] == "withdrawn"
    assert "another department returned the case" in caught.value.detail


def test_a_department_without_an_assignment_is_refused() -> None:
    roster = joint.plan(lead="water", mode=JointMode.parallel)
    with pytest.raises(PermissionDenied) as caught:
        joint.advance(roster, mode=JointMode.parallel, department="roads", event=Event.acknowledged)
    assert caught.value.code == "not_assigned"


@settings(max_examples=300, deadline=None)
@given(roster=st.lists(st.sampled_from(DEPARTMENTS), min_size=1, max_size=5, unique=True),
       mode=st.sampled_from(JointMode),
       events=st.lists(st.tuples(st.integers(0, 4), st.sampled_from(Event)), max_size=30))
def test_joint_handling_follows_its_rules_under_any_sequence_of_events(
        roster: list[str], mode: JointMode, events: list[tuple[int, Event]]) -> None:
    assignments = joint.plan(lead=roster[0], assisting=roster[1:], mode=mode)
    reports: list[int] = []
    for pick, event in events:
        department = roster[pick % len(roster)]
        before = next(a for a in assignments if a.department_code == department)
        try:
            step = joint.advance(assignments, mode=mode, department=department, event=event)
        except Conflict:
            assert (before.status, event) not in LEGAL
            continue
        after = next(a for a in step.assignments if a.department_code == department)
        assert LEGAL[before.status, event] == after.status
        changed = [a.department_code for a, b in zip(assignments, step.assignments, strict=True) if a != b]
        assert changed == sorted([department, *([step.next_department] if step.next_department else []),
                                  *step.withdrawn], key=roster.index)
        if event is Event.returned:  # everyone else who had not reported is withdrawn, the reported stay
            assert step.withdrawn == tuple(a.department_code for a in assignments
                                           if a.status in (W, D, P) and a.department_code != department)
            assert all(b.status is (X if a.status in (W, D, P) else a.status)
                       for a, b in zip(assignments, step.assignments, strict=True) if b.department_code != department)
        else:
            assert step.withdrawn == ()
        assignments = step.assignments
        assert step.all_reported == all(a.status is R for a in assignments)
        assert joint.outstanding(assignments) == tuple(a.department_code for a in assignments if a.status in (W, D, P))
        if event is Event.reported:
            reports.append(before.position)
        if RET in statuses(assignments):  # returned: one department returned, nobody is left working
            assert statuses(assignments).count(RET) == 1 and set(statuses(assignments)) <= {R, RET, X}
        elif mode is JointMode.parallel:
            assert W not in statuses(assignments) and X not in statuses(assignments)
        else:  # in series: everyone before a department that has started has reported; the rest wait
            started = [i for i, a in enumerate(assignments) if a.status is not W]
            assert started == list(range(len(started)))
            assert all(a.status is R for a in assignments[:len(started) - 1])
            if step.next_department:
                assert step.next_department == roster[before.position + 1]
    assert [a.department_code for a in assignments] == roster
    if mode is JointMode.serial:
        assert reports == sorted(reports) == list(range(len(reports)))


def test_summons_track_who_has_still_to_report_in_and_who_is_late() -> None:
    calls = joint.summon((), deadlines={"water": T0 + timedelta(hours=2), "police": "2025-10-01T12:00:00+08:00"},
                         at=T0)
    assert joint.awaiting(calls) == ("water", "police")
    assert joint.overdue(calls, now=T0 + timedelta(hours=3)) == ("water", "police")
    assert joint.overdue(calls, now=T0 + timedelta(hours=1)) == ()
    calls = joint.report_in(calls, department="police", at=T0 + timedelta(hours=5))
    calls = joint.report_in(calls, department="water", at=T0 + timedelta(hours=1))
    assert joint.awaiting(calls) == () and joint.overdue(calls, now=T0 + timedelta(days=9)) == ()
    assert joint.reported_late(calls) == ("police",)
    again = joint.summon(calls, deadlines={"water": T0 + timedelta(days=1)}, at=T0 + timedelta(hours=6))
    assert joint.awaiting(again) == ("water",) and len(again) == 3


@pytest.mark.parametrize(("deadlines", "code"), [
    ({}, "value_required"), (None, "value_required"), ({"water": "tomorrow"}, "invalid_input"),
    ({"water": datetime(2025, 10, 2)}, "invalid_input"), ({"": T0 + timedelta(hours=1)}, "department_required")])
def test_a_summons_needs_departments_with_deadlines(deadlines: object, code: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        joint.summon((), deadlines=deadlines, at=T0)
    assert (caught.value.field, caught.value.code) == ("departments", code)


@pytest.mark.parametrize("deadline", [T0, T0 - timedelta(days=1)])
def test_a_summons_deadline_lies_after_it_and_the_refusal_names_the_department(deadline: datetime) -> None:
    with pytest.raises(InvalidInput) as caught:
        joint.summon((), deadlines={"roads": T0 + timedelta(hours=1), "water": deadline}, at=T0)
    assert (caught.value.field, caught.value.code, caught.value.extra) == (
        "departments", "deadline_before_summons", {"department": "water"})


def test_a_department_is_summoned_once_at_a_time_and_reports_in_once() -> None:
    calls = joint.summon((), deadlines={"water": T0 + timedelta(hours=2)}, at=T0)
    with pytest.raises(Conflict) as caught:
        joint.summon(calls, deadlines={"water": T0 + timedelta(hours=3)}, at=T0)
    assert caught.value.code == "already_summoned"
    with pytest.raises(PermissionDenied) as caught:
        joint.report_in(calls, department="roads", at=T0)
    assert caught.value.code == "not_summoned"
    calls = joint.report_in(calls, department="water", at=T0)
    with pytest.raises(Conflict) as caught:
        joint.report_in(calls, department="water", at=T0)
    assert caught.value.code == "already_reported_in"


@given(st.lists(st.tuples(st.sampled_from(DEPARTMENTS), st.booleans(), st.integers(1, 48)), max_size=25))
def test_awaiting_is_always_the_summoned_minus_those_reported_in(script: list[tuple[str, bool, int]]) -> None:
    calls: tuple[SummonsCall, ...] = ()
    waiting: set[str] = set()
    clock = T0
    for department, summoning, hours in script:
        clock += timedelta(minutes=30)
        try:
            if summoning:
                calls = joint.summon(calls, deadlines={department: clock + timedelta(hours=hours)}, at=clock)
                assert department not in waiting
                waiting.add(department)
            else:
                calls = joint.report_in(calls, department=department, at=clock)
                assert department in waiting
                waiting.discard(department)
        except (Conflict, PermissionDenied):
            assert (department in waiting) is summoning
        assert set(joint.awaiting(calls)) == waiting and len(joint.awaiting(calls)) == len(waiting)
        assert set(joint.overdue(calls, now=clock)) <= waiting
