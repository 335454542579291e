"""Indicators at work: the catalogue, values computed incrementally, series and latest values.

**Device metrics.** Ingest marks each (metric, minute) it stored readings for, when an active indicator
watches the metric (``mark_ingested``, one small upsert per batch). The indicator job (``compute``, on
the worker's clock under a lease) recomputes only the buckets holding marked minutes, from the 1-minute
rollups of those buckets (1-hour rollups for indicators of whole hours): the devices' lowest, highest
and mean value per device, summed up per area path in SQL and folded into the indicator's areas by the
pure ``indicators.fold``. A late reading marks its own minute, so its bucket is recomputed too. A mark
is removed only if no batch marked it again while the job computed.

**Cases.** ``opened`` counts are windowed: each round recounts the buckets from the one holding the
last count (less ``SETTLE``, for cases committed late) to now. ``open`` counts are sampled each round
into the current bucket. Neither reads history beyond its window.

A value is written (series and latest) only when it changed, and each change is published to live
screens (``cityops.live``, kind ``indicator``). Once a bucket is over (and ``SETTLE`` has passed), its
values go to the rules watching the indicator (``indicator_alerting``), each bucket once.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, and_, delete, func, or_, select, tuple_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from cityops import jobs, live
from cityops.cases import counts as case_counts
from cityops.cases.channels import Channel
from cityops.db import unit_of_work
from cityops.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from cityops.geo import service as geo_service
from cityops.geo.service import AreaKey
from cityops.org.access import Principal
from cityops.sensing import authors, indicator_alerting, indicators
from cityops.sensing import devices as registry
from cityops.sensing.indicators import CaseCountSource, CaseMeasure, DeviceMetricSource, Indicator, Partial
from cityops.sensing.models import (
    Device,
    DeviceType,
    HourRollup,
    IndicatorClass,
    IndicatorLatest,
    IndicatorMark,
    IndicatorRow,
    IndicatorValue,
    MinuteRollup,
)
from cityops.sensing.store import ReadingRow

SETTLE = timedelta(seconds=30)
"""How long after a bucket ends its inputs may still be committing (readings in flight, cases being
taken in): flows recount it, and the rules see it only after."""
WATCHED_KEY = "cityops.sensing.watched_metrics"
LEVEL_RANKS = {"city": 0, "district": 1, "street": 2, "grid": 3, "community": 4}
MAX_POINTS = 10_000
LEASE = "indicators"
LEASE_TTL = timedelta(minutes=5)


# Catalogue ------------------------------------------------------------------------------------

def create_class(session: Session, *, code: str, name: str) -> IndicatorClass:
    if session.scalar(select(IndicatorClass.id).where(IndicatorClass.code == code)) is not None:
        raise Conflict(f"an indicator class {code!r} exists", code="duplicate_code", field="code")
    row = IndicatorClass(code=code, name=name)
    session.add(row)
    session.flush()
    return row


def list_classes(session: Session) -> list[IndicatorClass]:
    return list(session.scalars(select(IndicatorClass).order_by(IndicatorClass.code)))


def class_codes(session: Session) -> dict[int, str]:
    return dict(session.execute(select(IndicatorClass.id, IndicatorClass.code)).all())


def indicator_of(session: Session, row: IndicatorRow) -> Indicator:
    return Indicator(code=row.code, name=row.name, class_code=session.get(IndicatorClass, row.class_id).code,
                     unit=row.unit, level=row.level, interval=timedelta(seconds=row.interval_s),
                     source=indicators.source_from_json(row.source))


def create_indicator(session: Session, *, code: str, name: str, class_code: str, unit: str, level: str,
                     interval_s: int, source: Any, author: Principal, now: datetime,
                     area_code: str | None = None) -> IndicatorRow:
    """A new indicator computed for the areas of ``level`` under ``area_code`` (default: the author's
    area), which must lie in the author's jurisdiction. Values start from now: history is not replayed."""
    indicator_class = session.scalar(select(IndicatorClass).where(IndicatorClass.code == class_code))
    if indicator_class is None:
        raise NotFound(f"no indicator class {class_code!r}", code="unknown_indicator_class", field="class")
    if isinstance(interval_s, bool) or not isinstance(interval_s, int):
        raise InvalidInput("interval_s is a whole number of seconds", field="interval_s")
    indicator = Indicator(code=code, name=name, class_code=class_code, unit=unit, level=level,
                          interval=timedelta(seconds=interval_s), source=indicators.source_from_json(source))
    root = geo_service.get_area(session, code=area_code or author.area_code)
    if not author.covers(root.path):
        raise NotFound(f"no area with code {root.code!r}", code="unknown_area", field="area_code")
    if LEVEL_RANKS.get(root.level, 99) > LEVEL_RANKS[level]:
        raise InvalidInput(f"{root.code} is a {root.level}: it holds no {level} to compute for", field="level")
    _check_source(session, indicator.source)
    if session.scalar(select(IndicatorRow.id).where(IndicatorRow.code == code)) is not None:
        raise Conflict(f"an indicator {code!r} exists", code="duplicate_code", field="code")
    row = IndicatorRow(code=code, name=name, class_id=indicator_class.id, unit=unit, level=level,
                       interval_s=interval_s, source=indicators.source_to_json(indicator.source),
                       metric=indicator.metric, area_id=root.id, area_path=root.path, active=True, author=author.name,
                       author_user_id=authors.user_id_of(author), created_at=now, computed_until=now,
                       fed_until=indicators.bucket_of(now, indicator.interval))
    session.add(row)
    session.flush()
    session.info.pop(WATCHED_KEY, None)
    return row


def _check_source(session: Session, source: indicators.Source) -> None:
    if isinstance(source, DeviceMetricSource):
        if source.device_type is not None:
            metrics = registry.get_device_type(session, code=source.device_type,
                                               field_name="source.device_type").metrics
        else:
            metrics = {metric for row in registry.list_device_types(session) for metric in row.metrics}
        if source.metric not in metrics:
            raise InvalidInput(f"no device{' of type ' + source.device_type if source.device_type else ''} "
                               f"reports {source.metric!r}", code="unknown_metric", field="source.metric")
        return
    unknown = [channel for channel in source.channels if channel not in set(Channel)]
    if unknown:
        raise InvalidInput(f"unknown channels {', '.join(unknown)}; one of {', '.join(Channel)}",
                           field="source.channels")
    if source.category is not None:
        case_counts.category_subtree(session, code=source.category)


def _visible(viewer: Principal):  # noqa: ANN202
    """Indicators inside the viewer's jurisdiction, or whose areas hold it (a street sees the city's)."""
    return or_(IndicatorRow.area_path.startswith(viewer.area_path, autoescape=True),
               func.substr(viewer.area_path, 1, func.length(IndicatorRow.area_path)) == IndicatorRow.area_path)


def list_indicators(session: Session, *, viewer: Principal | None, class_code: str | None = None
                    ) -> list[IndicatorRow]:
    """The indicators the viewer may see (all of them without a viewer: the command line), by code."""
    query = select(IndicatorRow) if viewer is None else select(IndicatorRow).where(_visible(viewer))
    if class_code is not None:
        query = query.join(IndicatorClass, IndicatorClass.id == IndicatorRow.class_id).where(
            IndicatorClass.code == class_code)
    return list(session.scalars(query.order_by(IndicatorRow.code)))


def get_indicator(session: Session, *, code: str, viewer: Principal) -> IndicatorRow:
    row = session.scalar(select(IndicatorRow).where(IndicatorRow.code == code, _visible(viewer)))
    if row is None:
        raise NotFound(f"no indicator {code!r}", code="unknown_indicator", field="code")
    return row


def deactivate_indicator(session: Session, *, row: IndicatorRow, author: Principal) -> IndicatorRow:
    """Stop computing the indicator (its values, latest values and warnings stay); only an author whose
    jurisdiction holds all its areas may."""
    if not author.covers(row.area_path):
        raise PermissionDenied(f"indicator {row.code!r} reaches past your jurisdiction", code="outside_jurisdiction",
                               field="code")
    if not row.active:
        raise Conflict(f"indicator {row.code!r} is inactive already", code="illegal_transition")
    row.active = False
    session.flush()
    session.info.pop(WATCHED_KEY, None)
    return row


def describe_source(source: dict[str, Any]) -> str:
    """A source in a few words, for tables (``max(water_level) of sim_water_gauge``, ``cases opened …``)."""
    found = indicators.source_from_json(source)
    if isinstance(found, DeviceMetricSource):
        return f"{found.aggregate}({found.metric})" + (f" of {found.device_type}" if found.device_type else "")
    filters = [", ".join(found.channels), found.category and f"category {found.category}",
               ", ".join(found.statuses), "overdue" if found.overdue else ""]
    return " ".join(["cases", found.measure.value, *[text for text in filters if text]])


def latest_summary(session: Session, *, indicator_ids: Sequence[int]) -> dict[int, tuple[int, datetime]]:
    """Per indicator: how many areas have a latest value, and the newest bucket among them."""
    return {indicator_id: (areas, newest) for indicator_id, areas, newest in session.execute(
        select(IndicatorLatest.indicator_id, func.count(), func.max(IndicatorLatest.bucket))
        .where(IndicatorLatest.indicator_id.in_(indicator_ids)).group_by(IndicatorLatest.indicator_id))}


# Ingest ---------------------------------------------------------------------------------------

def _watched_metrics(session: Session) -> frozenset[str]:
    if WATCHED_KEY not in session.info:
        session.info[WATCHED_KEY] = frozenset(session.scalars(select(IndicatorRow.metric).where(
            IndicatorRow.active, IndicatorRow.metric.is_not(None)).distinct()))
    return session.info[WATCHED_KEY]


def _upsert(session: Session, table: type) -> Any:
    return (postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert)(table)


def mark_ingested(session: Session, *, rows: Sequence[ReadingRow]) -> int:
    """Mark the minutes of the stored batch's metrics that indicators watch; returns how many marks."""
    watched = _watched_metrics(session)
    if not watched or not rows:
        return 0
    minutes = {(metric, ts.replace(second=0, microsecond=0))
               for _, metric, ts, _, maintenance in rows if metric in watched and not maintenance}
    if not minutes:
        return 0
    statement = _upsert(session, IndicatorMark)
    session.execute(statement.on_conflict_do_update(
        index_elements=["metric", "minute"], set_={"version": IndicatorMark.version + 1}),
        [{"metric": metric, "minute": minute, "version": 1} for metric, minute in sorted(minutes)])
    return len(minutes)


# The indicator job ----------------------------------------------------------------------------

@dataclass
class ComputeReport:
    buckets: int = 0
    """(indicator, bucket) pairs computed."""
    changed: int = 0
    """Values written because they changed."""
    warning_moves: int = 0
    updates: list[tuple[str, str, datetime, float]] = field(default_factory=list)
    """(indicator, area, bucket, value) of every change, in order."""


def compute(session: Session, *, now: datetime) -> ComputeReport:
    """One round of the indicator job (see the module's doc)."""
    report = ComputeReport()
    rows = list(session.scalars(select(IndicatorRow).where(IndicatorRow.active).order_by(IndicatorRow.id)))
    if not rows:
        return report
    by_metric: dict[str, list[IndicatorRow]] = {}
    for row in rows:
        if row.metric is not None:
            by_metric.setdefault(row.metric, []).append(row)
    marks = session.execute(select(IndicatorMark.metric, IndicatorMark.minute, IndicatorMark.version)).all()
    wanted: dict[int, set[datetime]] = {}
    for metric, minute, _ in marks:
        for row in by_metric.get(metric, ()):
            wanted.setdefault(row.id, set()).add(indicators.bucket_of(minute, timedelta(seconds=row.interval_s)))
    for row in rows:
        indicator = indicator_of(session, row)
        areas = geo_service.area_keys(session, within_path=row.area_path, level=row.level)
        source = indicator.source
        if isinstance(source, DeviceMetricSource):
            buckets = sorted(wanted.get(row.id, ()))
            for bucket in buckets:
                partials = _device_partials(session, row, source, bucket, indicator.interval)
                _store(session, row, indicator, bucket, partials, areas, now=now, report=report)
        elif source.measure is CaseMeasure.opened:
            for bucket in indicators.flow_buckets(row.computed_until or now, now, indicator.interval, SETTLE,
                                                     since=row.created_at):
                partials = [(path, Partial(None, None, 0.0, count)) for path, count in case_counts.opened_per_area(
                    session, since=bucket, until=bucket + indicator.interval, within_path=row.area_path,
                    channels=source.channels, category_ids=_categories(session, source),
                    statuses=source.counted_statuses)]
                _store(session, row, indicator, bucket, partials, areas, now=now, report=report)
            row.computed_until = max(now, row.computed_until or now)
        else:
            partials = [(path, Partial(None, None, 0.0, count)) for path, count in case_counts.open_per_area(
                session, statuses=source.counted_statuses, within_path=row.area_path, channels=source.channels,
                category_ids=_categories(session, source), overdue_at=now if source.overdue else None)]
            _store(session, row, indicator, indicators.bucket_of(now, indicator.interval), partials, areas, now=now,
                   report=report)
        settled = indicators.settled_buckets(row.fed_until, now, indicator.interval, SETTLE,
                                             first=row.created_at)
        if settled:
            report.warning_moves += indicator_alerting.feed(session, row=row, areas=areas, since=settled[0],
                                                            until=settled[-1] + indicator.interval, now=now)
            row.fed_until = settled[-1] + indicator.interval
    report.warning_moves += indicator_alerting.advance(session, rows=rows, now=now)
    if marks:
        session.execute(delete(IndicatorMark).where(tuple_(IndicatorMark.metric, IndicatorMark.minute,
                                                           IndicatorMark.version).in_([tuple(m) for m in marks])))
    session.flush()
    return report


def _categories(session: Session, source: CaseCountSource) -> list[int] | None:
    return None if source.category is None else case_counts.category_subtree(session, code=source.category)


def _device_partials(session: Session, row: IndicatorRow, source: DeviceMetricSource, bucket: datetime,
                     interval: timedelta) -> list[tuple[str, Partial]]:
    """Per device area path: the lowest and highest reading, the sum of the devices' means, how many devices."""
    rollup = HourRollup if interval % timedelta(hours=1) == timedelta(0) else MinuteRollup
    per_device = select(rollup.device_id, func.min(rollup.min).label("low"), func.max(rollup.max).label("high"),
                        (func.sum(rollup.sum) / func.sum(rollup.count)).label("mean")).where(
        rollup.metric == source.metric, rollup.bucket >= bucket, rollup.bucket < bucket + interval).group_by(
        rollup.device_id).subquery()
    query = select(Device.area_path, func.min(per_device.c.low), func.max(per_device.c.high),
                   func.sum(per_device.c.mean), func.count()).join(per_device, per_device.c.device_id == Device.id)
    query = query.where(Device.area_path.startswith(row.area_path, autoescape=True))
    if source.device_type is not None:
        query = query.join(DeviceType, DeviceType.id == Device.type_id).where(DeviceType.code == source.device_type)
    return [(path, Partial(low, high, total, count))
            for path, low, high, total, count in session.execute(query.group_by(Device.area_path))]


def _store(session: Session, row: IndicatorRow, indicator: Indicator, bucket: datetime,
           partials: Iterable[tuple[str, Partial]], areas: Sequence[AreaKey], *, now: datetime,
           report: ComputeReport) -> None:
    """Write the bucket's values that changed, move the latest values and tell live screens."""
    report.buckets += 1
    by_path = {area.path: area.code for area in areas}
    by_code = {area.code: area for area in areas}
    found = indicators.values(indicator, partials, by_path)
    stored = dict(session.execute(select(IndicatorValue.area_id, IndicatorValue.value).where(
        IndicatorValue.indicator_id == row.id, IndicatorValue.bucket == bucket)).all())
    changed = [(by_code[code], value) for code, value in sorted(found.items())
               if stored.get(by_code[code].id) != value]
    if not changed:
        return
    values = _upsert(session, IndicatorValue)
    session.execute(values.on_conflict_do_update(index_elements=["indicator_id", "area_id", "bucket"],
                                                 set_={"value": values.excluded.value}),
                    [{"indicator_id": row.id, "area_id": area.id, "bucket": bucket, "value": value}
                     for area, value in changed])
    latest = _upsert(session, IndicatorLatest)
    session.execute(latest.on_conflict_do_update(
        index_elements=["indicator_id", "area_id"],
        set_={"bucket": latest.excluded.bucket, "value": latest.excluded.value,
              "updated_at": latest.excluded.updated_at},
        where=latest.excluded.bucket >= IndicatorLatest.bucket),
        [{"indicator_id": row.id, "area_id": area.id, "area_code": area.code, "area_path": area.path,
          "bucket": bucket, "value": value, "updated_at": now} for area, value in changed])
    for area, value in changed:
        live.publish(session, kind="indicator", area_path=area.path, payload={
            "indicator": row.code, "area": area.code, "at": bucket.isoformat(), "value": value,
            "unit": row.unit})
        report.updates.append((row.code, area.code, bucket, value))
    report.changed += len(changed)


# Reading values -------------------------------------------------------------------------------

def _area_of(session: Session, row: IndicatorRow, *, area_code: str, viewer: Principal) -> AreaKey:
    path = geo_service.path_within(session, viewer=viewer, area_code=area_code)
    for area in geo_service.area_keys(session, within_path=row.area_path, level=row.level):
        if area.path == path:
            return area
    raise InvalidInput(f"indicator {row.code!r} is computed per {row.level} under {row.area_path.strip('/')}: "
                       f"{area_code} is not one of those", code="not_an_indicator_area", field="area")


def series(session: Session, *, row: IndicatorRow, area_code: str, viewer: Principal, since: datetime,
           until: datetime, step: timedelta | None = None) -> tuple[AreaKey, timedelta, list[tuple[datetime, float]]]:
    """The indicator's values in one area in [since, until), in steps of its interval or a multiple of it
    (buckets combined by ``Indicator.over_time``)."""
    if until <= since:
        raise InvalidInput("until must be after since", code="end_before_start", field="until")
    indicator = indicator_of(session, row)
    step = indicators.step_of(step, indicator.interval)
    if (until - since) / indicator.interval > MAX_POINTS:
        raise InvalidInput(f"ask for at most {MAX_POINTS:,} buckets of {int(indicator.interval.total_seconds())} s",
                           field="since")
    area = _area_of(session, row, area_code=area_code, viewer=viewer)
    points = session.execute(select(IndicatorValue.bucket, IndicatorValue.value).where(
        IndicatorValue.indicator_id == row.id, IndicatorValue.area_id == area.id,
        and_(IndicatorValue.bucket >= indicators.bucket_of(since, step), IndicatorValue.bucket < until))
        .order_by(IndicatorValue.bucket)).all()
    if step != indicator.interval:
        points = indicators.resample(points, step=step, over_time=indicator.over_time)
    return area, step, [(at, value) for at, value in points]


def latest(session: Session, *, row: IndicatorRow, viewer: Principal, area_code: str | None = None
           ) -> list[IndicatorLatest]:
    """The newest value of the indicator in each of its areas in the viewer's jurisdiction (or under ``area_code``)."""
    within = geo_service.path_within(session, viewer=viewer, area_code=area_code)
    return list(session.scalars(select(IndicatorLatest).where(
        IndicatorLatest.indicator_id == row.id, IndicatorLatest.area_path.startswith(within, autoescape=True))
        .order_by(IndicatorLatest.area_path)))


def prune_values(session: Session, *, before: datetime) -> int:
    """Forget the values of buckets that began before ``before`` (each area's latest value stays); returns
    how many. Walks each indicator's (indicator, bucket) index from its start."""
    indicator_ids = list(session.scalars(select(IndicatorRow.id)))
    if not indicator_ids:
        return 0
    return session.execute(delete(IndicatorValue).where(IndicatorValue.indicator_id.in_(indicator_ids),
                                                         IndicatorValue.bucket < before)).rowcount or 0


def latest_values(session: Session, *, indicator_ids: Sequence[int], within_path: str) -> list[IndicatorLatest]:
    """The newest value of each of the indicators in each of their areas under ``within_path``, by indicator
    and area path (one query for a whole panel of indicators)."""
    if not indicator_ids:
        return []
    return list(session.scalars(select(IndicatorLatest).where(
        IndicatorLatest.indicator_id.in_(list(indicator_ids)),
        IndicatorLatest.area_path.startswith(within_path, autoescape=True))
        .order_by(IndicatorLatest.indicator_id, IndicatorLatest.area_path)))


def run_compute(engine: Engine, *, holder: str, now: datetime) -> ComputeReport | None:
    """One round of the indicator job for the background worker, under the ``indicators`` lease."""
    with unit_of_work(engine) as session:
        if not jobs.acquire(session, name=LEASE, holder=holder, now=now, ttl=LEASE_TTL):
            return None
        return compute(session, now=now)
