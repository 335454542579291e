"""The case lifecycle's transition table, roles, reasons and handlers, without a database."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from cityops.cases.joint import AssignmentStatus
from cityops.cases.lifecycle import (
    TABLE,
    Action,
    CaseState,
    CaseStatus,
    apply,
    available,
    open_case,
    replay,
)
from cityops.errors import Conflict, InvalidInput, PermissionDenied
from cityops.org.roles import Role
from tests.unit.cases.builders import (
    ASSISTING,
    LEAD,
    OTHER,
    SUMMONED,
    T0,
    Run,
    prepare,
    run_to,
    valid_input,
    who,
)

S = CaseStatus
A = Action
# The closed loop of the guide, written out move by move: (action, from) → the status the builders'
# case reaches. Moves with more than one outcome are tested for each outcome further down.
EXPECTED_MOVES = {
    (A.register, S.reported): S.registered,
    (A.reject, S.reported): S.rejected,
    (A.merge, S.reported): S.merged,
    (A.merge, S.registered): S.merged,
    (A.unmerge, S.merged): S.reported,
    (A.dispatch, S.registered): S.dispatched,
    (A.acknowledge, S.dispatched): S.in_progress,
    (A.acknowledge, S.in_progress): S.in_progress,
    (A.return_, S.dispatched): S.returned,
    (A.return_, S.in_progress): S.returned,
    (A.reassign, S.returned): S.dispatched,
    (A.report, S.in_progress): S.in_progress,
    (A.verify, S.handled): S.closed,
    (A.close, S.registered): S.closed,
    (A.close, S.handled): S.closed,
    (A.reopen, S.closed): S.in_progress,
    (A.rate, S.closed): S.closed,
    (A.rate, S.merged): S.merged,
    (A.request_extension, S.in_progress): S.in_progress,
    (A.approve_extension, S.in_progress): S.in_progress,
    (A.deny_extension, S.in_progress): S.in_progress,
    (A.defer, S.registered): S.registered,
    (A.defer, S.in_progress): S.in_progress,
    (A.resume, S.registered): S.registered,
    (A.resume, S.in_progress): S.in_progress,
    **{(A.summon, s): s for s in (S.registered, S.dispatched, S.in_progress, S.returned)},
    **{(A.report_in, s): s for s in (S.registered, S.dispatched, S.in_progress, S.returned, S.handled)},
}
CENTRE = {"operator", "dispatcher", "administrator"}
EXPECTED_ROLES = {
    A.intake: {"citizen", "system", "operator", "dispatcher", "administrator", "inspector", "handler", "leader"},
    A.register: CENTRE | {"system"},
    A.reject: CENTRE,
    A.merge: CENTRE | {"system"},
    A.unmerge: CENTRE,
    A.dispatch: {"dispatcher", "administrator", "system"},
    A.reassign: {"dispatcher", "administrator", "system"},
    A.acknowledge: {"handler"},
    A.return_: {"handler"},
    A.report: {"handler"},
    A.verify: {"inspector", "operator", "dispatcher"},
    A.close: {"operator", "dispatcher", "system"},
    A.reopen: CENTRE,
    A.rate: {"citizen"},
    A.request_extension: {"handler"},
    A.approve_extension: {"dispatcher", "administrator"},
    A.deny_extension: {"dispatcher", "administrator"},
    A.defer: {"dispatcher", "administrator"},
    A.resume: {"dispatcher", "administrator", "system"},
    A.summon: CENTRE,
    A.report_in: {"handler"},
}
NEEDS_REASON = {A.reject, A.merge, A.unmerge, A.return_, A.reassign, A.report, A.close, A.reopen,
                A.request_extension, A.deny_extension, A.defer, A.summon}
ALL_ROLES = [*Role, "citizen"]
ALLOWED = [(action, source, role) for (action, source) in EXPECTED_MOVES for role in sorted(EXPECTED_ROLES[action])]
FORBIDDEN_STATUSES = [(action, status) for action in Action for status in CaseStatus
                      if (action, status) not in EXPECTED_MOVES]
FORBIDDEN_ROLES = [(action, role) for action in Action for role in ALL_ROLES if role not in EXPECTED_ROLES[action]]


def test_the_table_is_the_closed_loop_of_the_guide() -> None:
    assert {(a, s) for a, rule in TABLE.items() for s in rule.sources} == set(EXPECTED_MOVES)
    assert {a: set(rule.roles) for a, rule in TABLE.items()} == EXPECTED_ROLES
    assert {a for a, rule in TABLE.items() if rule.requires_reason} == NEEDS_REASON
    assert {a: set(rule.targets) for a, rule in TABLE.items() if len(rule.targets) > 1} == {
        A.unmerge: {S.reported, S.registered}, A.report: {S.in_progress, S.handled},
        A.verify: {S.closed, S.in_progress}, A.reopen: {S.in_progress, S.registered}}


def test_every_status_is_reachable_and_only_rejected_and_merged_cases_rest() -> None:
    reachable, frontier = {S.reported}, [S.reported]
    while frontier:
        status = frontier.pop()
        for rule in TABLE.values():
            if status in rule.sources:
                for target in rule.targets - reachable:
                    reachable.add(target)
                    frontier.append(target)
    assert reachable == set(CaseStatus)
    moving_on = {s for rule in TABLE.values() if rule.targets - rule.sources for s in rule.sources}
    assert set(CaseStatus) - moving_on == {S.rejected}  # merged can be unmerged, closed reopened


@pytest.mark.parametrize(("action", "source", "role"), ALLOWED, ids=lambda v: str(v))
def test_every_allowed_move_for_every_allowed_role(action: Action, source: CaseStatus, role: str) -> None:
    run = run_to(source)
    prepare(action, run)
    before = run.case
    entry = run.do(action, role, **valid_input(action, run))
    assert (entry.action, entry.from_status, entry.to_status) == (action, source, EXPECTED_MOVES[action, source])
    assert run.case.status is entry.to_status
    assert entry.version == run.case.version == before.version + 1
    assert entry.actor.role == role and entry.at == run.clock
    assert replay(run.timeline) == run.case


@pytest.mark.parametrize(("action", "status"), FORBIDDEN_STATUSES, ids=lambda v: str(v))
def test_every_move_from_a_status_outside_the_table_is_illegal(action: Action, status: CaseStatus) -> None:
    run = run_to(status)
    role = sorted(EXPECTED_ROLES[action])[0]
    with pytest.raises(Conflict) as caught:
        run.do(action, role, **valid_input(action, run))
    error = caught.value
    assert (error.status, error.code) == (409, "illegal_transition")
    assert error.extra["action"] == action and error.extra["case_status"] == status
    assert error.extra["allowed"] == sorted(TABLE[action].sources)
    assert str(action) in error.detail and str(status) in error.detail


@pytest.mark.parametrize(("action", "role"), FORBIDDEN_ROLES, ids=lambda v: str(v))
def test_every_role_outside_an_actions_list_is_refused(action: Action, role: str) -> None:
    source = next(s for (a, s) in EXPECTED_MOVES if a is action) if action is not A.intake else S.reported
    run = run_to(source)
    prepare(action, run)
    with pytest.raises(PermissionDenied) as caught:
        if action is A.intake:
            open_case(actor=who(role), at=T0)
        else:
            run.do(action, role, **valid_input(action, run))
    assert (caught.value.status, caught.value.code) == (403, "role_not_allowed")
    assert caught.value.extra["allowed_roles"] == sorted(EXPECTED_ROLES[action])


@pytest.mark.parametrize("action", sorted(NEEDS_REASON), ids=str)
@pytest.mark.parametrize("reason", [None, "", "  \n "])
def test_a_reason_is_required_where_the_table_says(action: Action, reason: str | None) -> None:
    source = next(s for (a, s) in EXPECTED_MOVES if a is action)
    run = run_to(source)
    prepare(action, run)
    arguments = valid_input(action, run) | {"reason": reason}
    with pytest.raises(InvalidInput) as caught:
        run.do(action, sorted(EXPECTED_ROLES[action])[0], **arguments)
    assert caught.value.field == "reason"


def test_the_whole_loop_by_a_single_department_with_an_honest_timeline() -> None:
    run = Run()
    run.do(A.register, "system", reason="trusted channel")
    run.do(A.dispatch, "system", reason="responsibility matrix", data={"lead": LEAD})
    run.do(A.acknowledge, "handler", department=LEAD)
    report = run.do(A.report, "handler", department=LEAD, reason="  cover replaced ", attachments=("sha256:ab",))
    assert (report.to_status, report.reason, report.attachments) == (S.handled, "cover replaced", ("sha256:ab",))
    run.do(A.verify, "inspector", data={"passed": True}, attachments=("sha256:cd",))
    run.do(A.rate, "citizen", data={"score": 5, "comment": "很好"})
    assert run.case == replay(run.timeline)
    assert (run.case.status, run.case.rating, run.case.version) == (S.closed, 5, 7)
    assert [e.action for e in run.timeline] == [A.intake, A.register, A.dispatch, A.acknowledge, A.report,
                                                A.verify, A.rate]
    assert [e.version for e in run.timeline] == list(range(1, 8))
    assert run.timeline[0].from_status is None and run.timeline[0].data == {"channel": "hotline_12345"}


def test_a_failed_verification_sends_the_lead_back_to_work_and_counts_rework() -> None:
    run = run_to(S.handled)
    with pytest.raises(InvalidInput) as caught:
        run.do(A.verify, "inspector", data={"passed": False})
    assert caught.value.field == "reason"
    with pytest.raises(InvalidInput) as caught:
        run.do(A.verify, "inspector", data={"passed": "no"})
    assert caught.value.field == "passed"
    entry = run.do(A.verify, "inspector", reason="the hole is still there", data={"passed": False})
    assert entry.to_status is S.in_progress and run.case.rework_count == 1
    statuses = {a.department_code: a.status for a in run.case.assignments}
    assert statuses == {LEAD: AssignmentStatus.in_progress, ASSISTING: AssignmentStatus.reported}
    assert run.do(A.report, "handler", department=LEAD, reason="filled again").to_status is S.handled


def test_reopen_goes_back_to_the_lead_or_to_the_centre_and_clears_the_rating() -> None:
    run = run_to(S.closed)
    run.do(A.rate, "citizen", data={"score": 2})
    with pytest.raises(Conflict) as caught:
        run.do(A.rate, "citizen", data={"score": 3})
    assert caught.value.code == "already_rated"
    assert run.do(A.reopen, "operator", reason="the citizen says it leaks again").to_status is S.in_progress
    assert (run.case.reopen_count, run.case.rating) == (1, None)
    assert run.case.assignments[0].status is AssignmentStatus.in_progress

    answered = run_to(S.registered)
    answered.do(A.close, "operator", reason="answered on the phone: collection is on Tuesdays")
    assert answered.do(A.reopen, "operator", reason="the caller calls back").to_status is S.registered
    assert answered.case == replay(answered.timeline)


def test_merge_remembers_where_the_case_was_and_unmerge_goes_back() -> None:
    run = run_to(S.registered)
    for bad in (None, 0, "41", True):
        with pytest.raises(InvalidInput) as caught:
            run.do(A.merge, "system", reason="score 0.93", data={"primary": bad})
        assert caught.value.field == "primary"
    run.do(A.merge, "system", reason="score 0.93", data={"primary": 41})
    assert (run.case.status, run.case.duplicate_of, run.case.status_before_merge) == (S.merged, 41, S.registered)
    assert run.do(A.unmerge, "operator", reason="a different lamp post").to_status is S.registered
    assert (run.case.duplicate_of, run.case.status_before_merge) == (None, None)


@pytest.mark.parametrize("score", [0, 6, 4.5, "5", None, True])
def test_a_rating_is_a_whole_number_from_one_to_five(score: object) -> None:
    run = run_to(S.closed)
    with pytest.raises(InvalidInput) as caught:
        run.do(A.rate, "citizen", data={"score": score})
    assert caught.value.field == "score"


def test_an_extension_is_asked_by_the_department_handling_the_case_and_decided_once() -> None:
    run = run_to(S.in_progress)
    with pytest.raises(InvalidInput) as caught:
        run.do(A.request_extension, "handler", department=LEAD, reason="parts")
    assert caught.value.field == "until"
    with pytest.raises(InvalidInput):
        run.do(A.request_extension, "handler", department=LEAD, reason="parts", data={"until": run.later(-1)})
    with pytest.raises(Conflict) as caught:  # the assisting department has not even acknowledged
        run.do(A.request_extension, "handler", department=ASSISTING, reason="parts", data={"until": run.later(9)})
    assert caught.value.code == "illegal_transition"
    with pytest.raises(PermissionDenied) as caught:
        run.do(A.request_extension, "handler", department=OTHER, reason="parts", data={"until": run.later(9)})
    assert caught.value.code == "not_assigned"
    with pytest.raises(Conflict) as caught:
        run.do(A.approve_extension, "dispatcher")
    assert caught.value.code == "no_extension_pending"
    run.do(A.request_extension, "handler", department=LEAD, reason="parts", data={"until": run.later(48)})
    with pytest.raises(Conflict) as caught:
        run.do(A.request_extension, "handler", department=LEAD, reason="more", data={"until": run.later(96)})
    assert caught.value.code == "extension_pending"
    with pytest.raises(Conflict) as caught:
        run.do(A.defer, "dispatcher", reason="budget")
    assert caught.value.code == "extension_pending"
    entry = run.do(A.deny_extension, "dispatcher", reason="two days are enough")
    assert entry.to_status is entry.from_status is S.in_progress and not run.case.extension_pending


def test_a_pending_extension_lapses_when_the_case_moves_on() -> None:
    run = run_to(S.in_progress)
    run.do(A.request_extension, "handler", department=LEAD, reason="parts", data={"until": run.later(48)})
    run.do(A.return_, "handler", department=LEAD, reason="not ours after all")
    assert not run.case.extension_pending and run.case.return_count == 1


def test_deferral_stops_the_clock_until_resumed_or_the_case_moves() -> None:
    run = run_to(S.registered)
    with pytest.raises(Conflict) as caught:
        run.do(A.resume, "system")
    assert caught.value.code == "not_deferred"
    run.do(A.defer, "dispatcher", reason="挂账: waiting for the 2026 budget", data={"until": run.later(24 * 90)})
    assert run.case.deferred and run.case.status is S.registered
    with pytest.raises(Conflict) as caught:
        run.do(A.defer, "administrator", reason="again")
    assert caught.value.code == "already_deferred"
    run.do(A.dispatch, "dispatcher", data={"lead": LEAD})
    assert not run.case.deferred
    run.do(A.acknowledge, "handler", department=LEAD)
    run.do(A.defer, "dispatcher", reason="缓办: road works first")
    with pytest.raises(Conflict) as caught:
        run.do(A.request_extension, "handler", department=LEAD, reason="parts", data={"until": run.later(48)})
    assert caught.value.code == "case_deferred"
    run.do(A.resume, "system", reason="review date reached")
    assert not run.case.deferred and run.case == replay(run.timeline)


def test_joint_handling_in_series_through_the_lifecycle() -> None:
    run = run_to(S.registered)
    run.do(A.dispatch, "dispatcher", data={"lead": LEAD, "assisting": [ASSISTING, OTHER], "mode": "serial"})
    with pytest.raises(Conflict) as caught:
        run.do(A.acknowledge, "handler", department=ASSISTING)
    assert "waits for its turn" in caught.value.detail
    run.do(A.acknowledge, "handler", department=LEAD)
    entry = run.do(A.report, "handler", department=LEAD, reason="pipe closed")
    assert (entry.to_status, entry.data["next_department"]) == (S.in_progress, ASSISTING)
    run.do(A.acknowledge, "handler", department=ASSISTING)
    assert run.do(A.report, "handler", department=ASSISTING, reason="road opened").data == {
        "next_department": OTHER}
    run.do(A.acknowledge, "handler", department=OTHER)
    last = run.do(A.report, "handler", department=OTHER, reason="traffic restored")
    assert last.to_status is S.handled and "next_department" not in last.data
    assert run.case == replay(run.timeline)


def test_a_return_by_any_department_returns_the_case_and_reassign_starts_a_fresh_roster() -> None:
    run = run_to(S.in_progress)
    run.do(A.return_, "handler", department=ASSISTING, reason="not our road")
    assert run.case.status is S.returned and run.case.return_count == 1
    with pytest.raises(Conflict):
        run.do(A.report, "handler", department=LEAD, reason="done anyway")
    run.do(A.reassign, "dispatcher", reason="the district roads office owns it",
           data={"lead": LEAD, "assisting": [OTHER]})
    assert [(a.department_code, a.status) for a in run.case.assignments] == [
        (LEAD, AssignmentStatus.dispatched), (OTHER, AssignmentStatus.dispatched)]


def test_department_actions_need_the_actors_own_assignment() -> None:
    run = run_to(S.dispatched)
    with pytest.raises(PermissionDenied) as caught:
        run.do(A.acknowledge, "handler")
    assert caught.value.code == "not_assigned"
    with pytest.raises(PermissionDenied) as caught:
        run.do(A.acknowledge, "handler", department=OTHER)
    assert caught.value.code == "not_assigned"
    run.do(A.acknowledge, "handler", department=LEAD)
    with pytest.raises(Conflict) as caught:
        run.do(A.acknowledge, "handler", department=LEAD)
    assert caught.value.extra["assignment_status"] == AssignmentStatus.in_progress


@pytest.mark.parametrize(("data", "field", "code"), [
    ({}, "lead", "department_required"), ({"lead": ""}, "lead", "department_required"),
    ({"lead": [LEAD]}, "lead", "department_required"),
    ({"lead": LEAD, "assisting": LEAD}, "assisting", "assisting_not_a_list"),
    ({"lead": LEAD, "assisting": [LEAD]}, "assisting", "department_repeated"),
    ({"lead": LEAD, "mode": "sideways"}, "mode", "bad_joint_mode"),
    ({"lead": LEAD, "mode": ["serial"]}, "mode", "bad_joint_mode")])
def test_a_dispatch_names_a_lead_and_distinct_assisting_departments(data: dict, field: str, code: str) -> None:
    run = run_to(S.registered)
    with pytest.raises(InvalidInput) as caught:
        run.do(A.dispatch, "dispatcher", data=data)
    assert (caught.value.field, caught.value.code) == (field, code)


def test_summons_through_the_lifecycle() -> None:
    run = run_to(S.in_progress)
    with pytest.raises(Conflict) as caught:
        run.do(A.summon, "operator", reason="again", data={"departments": {SUMMONED: run.later(2)}})
    assert caught.value.code == "already_summoned"
    reported_in = run.do(A.report_in, "handler", department=SUMMONED)
    with pytest.raises(Conflict) as caught:
        run.do(A.report_in, "handler", department=SUMMONED)
    assert caught.value.code == "already_reported_in"
    with pytest.raises(PermissionDenied) as caught:
        run.do(A.report_in, "handler", department=OTHER)
    assert caught.value.code == "not_summoned"
    with pytest.raises(InvalidInput) as caught:
        run.do(A.summon, "operator", reason="x", data={"departments": {}})
    assert caught.value.field == "departments"
    assert [c.reported_in_at for c in run.case.summons] == [reported_in.at]


def test_times_must_be_aware_and_are_kept_in_utc() -> None:
    run = run_to(S.reported)
    with pytest.raises(InvalidInput) as caught:
        apply(run.case, A.register, actor=who("operator"), at=datetime(2025, 5, 6, 9, 30))
    assert caught.value.field == "at"
    with pytest.raises(InvalidInput):
        open_case(actor=who("citizen"), at=datetime(2025, 5, 6, 9, 30))
    shanghai = datetime.fromisoformat("2025-05-06T09:30:00+08:00")
    _, entry = apply(run.case, A.register, actor=who("operator"), at=shanghai)
    assert entry.at == shanghai and entry.at.utcoffset() == timedelta(0)


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"attachments": "sha256:aa"}, "attachments"),
    ({"attachments": ("",)}, "attachments"),
    ({"data": {"when": T0}}, "data"),
    ({"data": {"ratio": float("nan")}}, "data"),
    ({"data": ["not", "an", "object"]}, "data"),
    ({"reason": 42}, "reason"),
])
def test_bad_input_is_refused_with_its_field(kwargs: dict, field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        apply(run_to(S.reported).case, A.register, actor=who("operator"), at=T0, **kwargs)
    assert caught.value.field == field


@pytest.mark.parametrize("action", ["sign", None, ["register"]])
def test_an_unknown_action_is_bad_input(action: object) -> None:
    with pytest.raises(InvalidInput) as caught:
        apply(run_to(S.reported).case, action, actor=who("operator"), at=T0)
    assert caught.value.field == "action"


def test_intake_opens_a_case_and_never_applies_to_one() -> None:
    case, entry = open_case(actor=who("inspector"), at=T0, reason="grid patrol", attachments=("sha256:ff",))
    assert case == CaseState() and (entry.from_status, entry.to_status, entry.version) == (None, S.reported, 1)
    with pytest.raises(Conflict) as caught:
        apply(case, A.intake, actor=who("inspector"), at=T0)
    assert "opens a case" in caught.value.detail


def test_replay_refuses_a_timeline_that_was_edited_or_reordered() -> None:
    run = run_to(S.closed)
    assert replay(run.timeline) == run.case
    for broken in ([], run.timeline[1:], [*run.timeline[:3], *run.timeline[4:]],
                   [*run.timeline[:-1], replace(run.timeline[-1], to_status=S.in_progress)],
                   [*run.timeline[:-2], replace(run.timeline[-2], data={"next_department": OTHER}),
                    run.timeline[-1]]):
        with pytest.raises(Conflict) as caught:
            replay(broken)
        assert caught.value.code in {"timeline_mismatch", "illegal_transition"}


def test_a_merged_report_is_rated_once_and_an_unmerge_voids_the_rating() -> None:
    run = run_to(S.reported)
    run.do(A.merge, "operator", reason="same pothole", data={"primary": 7})
    assert run.do(A.rate, "citizen", data={"score": 4}).to_status is S.merged
    with pytest.raises(Conflict) as caught:
        run.do(A.rate, "citizen", data={"score": 5})
    assert caught.value.code == "already_rated"
    run.do(A.unmerge, "operator", reason="a different pothole")
    assert (run.case.status, run.case.rating) == (S.reported, None)


def _available(run: Run, role: str, department: str | None = None) -> set[Action]:
    return set(available(run.case, lambda _: who(role, department), at=run.clock + timedelta(minutes=1)))


def test_the_actions_available_follow_the_role_the_status_and_the_case() -> None:
    reported = run_to(CaseStatus.reported)
    assert _available(reported, "operator") == {Action.register, Action.reject, Action.merge}
    assert _available(reported, "handler", LEAD) == set()
    assert _available(reported, "inspector") == set()

    dispatched = run_to(CaseStatus.dispatched)
    assert _available(dispatched, "handler", LEAD) == {Action.acknowledge, Action.return_}
    # summoned to the case, not on its roster
    assert _available(dispatched, "handler", SUMMONED) == {Action.report_in}
    assert _available(dispatched, "handler", OTHER) == set()
    assert _available(dispatched, "dispatcher") == {Action.summon}

    handled = run_to(CaseStatus.handled)
    assert _available(handled, "inspector") == {Action.verify}
    assert _available(handled, "operator") == {Action.verify, Action.close}
    assert _available(run_to(CaseStatus.closed), "dispatcher") == {Action.reopen}
    assert _available(run_to(CaseStatus.merged), "operator") == {Action.unmerge}


def test_the_actions_available_follow_extensions_deferral_and_joint_handling_in_serial() -> None:
    run = run_to(CaseStatus.in_progress)
    assert _available(run, "handler", LEAD) == {Action.return_, Action.report, Action.request_extension}
    # the assisting department has yet to acknowledge; it cannot ask for more time before it does
    assert _available(run, "handler", ASSISTING) == {Action.acknowledge, Action.return_}
    assert _available(run, "dispatcher") == {Action.defer, Action.summon}

    run.do(Action.request_extension, "handler", department=LEAD, reason="parts on order",
           data={"until": run.later(72)})
    assert Action.request_extension not in _available(run, "handler", LEAD)
    assert _available(run, "dispatcher") == {Action.approve_extension, Action.deny_extension, Action.summon}
    run.do(Action.approve_extension, "dispatcher")
    run.do(Action.defer, "dispatcher", reason="waiting for the district's budget")
    assert _available(run, "dispatcher") == {Action.resume, Action.summon}
    assert Action.request_extension not in _available(run, "handler", LEAD)

    serial = Run()
    serial.do(Action.register, "operator")
    serial.do(Action.dispatch, "dispatcher", data={"lead": LEAD, "assisting": [ASSISTING], "mode": "serial"})
    assert _available(serial, "handler", ASSISTING) == set()
    serial.do(Action.acknowledge, "handler", department=LEAD)
    serial.do(Action.report, "handler", department=LEAD, reason="pipe repaired")
    assert _available(serial, "handler", ASSISTING) == {Action.acknowledge, Action.return_}


def test_available_actions_leave_the_case_as_it_was() -> None:
    run = run_to(CaseStatus.in_progress)
    before = run.case
    for role in ("operator", "dispatcher", "inspector", "administrator", "leader"):
        _available(run, role)
    _available(run, "handler", LEAD)
    assert run.case == before
