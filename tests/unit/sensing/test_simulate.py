"""The simulator's signals, faults and schedule, as plain functions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from statistics import mean

import pytest

from cityops.errors import InvalidInput
from cityops.sensing.simulate import (
    DEVICE_KINDS,
    PROFILES,
    Fault,
    FaultKind,
    Fleet,
    Schedule,
    Signal,
    SimDevice,
    as_fault_kinds,
    kinds_for,
    plan_faults,
)

START = datetime(2026, 11, 30, 16, 0, tzinfo=UTC)  # midnight in Shanghai
KINDS = {kind.type_code: kind for kind in DEVICE_KINDS}


def fleet_of(count: int) -> list[SimDevice]:
    return [SimDevice(f"{kind.code_prefix}-{number:04d}", kind) for number, kind in enumerate(kinds_for(count))]


def values(signal: Signal, moments, faults=()) -> list[float | None]:
    return [signal.value(at, faults) for at in moments]


def every(step: timedelta, hours: float, start: datetime = START) -> list[datetime]:
    return [start + step * n for n in range(int(timedelta(hours=hours) / step))]


def test_the_same_seed_gives_the_same_readings_and_another_seed_others() -> None:
    moments = every(timedelta(minutes=1), 2)
    first = values(Signal(PROFILES["pm25"], seed=7), moments)
    assert first == values(Signal(PROFILES["pm25"], seed=7), moments)
    assert first != values(Signal(PROFILES["pm25"], seed=8), moments)


def test_traffic_noise_follows_the_day_and_stays_in_its_range() -> None:
    signal = Signal(PROFILES["noise"], seed=1)
    readings = values(signal, every(timedelta(minutes=5), 24 * 7))
    by_hour = {hour: mean(v for n, v in enumerate(readings) if (n * 5 // 60) % 24 == hour) for hour in range(24)}
    assert by_hour[14] - by_hour[3] > 10  # afternoon traffic against the small hours, local time
    assert all(PROFILES["noise"].floor <= v <= PROFILES["noise"].ceiling for v in readings)


def test_the_river_gauge_rises_and_falls_with_the_tide_twice_a_day() -> None:
    signal = Signal(PROFILES["water_level"], seed=3)
    readings = values(signal, every(timedelta(minutes=10), 24.84))
    highs = [n for n in range(1, len(readings) - 1)
             if readings[n] == max(readings[max(0, n - 18):n + 19]) and readings[n] > mean(readings) + 0.3]
    assert len({n // 36 for n in highs}) == 2  # two high waters in a lunar day, each 6 readings per hour apart
    assert max(readings) - min(readings) > 1.0


def test_faults_spike_drift_and_silence_the_signal() -> None:
    moments = every(timedelta(minutes=1), 3)
    quiet = values(Signal(PROFILES["methane"], seed=5), moments)
    spike = Fault(FaultKind.spike, START + timedelta(minutes=30), START + timedelta(minutes=32))
    drift = Fault(FaultKind.drift, START + timedelta(minutes=60), START + timedelta(minutes=120))
    silence = Fault(FaultKind.silence, START + timedelta(minutes=150), START + timedelta(minutes=160))
    faulty = values(Signal(PROFILES["methane"], seed=5), moments, (spike, drift, silence))
    assert faulty[:30] == quiet[:30]
    assert all(f - q > 20 for f, q in zip(faulty[30:32], quiet[30:32], strict=True))
    assert faulty[32:60] == quiet[32:60]
    grown = [f - q for f, q in zip(faulty[60:120], quiet[60:120], strict=True)]
    assert grown[-1] > 10 and grown[-1] > grown[30] > grown[5]
    assert faulty[150:160] == [None] * 10 and faulty[160] is not None


def test_a_signal_is_read_in_increasing_time() -> None:
    signal = Signal(PROFILES["pm25"], seed=1)
    signal.value(START + timedelta(minutes=5))
    with pytest.raises(InvalidInput) as error:
        signal.value(START)
    assert error.value.field == "at"


def test_a_fleet_is_shared_among_the_kinds_and_interleaved() -> None:
    kinds = kinds_for(20)
    assert [sum(k is kind for k in kinds) for kind in DEVICE_KINDS] == [7, 4, 5, 4]
    assert kinds[:4] == list(DEVICE_KINDS)
    assert kinds_for(0) == [] and len(kinds_for(3)) == 3
    with pytest.raises(InvalidInput):
        kinds_for(-1)


def test_the_schedule_sends_the_rate_asked_and_consecutive_windows_neither_skip_nor_repeat() -> None:
    devices = fleet_of(12)
    schedule = Schedule.for_rate(devices, rate=4.0)
    metrics = sum(len(device.kind.metrics) for device in devices)
    assert schedule.interval == timedelta(seconds=metrics / 4.0)
    whole = list(schedule.due(START, START + timedelta(hours=1)))
    pieces = [item for second in range(0, 3600, 7) for item in schedule.due(
        START + timedelta(seconds=second), min(START + timedelta(seconds=second + 7), START + timedelta(hours=1)))]
    assert pieces == whole
    readings = Fleet(devices, seed=1).readings(schedule, START, START + timedelta(hours=1))
    assert abs(len(readings) / 3600 - 4.0) < 0.05
    assert [r["ts"] for r in readings] == sorted(r["ts"] for r in readings)
    assert {r["metric"] for r in readings} == set(PROFILES)


def test_bad_rates_and_fault_names_are_refused() -> None:
    for rate in (0, -1, float("nan"), float("inf")):
        with pytest.raises(InvalidInput) as error:
            Schedule.for_rate(fleet_of(2), rate=rate)
        assert error.value.field == "rate"
    with pytest.raises(InvalidInput) as error:
        as_fault_kinds(["spike,flood"])
    assert error.value.field == "faults" and "flood" in error.value.detail
    assert as_fault_kinds(["spike, silence", "spike", ""]) == (FaultKind.spike, FaultKind.silence)
    with pytest.raises(InvalidInput):
        plan_faults(["SIM-WL-0000"], kinds=[FaultKind.spike], start=START, duration=timedelta(hours=1),
                    every=timedelta(0))


def test_faults_strike_each_device_about_as_often_as_asked() -> None:
    codes = [device.code for device in fleet_of(50)]
    plan = plan_faults(codes, kinds=list(FaultKind), start=START, duration=timedelta(days=2),
                       every=timedelta(hours=4), seed=9)
    per_kind = {kind: sum(fault.kind is kind for faults in plan.values() for fault in faults) for kind in FaultKind}
    for count in per_kind.values():  # 50 devices × 12 expected each: 600 ± a Poisson spread
        assert 500 < count < 700
    assert plan == plan_faults(codes, kinds=list(FaultKind), start=START, duration=timedelta(days=2),
                               every=timedelta(hours=4), seed=9)
    assert all(START <= f.start < START + timedelta(days=2) and f.end > f.start for fs in plan.values() for f in fs)


def test_a_silent_device_sends_nothing_and_the_others_go_on() -> None:
    devices = [SimDevice("SIM-AQ-0001", KINDS["sim_air_station"]), SimDevice("SIM-WL-0002", KINDS["sim_water_gauge"])]
    silence = Fault(FaultKind.silence, START, START + timedelta(minutes=10))
    fleet = Fleet(devices, faults={"SIM-AQ-0001": [silence]}, seed=2)
    schedule = Schedule.for_rate(devices, rate=1.0)
    first = fleet.readings(schedule, START, START + timedelta(minutes=10))
    assert {r["device"] for r in first} == {"SIM-WL-0002"}
    later = fleet.readings(schedule, START + timedelta(minutes=10), START + timedelta(minutes=11))
    assert {(r["device"], r["metric"]) for r in later} >= {("SIM-AQ-0001", "pm25"), ("SIM-AQ-0001", "pm10")}
