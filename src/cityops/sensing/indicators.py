"""Indicators (城市运行数字体征): what a vital sign is and how its values are made. Pure: no database,
no clock of its own; ``indicators_service`` reads and writes.

An indicator has a code, a name, a class (水务, 交通 …), a unit, an area level (city, district, street,
grid) and a refresh interval, and takes its values from one of two sources:

- **Device metric** (``DeviceMetricSource``): the devices (optionally of one type) reporting a metric in
  each area of the level, per time bucket of the interval. Each device counts once per bucket, with
  its lowest reading (``min``), its highest (``max``) or its mean (``avg``, ``sum``); ``avg`` is the mean
  of the devices' means (each station weighs the same, however often it reports), ``sum`` their total,
  ``count`` how many devices reported. An area no device reported from has no value for the bucket.
- **Cases** (``CaseCountSource``): ``opened`` counts the cases opened in each bucket (a flow, e.g.
  hotline reports per street per hour); ``open`` counts the cases open when the bucket is sampled (a
  stock, e.g. overdue cases per district), optionally only overdue ones. Filters: channels, a category
  with its subclasses, statuses. Every area of the level gets a value, 0 included, so a rule sees the
  count fall back.

Values come in partial aggregates (``Partial``: min, max, sum, count) per area path, which ``fold`` merges
into the areas of the indicator's level without the rows they came from — so a bucket is recomputed from
the rollups of that bucket only. Buckets are aligned on UTC midnight; the interval is a whole number of
minutes dividing a day, or whole days.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from cityops.cases.states import OPEN_STATUSES, CaseStatus
from cityops.errors import InvalidInput
from cityops.times import as_utc

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
DAY = timedelta(days=1)
MAX_INTERVAL = timedelta(days=7)
LEVELS = ("city", "district", "street", "grid")


class Aggregate(StrEnum):
    max = "max"
    min = "min"
    avg = "avg"
    sum = "sum"
    count = "count"


class CaseMeasure(StrEnum):
    opened = "opened"
    """Cases opened in the bucket (a flow: counts of buckets add up)."""
    open = "open"
    """Cases open when the bucket is sampled (a stock)."""


CASE_STATUSES = tuple(status.value for status in CaseStatus)


def _code(value: Any, *, field: str) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > 64:
        raise InvalidInput(f"{field} must be a code of at most 64 characters", field=field)
    return value


def _codes(value: Any, *, field: str, allowed: Sequence[str] | None = None) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list | tuple):
        raise InvalidInput(f"{field} must be a list of codes", field=field)
    codes = tuple(_code(item, field=field) for item in value)
    if allowed is not None:
        unknown = [code for code in codes if code not in allowed]
        if unknown:
            raise InvalidInput(f"{field}: unknown {', '.join(unknown)}; one of {', '.join(allowed)}", field=field)
    return tuple(dict.fromkeys(codes))


@dataclass(frozen=True)
class DeviceMetricSource:
    metric: str
    aggregate: Aggregate
    device_type: str | None = None

    def __post_init__(self) -> None:
        _code(self.metric, field="source.metric")
        try:
            object.__setattr__(self, "aggregate", Aggregate(self.aggregate))
        except ValueError:
            raise InvalidInput(f"source.aggregate must be one of {', '.join(Aggregate)}, not {self.aggregate!r}",
                               field="source.aggregate") from None
        if self.device_type is not None:
            _code(self.device_type, field="source.device_type")


@dataclass(frozen=True)
class CaseCountSource:
    measure: CaseMeasure
    channels: tuple[str, ...] = ()
    category: str | None = None
    """A category code: the category and all its subclasses."""
    statuses: tuple[str, ...] = ()
    """Current statuses counted; empty: any status for ``opened``, the open statuses for ``open``."""
    overdue: bool = False
    """``open`` only: count only cases with a step past its deadline."""

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "measure", CaseMeasure(self.measure))
        except ValueError:
            raise InvalidInput(f"source.measure must be one of {', '.join(CaseMeasure)}, not {self.measure!r}",
                               field="source.measure") from None
        object.__setattr__(self, "channels", _codes(self.channels, field="source.channels"))
        object.__setattr__(self, "statuses", _codes(self.statuses, field="source.statuses", allowed=CASE_STATUSES))
        if self.category is not None:
            _code(self.category, field="source.category")
        if not isinstance(self.overdue, bool):
            raise InvalidInput("source.overdue is true or false", field="source.overdue")
        if self.overdue and self.measure is not CaseMeasure.open:
            raise InvalidInput("only open cases can be overdue (measure: open)", field="source.overdue")

    @property
    def counted_statuses(self) -> tuple[str, ...]:
        if self.statuses:
            return self.statuses
        return OPEN_STATUSES if self.measure is CaseMeasure.open else ()


Source = DeviceMetricSource | CaseCountSource


def check_interval(interval: Any) -> timedelta:
    """A refresh interval: whole minutes dividing a day, or whole days up to a week."""
    if not isinstance(interval, timedelta) or interval <= timedelta(0) or interval > MAX_INTERVAL:
        raise InvalidInput("interval_s must be positive and at most a week", field="interval_s")
    minutes, rest = divmod(interval, timedelta(minutes=1))
    if rest or (interval < DAY and DAY % interval) or (interval >= DAY and interval % DAY):
        raise InvalidInput("interval_s is whole minutes dividing a day (60, 300, 900, 3600 …) or whole days",
                           field="interval_s")
    return interval


@dataclass(frozen=True)
class Indicator:
    code: str
    name: str
    class_code: str
    unit: str
    level: str
    interval: timedelta
    source: Source

    def __post_init__(self) -> None:
        _code(self.code, field="code")
        if not isinstance(self.name, str) or not self.name.strip():
            raise InvalidInput("name must name the indicator", field="name")
        _code(self.class_code, field="class")
        if not isinstance(self.unit, str) or len(self.unit) > 32:
            raise InvalidInput("unit is text of at most 32 characters", field="unit")
        if self.level not in LEVELS:
            raise InvalidInput(f"level must be one of {', '.join(LEVELS)}, not {self.level!r}", field="level")
        check_interval(self.interval)
        if not isinstance(self.source, DeviceMetricSource | CaseCountSource):
            raise InvalidInput("source is a device metric or a case count", field="source")

    @property
    def metric(self) -> str | None:
        return self.source.metric if isinstance(self.source, DeviceMetricSource) else None

    @property
    def over_time(self) -> Aggregate:
        """How buckets combine into a coarser step: extremes stay extremes, flows add up, levels average."""
        source = self.source
        if isinstance(source, DeviceMetricSource) and source.aggregate in (Aggregate.max, Aggregate.min):
            return source.aggregate
        if isinstance(source, CaseCountSource) and source.measure is CaseMeasure.opened:
            return Aggregate.sum
        return Aggregate.avg


def source_to_json(source: Source) -> dict[str, Any]:
    if isinstance(source, DeviceMetricSource):
        return {"kind": "device_metric", "metric": source.metric, "aggregate": source.aggregate.value,
                "device_type": source.device_type}
    return {"kind": "cases", "measure": source.measure.value, "channels": list(source.channels),
            "category": source.category, "statuses": list(source.statuses), "overdue": source.overdue}


def source_from_json(data: Any) -> Source:
    """A source from ``source_to_json``'s values; anything else is bad input (fields ``source.…``)."""
    if not isinstance(data, dict):
        raise InvalidInput("source is an object with a kind (device_metric or cases)", field="source")
    kind = data.get("kind")
    fields = {"device_metric": {"metric", "aggregate", "device_type"},
              "cases": {"measure", "channels", "category", "statuses", "overdue"}}.get(kind)
    if fields is None:
        raise InvalidInput(f"source.kind must be device_metric or cases, not {kind!r}", field="source.kind")
    unknown = set(data) - fields - {"kind"}
    if unknown:
        raise InvalidInput(f"unknown source fields: {', '.join(sorted(unknown))}", field="source")
    if kind == "device_metric":
        return DeviceMetricSource(metric=data.get("metric"), aggregate=data.get("aggregate"),
                                  device_type=data.get("device_type"))
    return CaseCountSource(measure=data.get("measure"), channels=data.get("channels") or (),
                           category=data.get("category"), statuses=data.get("statuses") or (),
                           overdue=data.get("overdue", False))


# Time buckets ---------------------------------------------------------------------------------

def bucket_of(moment: datetime, interval: timedelta) -> datetime:
    """The start of the bucket holding ``moment`` (buckets aligned on UTC midnight)."""
    moment = as_utc(moment, field="at")
    return EPOCH + ((moment - EPOCH) // interval) * interval


def buckets(since: datetime, until: datetime, interval: timedelta) -> list[datetime]:
    """The starts of the buckets overlapping [since, until)."""
    first = bucket_of(since, interval)
    count = max(0, math.ceil((as_utc(until, field="until") - first) / interval))
    return [first + index * interval for index in range(count)]


def flow_buckets(computed_until: datetime, now: datetime, interval: timedelta, settle: timedelta, *,
                 since: datetime) -> list[datetime]:
    """The buckets a flow count recomputes at ``now`` when it was last computed up to ``computed_until``:
    from the one holding ``computed_until - settle`` (what committed late may still change), but none
    before the one holding ``since`` (when counting began), to the one holding ``now``. Older buckets are
    settled and never counted again."""
    if now < computed_until:
        return []
    return buckets(max(computed_until - settle, bucket_of(since, interval)), now + timedelta(microseconds=1),
                   interval)


def settled_buckets(fed_until: datetime | None, now: datetime, interval: timedelta, settle: timedelta,
                    *, first: datetime) -> list[datetime]:
    """The buckets that ended (and settled) after ``fed_until`` and by ``now``: each goes to the rules once,
    when it is over. Without ``fed_until``, counting starts at the bucket holding ``first``."""
    start = fed_until if fed_until is not None else bucket_of(first, interval)
    end = bucket_of(now - settle, interval)
    return buckets(start, end, interval) if end > start else []


def step_of(step: timedelta | None, interval: timedelta) -> timedelta:
    """A series' step: the indicator's interval by default, else a whole multiple of it."""
    if step is None:
        return interval
    if step <= timedelta(0) or step % interval:
        raise InvalidInput(f"step must be a whole multiple of the indicator's interval "
                           f"({int(interval.total_seconds())} s)", field="step")
    return step


# Partial aggregates ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Partial:
    """What merges without the rows: lowest, highest, total and count (of devices or of cases)."""

    min: float | None
    max: float | None
    sum: float
    count: int

    def merge(self, other: Partial) -> Partial:
        return Partial(_pick(min, self.min, other.min), _pick(max, self.max, other.max), self.sum + other.sum,
                       self.count + other.count)


def _pick(choose: Any, left: float | None, right: float | None) -> float | None:
    if left is None:
        return right
    return left if right is None else choose(left, right)


def value_of(aggregate: Aggregate, partial: Partial) -> float | None:
    if aggregate is Aggregate.count:
        return float(partial.count)
    if not partial.count:
        return None
    return {Aggregate.max: partial.max, Aggregate.min: partial.min, Aggregate.sum: partial.sum,
            Aggregate.avg: partial.sum / partial.count}[aggregate]


def area_of(path: str, areas: Mapping[str, str]) -> str | None:
    """The code of the area among ``areas`` (path → code) that holds a record filed under ``path``."""
    prefix = "/"
    for code in path.strip("/").split("/"):
        prefix += code + "/"
        if prefix in areas:
            return areas[prefix]
    return None


def fold(partials: Iterable[tuple[str, Partial]], areas: Mapping[str, str]) -> dict[str, Partial]:
    """Merge partials filed under area paths into the areas (path → code) that hold them; partials
    under no such area are left out."""
    merged: dict[str, Partial] = {}
    for path, partial in partials:
        code = area_of(path, areas)
        if code is not None:
            merged[code] = merged[code].merge(partial) if code in merged else partial
    return merged


def values(indicator: Indicator, partials: Iterable[tuple[str, Partial]], areas: Mapping[str, str]) -> dict[str, float]:
    """The indicator's value per area code for one bucket. Case counts give every area a value (0 when
    nothing was counted); device metrics only the areas some device reported from."""
    merged = fold(partials, areas)
    if isinstance(indicator.source, CaseCountSource):
        return {code: float(merged[code].count) if code in merged else 0.0 for code in areas.values()}
    found = {code: value_of(indicator.source.aggregate, partial) for code, partial in merged.items()}
    return {code: value for code, value in found.items() if value is not None}


def resample(points: Iterable[tuple[datetime, float]], *, step: timedelta, over_time: Aggregate) -> list[
        tuple[datetime, float]]:
    """Buckets combined into steps (aligned on UTC midnight) by ``over_time``, in time order."""
    grouped: dict[datetime, list[float]] = {}
    for at, value in points:
        grouped.setdefault(bucket_of(at, step), []).append(value)
    combine = {Aggregate.max: max, Aggregate.min: min, Aggregate.sum: sum,
               Aggregate.avg: lambda found: sum(found) / len(found)}[over_time]
    return [(at, combine(found)) for at, found in sorted(grouped.items())]
