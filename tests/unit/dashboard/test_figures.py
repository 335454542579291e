"""The dashboard's figures from the domains' counts, without a database: per-area folds that add up to
the parent's, the city's local days across a clock change, categories folded to their top level, the
levels a map may show and the thresholds a panel draws."""

from datetime import UTC, datetime, timedelta

import pytest

from cityops.dashboard import figures
from cityops.errors import InvalidInput
from cityops.geo.levels import AreaLevel
from cityops.sensing.rules import LevelThreshold, Rule, RuleKind, Scope, SilenceLevel, WarningLevel

STREET, OTHER = "/31/3101/310101/", "/31/3101/310102/"


def test_counts_fold_into_the_shown_areas_with_zeros_and_the_rest_elsewhere() -> None:
    folded = figures.area_map(
        [STREET, OTHER, "/31/3101/310103/"],
        open_cases=[(STREET + "31010101/", 2), (STREET + "31010102/x/", 1), (OTHER, 4), ("/31/3101/", 5)],
        overdue_cases=[(STREET, 1), ("/31/3101/", 2)],
        active_warnings=[(STREET + "31010101/", WarningLevel.yellow, 2), (STREET, WarningLevel.red, 1),
                         (OTHER, WarningLevel.blue, 1), ("/31/3101/", WarningLevel.orange, 1)])
    street, other, empty = folded.areas.values()
    assert (street.open, street.overdue, street.warnings_active, street.highest_warning) == (3, 1, 3,
                                                                                             WarningLevel.red)
    assert (other.open, other.highest_warning) == (4, WarningLevel.blue)
    assert empty == figures.AreaFigures()
    assert (folded.elsewhere.open, folded.elsewhere.overdue, folded.elsewhere.highest_warning) == (
        5, 2, WarningLevel.orange)
    assert (folded.total.open, folded.total.overdue, folded.total.warnings_active) == (12, 3, 5)
    assert folded.total.highest_warning is WarningLevel.red


def test_an_area_whose_code_begins_like_anothers_is_not_taken_for_it() -> None:
    folded = figures.area_map(["/31/3101/"], open_cases=[("/31/31010/", 1)], overdue_cases=[], active_warnings=[])
    assert folded.areas["/31/3101/"].open == 0 and folded.elsewhere.open == 1


def test_a_map_shows_a_level_below_its_parent() -> None:
    assert figures.check_level(AreaLevel.city, None) is AreaLevel.district
    assert figures.check_level(AreaLevel.district, AreaLevel.grid) is AreaLevel.grid
    for parent, level, field in ((AreaLevel.street, AreaLevel.street, "level"),
                                 (AreaLevel.street, AreaLevel.district, "level"),
                                 (AreaLevel.community, None, "parent")):
        with pytest.raises(InvalidInput) as refused:
            figures.check_level(parent, level)
        assert refused.value.field == field


def test_local_days_run_from_midnight_to_midnight_across_a_clock_change() -> None:
    dates, bounds = figures.local_days(now=datetime(2026, 3, 9, 12, tzinfo=UTC), days=3, timezone="America/New_York")
    assert [d.isoformat() for d in dates] == ["2026-03-07", "2026-03-08", "2026-03-09"]
    assert [b.isoformat() for b in bounds] == ["2026-03-07T05:00:00+00:00", "2026-03-08T05:00:00+00:00",
                                               "2026-03-09T04:00:00+00:00", "2026-03-10T04:00:00+00:00"]
    dates, bounds = figures.local_days(now=datetime(2026, 11, 30, 17, tzinfo=UTC), days=1, timezone="Asia/Shanghai")
    assert dates[0].isoformat() == "2026-12-01"  # already tomorrow in Shanghai
    assert bounds[0] == datetime(2026, 11, 30, 16, tzinfo=UTC)


def test_categories_fold_into_their_top_level_most_cases_first() -> None:
    mix = figures.category_mix(
        [(1, "reported", 2), (2, "closed", 3), (3, "in_progress", 1), (4, "closed", 1), (None, "handled", 1)],
        code_of_id={1: "E0102", 2: "E010201", 3: "C01", 4: "E01"},
        parent_of={"E01": None, "E0102": "E01", "E010201": "E0102", "C01": None},
        open_statuses=["reported", "in_progress", "handled"])
    assert mix == [figures.CategoryShare("E01", 2, 4), figures.CategoryShare("C01", 1, 0),
                   figures.CategoryShare(None, 1, 0)]


def test_threshold_rules_give_their_levels_and_others_none() -> None:
    levels = (LevelThreshold(WarningLevel.red, 4.0, 3.8), LevelThreshold(WarningLevel.yellow, 3.0))
    rule = Rule(code="wl", kind=RuleKind.threshold, scope=Scope(indicator="wl-max", area="310101"), levels=levels)
    assert figures.thresholds(rule) == [figures.Threshold(WarningLevel.yellow, 3.0, 3.0),
                                        figures.Threshold(WarningLevel.red, 4.0, 3.8)]
    silent = Rule(code="quiet", kind=RuleKind.no_data, scope=Scope(indicator="wl-max"),
                  silence_levels=(SilenceLevel(WarningLevel.blue, timedelta(minutes=5)),))
    assert figures.thresholds(silent) == []
    assert figures.rule_covers(rule, STREET + "31010101/") and not figures.rule_covers(rule, OTHER)
    assert figures.rule_covers(silent, OTHER)
