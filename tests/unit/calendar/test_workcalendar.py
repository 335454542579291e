"""The work calendar: China's holidays and make-up working days, overrides, coverage, business hours."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

import chinese_calendar
import pytest

from cityops.calendar.workcalendar import (
    BusinessHours,
    Coverage,
    DayInfo,
    DayOverride,
    DaySource,
    WorkCalendar,
    library_years,
)
from cityops.errors import InvalidInput

CALENDAR = WorkCalendar()

# An administrator's entry for a year the library does not know (illustrative dates, not a notice).
SPRING_2031 = [DayOverride(date(2031, 1, 22) + timedelta(days=n), False, "2031 春节") for n in range(8)] + [
    DayOverride(date(2031, 1, 19), True, "2031 春节调休"),
    DayOverride(date(2031, 2, 8), True, "2031 春节调休"),
]


def days(first: str, last: str) -> list[date]:
    start, end = date.fromisoformat(first), date.fromisoformat(last)
    return [start + timedelta(days=n) for n in range((end - start).days + 1)]


def test_the_library_confirms_2004_to_at_least_2026_and_refuses_other_years() -> None:
    years = library_years()
    assert years.start == 2004
    assert years.stop - 1 >= 2026
    with pytest.raises(NotImplementedError):
        chinese_calendar.is_workday(date(2003, 12, 31))
    assert 2031 not in years


@pytest.mark.parametrize(("holiday", "off", "make_up"), [
    ("Spring Festival 2024", days("2024-02-10", "2024-02-17"), ["2024-02-04", "2024-02-18"]),
    ("National Day 2024", days("2024-10-01", "2024-10-07"), ["2024-09-29", "2024-10-12"]),
    ("Spring Festival 2025", days("2025-01-28", "2025-02-04"), ["2025-01-26", "2025-02-08"]),
    ("National Day 2025", days("2025-10-01", "2025-10-08"), ["2025-09-28", "2025-10-11"]),
])
def test_official_holidays_are_off_and_make_up_weekend_days_are_working(
        holiday: str, off: list[date], make_up: list[str]) -> None:
    assert not any(CALENDAR.is_working_day(day) for day in off), holiday
    for text in make_up:
        day = date.fromisoformat(text)
        assert day.weekday() >= 5, f"{text} is a weekend day"
        assert CALENDAR.is_working_day(day), f"{text} is a make-up working day of {holiday}"
        assert CALENDAR.describe(day).source is DaySource.library


def test_spring_festival_2025_is_named_on_its_days() -> None:
    assert CALENDAR.describe(date(2025, 1, 26)) == DayInfo(date(2025, 1, 26), True, "春节", DaySource.library,
                                                           "spring_festival")
    assert CALENDAR.describe(date(2025, 1, 29)) == DayInfo(date(2025, 1, 29), False, "春节", DaySource.library,
                                                           "spring_festival")
    assert CALENDAR.describe(date(2025, 3, 3)) == DayInfo(date(2025, 3, 3), True, None, DaySource.library)
    assert CALENDAR.describe(date(2025, 3, 1)).working is False


def test_the_library_s_holidays_are_named_in_chinese_with_a_stable_code() -> None:
    named = {(info.holiday, info.name) for info in (CALENDAR.describe(day) for day in days("2025-01-01", "2025-12-31"))
             if info.name}
    assert named == {("new_years_day", "元旦"), ("spring_festival", "春节"), ("tomb_sweeping_day", "清明节"),
                     ("labour_day", "劳动节"), ("dragon_boat_festival", "端午节"),
                     ("mid_autumn_festival", "中秋节"), ("national_day", "国庆节")}
    # every year the library knows: no English name reaches an administrator
    for year in range(2004, 2027):
        for day in days(f"{year}-01-01", f"{year}-12-31"):
            info = CALENDAR.describe(day)
            assert info.name is None or not re.search("[A-Za-z]", info.name), (day, info)
            assert (info.name is None) is (info.holiday is None), (day, info)


def test_every_day_of_2024_and_2025_agrees_with_the_library() -> None:
    for year in (2024, 2025):
        working = set(CALENDAR.working_days(year))
        for day in days(f"{year}-01-01", f"{year}-12-31"):
            assert (day in working) is chinese_calendar.is_workday(day), day
            assert CALENDAR.is_working_day(day) is chinese_calendar.is_workday(day), day


def test_a_year_the_library_does_not_know_falls_back_to_the_weekday_rule_and_is_unconfirmed() -> None:
    assert CALENDAR.is_working_day(date(2031, 1, 24))          # a Friday
    assert not CALENDAR.is_working_day(date(2031, 1, 25))      # a Saturday
    assert CALENDAR.describe(date(2031, 1, 27)) == DayInfo(date(2031, 1, 27), True, None, DaySource.weekday_rule)
    assert CALENDAR.coverage(2031) is Coverage.weekday_rule_only
    assert CALENDAR.coverage(2025) is Coverage.library


def test_overrides_enter_a_new_year_and_the_coverage_report_shows_it() -> None:
    calendar = WorkCalendar(overrides=SPRING_2031)
    assert not calendar.is_working_day(date(2031, 1, 23))      # a Thursday, now a holiday
    assert calendar.is_working_day(date(2031, 1, 19))          # a Sunday, now a make-up working day
    assert calendar.describe(date(2031, 2, 8)) == DayInfo(date(2031, 2, 8), True, "2031 春节调休",
                                                          DaySource.override)
    assert calendar.is_working_day(date(2031, 3, 3))           # untouched days keep the weekday rule
    report = calendar.coverage_report(2025, 2032)
    assert report[2025] is Coverage.library
    assert report[2031] is Coverage.overridden
    assert report[2032] is Coverage.weekday_rule_only
    assert [year for year, cover in report.items() if cover is Coverage.weekday_rule_only] == [
        year for year in range(2025, 2033) if year not in library_years() and year != 2031]


def test_an_override_wins_over_the_library() -> None:
    calendar = WorkCalendar(overrides=[
        DayOverride(date(2025, 3, 3), False, "local typhoon closure"),
        DayOverride(date(2025, 10, 8), True, "ops centre on duty"),
    ])
    assert not calendar.is_working_day(date(2025, 3, 3))
    assert calendar.is_working_day(date(2025, 10, 8))
    assert calendar.coverage(2025) is Coverage.library
    assert CALENDAR.is_working_day(date(2025, 3, 3)), "the default calendar is not changed"


def test_with_overrides_returns_a_new_calendar_and_replaces_a_date() -> None:
    first = WorkCalendar(overrides=[DayOverride(date(2031, 5, 1), False, "draft")])
    second = first.with_overrides([DayOverride(date(2031, 5, 1), False, "劳动节"),
                                   DayOverride(date(2031, 5, 2), False, "劳动节")])
    assert first.overrides[date(2031, 5, 1)].name == "draft"
    assert date(2031, 5, 2) not in first.overrides
    assert second.overrides[date(2031, 5, 1)].name == "劳动节"
    assert not second.is_working_day(date(2031, 5, 2))
    assert first.is_working_day(date(2031, 5, 2))


def test_counting_and_stepping_over_working_days_across_a_year_end() -> None:
    assert CALENDAR.count_working_days(date(2024, 12, 30), date(2025, 1, 3)) == 3   # 12-30, 12-31, 1-2; 1-1 off
    assert CALENDAR.count_working_days(date(2025, 1, 3), date(2024, 12, 30)) == 0
    assert CALENDAR.nth_working_day_after(date(2024, 12, 31), 1) == date(2025, 1, 2)
    assert CALENDAR.nth_working_day_after(date(2025, 1, 24), 2) == date(2025, 1, 27)
    assert CALENDAR.nth_working_day_after(date(2025, 1, 24), 3) == date(2025, 2, 5)
    assert CALENDAR.nth_working_day_after(date(2025, 12, 20), 250) == CALENDAR.nth_working_day_after(
        CALENDAR.nth_working_day_after(date(2025, 12, 20), 100), 150)
    whole_year = CALENDAR.count_working_days(date(2025, 1, 1), date(2026, 1, 1))
    assert whole_year == len(CALENDAR.working_days(2025)) == 248
    assert whole_year == len(chinese_calendar.get_workdays(date(2025, 1, 1), date(2025, 12, 31)))


def test_business_hours_default_to_an_eight_hour_day_in_shanghai() -> None:
    assert CALENDAR.timezone.key == "Asia/Shanghai"
    assert CALENDAR.hours.length == 8 * 3600 * 1_000_000
    hours = BusinessHours.parse(["09:00-12:00", "13:30-17:30", "22:00-24:00"])
    hour = 3600 * 1_000_000
    assert hours.length == 9 * hour
    assert hours.elapsed(8 * hour) == 0
    assert hours.elapsed(12 * hour + hour // 2) == 3 * hour          # over lunch
    assert hours.at(3 * hour) == 12 * hour                          # a period's end, not the next start
    assert hours.at(3 * hour + 1) == 13 * hour + hour // 2 + 1
    assert hours.close == 24 * hour


@pytest.mark.parametrize("periods", [
    [], ["9-12"], ["09:00-12"], ["12:00-09:00"], ["09:00-12:00", "11:00-13:00"], ["25:00-26:00"],
    ["09:00-24:30"], "09:00-12:00",
])
def test_bad_business_hours_are_refused(periods: list[str]) -> None:
    with pytest.raises(InvalidInput) as caught:
        WorkCalendar(business_hours=periods)
    assert caught.value.field == "business_hours"


def test_bad_timezones_overrides_and_dates_are_refused() -> None:
    with pytest.raises(InvalidInput) as caught:
        WorkCalendar(timezone="Mars/Olympus")
    assert caught.value.field == "timezone"
    with pytest.raises(InvalidInput) as caught:
        WorkCalendar(overrides=[DayOverride(date(2031, 1, 1), False, "元旦"),
                                DayOverride(date(2031, 1, 1), True, "元旦")])
    assert caught.value.field == "overrides"
    with pytest.raises(InvalidInput) as caught:
        DayOverride(date(2031, 1, 1), False, "  ")
    assert caught.value.field == "name"
    with pytest.raises(InvalidInput) as caught:
        DayOverride(datetime(2031, 1, 1), False, "元旦")
    assert caught.value.field == "day"
    with pytest.raises(InvalidInput) as caught:
        CALENDAR.is_working_day(datetime(2025, 1, 1))
    assert caught.value.field == "day"
    with pytest.raises(InvalidInput) as caught:
        CALENDAR.coverage(1800)
    assert caught.value.field == "year"
