"""Which dates are working days in China, and the business hours of a working day.

A date's status comes from the first source that knows it:

1. an administrator's **override** (``DayOverride``: date, working or not, a name such as "2031 春节"),
   which wins over everything — to enter a year the library does not know yet, or a local change;
2. the ``chinesecalendar`` package (the State Council's yearly holiday notices, 国务院办公厅关于节假日
   安排的通知): official holidays are off and make-up working days (调休, e.g. Sunday 2025-01-26 and
   Saturday 2025-02-08 for Spring Festival 2025) are on. Version 1.11 knows 2004–2026; the package
   raises ``NotImplementedError`` for other years, and each November's release adds the next year.
   Its days are named in Chinese (元旦, 春节 …, ``HOLIDAY_NAMES``), the library's English names being
   kept only as a stable code (its ``Holiday`` member, e.g. ``spring_festival``);
3. the **weekday rule**: Monday to Friday on, Saturday and Sunday off. A year that only this rule
   answers is *unconfirmed*; ``coverage()`` and ``coverage_report()`` tell an administrator which
   years still need entering.

Business hours default to 09:00–12:00 and 13:00–18:00: eight hours a day, the statutory working
day (国务院关于职工工作时间的规定, 1995: 8 hours a day, 40 a week), so that one working day is eight
working hours. Service halls differ (09:00–12:00 / 13:00–17:00, or 09:00–16:30 without a lunch
break), so the periods and the IANA time zone (default Asia/Shanghai) are configurable.

A calendar is immutable: ``with_overrides`` returns a new one. Each year's working days are
computed once per calendar and cached, so deadline arithmetic never loops day by day.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from functools import cache, cached_property
from types import MappingProxyType
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import chinese_calendar

from cityops.errors import InvalidInput

MIN_YEAR = 1900
MAX_YEAR = 2199
DEFAULT_TIMEZONE = "Asia/Shanghai"
DEFAULT_BUSINESS_HOURS: tuple[str, ...] = ("09:00-12:00", "13:00-18:00")

MICROSECONDS_PER_DAY = 86_400_000_000
# The statutory holidays' names as the State Council's notices write them (the library's own Chinese
# names shorten 清明节, 端午节 and 中秋节); a holiday missing here keeps the library's Chinese name.
HOLIDAY_NAMES: Mapping[str, str] = MappingProxyType({
    "new_years_day": "元旦", "spring_festival": "春节", "tomb_sweeping_day": "清明节", "labour_day": "劳动节",
    "dragon_boat_festival": "端午节", "mid_autumn_festival": "中秋节", "national_day": "国庆节"})
_PERIOD = re.compile(r"([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)")


class DaySource(StrEnum):
    """Where a date's working status comes from."""

    override = "override"
    library = "library"
    weekday_rule = "weekday_rule"


class Coverage(StrEnum):
    """How far a year of the calendar can be trusted."""

    library = "confirmed_by_library"
    overridden = "overridden"
    """The library does not know the year; an administrator has entered at least one date of it."""
    weekday_rule_only = "weekday_rule_only"
    """Unconfirmed: neither the library nor an administrator knows the year's holidays."""


@dataclass(frozen=True)
class DayOverride:
    """An administrator's decision about one date; it wins over the library and the weekday rule."""

    day: date
    working: bool
    name: str

    def __post_init__(self) -> None:
        if isinstance(self.day, datetime) or not isinstance(self.day, date):
            raise InvalidInput("an override is for a date, without a time of day", field="day")
        _check_year(self.day.year, field="day")
        if not isinstance(self.working, bool):
            raise InvalidInput("say whether the date is a working day (true or false)", field="working")
        if not isinstance(self.name, str) or not self.name.strip():
            raise InvalidInput("an override needs a name or note, such as '2031 春节'", code="value_required",
                               field="name")


@dataclass(frozen=True)
class DayInfo:
    day: date
    working: bool
    name: str | None
    """The holiday or make-up day's Chinese name, or an override's note; None for an ordinary day."""
    source: DaySource
    holiday: str | None = None
    """For a day the library knows, the stable code of its holiday (``spring_festival``); else None."""


@dataclass(frozen=True)
class BusinessHours:
    """The working periods of every working day, in microseconds after local midnight."""

    periods: tuple[tuple[int, int], ...]

    @classmethod
    def parse(cls, texts: Sequence[str], *, field: str = "business_hours") -> BusinessHours:
        """``["09:00-12:00", "13:00-18:00"]`` → periods; they must be in order and not overlap."""
        if isinstance(texts, str) or not texts:
            raise InvalidInput("give at least one working period such as '09:00-12:00'", field=field)
        periods: list[tuple[int, int]] = []
        for text in texts:
            match = _PERIOD.fullmatch(text.strip()) if isinstance(text, str) else None
            if match is None:
                raise InvalidInput(f"{text!r} is not a working period; write it as HH:MM-HH:MM", field=field)
            start_h, start_m, end_h, end_m = (int(part) for part in match.groups())
            start = (start_h * 60 + start_m) * 60_000_000
            end = (end_h * 60 + end_m) * 60_000_000
            if end > MICROSECONDS_PER_DAY or end <= start:
                raise InvalidInput(f"{text!r} must end after it starts, by 24:00", field=field)
            if periods and start < periods[-1][1]:
                raise InvalidInput(f"{text!r} overlaps or precedes the period before it", field=field)
            periods.append((start, end))
        return cls(tuple(periods))

    @cached_property
    def length(self) -> int:
        """Working microseconds in one working day."""
        return sum(end - start for start, end in self.periods)

    @cached_property
    def close(self) -> int:
        """Close of business, in microseconds after local midnight."""
        return self.periods[-1][1]

    def elapsed(self, time_of_day: int) -> int:
        """Working microseconds of a working day that have passed at ``time_of_day``."""
        passed = 0
        for start, end in self.periods:
            if time_of_day <= start:
                break
            passed += min(time_of_day, end) - start
        return passed

    def at(self, elapsed: int) -> int:
        """The earliest time of day at which ``elapsed`` (0 < elapsed ≤ length) working time has passed;
        a total reached exactly at a period's end is that end (12:00, not 13:00)."""
        for start, end in self.periods:
            if elapsed <= end - start:
                return start + elapsed
            elapsed -= end - start
        raise ValueError("more working time than a working day holds")


@dataclass(frozen=True)
class _Year:
    first: int
    """The ordinal of 1 January."""
    flags: bytes
    """1 for a working day, indexed by ordinal − first."""
    working: tuple[int, ...]
    """The ordinals of the working days, ascending."""


def _check_year(year: int, *, field: str) -> None:
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise InvalidInput(f"the work calendar covers {MIN_YEAR}–{MAX_YEAR}; {year} is outside it", field=field)


@cache
def _library_knows(year: int) -> bool:
    try:
        chinese_calendar.is_workday(date(year, 1, 1))
    except NotImplementedError:
        return False
    return True


def library_years() -> range:
    """The years the installed ``chinesecalendar`` confirms (2004–2026 for version 1.11)."""
    known = [year for year in range(MIN_YEAR, MAX_YEAR + 1) if _library_knows(year)]
    return range(known[0], known[-1] + 1) if known else range(0)


class WorkCalendar:
    """Working days and business hours for one jurisdiction. Immutable; safe to share."""

    def __init__(self, *, overrides: Iterable[DayOverride] = (),
                 business_hours: Sequence[str] = DEFAULT_BUSINESS_HOURS,
                 timezone: str = DEFAULT_TIMEZONE) -> None:
        by_day = _by_day(overrides)
        self._overrides = MappingProxyType(dict(sorted(by_day.items())))
        self._override_years = frozenset(day.year for day in by_day)
        self.hours = BusinessHours.parse(business_hours)
        try:
            self.timezone = ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError, TypeError):
            raise InvalidInput(f"{timezone!r} is not an IANA time zone such as 'Asia/Shanghai'",
                               field="timezone") from None
        self._business_hours = tuple(business_hours)
        self._years: dict[int, _Year] = {}

    def __repr__(self) -> str:
        return (f"WorkCalendar(timezone={self.timezone.key!r}, business_hours={self._business_hours!r}, "
                f"overrides={len(self._overrides)})")

    @property
    def overrides(self) -> Mapping[date, DayOverride]:
        """The administrators' overrides, by date (read-only)."""
        return self._overrides

    def with_overrides(self, overrides: Iterable[DayOverride]) -> WorkCalendar:
        """A new calendar with ``overrides`` added; each replaces an existing override of its date."""
        merged = {**self._overrides, **_by_day(overrides)}
        return WorkCalendar(overrides=merged.values(), business_hours=self._business_hours,
                            timezone=self.timezone.key)

    def describe(self, day: date) -> DayInfo:
        """A date's status, its name and which source decided it."""
        _check_date(day)
        override = self._overrides.get(day)
        if override is not None:
            return DayInfo(day, override.working, override.name, DaySource.override)
        if _library_knows(day.year):
            off, english = chinese_calendar.get_holiday_detail(day)
            if english is None:
                return DayInfo(day, not off, None, DaySource.library)
            holiday = chinese_calendar.Holiday(english)
            return DayInfo(day, not off, HOLIDAY_NAMES.get(holiday.name, holiday.chinese), DaySource.library,
                           holiday.name)
        return DayInfo(day, day.weekday() < 5, None, DaySource.weekday_rule)

    def is_working_day(self, day: date) -> bool:
        if type(day) is not date:
            _check_date(day)
        year = self._year(day.year)
        return year.flags[day.toordinal() - year.first] == 1

    def coverage(self, year: int) -> Coverage:
        """Whether ``year`` is confirmed by the library, entered by an administrator, or unconfirmed."""
        _check_year(year, field="year")
        if _library_knows(year):
            return Coverage.library
        if year in self._override_years:
            return Coverage.overridden
        return Coverage.weekday_rule_only

    def coverage_report(self, first: int, last: int) -> dict[int, Coverage]:
        """``coverage`` for each year from ``first`` to ``last`` inclusive."""
        return {year: self.coverage(year) for year in range(first, last + 1)}

    def working_days(self, year: int) -> tuple[date, ...]:
        """Every working day of ``year``, in order."""
        return tuple(date.fromordinal(ordinal) for ordinal in self._year(year).working)

    def count_working_days(self, first: date, end: date) -> int:
        """Working days on or after ``first`` and before ``end`` (0 when ``end`` ≤ ``first``)."""
        low, high = first.toordinal(), end.toordinal()
        count = 0
        for year in range(first.year, end.year + 1):
            ordinals = self._year(year).working
            count += max(0, bisect_left(ordinals, high) - bisect_left(ordinals, low))
        return count

    def nth_working_day_after(self, day: date, n: int) -> date:
        """The ``n``-th working day after ``day`` (``day`` itself never counts), for n ≥ 1."""
        if n < 1:
            raise ValueError("n counts from 1")
        after, year = day.toordinal(), day.year
        while True:
            ordinals = self._year(year).working
            index = bisect_right(ordinals, after)
            if n <= len(ordinals) - index:
                return date.fromordinal(ordinals[index + n - 1])
            n -= len(ordinals) - index
            year += 1

    def _year(self, year: int) -> _Year:
        cached = self._years.get(year)
        if cached is None:
            _check_year(year, field="day")
            first = date(year, 1, 1)
            days = [first + timedelta(days=offset) for offset in range((date(year + 1, 1, 1) - first).days)]
            flags = bytes(self._decide(day) for day in days)
            cached = _Year(first.toordinal(), flags,
                           tuple(day.toordinal() for day, flag in zip(days, flags, strict=True) if flag))
            self._years[year] = cached
        return cached

    def _decide(self, day: date) -> bool:
        override = self._overrides.get(day)
        if override is not None:
            return override.working
        if _library_knows(day.year):
            return chinese_calendar.is_workday(day)
        return day.weekday() < 5


def _by_day(overrides: Iterable[DayOverride]) -> dict[date, DayOverride]:
    by_day: dict[date, DayOverride] = {}
    for override in overrides:
        if not isinstance(override, DayOverride):
            raise InvalidInput("overrides are DayOverride values", field="overrides")
        if by_day.setdefault(override.day, override) != override:
            raise InvalidInput(f"{override.day.isoformat()} is overridden twice, differently", field="overrides")
    return by_day


def _check_date(day: object) -> None:
    if isinstance(day, datetime) or not isinstance(day, date):
        raise InvalidInput("give a date without a time of day; convert instants with the calendar's "
                           "time zone first", field="day")
