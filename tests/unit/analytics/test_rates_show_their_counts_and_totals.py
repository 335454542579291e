"""Every rate comes with the two counts it divides, and the totals are read off the same cases: a
department that only returned a case has 0 cases and a return rate of 1 return ÷ 1 dispatch (QA: 案件数 0
beside 退单率 100%), a department with no case has no rate at all, and the totals' counts are the rows'
counts added up while the totals' rates are those counts divided, never the rows' rates added up."""

from datetime import UTC, datetime, timedelta

from cityops.analytics.figures import COUNTS, DEFINITIONS, FIGURES, HEADINGS, RATE_PARTS
from cityops.analytics.rates import NO_GROUP, facts_from, overall, tabulate

T0 = datetime(2025, 3, 3, 9, tzinfo=UTC)


def hours(n: float) -> datetime:
    return T0 + timedelta(hours=n)


OPENED = [("intake", "reported", T0, {}, None), ("register", "registered", hours(1), {}, None)]


def returned_by_a_closed_by_b(case_id: int) -> object:
    return facts_from(case_id, T0, [
        *OPENED, ("dispatch", "dispatched", hours(2), {"lead": "A"}, None),
        ("return", "returned", hours(3), {}, "A"), ("reassign", "dispatched", hours(4), {"lead": "B"}, None),
        ("acknowledge", "in_progress", hours(5), {}, "B"), ("report", "handled", hours(7), {}, "B"),
        ("verify", "closed", hours(8), {"passed": True}, None), ("rate", "closed", hours(9), {"score": 5}, None)],
        category="C1", area="310101", now=hours(24))


def handled_by_b(case_id: int) -> object:
    return facts_from(case_id, T0, [
        *OPENED, ("dispatch", "dispatched", hours(2), {"lead": "B"}, None),
        ("acknowledge", "in_progress", hours(3), {}, "B"), ("report", "handled", hours(4), {}, "B")],
        category="C1", area="310101", now=hours(24))


def only_registered(case_id: int) -> object:
    return facts_from(case_id, T0, OPENED, category=None, area="310101", now=hours(24))


def check_rates_match_their_counts(row: dict[str, object]) -> None:
    for rate, (part, whole) in RATE_PARTS.items():
        assert row[rate] == (round(row[part] / row[whole], 4) if row[whole] else None), (row["group"], rate)


def test_a_department_that_only_returned_a_case_shows_the_dispatch_and_the_return_beside_its_rate() -> None:
    rows = {row["group"]: row for row in tabulate([returned_by_a_closed_by_b(1)], by="department")}
    a = rows["A"]
    assert a["cases"] == 0
    assert (a["dispatches"], a["returns"], a["return_rate"]) == (1, 1, 1.0)
    # with no case of its own, A has nothing to close, rework or be rated on: those rates are none, not 0
    assert (a["registered"], a["closed"], a["handled"], a["rated"]) == (0, 0, 0, 0)
    assert a["closure_rate"] is None and a["rework_rate"] is None and a["satisfaction_rate"] is None
    assert a["overdue_rate"] is None
    b = rows["B"]
    assert (b["cases"], b["dispatches"], b["returns"], b["return_rate"]) == (1, 1, 0, 0.0)
    assert (b["closed"], b["registered"], b["closure_rate"]) == (1, 1, 1.0)
    for row in rows.values():
        check_rates_match_their_counts(row)


def test_a_group_with_no_cases_has_every_rate_none_and_every_count_zero() -> None:
    empty = overall([])
    assert all(empty[count] == 0 for count in COUNTS)
    assert all(empty[rate] is None for rate in RATE_PARTS)
    assert empty["mean_rating"] is None and empty["median_handling_hours"] is None


def test_the_totals_add_up_the_rows_counts_and_divide_them_again() -> None:
    facts = [returned_by_a_closed_by_b(1), handled_by_b(2), only_registered(3)]
    rows = tabulate(facts, by="department")
    total = overall(facts)
    assert [row["group"] for row in rows] == [NO_GROUP, "A", "B"]
    for count in COUNTS:
        assert total[count] == sum(row[count] for row in rows), count
    assert (total["cases"], total["dispatches"], total["returns"]) == (3, 3, 1)
    assert total["return_rate"] == round(1 / 3, 4)       # 1 return in 3 dispatches
    assert total["closure_rate"] == round(1 / 3, 4)      # 1 closed of 3 registered
    # not the rows' rates added up or averaged: A 100%, B 0%, the unassigned none
    assert total["return_rate"] != sum(row["return_rate"] or 0 for row in rows)
    assert total["median_handling_hours"] == 2.5         # B's 3 h and B's 2 h, from the same timelines
    check_rates_match_their_counts(total)
    for grouping in ("area", "category", "month", "week"):
        grouped = tabulate(facts, by=grouping)
        for count in COUNTS:
            assert sum(row[count] for row in grouped) == total[count], (grouping, count)


def test_every_figure_is_named_and_explained_in_both_languages() -> None:
    row = overall([handled_by_b(1)])
    assert set(FIGURES) == set(row) - {"group"}
    for language in ("zh-CN", "en"):
        assert set(FIGURES) <= set(HEADINGS[language])
    assert set(FIGURES) | {"group", "name"} == set(DEFINITIONS)
    assert all(FIGURES.index(part) < FIGURES.index(rate) and FIGURES.index(whole) < FIGURES.index(rate)
               for rate, (part, whole) in RATE_PARTS.items() if whole != "cases")
