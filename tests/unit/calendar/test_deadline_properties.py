"""Properties of the deadline arithmetic against slow day-by-day references, and a speed print."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cityops.calendar.deadlines import add_working_time, deadline, warning_time, working_time_between
from cityops.calendar.workcalendar import DayOverride, WorkCalendar
from cityops.categories.time_limits import TimeLimit, TimeUnit

SHANGHAI = ZoneInfo("Asia/Shanghai")
CALENDAR = WorkCalendar(overrides=[DayOverride(date(2027, 2, 5) + timedelta(days=n), False, "2027 春节")
                                   for n in range(8)] + [DayOverride(date(2027, 2, 14), True, "2027 调休")])
ZONES = [UTC, SHANGHAI, ZoneInfo("America/New_York"), ZoneInfo("Asia/Kolkata")]
MICROSECOND = timedelta(microseconds=1)

instants = st.datetimes(min_value=datetime(2023, 6, 1), max_value=datetime(2027, 12, 31),
                        timezones=st.sampled_from(ZONES), allow_imaginary=False)
units = st.sampled_from(list(TimeUnit))


def reference_working_time(start: datetime, end: datetime, calendar: WorkCalendar) -> timedelta:
    """Day by day: the overlap of [start, end] with every business period of every working day."""
    total = timedelta(0)
    day = start.astimezone(calendar.timezone).date()
    while day <= end.astimezone(calendar.timezone).date():
        if calendar.describe(day).working:
            for begin, finish in calendar.hours.periods:
                period_start = datetime.combine(day, datetime.min.time(), calendar.timezone) + timedelta(
                    microseconds=begin)
                period_end = datetime.combine(day, datetime.min.time(), calendar.timezone) + timedelta(
                    microseconds=finish)
                overlap = min(end, period_end) - max(start, period_start)
                total += max(overlap, timedelta(0))
        day += timedelta(days=1)
    return total


def reference_working_day_deadline(start: datetime, amount: int, calendar: WorkCalendar) -> datetime:
    day, counted = start.astimezone(calendar.timezone).date(), 0
    while counted < amount:
        day += timedelta(days=1)
        counted += calendar.describe(day).working
    close = calendar.hours.close
    return (datetime.combine(day, datetime.min.time(), calendar.timezone) + timedelta(microseconds=close))


@given(start=instants, unit=units, amounts=st.tuples(st.integers(1, 60), st.integers(1, 60)))
def test_deadline_is_strictly_monotonic_in_amount(start: datetime, unit: TimeUnit,
                                                  amounts: tuple[int, int]) -> None:
    low, high = sorted(amounts)
    first = deadline(start, TimeLimit(low, unit), CALENDAR)
    second = deadline(start, TimeLimit(high, unit), CALENDAR)
    assert first <= second
    if low < high:
        assert first < second


@given(start=instants, unit=units, amount=st.integers(1, 200))
def test_deadline_is_never_before_the_start(start: datetime, unit: TimeUnit, amount: int) -> None:
    assert deadline(start, TimeLimit(amount, unit), CALENDAR) > start


@given(start=instants, hours=st.integers(1, 200))
def test_working_hours_deadline_is_the_earliest_instant_with_that_much_work(start: datetime, hours: int) -> None:
    due = deadline(start, TimeLimit(hours, TimeUnit.working_hours), CALENDAR)
    assert working_time_between(start, due, CALENDAR) == timedelta(hours=hours)
    assert working_time_between(start, due - MICROSECOND, CALENDAR) < timedelta(hours=hours)


@given(start=instants, days=st.integers(1, 40))
def test_working_days_deadline_matches_a_day_by_day_count(start: datetime, days: int) -> None:
    expected = reference_working_day_deadline(start, days, CALENDAR)
    assert deadline(start, TimeLimit(days, TimeUnit.working_days), CALENDAR) == expected


@given(start=instants, span=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=50)))
def test_working_time_between_matches_a_day_by_day_sum(start: datetime, span: timedelta) -> None:
    end = start + span
    assert working_time_between(start, end, CALENDAR) == reference_working_time(start, end, CALENDAR)


@given(points=st.lists(instants, min_size=3, max_size=3))
def test_working_time_between_adds_up(points: list[datetime]) -> None:
    first, middle, last = points
    assert (working_time_between(first, middle, CALENDAR) + working_time_between(middle, last, CALENDAR)
            == working_time_between(first, last, CALENDAR))


@given(start=instants, amount=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=20)))
def test_adding_working_time_then_measuring_it_round_trips(start: datetime, amount: timedelta) -> None:
    assert working_time_between(start, add_working_time(start, amount, CALENDAR), CALENDAR) == amount


@given(start=instants, limit=st.builds(TimeLimit, st.integers(1, 30), units),
       fraction=st.floats(min_value=0.01, max_value=1.0))
def test_warning_time_lies_between_start_and_deadline(start: datetime, limit: TimeLimit, fraction: float) -> None:
    due = deadline(start, limit, CALENDAR)
    warn = warning_time(start, due, CALENDAR, fraction=fraction, working=limit.unit.working)
    assert start <= warn <= due


def test_speed_is_printed_never_asserted(capsys: pytest.CaptureFixture[str]) -> None:
    calendar = WorkCalendar()
    starts = [datetime(2024, 1, 1, tzinfo=UTC) + timedelta(minutes=37 * n) for n in range(50_000)]
    rates = {}
    for limit in (TimeLimit(16, TimeUnit.working_hours), TimeLimit(5, TimeUnit.working_days),
                  TimeLimit(4, TimeUnit.hours)):
        began = time.perf_counter()
        for start in starts:
            deadline(start, limit, calendar)
        rates[str(limit)] = len(starts) / (time.perf_counter() - began)
    began = time.perf_counter()
    for start in starts:
        working_time_between(start, start + timedelta(days=9), calendar)
    rates["working_time_between"] = len(starts) / (time.perf_counter() - began)
    with capsys.disabled():
        print("\ndeadline arithmetic per second: "
              + ", ".join(f"{name} {rate:,.0f}/s" for name, rate in rates.items()))
