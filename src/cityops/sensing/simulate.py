"""Simulated sensor signals for the demo city. Pure: no database, no clock, no network; the same seed
gives the same readings, so a run can be repeated and tested.

A metric's signal is the sum of

- a **cycle** in local time: the daily rhythm of traffic noise and PM2.5 (with the morning and evening
  rush as a second harmonic), a manhole's gas warming with the afternoon, and the semi-diurnal tide
  (12.42 h) on a river or canal gauge;
- a **wander**: a slow random walk pulled back to zero (an Ornstein-Uhlenbeck process with a time
  constant of an hour), so weather-like changes last a while instead of jumping reading to reading;
- **noise**: independent Gaussian noise per reading (the sensor's own);
- a per-device **offset**, so that two gauges never read alike;

clipped to the metric's physical range and rounded as a device would report it.

**Faults** are what make a fleet realistic for rules and device-quality figures: a *spike* adds a
large value for a minute or two (a splash, a passing truck, a gas pocket), a *drift* adds an offset
growing steadily for up to an hour (a fouled or decalibrating probe), a *silence* sends nothing for a
while (a dead battery, lost signal). ``plan_faults`` places them at random moments of a run, each kind
striking each device on average once every ``every``.

``Schedule`` spreads a fleet's reports evenly: each device reports all its metrics every ``interval``,
at its own phase, so that the fleet sends ``rate`` readings per second in total.
"""

from __future__ import annotations

import math
import random
import zlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from cityops.errors import InvalidInput
from cityops.times import as_utc

HOUR = timedelta(hours=1)
WANDER_TIME_CONSTANT = timedelta(hours=1)


class FaultKind(StrEnum):
    spike = "spike"
    drift = "drift"
    silence = "silence"


@dataclass(frozen=True)
class MetricProfile:
    """How one kind of measurement behaves. Sizes are in the metric's unit."""

    metric: str
    unit: str
    base: float
    cycle: float
    """Half the peak-to-trough swing of the cycle."""
    peak_hour: float
    """Local hour of the cycle's peak."""
    noise: float
    wander: float
    """Standard deviation of the slow random walk."""
    spread: float
    """Standard deviation of the offset between devices."""
    spike: float
    drift_per_hour: float
    floor: float = 0.0
    ceiling: float = math.inf
    decimals: int = 1
    period: timedelta = timedelta(hours=24)
    rush: float = 0.0
    """Amplitude of a second harmonic (two peaks a day: the morning and evening rush)."""


PROFILES: dict[str, MetricProfile] = {profile.metric: profile for profile in (
    # a river or canal gauge in Shanghai: the Huangpu's tide, about 2.6 m ± 0.7 m
    MetricProfile("water_level", "m", base=2.6, cycle=0.7, peak_hour=3.0, noise=0.01, wander=0.03, spread=0.15,
                  spike=1.6, drift_per_hour=0.5, floor=0.0, ceiling=8.0, decimals=2, period=timedelta(hours=12.42)),
    MetricProfile("pm25", "µg/m³", base=38.0, cycle=10.0, peak_hour=21.0, noise=3.0, wander=8.0, spread=5.0,
                  spike=220.0, drift_per_hour=40.0, floor=1.0, ceiling=1000.0, decimals=0, rush=5.0),
    MetricProfile("pm10", "µg/m³", base=62.0, cycle=14.0, peak_hour=21.0, noise=5.0, wander=12.0, spread=8.0,
                  spike=300.0, drift_per_hour=60.0, floor=2.0, ceiling=2000.0, decimals=0, rush=8.0),
    # methane in a manhole, as a share of its lower explosive limit (%LEL); alarms sit at 10–25 %LEL
    MetricProfile("methane", "%LEL", base=1.5, cycle=0.4, peak_hour=15.0, noise=0.2, wander=0.3, spread=0.4,
                  spike=30.0, drift_per_hour=12.0, floor=0.0, ceiling=100.0, decimals=1),
    MetricProfile("noise", "dB(A)", base=57.0, cycle=7.0, peak_hour=14.0, noise=1.5, wander=1.5, spread=3.0,
                  spike=32.0, drift_per_hour=10.0, floor=30.0, ceiling=130.0, decimals=1, rush=2.0),
)}


@dataclass(frozen=True)
class DeviceKind:
    """A kind of simulated device: a device type of the registry and the metrics it reports."""

    type_code: str
    name: str
    metrics: tuple[str, ...]
    code_prefix: str
    share: float
    """Its share of a fleet."""
    offline_after_s: int = 600

    @property
    def units(self) -> dict[str, str]:
        return {metric: PROFILES[metric].unit for metric in self.metrics}


DEVICE_KINDS: tuple[DeviceKind, ...] = (
    DeviceKind("sim_water_gauge", "河道水位计（模拟）", ("water_level",), "SIM-WL", 0.35),
    DeviceKind("sim_air_station", "空气质量微站（模拟）", ("pm25", "pm10"), "SIM-AQ", 0.2),
    DeviceKind("sim_manhole_gas", "窨井燃气监测仪（模拟）", ("methane",), "SIM-GAS", 0.25),
    DeviceKind("sim_noise_meter", "噪声监测仪（模拟）", ("noise",), "SIM-NS", 0.2),
)


def _interleaved(size: int) -> tuple[DeviceKind, ...]:
    exact = [kind.share * size for kind in DEVICE_KINDS]
    counts = [math.floor(value) for value in exact]
    for index in sorted(range(len(exact)), key=lambda i: counts[i] - exact[i])[:size - sum(counts)]:
        counts[index] += 1
    ordered: list[DeviceKind] = []
    while len(ordered) < size:
        for index, kind in enumerate(DEVICE_KINDS):
            if counts[index]:
                ordered.append(kind)
                counts[index] -= 1
    return tuple(ordered)


KIND_PATTERN = _interleaved(20)
"""The kinds of every 20 devices in their shares: device n's kind depends on n only, so a fleet that
grows keeps its devices."""


def kinds_for(count: int) -> list[DeviceKind]:
    """The kinds of a fleet of ``count`` devices, the shares interleaved."""
    if count < 0:
        raise InvalidInput("a fleet has zero or more devices", field="devices")
    return [KIND_PATTERN[number % len(KIND_PATTERN)] for number in range(count)]


def seed_of(*parts: object) -> int:
    """A stable seed (Python's ``hash`` of text changes between processes)."""
    return zlib.crc32(":".join(map(str, parts)).encode())


@dataclass(frozen=True)
class Fault:
    kind: FaultKind
    start: datetime
    end: datetime
    scale: float = 1.0
    """Times the metric's spike height, or its drift per hour: the same fault reaches every metric of a
    device in proportion."""

    def covers(self, at: datetime) -> bool:
        return self.start <= at < self.end


class Signal:
    """One device metric's signal. Ask for readings in increasing time: the wander carries on from the
    previous one."""

    def __init__(self, profile: MetricProfile, *, seed: int, zone: ZoneInfo = ZoneInfo("Asia/Shanghai")) -> None:
        self.profile, self.zone = profile, zone
        self._random = random.Random(seed)
        self.offset = self._random.gauss(0.0, profile.spread)
        self._wander = self._random.gauss(0.0, profile.wander)
        self._last: datetime | None = None

    def cycle(self, at: datetime) -> float:
        """The cycle's part at ``at`` (local time)."""
        profile = self.profile
        local = at.astimezone(self.zone)
        hours = local.hour + local.minute / 60 + local.second / 3600
        if profile.period == timedelta(hours=24):
            phase = 2 * math.pi * (hours - profile.peak_hour) / 24
        else:  # the tide keeps its own clock, not the day's
            phase = 2 * math.pi * ((at.timestamp() / 3600 - profile.peak_hour) / (profile.period / HOUR))
        return profile.cycle * math.cos(phase) + profile.rush * math.cos(2 * phase)

    def value(self, at: datetime, faults: Iterable[Fault] = ()) -> float | None:
        """The reading at ``at``, or None while a silence lasts."""
        at = as_utc(at, field="at")
        profile = self.profile
        if self._last is not None and at < self._last:
            raise InvalidInput("a signal is read in increasing time", field="at")
        step = (at - self._last) if self._last is not None else WANDER_TIME_CONSTANT * 10
        pull = math.exp(-step / WANDER_TIME_CONSTANT)
        self._wander = self._wander * pull + self._random.gauss(0.0, profile.wander * math.sqrt(1 - pull * pull))
        self._last = at
        value = profile.base + self.offset + self.cycle(at) + self._wander + self._random.gauss(0.0, profile.noise)
        for fault in faults:
            if not fault.covers(at):
                continue
            if fault.kind is FaultKind.silence:
                return None
            if fault.kind is FaultKind.spike:
                value += fault.scale * profile.spike
            else:
                value += fault.scale * profile.drift_per_hour * ((at - fault.start) / HOUR)
        return round(min(max(value, profile.floor), profile.ceiling), profile.decimals)


FAULT_LENGTHS: dict[FaultKind, tuple[timedelta, timedelta]] = {
    FaultKind.spike: (timedelta(minutes=1), timedelta(minutes=3)),
    FaultKind.drift: (timedelta(minutes=20), timedelta(minutes=60)),
    FaultKind.silence: (timedelta(minutes=5), timedelta(minutes=30)),
}


def as_fault_kinds(names: Iterable[str]) -> tuple[FaultKind, ...]:
    """Fault kinds by name (``spike``, ``drift``, ``silence``; comma-separated lists too)."""
    kinds: list[FaultKind] = []
    for name in (part.strip() for text in names for part in text.split(",")):
        if not name:
            continue
        if name not in set(FaultKind):
            raise InvalidInput(f"unknown fault {name!r}; faults are {', '.join(FaultKind)}", field="faults")
        if FaultKind(name) not in kinds:
            kinds.append(FaultKind(name))
    return tuple(kinds)


def plan_faults(devices: Iterable[str], *, kinds: Iterable[FaultKind], start: datetime,
                duration: timedelta, every: timedelta, seed: int = 0) -> dict[str, list[Fault]]:
    """Faults for each device code over [start, start + duration): each kind strikes each device at the
    moments of a Poisson process with a mean gap of ``every``, each lasting and weighing a random share
    of its kind's range."""
    start = as_utc(start, field="start")
    if every <= timedelta(0):
        raise InvalidInput("faults strike every positive duration", field="fault_every")
    if duration < timedelta(0):
        raise InvalidInput("a run lasts zero or more seconds", field="duration")
    plan: dict[str, list[Fault]] = {}
    for code in devices:
        for fault_kind in kinds:
            chance = random.Random(seed_of(seed, code, fault_kind))
            moment = start
            shortest, longest = FAULT_LENGTHS[fault_kind]
            while True:
                moment += timedelta(seconds=chance.expovariate(1 / every.total_seconds()))
                if moment >= start + duration:
                    break
                length = shortest + (longest - shortest) * chance.random()
                plan.setdefault(code, []).append(Fault(fault_kind, moment, moment + length, chance.uniform(0.7, 1.3)))
    for faults in plan.values():
        faults.sort(key=lambda fault: fault.start)
    return plan


@dataclass(frozen=True)
class SimDevice:
    code: str
    kind: DeviceKind


@dataclass
class Schedule:
    """When each device of a fleet reports: every ``interval``, at a phase of its own in [0, interval)."""

    devices: Sequence[SimDevice]
    interval: timedelta
    phases: dict[str, timedelta] = field(default_factory=dict)

    @classmethod
    def for_rate(cls, devices: Sequence[SimDevice], *, rate: float) -> Schedule:
        """The schedule that sends ``rate`` readings per second over the fleet (each report carries all
        of a device's metrics)."""
        if not devices:
            raise InvalidInput("a fleet needs at least one device", field="devices")
        if not math.isfinite(rate) or rate <= 0:
            raise InvalidInput("rate must be a positive number of readings per second", field="rate")
        readings_per_round = sum(len(device.kind.metrics) for device in devices)
        interval = timedelta(seconds=readings_per_round / rate)
        phases = {device.code: interval * (seed_of("phase", device.code) % 10_000 / 10_000) for device in devices}
        return cls(devices, interval, phases)

    def due(self, since: datetime, until: datetime) -> Iterator[tuple[datetime, SimDevice]]:
        """Reports in [since, until), in time order, each report time measured from the Unix epoch so that
        consecutive windows neither skip nor repeat one."""
        epoch = datetime(1970, 1, 1, tzinfo=since.tzinfo)
        found: list[tuple[datetime, SimDevice]] = []
        for device in self.devices:
            phase = self.phases[device.code]
            first = math.ceil((since - epoch - phase) / self.interval)
            moment = epoch + phase + self.interval * first
            while moment < until:
                found.append((moment, device))
                moment += self.interval
        found.sort(key=lambda item: (item[0], item[1].code))
        yield from found


class Fleet:
    """The signals of a fleet, with their faults: ``readings`` gives what devices send in a window."""

    def __init__(self, devices: Sequence[SimDevice], *, faults: Mapping[str, Sequence[Fault]] | None = None,
                 seed: int = 0, zone: ZoneInfo = ZoneInfo("Asia/Shanghai")) -> None:
        self.devices = list(devices)
        self.faults = {code: list(items) for code, items in (faults or {}).items()}
        self.signals = {(device.code, metric): Signal(PROFILES[metric], seed=seed_of(seed, device.code, metric),
                                                      zone=zone)
                        for device in self.devices for metric in device.kind.metrics}

    def report(self, device: SimDevice, at: datetime) -> list[dict[str, object]]:
        """One report of ``device`` at ``at`` (nothing while it is silent), as readings for ingest."""
        faults = self.faults.get(device.code, ())
        readings = []
        for metric in device.kind.metrics:
            value = self.signals[device.code, metric].value(at, faults)
            if value is not None:
                readings.append({"device": device.code, "metric": metric, "ts": at.isoformat(), "value": value})
        return readings

    def readings(self, schedule: Schedule, since: datetime, until: datetime) -> list[dict[str, object]]:
        return [reading for at, device in schedule.due(since, until) for reading in self.report(device, at)]
