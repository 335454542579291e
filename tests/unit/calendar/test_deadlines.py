"""Deadline arithmetic with frozen, explicit datetimes across China's 2024/2025 holidays."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from cityops.calendar.deadlines import (
    add_working_time,
    deadline,
    remaining,
    warning_time,
    working_time_between,
)
from cityops.calendar.workcalendar import DayOverride, WorkCalendar
from cityops.categories.time_limits import TimeLimit, TimeUnit
from cityops.errors import InvalidInput

SHANGHAI = ZoneInfo("Asia/Shanghai")
NEW_YORK = ZoneInfo("America/New_York")
CALENDAR = WorkCalendar()
HOUR = timedelta(hours=1)


def sh(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


def wh(amount: int) -> TimeLimit:
    return TimeLimit(amount, TimeUnit.working_hours)


def wd(amount: int) -> TimeLimit:
    return TimeLimit(amount, TimeUnit.working_days)


@pytest.mark.parametrize(("start", "limit", "due"), [
    # Friday afternoon before a make-up working Sunday (National Day 2025, 2024).
    (sh(2025, 9, 26, 16), wh(4), sh(2025, 9, 28, 11)),
    (sh(2024, 9, 27, 16), wh(4), sh(2024, 9, 29, 11)),
    # An ordinary Friday afternoon runs over the weekend to Monday.
    (sh(2025, 3, 7, 16), wh(4), sh(2025, 3, 10, 11)),
    # At night: counting starts at the next opening, here the make-up Sunday of Spring Festival 2025.
    (sh(2025, 1, 24, 22, 30), wh(2), sh(2025, 1, 26, 11)),
    (sh(2025, 3, 4, 6), wh(1), sh(2025, 3, 4, 10)),
    # Period boundaries: a total reached at a period's end is that end.
    (sh(2025, 3, 4, 9), wh(3), sh(2025, 3, 4, 12)),
    (sh(2025, 3, 4, 12), wh(1), sh(2025, 3, 4, 14)),
    (sh(2025, 3, 4, 12, 30), wh(1), sh(2025, 3, 4, 14)),
    (sh(2025, 3, 4, 13), wh(5), sh(2025, 3, 4, 18)),
    (sh(2025, 3, 4, 9), wh(8), sh(2025, 3, 4, 18)),
    (sh(2025, 3, 4, 9), wh(9), sh(2025, 3, 5, 10)),
    (sh(2025, 3, 4, 9), wh(16), sh(2025, 3, 5, 18)),
    (sh(2025, 3, 4, 18), wh(1), sh(2025, 3, 5, 10)),
    # Across the holidays themselves.
    (sh(2025, 1, 27, 17), wh(2), sh(2025, 2, 5, 10)),
    (sh(2024, 9, 30, 17), wh(3), sh(2024, 10, 8, 11)),
    (sh(2024, 2, 8, 17), wh(10), sh(2024, 2, 18, 10)),   # 1 h, 8 h on 2-9, make-up Sunday
])
def test_working_hours(start: datetime, limit: TimeLimit, due: datetime) -> None:
    result = deadline(start, limit, CALENDAR)
    assert result == due
    assert result.tzinfo is UTC
    assert working_time_between(start, result, CALENDAR) == limit.amount * HOUR


@pytest.mark.parametrize(("start", "limit", "due"), [
    # The start's day never counts; the last day ends at close of business (民法典 201, 203).
    (sh(2025, 9, 30, 10), wd(1), sh(2025, 10, 9, 18)),
    (sh(2025, 9, 30, 10), wd(2), sh(2025, 10, 10, 18)),
    (sh(2025, 9, 30, 10), wd(3), sh(2025, 10, 11, 18)),     # the make-up Saturday
    (sh(2025, 1, 24, 15), wd(1), sh(2025, 1, 26, 18)),     # the make-up Sunday
    (sh(2025, 1, 24, 15), wd(5), sh(2025, 2, 7, 18)),
    (sh(2024, 2, 8, 10), wd(3), sh(2024, 2, 19, 18)),      # 2-9, make-up Sunday 2-18, 2-19
    (sh(2024, 9, 27, 16), wd(2), sh(2024, 9, 30, 18)),     # make-up Sunday 9-29, then 9-30
    (sh(2025, 10, 4, 10), wd(1), sh(2025, 10, 9, 18)),     # a start during the holiday
    (sh(2025, 3, 7, 8), wd(1), sh(2025, 3, 10, 18)),       # before opening on Friday …
    (sh(2025, 3, 7, 23, 59), wd(1), sh(2025, 3, 10, 18)),  # … or late at night: the same deadline
    (sh(2024, 12, 31, 9), wd(1), sh(2025, 1, 2, 18)),      # over New Year's Day
])
def test_working_days(start: datetime, limit: TimeLimit, due: datetime) -> None:
    result = deadline(start, limit, CALENDAR)
    assert result == due
    assert result.tzinfo is UTC


@pytest.mark.parametrize(("limit", "due"), [
    (TimeLimit(30, TimeUnit.minutes), sh(2025, 1, 27, 17, 30)),
    (TimeLimit(4, TimeUnit.hours), sh(2025, 1, 27, 21)),
    (TimeLimit(3, TimeUnit.days), sh(2025, 1, 30, 17)),     # holidays count in natural time
])
def test_natural_units_run_around_the_clock(limit: TimeLimit, due: datetime) -> None:
    assert deadline(sh(2025, 1, 27, 17), limit, CALENDAR) == due


def test_natural_days_are_elapsed_time_even_across_a_dst_change() -> None:
    start = datetime(2025, 3, 8, 12, tzinfo=NEW_YORK)   # clocks go forward on 9 March
    due = deadline(start, TimeLimit(1, TimeUnit.days), CALENDAR)
    assert due - start == timedelta(hours=24)
    assert due.astimezone(NEW_YORK).hour == 13


def test_the_same_instant_in_any_zone_gives_the_same_deadline() -> None:
    in_shanghai = sh(2025, 9, 26, 16)
    in_utc = datetime(2025, 9, 26, 8, tzinfo=UTC)
    in_new_york = in_utc.astimezone(NEW_YORK)
    for limit in (wh(4), wd(3), TimeLimit(2, TimeUnit.days)):
        results = {deadline(start, limit, CALENDAR) for start in (in_shanghai, in_utc, in_new_york)}
        assert len(results) == 1
    assert deadline(in_new_york, wh(4), CALENDAR) == datetime(2025, 9, 28, 3, tzinfo=UTC)


def test_the_local_date_decides_working_days() -> None:
    # Friday 16:30 UTC is already Saturday 00:30 in Shanghai: Saturday is the start's day.
    start = datetime(2025, 3, 7, 16, 30, tzinfo=UTC)
    assert deadline(start, wd(1), CALENDAR) == sh(2025, 3, 10, 18)
    assert deadline(start, wh(1), CALENDAR) == sh(2025, 3, 10, 10)


def test_a_calendar_in_another_zone_with_other_hours() -> None:
    calendar = WorkCalendar(timezone="UTC", business_hours=["09:00-12:00", "13:30-17:30"])
    start = datetime(2025, 3, 7, 16, tzinfo=UTC)              # Friday 16:00 UTC
    assert deadline(start, wh(2), calendar) == datetime(2025, 3, 10, 9, 30, tzinfo=UTC)
    assert deadline(start, wd(1), calendar) == datetime(2025, 3, 10, 17, 30, tzinfo=UTC)
    assert deadline(datetime(2025, 3, 10, 11, tzinfo=UTC), wh(2), calendar) == datetime(
        2025, 3, 10, 14, 30, tzinfo=UTC)


def test_overrides_for_a_year_the_library_does_not_know() -> None:
    plain = WorkCalendar()
    entered = WorkCalendar(overrides=[DayOverride(date(2031, 1, 22) + timedelta(days=n), False, "2031 春节")
                                      for n in range(8)] + [DayOverride(date(2031, 2, 8), True, "2031 春节调休")])
    start = sh(2031, 1, 21, 17)                                 # a Tuesday
    assert deadline(start, wd(1), plain) == sh(2031, 1, 22, 18)
    assert deadline(start, wd(1), entered) == sh(2031, 1, 30, 18)
    assert deadline(sh(2031, 2, 7, 17), wh(2), entered) == sh(2031, 2, 8, 10)   # make-up Saturday
    assert deadline(sh(2031, 2, 7, 17), wh(2), plain) == sh(2031, 2, 10, 10)


def test_working_time_between() -> None:
    assert working_time_between(sh(2025, 3, 7, 16), sh(2025, 3, 10, 11), CALENDAR) == 4 * HOUR
    assert working_time_between(sh(2025, 1, 27, 17), sh(2025, 2, 5, 10), CALENDAR) == 2 * HOUR
    assert working_time_between(sh(2025, 1, 1), sh(2026, 1, 1), CALENDAR) == 248 * 8 * HOUR
    assert working_time_between(sh(2025, 3, 4, 12, 5), sh(2025, 3, 4, 12, 55), CALENDAR) == timedelta(0)
    assert working_time_between(sh(2025, 10, 2, 10), sh(2025, 10, 6, 16), CALENDAR) == timedelta(0)
    assert working_time_between(sh(2025, 3, 4, 10), sh(2025, 3, 4, 10), CALENDAR) == timedelta(0)
    assert working_time_between(sh(2025, 3, 10, 11), sh(2025, 3, 7, 16), CALENDAR) == -4 * HOUR
    assert working_time_between(datetime(2025, 3, 4, 1, 30, tzinfo=UTC), sh(2025, 3, 4, 9, 45),
                                CALENDAR) == timedelta(minutes=15)


def test_remaining_is_negative_once_overdue() -> None:
    due = deadline(sh(2025, 3, 7, 16), wh(4), CALENDAR)        # Monday 11:00
    assert remaining(sh(2025, 3, 7, 17), due, CALENDAR) == 3 * HOUR
    assert remaining(sh(2025, 3, 8, 10), due, CALENDAR) == 2 * HOUR     # the weekend does not count
    assert remaining(sh(2025, 3, 10, 14), due, CALENDAR) == -2 * HOUR   # two working hours overdue
    assert remaining(sh(2025, 3, 8, 10), due, CALENDAR, working=False) == timedelta(hours=49)


def test_warning_time() -> None:
    start = sh(2025, 3, 4, 9)
    due = deadline(start, wh(10), CALENDAR)                     # Wednesday 11:00
    assert due == sh(2025, 3, 5, 11)
    assert warning_time(start, due, CALENDAR) == sh(2025, 3, 4, 18)                  # after 8 of 10 hours
    assert warning_time(start, due, CALENDAR, fraction=0.5) == sh(2025, 3, 4, 15)
    assert warning_time(start, due, CALENDAR, lead=HOUR) == sh(2025, 3, 5, 10)
    assert warning_time(start, due, CALENDAR, lead=20 * HOUR) == start
    assert warning_time(start, due, CALENDAR, working=False) == start + (due - start) * 0.8
    assert warning_time(due, start, CALENDAR) == start                               # already due: at once
    friday = sh(2025, 9, 26, 16)
    assert warning_time(friday, deadline(friday, wd(2), CALENDAR), CALENDAR) == sh(2025, 9, 29, 14, 24)  # 14.4 of 18 h


@pytest.mark.parametrize("call", [
    lambda: deadline(datetime(2025, 3, 4, 9), wh(1), CALENDAR),
    lambda: add_working_time(datetime(2025, 3, 4, 9), HOUR, CALENDAR),
    lambda: warning_time(datetime(2025, 3, 4, 9), sh(2025, 3, 5), CALENDAR),
])
def test_naive_starts_are_refused(call) -> None:
    with pytest.raises(InvalidInput) as caught:
        call()
    assert caught.value.field == "start"


def test_invalid_input_names_its_field() -> None:
    cases = {
        "end": lambda: working_time_between(sh(2025, 3, 4), datetime(2025, 3, 5), CALENDAR),
        "now": lambda: remaining(datetime(2025, 3, 4), sh(2025, 3, 5), CALENDAR),
        "deadline": lambda: remaining(sh(2025, 3, 4), datetime(2025, 3, 5), CALENDAR),
        "amount": lambda: TimeLimit(-3, TimeUnit.working_hours),
        "limit": lambda: deadline(sh(2025, 3, 4), "2wh", CALENDAR),
        "fraction": lambda: warning_time(sh(2025, 3, 4), sh(2025, 3, 5), CALENDAR, fraction=1.5),
        "lead": lambda: warning_time(sh(2025, 3, 4), sh(2025, 3, 5), CALENDAR, lead=-HOUR),
    }
    for field, call in cases.items():
        with pytest.raises(InvalidInput) as caught:
            call()
        assert caught.value.field == field, field
    for bad in (0, -1):
        with pytest.raises(InvalidInput) as caught:
            TimeLimit(bad, TimeUnit.working_days)
        assert caught.value.field == "amount"
    with pytest.raises(InvalidInput) as caught:
        add_working_time(sh(2025, 3, 4), -HOUR, CALENDAR)
    assert caught.value.field == "amount"
    with pytest.raises(InvalidInput) as caught:
        warning_time(sh(2025, 3, 4), sh(2025, 3, 5), CALENDAR, fraction=0)
    assert caught.value.field == "fraction"
