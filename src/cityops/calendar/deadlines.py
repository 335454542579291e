"""Deadlines, elapsed working time, time remaining and reminders for case time limits.

The rules, per unit of ``TimeLimit``:

- **Natural minutes, hours and days** (``30m``, ``4h``, ``3d``) are elapsed time around the clock:
  ``start + amount``, with ``3d`` meaning 72 hours, holidays included.
- **Working hours** (``2wh``) count only business hours on working days. A start outside business
  hours (at night, over lunch, on a holiday) starts counting at the next working period. The deadline
  is the earliest instant at which the amount has been worked, so a total reached exactly at a
  period's end is that end (12:00, not 13:00 after lunch).
- **Working days** (``5wd``) follow the Civil Code's default rule for periods counted in days,
  which holds unless a rule says otherwise (民法典 第二百零四条): the day of the start is not counted
  and counting begins with the next day (第二百零一条), and the last day ends when business stops on
  it (第二百零三条: "有业务时间的，停止业务活动的时间为截止时间"). 12345 hotline procedures set how
  many working days a kind of request gets and count them the same way (e.g. "在收到转办件工单的
  次日起13个工作日内办结"). So the deadline is the close of business of the N-th working day after
  the start's local date, whatever the start's time of day: a case registered on Friday at 08:00 or
  at 23:59 with ``1wd`` is due at close of business on the next working day.

Every function takes timezone-aware datetimes (in any zone) and returns UTC. Business hours and
dates are read on the calendar's wall clock; elapsed working time is in microseconds, so
``working_time_between(start, deadline(start, Nwh)) == N hours`` exactly.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from cityops.calendar.workcalendar import WorkCalendar
from cityops.categories.time_limits import TimeLimit, TimeUnit
from cityops.errors import InvalidInput

_NATURAL = {TimeUnit.minutes: timedelta(minutes=1), TimeUnit.hours: timedelta(hours=1),
            TimeUnit.days: timedelta(days=1)}
_MIDNIGHT = time()


def deadline(start: datetime, limit: TimeLimit, calendar: WorkCalendar) -> datetime:
    """When a step that began at ``start`` with ``limit`` is due, in UTC (rules: module docstring)."""
    _require_aware(start, "start")
    if not isinstance(limit, TimeLimit):
        raise InvalidInput("a time limit is an amount and a unit such as 2wh", field="limit")
    if limit.unit is TimeUnit.working_hours:
        return _add_working(start, limit.amount * 3_600_000_000, calendar)
    if limit.unit is TimeUnit.working_days:
        local_day = start.astimezone(calendar.timezone).date()
        last_day = calendar.nth_working_day_after(local_day, limit.amount)
        return _instant(calendar, last_day, calendar.hours.close)
    return start.astimezone(UTC) + _NATURAL[limit.unit] * limit.amount


def add_working_time(start: datetime, amount: timedelta, calendar: WorkCalendar) -> datetime:
    """The earliest instant, in UTC, at which ``amount`` of working time has passed since ``start``;
    ``start`` itself for a zero amount."""
    _require_aware(start, "start")
    need = _microseconds(amount)
    if need < 0:
        raise InvalidInput("working time to add cannot be negative", field="amount")
    return _add_working(start, need, calendar)


def _add_working(start: datetime, need: int, calendar: WorkCalendar) -> datetime:
    if need == 0:
        return start.astimezone(UTC)
    hours = calendar.hours
    per_day = hours.length
    local = start.astimezone(calendar.timezone)
    day = local.date()
    if calendar.is_working_day(day):
        used = hours.elapsed(_time_of_day(local))
        if used + need <= per_day:
            return _instant(calendar, day, hours.at(used + need))
        need -= per_day - used
    full_days, rest = divmod(need, per_day)
    if rest == 0:
        full_days, rest = full_days - 1, per_day
    return _instant(calendar, calendar.nth_working_day_after(day, full_days + 1), hours.at(rest))


def working_time_between(start: datetime, end: datetime, calendar: WorkCalendar) -> timedelta:
    """Working time from ``start`` to ``end``: business hours on working days only. Negative when
    ``end`` is before ``start``, so it measures both time left and time overdue."""
    _require_aware(start, "start")
    _require_aware(end, "end")
    if end < start:
        return -working_time_between(end, start, calendar)
    tz = calendar.timezone
    local_start, local_end = start.astimezone(tz), end.astimezone(tz)
    first, last = local_start.date(), local_end.date()
    whole_days = calendar.count_working_days(first, last)
    worked = whole_days * calendar.hours.length
    if calendar.is_working_day(first):
        worked -= calendar.hours.elapsed(_time_of_day(local_start))
    if calendar.is_working_day(last):
        worked += calendar.hours.elapsed(_time_of_day(local_end))
    return timedelta(microseconds=worked)


def remaining(now: datetime, due: datetime, calendar: WorkCalendar, *, working: bool = True) -> timedelta:
    """Time left until ``due`` — working time for working-unit limits, elapsed time otherwise.
    Negative once overdue: its magnitude is how far overdue the step is."""
    _require_aware(now, "now")
    _require_aware(due, "deadline")
    if working:
        return working_time_between(now, due, calendar)
    return due - now


def warning_time(start: datetime, due: datetime, calendar: WorkCalendar, *, fraction: float = 0.8,
                 lead: timedelta | None = None, working: bool = True) -> datetime:
    """When to remind that a step is nearly due, in UTC: once ``fraction`` of the time from ``start``
    to ``due`` has passed, or, with ``lead``, that much time before ``due`` (never before ``start``).
    Time is working time when ``working``, else elapsed time."""
    _require_aware(start, "start")
    _require_aware(due, "deadline")
    if isinstance(fraction, bool) or not isinstance(fraction, int | float) or not 0 < fraction <= 1:
        raise InvalidInput("the reminder fraction must be more than 0 and at most 1", field="fraction")
    if lead is not None and (not isinstance(lead, timedelta) or lead < timedelta(0)):
        raise InvalidInput("the reminder lead cannot be negative", field="lead")
    allowed = working_time_between(start, due, calendar) if working else due - start
    if allowed <= timedelta(0):
        return due.astimezone(UTC)
    before = max(allowed - lead, timedelta(0)) if lead is not None else allowed * fraction
    if working:
        return add_working_time(start, before, calendar)
    return start.astimezone(UTC) + before


def _require_aware(value: object, field: str) -> None:
    if not isinstance(value, datetime) or value.utcoffset() is None:
        raise InvalidInput(f"{field} must be a datetime with a time zone", field=field)


def _microseconds(amount: timedelta) -> int:
    if not isinstance(amount, timedelta):
        raise InvalidInput("working time is a duration", field="amount")
    return (amount.days * 86_400 + amount.seconds) * 1_000_000 + amount.microseconds


def _time_of_day(local: datetime) -> int:
    return ((local.hour * 60 + local.minute) * 60 + local.second) * 1_000_000 + local.microsecond


def _instant(calendar: WorkCalendar, day: date, time_of_day: int) -> datetime:
    """Wall-clock ``time_of_day`` (microseconds after midnight, 24:00 allowed) on ``day`` → UTC."""
    local = datetime.combine(day, _MIDNIGHT) + timedelta(microseconds=time_of_day)
    return local.replace(tzinfo=calendar.timezone).astimezone(UTC)
