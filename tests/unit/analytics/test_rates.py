"""Performance figures from timelines, without a database."""

from datetime import UTC, datetime, timedelta

from cityops.analytics.rates import StepDeadline, facts_from, tabulate

T0 = datetime(2025, 3, 3, 9, tzinfo=UTC)


def hours(n: float) -> datetime:
    return T0 + timedelta(hours=n)


def loop_case(case_id: int, *, department: str, rework: bool = False, rating: int | None = None,
              returned: bool = False, late_steps: int = 0):  # noqa: ANN201
    events = [("intake", "reported", T0, {}), ("register", "registered", hours(1), {}),
              ("dispatch", "dispatched", hours(2), {"lead": department})]
    if returned:
        events += [("return", "returned", hours(3), {}), ("reassign", "dispatched", hours(4), {"lead": department})]
    events += [("acknowledge", "in_progress", hours(5), {}), ("report", "handled", hours(8), {})]
    if rework:
        events += [("verify", "in_progress", hours(9), {"passed": False}), ("report", "handled", hours(12), {})]
    events += [("verify", "closed", hours(13), {"passed": True})]
    if rating is not None:
        events += [("rate", "closed", hours(14), {"score": rating})]
    late = [StepDeadline(due_at=hours(7), met_at=hours(8))] * late_steps
    return facts_from(case_id, T0, events, category="E0102", area="310101", now=hours(48), deadlines=late)


def test_rates_by_department_follow_their_definitions() -> None:
    facts = [loop_case(1, department="A", rating=5), loop_case(2, department="A", rework=True, rating=3),
             loop_case(3, department="A", returned=True, late_steps=1),
             facts_from(4, T0, [("intake", "reported", T0, {}), ("register", "registered", hours(1), {}),
                                ("dispatch", "dispatched", hours(2), {"lead": "B"})], category=None, area=None,
                        now=hours(48))]
    rows = {row["group"]: row for row in tabulate(facts, by="department")}
    a = rows["A"]
    assert a["cases"] == 3 and a["closure_rate"] == 1.0
    assert a["on_time_closure_rate"] == round(2 / 3, 4)
    assert a["rework_rate"] == round(1 / 3, 4)
    assert a["return_rate"] == round(1 / 4, 4)       # one return in four dispatches
    assert a["satisfaction_rate"] == 0.5 and a["mean_rating"] == 4.0
    assert a["median_handling_hours"] == 6.0          # dispatch 2 h → report 8 h (the reassigned one: 4 h)
    assert rows["B"]["closure_rate"] == 0.0 and rows["B"]["on_time_closure_rate"] is None


def test_a_reopened_case_is_not_closed_and_groups_cover_every_case() -> None:
    reopened = facts_from(1, T0, [("intake", "reported", T0, {}), ("close", "closed", hours(1), {}),
                                  ("reopen", "registered", hours(2), {})], category="C1", area=None, now=hours(3))
    assert not reopened.closed
    by_month = tabulate([reopened, loop_case(2, department="A")], by="month")
    assert [(r["group"], r["cases"]) for r in by_month] == [("2025-03", 2)]
    assert [r["group"] for r in tabulate([reopened], by="area")] == ["(none)"]
