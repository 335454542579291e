"""Real sensor series replayed onto demo devices, and a rule scored against NAB's labelled anomaly
windows. Pure apart from reading the files: no database, no clock.

**Sources.** The Numenta Anomaly Benchmark (``nab/data/<folder>/<series>.csv``: ``timestamp,value``,
labelled windows in ``nab/labels/combined_windows.json``) and the Beijing multi-site air-quality data
(``beijing_aq/PRSA_Data_<station>_….csv``: hourly PM2.5, PM10, SO2, NO2, CO and O3 in µg/m³, Beijing
time, ``NA`` for a missing hour — replayed as a silence). Each NAB series becomes a device of a type of
its own (``nab_<series>``, so that a rule can watch that series alone) reporting one metric named after
what it measures; each Beijing station a device of type ``replay_air_station`` reporting its six
pollutants.

**Time.** A replay keeps each series' spacing and shifts each device's series by a whole number of days
(so the time of day, and with it daily cycles, stay) so that it ends when the replay does: at once for
``speed`` 0 (as fast as the platform takes it), after the longest span / ``speed`` otherwise. A reading
is sent when its shifted time comes at that speed, so it is never stamped ahead of the clock; a series
older than ingest keeps (``service.MAX_LATENESS``) once shifted is refused, so pick a part of it.

**Scoring** (``score_windows``): a labelled window *contains a warning* when a warning fired inside it;
a warning *falls outside every window* when it fired in none. ``calibrated_rules`` is the rule used on
NAB, whose series have nothing in common but being numbers: per series, two threshold rules (above and
below) whose levels sit past the range of the series' first 15 % (NAB's own probationary period, which
its scorer leaves out too), clear at the edge of that range (hysteresis), and must hold for a few
readings; ``dry_run`` then evaluates them with the platform's own rule engine.
"""

from __future__ import annotations

import csv
import heapq
import json
import math
import re
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from statistics import median
from zoneinfo import ZoneInfo

from cityops.errors import InvalidFile, InvalidInput
from cityops.sensing import rules
from cityops.sensing.rules import Comparison, LevelThreshold, Rule, RuleKind, Scope

DAY = timedelta(days=1)
BEIJING = ZoneInfo("Asia/Shanghai")
BEIJING_METRICS = {"PM2.5": "pm25", "PM10": "pm10", "SO2": "so2", "NO2": "no2", "CO": "co", "O3": "o3"}
BEIJING_TYPE = "replay_air_station"
NAB_METRICS = {"temperature": "°F", "passengers": "人次/30min", "speed": "mph", "occupancy": "%",
               "travel_time": "s", "value": ""}


@dataclass(frozen=True)
class Track:
    """One metric of one replayed device, in time order."""

    device: str
    metric: str
    points: tuple[tuple[datetime, float], ...]
    windows: tuple[tuple[datetime, datetime], ...] = ()
    """Labelled anomaly windows (NAB), in the series' own time."""
    source: str = ""


@dataclass(frozen=True)
class ReplayDevice:
    code: str
    name: str
    type_code: str
    metrics: dict[str, str]


def _utc(text: str, *, source: str) -> datetime:
    try:
        return datetime.fromisoformat(text.strip()).replace(tzinfo=UTC)
    except ValueError:
        raise InvalidFile(f"{source}: {text!r} is not a time", field="timestamp") from None


def nab_metric(name: str) -> str:
    stem = Path(name).stem.lower()
    for word, metric in (("temperature", "temperature"), ("taxi", "passengers"), ("speed", "speed"),
                         ("occupancy", "occupancy"), ("traveltime", "travel_time")):
        if word in stem:
            return metric
    return "value"


def nab_device_code(name: str) -> str:
    return "NAB-" + re.sub(r"[^A-Za-z0-9_.\-]", "-", Path(name).stem)[:44]


def nab_type(track: Track) -> str:
    return "nab_" + track.device.removeprefix("NAB-").lower()


def read_nab(root: Path, *, names: Sequence[str] | None = None) -> list[Track]:
    """The NAB series under ``root`` (``data/…``, ``labels/combined_windows.json``) that have labels;
    ``names`` (``realKnownCause/nyc_taxi.csv``, or a file name) picks some."""
    labels_file = root / "labels" / "combined_windows.json"
    if not labels_file.is_file():
        raise InvalidFile(f"no NAB labels at {labels_file}", field="root")
    try:
        labelled = json.loads(labels_file.read_text())
    except json.JSONDecodeError as error:
        raise InvalidFile(f"{labels_file}: {error}", field="labels") from None
    available = sorted(str(path.relative_to(root / "data")) for path in (root / "data").glob("*/*.csv"))
    chosen = [name for name in available if name in labelled]
    if names:
        wanted = set(names)
        chosen = [name for name in chosen if name in wanted or Path(name).name in wanted]
        missing = wanted - set(chosen) - {Path(name).name for name in chosen}
        if missing:
            raise InvalidInput(f"no labelled NAB series {', '.join(sorted(missing))}; there are "
                               f"{', '.join(name for name in available if name in labelled)}", field="series")
    tracks = []
    for name in chosen:
        source = f"nab/data/{name}"
        with (root / "data" / name).open(newline="") as file:
            points = []
            for row in csv.DictReader(file):
                try:
                    value = float(row["value"])
                except (KeyError, TypeError, ValueError):
                    raise InvalidFile(f"{source}: a row without a numeric value: {row}", field="value") from None
                if math.isfinite(value):
                    points.append((_utc(row["timestamp"], source=source), value))
        points.sort(key=lambda point: point[0])
        windows = tuple((_utc(start, source="labels"), _utc(end, source="labels")) for start, end in labelled[name])
        tracks.append(Track(nab_device_code(name), nab_metric(name), tuple(points), windows, source))
    return tracks


def nab_devices(tracks: Sequence[Track]) -> list[ReplayDevice]:
    return [ReplayDevice(track.device, f"回放 NAB {Path(track.source).stem}", nab_type(track),
                         {track.metric: NAB_METRICS[track.metric]}) for track in tracks]


def read_beijing(root: Path, *, stations: Sequence[str] | None = None, since: datetime | None = None,
                 until: datetime | None = None) -> list[Track]:
    """The Beijing stations' pollutants under ``root`` in [since, until) (Beijing time when naive)."""
    files = sorted(root.glob("PRSA_Data_*.csv"))
    if not files:
        raise InvalidFile(f"no Beijing air-quality files (PRSA_Data_*.csv) in {root}", field="root")
    by_station = {path.name.split("_")[2]: path for path in files}
    if stations:
        unknown = set(stations) - set(by_station)
        if unknown:
            raise InvalidInput(f"no station {', '.join(sorted(unknown))}; there are {', '.join(sorted(by_station))}",
                               field="stations")
        by_station = {name: by_station[name] for name in stations}
    since = since.replace(tzinfo=since.tzinfo or BEIJING) if since else None
    until = until.replace(tzinfo=until.tzinfo or BEIJING) if until else None
    tracks = []
    for station, path in by_station.items():
        series: dict[str, list[tuple[datetime, float]]] = {metric: [] for metric in BEIJING_METRICS.values()}
        with path.open(newline="") as file:
            for row in csv.DictReader(file):
                try:
                    at = datetime(int(row["year"]), int(row["month"]), int(row["day"]), int(row["hour"]),
                                  tzinfo=BEIJING)
                except (KeyError, ValueError):
                    raise InvalidFile(f"{path.name}: a row without year, month, day and hour: {row}",
                                      field="hour") from None
                if (since and at < since) or (until and at >= until):
                    continue
                for column, metric in BEIJING_METRICS.items():
                    text = row.get(column, "NA")
                    if text not in ("NA", ""):
                        series[metric].append((at.astimezone(UTC), float(text)))
        tracks.extend(Track(f"BJ-{station}", metric, tuple(points), (), path.name)
                      for metric, points in series.items())
    return tracks


def beijing_devices(tracks: Sequence[Track]) -> list[ReplayDevice]:
    stations = sorted({track.device for track in tracks})
    return [ReplayDevice(code, f"回放 北京 {code.removeprefix('BJ-')} 空气质量站", BEIJING_TYPE,
                         {metric: "µg/m³" for metric in BEIJING_METRICS.values()}) for code in stations]


# Time ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ReplayClock:
    shifts: dict[str, timedelta]
    """Per device: whole days its series moves forward."""
    origin: datetime
    """The shifted time sent at the replay's start; later times follow at ``speed``."""
    speed: float

    def due(self, stamped: datetime) -> timedelta:
        """When a reading stamped ``stamped`` is sent, after the replay's start."""
        return max(timedelta(0), (stamped - self.origin) / self.speed) if self.speed else timedelta(0)


def replay_clock(tracks: Sequence[Track], *, now: datetime, speed: float, max_age: timedelta) -> ReplayClock:
    """Each device's series moves forward by whole days to end when the replay does: ``now`` for speed 0,
    else after the longest series' span at that speed; a reading is sent once its shifted time comes at
    that speed, so it is never stamped ahead of the clock (see the module's doc)."""
    if not math.isfinite(speed) or (speed != 0 and speed < 1):
        raise InvalidInput("speed is 0 (as fast as the platform takes it) or at least 1 (real time)", field="speed")
    spans: dict[str, tuple[datetime, datetime]] = {}
    for track in tracks:
        if track.points:
            first, last = spans.get(track.device, (track.points[0][0], track.points[-1][0]))
            spans[track.device] = (min(first, track.points[0][0]), max(last, track.points[-1][0]))
    if not spans:
        raise InvalidInput("nothing to replay: the series chosen are empty", field="series")
    longest = max(last - first for first, last in spans.values())
    end = now + (longest / speed if speed else timedelta(0))
    shifts = {device: DAY * math.floor((end - last) / DAY) for device, (_, last) in spans.items()}
    for device, (first, last) in spans.items():
        if now - (first + shifts[device]) > max_age:
            raise InvalidInput(f"{device}'s series spans {(last - first).days} days at this speed and would start "
                               f"{(now - first - shifts[device]).days} days ago; readings are kept up to "
                               f"{max_age.days} days old: replay a part of it", field="since")
    return ReplayClock(shifts, end - longest, speed)


@dataclass(frozen=True)
class Timed:
    due: timedelta
    """When to send it, after the replay's start."""
    reading: dict[str, object]


def timeline(tracks: Sequence[Track], *, clock: ReplayClock) -> Iterator[Timed]:
    """Every reading of every track in the order of its shifted time, with when to send it."""
    streams = ([(at + clock.shifts[track.device], index, track.device, track.metric, value)
                for at, value in track.points] for index, track in enumerate(tracks))
    for stamped, _, device, metric, value in heapq.merge(*streams):
        yield Timed(clock.due(stamped), {"device": device, "metric": metric, "ts": stamped.isoformat(),
                                         "value": value})


# Scoring on NAB ------------------------------------------------------------------------------

@dataclass(frozen=True)
class WindowScore:
    windows: int
    windows_with_warning: int
    warnings: int
    warnings_outside: int

    def __add__(self, other: WindowScore) -> WindowScore:
        return WindowScore(self.windows + other.windows, self.windows_with_warning + other.windows_with_warning,
                           self.warnings + other.warnings, self.warnings_outside + other.warnings_outside)


def score_windows(fired: Sequence[datetime], windows: Sequence[tuple[datetime, datetime]]) -> WindowScore:
    """How many windows a warning fired in, and how many warnings fired in no window (ends included)."""
    inside = [any(start <= at <= end for at in fired) for start, end in windows]
    outside = [at for at in fired if not any(start <= at <= end for start, end in windows)]
    return WindowScore(len(windows), sum(inside), len(fired), len(outside))


@dataclass(frozen=True)
class Calibration:
    probation: float = 0.15
    """The share of the series, from its start, whose range is taken as normal."""
    steps: tuple[float, float, float] = (0.1, 0.3, 0.6)
    """Yellow, orange and red fire this far past the normal range, as shares of its width."""
    hold: int = 1
    """Readings past a level, after the first, before it fires (the rule's ``for``)."""


    def __post_init__(self) -> None:
        if not 0 < self.probation < 1:
            raise InvalidInput("probation is a share of the series between 0 and 1", field="probation")
        if len(self.steps) != 3 or not all(math.isfinite(step) and step >= 0 for step in self.steps) \
                or list(self.steps) != sorted(set(self.steps)):
            raise InvalidInput("steps are three rising shares (yellow, orange, red), e.g. 0.1,0.3,0.6",
                               field="steps")
        if self.hold < 0:
            raise InvalidInput("hold is a number of readings, 0 or more", field="hold")

    @property
    def tag(self) -> str:
        """Six hex digits naming the calibration, so rules of another calibration get other codes."""
        return f"{zlib.crc32(repr((self.probation, self.steps, self.hold)).encode()):08x}"[:6]


def calibrated_rules(track: Track, calibration: Calibration = Calibration()) -> tuple[Rule, ...]:
    """The two rules (above and below the normal range) for one series (see the module's doc)."""
    points = track.points
    count = max(2, math.ceil(len(points) * calibration.probation))
    if len(points) < 3:
        raise InvalidInput(f"{track.source or track.device}: too few readings to calibrate a rule", field="series")
    normal = [value for _, value in points[:count]]
    low, high = min(normal), max(normal)
    width = (high - low) or abs(high) or 1.0
    step = median((b[0] - a[0]).total_seconds() for a, b in zip(points, points[1:], strict=False))
    hold = timedelta(seconds=step * calibration.hold)
    levels = ("yellow", "orange", "red")
    above = tuple(LevelThreshold(level, high + share * width, high)
                  for level, share in zip(levels, calibration.steps, strict=True))
    below = tuple(LevelThreshold(level, low - share * width, low)
                  for level, share in zip(levels, calibration.steps, strict=True))
    scope = Scope(device_type=nab_type(track))
    return tuple(Rule(code=f"{track.device}-{side}-{calibration.tag}", kind=RuleKind.threshold, scope=scope,
                      metric=track.metric, comparison=comparison, levels=levels_of_side, for_duration=hold)
                 for side, comparison, levels_of_side in (("high", Comparison.above, above),
                                                          ("low", Comparison.below, below)))


@dataclass(frozen=True)
class SeriesScore:
    source: str
    readings: int
    rules: tuple[Rule, ...]
    fired: tuple[datetime, ...]
    score: WindowScore


def score_nab(tracks: Sequence[Track], calibration: Calibration = Calibration()) -> list[SeriesScore]:
    """Each labelled series' warnings under its calibrated rules (dry runs), scored against its windows."""
    scores = []
    for track in tracks:
        series_rules = calibrated_rules(track, calibration)
        readings = [rules.Reading(at, value) for at, value in track.points]
        fired = sorted(episode.fired_at for rule in series_rules for episode in rules.dry_run(rule, readings).episodes)
        scores.append(SeriesScore(track.source, len(readings), series_rules, tuple(fired),
                                  score_windows(fired, track.windows)))
    return scores
