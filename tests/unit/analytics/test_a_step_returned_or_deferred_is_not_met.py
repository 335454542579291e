"""A step a return cut short or a deferral stopped was not met, on time or late (``case_deadlines.ended``,
migration 0023): past its deadline it makes the case overdue, as any deadline passed unmet does, but it
does not spoil the on-time closure, which judges the steps met. Read by ``met_at`` alone, a return past
the deadline was a step "met late" and the case never closed on time. Without a database."""

from datetime import UTC, datetime, timedelta

from cityops.analytics.rates import StepDeadline, facts_from, tabulate

T0 = datetime(2025, 3, 3, 9, tzinfo=UTC)


def hours(n: float) -> datetime:
    return T0 + timedelta(hours=n)


# A dispatched at 2 h and due to acknowledge by 3 h; returned at 4 h; the centre reassigns to B at 5 h,
# which acknowledges at 5.5 h and reports at 7 h, each by its deadline; verified and closed at 8 h.
RETURNED_LATE = [("intake", "reported", T0, {}), ("register", "registered", hours(1), {}),
                 ("dispatch", "dispatched", hours(2), {"lead": "A"}),
                 ("return", "returned", hours(4), {}, "A"),
                 ("reassign", "dispatched", hours(5), {"lead": "B"}),
                 ("acknowledge", "in_progress", hours(5.5), {}), ("report", "handled", hours(7), {}),
                 ("verify", "closed", hours(8), {"passed": True})]


def steps(how_a_ended: str | None) -> list[StepDeadline]:
    return [StepDeadline(due_at=hours(1.5), met_at=hours(1), ended="met"),         # register
            StepDeadline(due_at=hours(2), met_at=hours(2), ended="met"),           # dispatch
            StepDeadline(due_at=hours(3), met_at=hours(4), ended=how_a_ended),     # A's acknowledge
            StepDeadline(due_at=hours(5.5), met_at=hours(5), ended="met"),         # dispatch again
            StepDeadline(due_at=hours(6), met_at=hours(5.5), ended="met"),         # B's acknowledge
            StepDeadline(due_at=hours(9), met_at=hours(7), ended="met"),           # handle
            StepDeadline(due_at=hours(10), met_at=hours(8), ended="met")]          # verify


def figures(how_a_ended: str | None) -> dict[str, object]:
    fact = facts_from(1, T0, RETURNED_LATE, category="E0102", area="310101", now=hours(48),
                      deadlines=steps(how_a_ended))
    [row] = tabulate([fact], by="all")
    return row


def test_a_return_past_the_deadline_is_overdue_but_not_a_step_met_late() -> None:
    returned = figures("returned")
    assert (returned["closed"], returned["closed_on_time"], returned["on_time_closure_rate"]) == (1, 1, 1.0)
    assert (returned["overdue_cases"], returned["overdue_now"]) == (1, 0)   # its deadline passed unmet
    assert (returned["returns"], returned["dispatches"]) == (1, 2)
    assert returned["median_handling_hours"] == 2.0   # from the reassignment to the report: the timeline's
    # the same row read as its work done (as met_at alone read it before): a step met an hour late
    as_met = figures("met")
    assert (as_met["closed_on_time"], as_met["on_time_closure_rate"], as_met["overdue_cases"]) == (0, 0.0, 1)
    assert {key: value for key, value in as_met.items() if key not in ("closed_on_time", "on_time_closure_rate")} == {
        key: value for key, value in returned.items() if key not in ("closed_on_time", "on_time_closure_rate")}


def test_a_deferral_past_the_deadline_is_overdue_but_not_a_step_met_late() -> None:
    deferred = figures("deferred")
    assert (deferred["on_time_closure_rate"], deferred["overdue_cases"]) == (1.0, 1)


def test_a_row_that_does_not_say_how_it_ended_was_met() -> None:
    """An imported history's rows carry no ``ended``: they were its work done, late or not."""
    assert figures(None)["on_time_closure_rate"] == 0.0
    assert StepDeadline(due_at=hours(3), met_at=hours(4)).met


def test_a_return_before_the_deadline_is_neither_late_nor_overdue() -> None:
    early = [StepDeadline(due_at=hours(5), met_at=hours(4), ended="returned"),
             StepDeadline(due_at=hours(9), met_at=hours(7), ended="met")]
    fact = facts_from(1, T0, RETURNED_LATE, category="E0102", area="310101", now=hours(48), deadlines=early)
    assert (fact.late_steps, fact.overdue) == (0, False)
