"""Device quality (设备质量): how well each device served over a period, so that a department can fix or
retire the noisy ones. Pure: no database, no web.

- **Online rate**: the share of the windows in which the device was expected to report that hold at
  least one reading (from the 1-hour rollups, which leave out readings taken in maintenance). A window
  is one hour, or as many hours as the device's type may stay silent (``offline_after_s``), counted from
  the start of the period or from when the device was installed, whichever is later.
- **False-alarm rate**: of the warnings the device raised in the period, the share that people closed as
  false alarms or whose case was rejected (不予立案) as not a real problem. None when it raised none.
- **Flags**: ``silent`` (no reading at all), ``often_offline`` (online rate under ``Thresholds.online``),
  ``noisy`` (at least ``Thresholds.min_warnings`` warnings and a false-alarm rate from
  ``Thresholds.false_alarms`` up).
- **Ranking** (``rank``): by ``attention`` (the default: most false alarms first, then the least
  online, then the most warnings), or by one measure.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from cityops.errors import InvalidInput

HOUR = timedelta(hours=1)


class Sort(StrEnum):
    attention = "attention"
    false_alarm_rate = "false_alarm_rate"
    online_rate = "online_rate"
    warnings = "warnings"
    code = "code"


@dataclass(frozen=True)
class Thresholds:
    online: float = 0.9
    false_alarms: float = 0.5
    min_warnings: int = 3


@dataclass(frozen=True)
class DeviceRecord:
    """What the store says of one device over the period."""

    code: str
    name: str
    type_code: str
    department_code: str | None
    area_code: str
    status: str
    installed_at: datetime
    """When the device began to be expected to report (its installation day, or its registration)."""
    every_hours: int
    """How many hours it may stay silent: one expected report per window of this many hours."""
    reported_windows: int
    """How many of its expected windows in the period hold at least one reading (``online`` counts
    them from the hours it reported in)."""
    warnings: int = 0
    false_alarms: int = 0
    """Its warnings closed by people as false alarms."""
    rejected_cases: int = 0
    """Its warnings converted into cases that were then rejected as not a real problem."""


@dataclass(frozen=True)
class Quality:
    record: DeviceRecord
    expected_windows: int
    reported_windows: int
    online_rate: float | None
    false_alarm_rate: float | None
    flags: tuple[str, ...]


def every_hours_of(offline_after_s: int | None) -> int:
    """A device type's reporting window in whole hours: at least one, more when it may stay silent longer."""
    return max(1, math.ceil((offline_after_s or 0) / 3600))


def _floor_hour(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def windows(*, start: datetime, end: datetime, installed_at: datetime, every_hours: int) -> tuple[datetime, int]:
    """The first window's start and how many whole-or-partial windows of ``every_hours`` lie in the
    period from ``max(start, installed_at)`` (to the hour) until ``end``."""
    first = _floor_hour(max(start, installed_at))
    if end <= first:
        return first, 0
    return first, math.ceil((end - first) / (HOUR * every_hours))


def online(*, reported_hours: Iterable[datetime], start: datetime, end: datetime, installed_at: datetime,
           every_hours: int) -> tuple[int, int]:
    """(expected windows, windows with a reading) over the period, from the starts of the UTC hours in
    which the device sent at least one reading. With one-hour windows from the period's first hour,
    the windows with a reading are simply the distinct hours in the period, which a store counts itself."""
    first, expected = windows(start=start, end=end, installed_at=installed_at, every_hours=every_hours)
    width = HOUR * every_hours
    seen = {(hour - first) // width for hour in reported_hours if first <= hour < end}
    return expected, len(seen)


def assess(record: DeviceRecord, *, start: datetime, end: datetime, thresholds: Thresholds = Thresholds()) -> Quality:
    """The device's quality over ``[start, end)`` (see the module's doc); ``end`` no later than now, since
    nothing is expected of the future."""
    if end < start:
        raise InvalidInput("the period must not end before it starts", code="end_before_start", field="to")
    _, expected = windows(start=start, end=end, installed_at=record.installed_at, every_hours=record.every_hours)
    reported = min(record.reported_windows, expected)
    online_rate = reported / expected if expected else None
    false_alarm_rate = ((record.false_alarms + record.rejected_cases) / record.warnings if record.warnings
                        else None)
    flags = []
    if expected and not reported:
        flags.append("silent")
    if online_rate is not None and online_rate < thresholds.online:
        flags.append("often_offline")
    if (record.warnings >= thresholds.min_warnings and false_alarm_rate is not None
            and false_alarm_rate >= thresholds.false_alarms):
        flags.append("noisy")
    return Quality(record, expected, reported, online_rate, false_alarm_rate, tuple(flags))


def _attention(quality: Quality) -> tuple[float, float, int, str]:
    false_alarms = quality.false_alarm_rate if quality.false_alarm_rate is not None else -1.0
    online_rate = quality.online_rate if quality.online_rate is not None else 2.0
    return (-false_alarms, online_rate, -quality.record.warnings, quality.record.code)


_KEYS = {
    Sort.attention: _attention,
    Sort.false_alarm_rate: lambda q: (q.false_alarm_rate is None, -(q.false_alarm_rate or 0), q.record.code),
    Sort.online_rate: lambda q: (q.online_rate is None, q.online_rate or 0, q.record.code),
    Sort.warnings: lambda q: (-q.record.warnings, q.record.code),
    Sort.code: lambda q: q.record.code,
}


def rank(qualities: Sequence[Quality], *, sort: Sort = Sort.attention) -> list[Quality]:
    """Worst first by ``sort`` (devices without a measure last); ties by device code."""
    return sorted(qualities, key=_KEYS[Sort(sort)])
