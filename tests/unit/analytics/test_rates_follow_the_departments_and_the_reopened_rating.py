"""Figures by department follow who did what on the timeline: a department's return rate is its own
returns over the dispatches it received (a reassignment is another department's dispatch), a returned
and reassigned case's outcome is the department's that took it over, and a rating that no longer stands
after a reopen no longer counts."""

from datetime import UTC, datetime, timedelta

from cityops.analytics.rates import facts_from, tabulate

T0 = datetime(2025, 3, 3, 9, tzinfo=UTC)


def hours(n: float) -> datetime:
    return T0 + timedelta(hours=n)


OPENED = [("intake", "reported", T0, {}, None), ("register", "registered", hours(1), {}, None)]


def test_a_return_counts_against_the_department_that_returned_and_the_outcome_goes_to_the_next() -> None:
    returned_then_reassigned = facts_from(1, T0, [
        *OPENED, ("dispatch", "dispatched", hours(2), {"lead": "A"}, None),
        ("return", "returned", hours(3), {}, "A"), ("reassign", "dispatched", hours(4), {"lead": "B"}, None),
        ("acknowledge", "in_progress", hours(5), {}, "B"), ("report", "handled", hours(7), {}, "B"),
        ("verify", "closed", hours(8), {"passed": True}, None)], category=None, area=None, now=hours(24))
    handled_by_a = facts_from(2, T0, [
        *OPENED, ("dispatch", "dispatched", hours(2), {"lead": "A"}, None),
        ("acknowledge", "in_progress", hours(3), {}, "A"), ("report", "handled", hours(4), {}, "A")],
        category=None, area=None, now=hours(24))
    rows = {row["group"]: row for row in tabulate([returned_then_reassigned, handled_by_a], by="department")}
    assert rows["A"]["return_rate"] == 0.5          # one return in the two dispatches A received
    assert rows["B"]["return_rate"] == 0.0          # B's one dispatch, not returned
    assert (rows["A"]["cases"], rows["B"]["cases"]) == (1, 1)
    assert rows["B"]["closure_rate"] == 1.0 and rows["A"]["closure_rate"] == 0.0
    assert rows["B"]["median_handling_hours"] == 3.0  # from B's dispatch at 4 h to its report at 7 h
    by_month = tabulate([returned_then_reassigned, handled_by_a], by="month")
    assert by_month[0]["return_rate"] == round(1 / 3, 4)  # one return in three dispatches in all


def test_in_joint_handling_each_department_answers_for_its_own_returns() -> None:
    joint = facts_from(1, T0, [
        *OPENED, ("dispatch", "dispatched", hours(2), {"lead": "A", "assisting": ["C"], "mode": "parallel"}, None),
        ("return", "returned", hours(3), {}, "C")], category=None, area=None, now=hours(24))
    rows = {row["group"]: row for row in tabulate([joint], by="department")}
    assert rows["C"]["return_rate"] == 1.0 and rows["A"]["return_rate"] == 0.0


def test_a_reopened_case_loses_its_rating_until_it_is_rated_again() -> None:
    events = [*OPENED, ("close", "closed", hours(2), {}, None), ("rate", "closed", hours(3), {"score": 5}, None),
              ("reopen", "registered", hours(4), {}, None)]
    reopened = facts_from(1, T0, events, category="C1", area=None, now=hours(24))
    assert reopened.rating is None
    assert tabulate([reopened], by="category")[0]["satisfaction_rate"] is None
    closed_again = facts_from(1, T0, [*events, ("close", "closed", hours(5), {}, None),
                                      ("rate", "closed", hours(6), {"score": 2}, None)],
                              category="C1", area=None, now=hours(24))
    assert closed_again.rating == 2
    assert tabulate([closed_again], by="category")[0]["satisfaction_rate"] == 0.0
