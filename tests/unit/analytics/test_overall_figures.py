"""The figures of a whole period as one group (the dashboard's on-time closure rate), without a database."""

from cityops.analytics.rates import overall, tabulate
from tests.unit.analytics.test_rates import loop_case


def test_all_cases_together_give_the_same_figures_as_their_groups_combined() -> None:
    facts = [loop_case(1, department="A"), loop_case(2, department="B", late_steps=2),
             loop_case(3, department="B", returned=True)]
    figures = overall(facts)
    assert figures["group"] == "all" and figures["cases"] == 3
    assert figures["on_time_closure_rate"] == round(2 / 3, 4)
    assert figures["return_rate"] == round(1 / 4, 4)
    by_department = tabulate(facts, by="department")
    assert sum(row["cases"] for row in by_department) == figures["cases"]


def test_no_cases_give_no_rates_rather_than_zero() -> None:
    figures = overall([])
    assert figures["cases"] == 0
    assert figures["on_time_closure_rate"] is None and figures["closure_rate"] is None
