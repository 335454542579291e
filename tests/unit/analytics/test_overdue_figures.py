"""Overdue figures from the stored step deadlines and the timeline, without a database: a case counts as
overdue when a step's deadline passed unmet before the period's end (met late, still unmet, or extended on a
request made only after it had passed), and as overdue now when it is still open with a step past its deadline."""

from datetime import UTC, datetime, timedelta

from cityops.analytics.rates import StepDeadline, facts_from, overall, tabulate

T0 = datetime(2025, 3, 3, 9, tzinfo=UTC)
NOW = T0 + timedelta(days=10)


def hours(n: float) -> datetime:
    return T0 + timedelta(hours=n)


def dispatched_to(department: str, *more: tuple) -> list[tuple]:
    return [("intake", "reported", T0, {}), ("register", "registered", hours(1), {}),
            ("dispatch", "dispatched", hours(2), {"lead": department}), *more]


CLOSED = (("acknowledge", "in_progress", hours(3), {}), ("report", "handled", hours(5), {}),
          ("verify", "closed", hours(6), {"passed": True}))


def case(case_id: int, events: list[tuple], deadlines: list[StepDeadline], *, period_end: datetime | None = None,
         now: datetime = NOW):  # noqa: ANN201
    return facts_from(case_id, T0, events, category="E0102", area="310101", now=now, deadlines=deadlines,
                      period_end=period_end)


def test_a_step_met_late_counts_and_one_met_on_time_does_not() -> None:
    late = case(1, dispatched_to("A", *CLOSED), [StepDeadline(due_at=hours(2), met_at=hours(1)),
                                                 StepDeadline(due_at=hours(4), met_at=hours(5))])
    on_time = case(2, dispatched_to("A", *CLOSED), [StepDeadline(due_at=hours(2), met_at=hours(1)),
                                                    StepDeadline(due_at=hours(5), met_at=hours(5))])
    assert (late.overdue, late.overdue_now) == (True, False)
    assert (on_time.overdue, on_time.overdue_now) == (False, False)   # met at its deadline is on time
    row = tabulate([late, on_time], by="department")[0]
    assert (row["group"], row["overdue_cases"], row["overdue_rate"], row["overdue_now"]) == ("A", 1, 0.5, 0)
    assert row["on_time_closure_rate"] == 0.5


def test_an_open_case_past_its_deadline_is_overdue_now_and_one_not_yet_due_is_not() -> None:
    waiting = case(1, dispatched_to("A"), [StepDeadline(due_at=hours(4))])
    not_yet_due = case(2, dispatched_to("A"), [StepDeadline(due_at=NOW + timedelta(hours=1))])
    assert (waiting.overdue, waiting.overdue_now) == (True, True)
    assert (not_yet_due.overdue, not_yet_due.overdue_now) == (False, False)
    row = tabulate([waiting, not_yet_due], by="department")[0]
    assert (row["overdue_cases"], row["overdue_rate"], row["overdue_now"]) == (1, 0.5, 1)


def test_a_deadline_that_passes_after_the_period_is_not_overdue_in_it_but_may_be_now() -> None:
    events = dispatched_to("A")
    passes_later = [StepDeadline(due_at=hours(30))]
    assert case(1, events, passes_later, period_end=hours(24)).overdue is False
    assert case(1, events, passes_later, period_end=hours(24)).overdue_now is True
    assert case(1, events, passes_later, period_end=hours(48)).overdue is True
    met_late_after_the_period = [StepDeadline(due_at=hours(30), met_at=hours(31))]
    assert case(2, dispatched_to("A", *CLOSED), met_late_after_the_period, period_end=hours(24)).overdue is False


def test_a_finished_case_is_never_overdue_now_even_with_a_step_left_unmet() -> None:
    # a summoned department that never reported in leaves its deadline unmet on the closed case
    summons_unmet = [StepDeadline(due_at=hours(4))]
    closed = case(1, dispatched_to("A", *CLOSED), summons_unmet)
    rejected = case(2, [("intake", "reported", T0, {}), ("reject", "rejected", hours(1), {})], summons_unmet)
    assert (closed.overdue, closed.overdue_now) == (True, False)
    assert (rejected.overdue, rejected.overdue_now) == (True, False)
    reopened = case(3, [*dispatched_to("A", *CLOSED), ("reopen", "registered", hours(7), {})],
                    [StepDeadline(due_at=hours(8))])
    assert reopened.overdue_now is True


def test_an_extension_granted_after_the_deadline_passed_does_not_undo_the_overdue() -> None:
    def extended(at: float) -> list[tuple]:
        return dispatched_to("A", ("acknowledge", "in_progress", hours(3), {}),
                             ("approve_extension", "in_progress", hours(at),
                              {"replaced_deadline": {"due_at": hours(4).isoformat(), "overdue_at": None}}))
    moved = [StepDeadline(due_at=NOW + timedelta(days=1))]
    assert case(1, extended(5), moved).overdue is True          # granted an hour after the step was due
    assert case(2, extended(3.5), moved).overdue is False       # granted in time
    assert case(1, extended(5), moved).overdue_now is False     # the new deadline is still ahead
    assert case(1, extended(5), moved, period_end=hours(3.9)).overdue is False


def test_an_extension_asked_for_in_time_keeps_the_step_on_time_however_late_the_approval() -> None:
    def extended(asked: float, approved: float) -> list[tuple]:
        return dispatched_to("A", ("acknowledge", "in_progress", hours(3), {}),
                             ("request_extension", "in_progress", hours(asked), {}),
                             ("approve_extension", "in_progress", hours(approved),
                              {"replaced_deadline": {"due_at": hours(4).isoformat(), "overdue_at": None}}),
                             ("report", "handled", hours(8), {}), ("verify", "closed", hours(9), {"passed": True}))
    moved = [StepDeadline(due_at=hours(10), met_at=hours(8))]   # the extended step, met before its new deadline
    in_time, too_late = case(1, extended(3.5, 6), moved), case(2, extended(5, 6), moved)
    assert (in_time.overdue, in_time.late_steps) == (False, 0)
    assert (too_late.overdue, too_late.late_steps) == (True, 1)
    row = tabulate([in_time, too_late], by="all")[0]
    assert (row["cases"], row["on_time_closure_rate"], row["overdue_cases"]) == (2, 0.5, 1)


def test_no_cases_give_no_overdue_rate_and_zero_counts() -> None:
    figures = overall([])
    assert (figures["overdue_cases"], figures["overdue_rate"], figures["overdue_now"]) == (0, None, 0)
