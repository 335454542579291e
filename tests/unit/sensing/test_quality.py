"""Device quality as plain functions: online rate over expected windows, false-alarm rate from people's
closures and rejected cases, flags and the ranking."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from cityops.errors import InvalidInput
from cityops.sensing.quality import DeviceRecord, Sort, assess, every_hours_of, online, rank

START = datetime(2026, 11, 1, tzinfo=UTC)
END = START + timedelta(days=1)


def hours(*offsets: float) -> frozenset[datetime]:
    return frozenset(START + timedelta(hours=h) for h in offsets)


def device(code: str = "WL-1", reported_hours: frozenset[datetime] = hours(*range(24)), **changes: object
           ) -> DeviceRecord:
    """A gauge with the windows it reported in counted from ``reported_hours`` over the day."""
    base = DeviceRecord(code=code, name=code, type_code="wl", department_code="water", area_code="99010101",
                        status="active", installed_at=START - timedelta(days=30), every_hours=1, reported_windows=0)
    record = replace(base, **changes)
    _, reported = online(reported_hours=reported_hours, start=START, end=END, installed_at=record.installed_at,
                         every_hours=record.every_hours)
    return replace(record, reported_windows=reported)


def test_online_rate_counts_the_expected_windows_that_hold_a_reading() -> None:
    assert online(reported_hours=hours(*range(24)), start=START, end=END, installed_at=START, every_hours=1) == (24, 24)
    assert online(reported_hours=hours(0, 1, 5), start=START, end=END, installed_at=START, every_hours=1) == (24, 3)
    # hours outside the period do not count
    assert online(reported_hours=hours(-3, 24, 30), start=START, end=END, installed_at=START, every_hours=1) == (24, 0)


def test_a_device_that_may_stay_silent_for_hours_is_expected_once_per_window() -> None:
    assert every_hours_of(None) == 1 and every_hours_of(300) == 1 and every_hours_of(3600) == 1
    assert every_hours_of(3601) == 2 and every_hours_of(6 * 3600) == 6
    # one reading every six hours fills every six-hour window; two in one window count once
    assert online(reported_hours=hours(0, 7, 13, 19), start=START, end=END, installed_at=START,
                  every_hours=6) == (4, 4)
    assert online(reported_hours=hours(0, 1, 2), start=START, end=END, installed_at=START, every_hours=6) == (4, 1)


def test_a_device_installed_in_the_period_is_expected_only_from_then() -> None:
    installed = START + timedelta(hours=18, minutes=30)
    assert online(reported_hours=hours(18, 19, 20, 21, 22, 23), start=START, end=END, installed_at=installed,
                  every_hours=1) == (6, 6)
    later = assess(device(installed_at=END + timedelta(days=1), reported_hours=frozenset()), start=START, end=END)
    assert (later.expected_windows, later.online_rate, later.flags) == (0, None, ())


def test_false_alarm_rate_counts_false_alarms_and_rejected_cases_over_warnings_raised() -> None:
    quality = assess(device(warnings=8, false_alarms=3, rejected_cases=1), start=START, end=END)
    assert quality.false_alarm_rate == 0.5 and quality.flags == ("noisy",)
    assert assess(device(warnings=0), start=START, end=END).false_alarm_rate is None
    # too few warnings to call a device noisy, however they were closed
    assert assess(device(warnings=2, false_alarms=2), start=START, end=END).flags == ()


def test_flags_say_what_is_wrong() -> None:
    silent = assess(device(reported_hours=frozenset()), start=START, end=END)
    assert (silent.online_rate, silent.flags) == (0.0, ("silent", "often_offline"))
    patchy = assess(device(reported_hours=hours(*range(20))), start=START, end=END)
    assert (round(patchy.online_rate, 3), patchy.flags) == (0.833, ("often_offline",))
    assert assess(device(), start=START, end=END).flags == ()


def test_ranking_puts_the_devices_needing_attention_first() -> None:
    noisy = assess(device("N", warnings=10, false_alarms=9), start=START, end=END)
    offline = assess(device("O", reported_hours=hours(*range(12))), start=START, end=END)
    busy = assess(device("B", warnings=20, false_alarms=2), start=START, end=END)
    quiet = assess(device("Q"), start=START, end=END)
    new = assess(device("U", installed_at=END, reported_hours=frozenset()), start=START, end=END)
    everyone = [quiet, new, busy, offline, noisy]
    assert [q.record.code for q in rank(everyone)] == ["N", "B", "O", "Q", "U"]
    assert [q.record.code for q in rank(everyone, sort=Sort.online_rate)] == ["O", "B", "N", "Q", "U"]
    assert [q.record.code for q in rank(everyone, sort=Sort.warnings)] == ["B", "N", "O", "Q", "U"]
    assert [q.record.code for q in rank(everyone, sort=Sort.false_alarm_rate)] == ["N", "B", "O", "Q", "U"]
    assert [q.record.code for q in rank(everyone, sort=Sort.code)] == ["B", "N", "O", "Q", "U"]
    with pytest.raises(ValueError):
        rank(everyone, sort="loudest")


def test_a_period_must_end_after_it_starts() -> None:
    with pytest.raises(InvalidInput) as refused:
        assess(device(), start=END, end=START)
    assert refused.value.field == "to"


def test_readings_sent_late_for_hours_before_installation_never_lift_the_rate_past_one() -> None:
    assert assess(replace(device(), reported_windows=99), start=START, end=END).online_rate == 1.0
