"""Use cases of readings: ingest a batch, read a series, prune old data.

Each reading of a batch is checked on its own — a device the caller may send for, a metric of the
device's type, a time with a zone, a finite number — and the answer names every rejected reading by
its index with a stable code and a reason; the others are stored. Sending the same reading again
(same device, metric and time) is accepted and changes nothing. Readings of a device in maintenance
are accepted and marked. Every device with an accepted reading has its last contact moved to now.
The stored readings go on to the warning rules in the same unit of work (``alerting``).
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from cityops import jobs
from cityops.db import unit_of_work
from cityops.errors import InvalidInput, PermissionDenied
from cityops.org.access import Principal
from cityops.org.roles import Role
from cityops.sensing import alerting, indicators_service, store
from cityops.sensing import devices as registry
from cityops.sensing.devices import DeviceStatus
from cityops.sensing.models import Device, DeviceType, HourRollup, MinuteRollup, Reading

MAX_BATCH = 100_000
MAX_CLOCK_SKEW = timedelta(minutes=5)
"""A reading may be stamped this far ahead of the server's clock."""
MAX_LATENESS = timedelta(days=400)
"""Late readings are accepted up to this age; older ones would only make partitions for history
that retention drops anyway."""
INGEST_ROLES = frozenset({Role.device, Role.system, Role.administrator})
NDJSON = "application/x-ndjson"
PRUNE_LEASE = "sensing-prune"


@dataclass(frozen=True)
class Rejection:
    index: int
    code: str
    field: str | None
    reason: str


@dataclass
class IngestResult:
    received: int = 0
    accepted: int = 0
    stored: int = 0
    maintenance: int = 0
    rejected: list[Rejection] = field(default_factory=list)

    @property
    def duplicates(self) -> int:
        return self.accepted - self.stored


class _Unreadable:
    """An NDJSON line that is not a JSON value."""

    def __init__(self, reason: str) -> None:
        self.reason = reason


def _loads(raw: bytes) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        # NaN and Infinity are not JSON, but devices send them; read them so the reading itself
        # can be rejected for its value rather than the whole batch for its syntax
        return json.loads(raw)


def parse_batch(body: bytes, *, content_type: str | None) -> list[Any]:
    """The readings of a request body: a JSON array, or NDJSON (one reading per non-empty line)."""
    media_type = (content_type or "application/json").split(";")[0].strip().lower()
    if media_type == NDJSON:
        items: list[Any] = []
        for line in body.split(b"\n"):
            if not line.strip():
                continue
            try:
                items.append(_loads(line))
            except (ValueError, UnicodeDecodeError) as exc:
                items.append(_Unreadable(f"not a JSON value: {str(exc).splitlines()[0][:80]}"))
        return _bounded(items)
    if media_type != "application/json":
        raise InvalidInput(f"send application/json (an array of readings) or {NDJSON}, not {media_type}",
                           code="unsupported_media_type", field="body")
    try:
        items = _loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"the body is not JSON: {str(exc).splitlines()[0][:120]}", field="body") from exc
    if not isinstance(items, list):
        raise InvalidInput("the body is a JSON array of readings", field="body")
    return _bounded(items)


def _bounded(items: list[Any]) -> list[Any]:
    if len(items) > MAX_BATCH:
        raise InvalidInput(f"a batch holds at most {MAX_BATCH:,} readings, not {len(items):,}",
                           code="batch_too_large", field="body")
    return items


def _sender(session: Session, caller: Principal) -> Device | None:
    """The one device a device token may send for (None: the caller sends for its jurisdiction)."""
    if not INGEST_ROLES & set(caller.roles):
        raise PermissionDenied("only devices, systems and administrators send readings", code="permission_denied")
    if caller.kind == "client" and Role.device in caller.roles:
        device = registry.device_of_client(session, client_id=caller.id)
        if device is None:
            raise PermissionDenied("this token belongs to no device", code="not_a_device_token")
        return device
    return None


def _parse_ts(raw: Any) -> datetime | str:
    """An aware UTC datetime, or the code of what is wrong with ``raw``."""
    if not isinstance(raw, str):
        return "invalid_ts"
    try:
        ts = datetime.fromisoformat(raw)
    except ValueError:
        return "invalid_ts"
    if ts.tzinfo is None or ts.utcoffset() is None:
        return "ts_without_zone"
    return ts.astimezone(UTC)


_REASONS = {
    "not_an_object": ("body", "a reading is an object {device, metric, ts, value}"),
    "invalid_ts": ("ts", "ts must be an ISO 8601 time, e.g. 2026-11-01T08:00:00+08:00"),
    "ts_without_zone": ("ts", "ts must carry a zone (Z or an offset such as +08:00)"),
    "ts_in_future": ("ts", "ts lies more than 5 minutes ahead of the server's clock"),
    "ts_too_old": ("ts", f"ts is more than {MAX_LATENESS.days} days old"),
    "invalid_value": ("value", "value must be a number"),
    "value_not_finite": ("value", "value must be finite (not NaN or infinite)"),
    "invalid_device": ("device", "device must be a device code"),
    "invalid_metric": ("metric", "metric must be a metric name"),
}


def ingest(session: Session, *, items: Sequence[Any], caller: Principal, now: datetime,
           cases: alerting.CaseIntake | None = None) -> IngestResult:
    """Check every reading of a batch on its own and store the good ones (see the module's doc). With
    ``cases``, the warnings of the batch's devices that reached their rule's case level get their case
    (``alerting.open_due_cases``); without, the worker's rule clock opens them."""
    sender = _sender(session, caller)
    result = IngestResult(received=len(items))
    codes = {item["device"] for item in items if isinstance(item, dict) and isinstance(item.get("device"), str)}
    known = registry.device_keys_by_code(session, codes=sorted(codes))
    metrics = {t.id: t.metrics for t in session.scalars(
        select(DeviceType).where(DeviceType.id.in_({d.type_id for d in known.values()})))} if known else {}
    # plain tuples: ORM attribute access per reading costs more than the checks themselves
    senders = {code: (d.id, d.area_path, d.status, metrics[d.type_id]) for code, d in known.items()}
    earliest, latest = now - MAX_LATENESS, now + MAX_CLOCK_SKEW
    rows: dict[tuple[int, str, datetime], store.ReadingRow] = {}
    contacted: set[int] = set()
    seen_times: dict[str, datetime | str] = {}  # a fleet's readings of one batch share few times

    def reject(index: int, code: str, reason: str | None = None, field_name: str | None = None) -> None:
        default_field, default_reason = _REASONS.get(code, (field_name, reason))
        result.rejected.append(Rejection(index=index, code=code, field=field_name or default_field,
                                         reason=reason or default_reason))

    for index, item in enumerate(items):
        if isinstance(item, _Unreadable):
            reject(index, "invalid_json", item.reason, "body")
            continue
        if not isinstance(item, dict):
            reject(index, "not_an_object")
            continue
        code, metric, value = item.get("device"), item.get("metric"), item.get("value")
        if not isinstance(code, str):
            reject(index, "invalid_device")
            continue
        device = senders.get(code)
        if sender is not None and code != sender.code:
            reject(index, "not_your_device", f"this token sends readings of device {sender.code!r} only", "device")
            continue
        if device is None or (sender is None and not caller.covers(device[1])):
            reject(index, "unknown_device", f"no device {code!r} in your jurisdiction", "device")
            continue
        device_id, _, status, device_metrics = device
        if status == DeviceStatus.retired:
            reject(index, "device_retired", f"device {code!r} is retired", "device")
            continue
        if not isinstance(metric, str):
            reject(index, "invalid_metric")
            continue
        if metric not in device_metrics:
            reject(index, "unknown_metric", f"device {code!r} reports no metric {metric!r}; it reports "
                   f"{', '.join(sorted(device_metrics))}", "metric")
            continue
        raw_ts = item.get("ts")
        ts = seen_times.get(raw_ts) if isinstance(raw_ts, str) else None
        if ts is None:
            ts = _parse_ts(raw_ts)
            if isinstance(raw_ts, str):
                seen_times[raw_ts] = ts
        if isinstance(ts, str):
            reject(index, ts)
            continue
        if ts > latest:
            reject(index, "ts_in_future")
            continue
        if ts < earliest:
            reject(index, "ts_too_old")
            continue
        if isinstance(value, bool) or not isinstance(value, int | float):
            reject(index, "invalid_value")
            continue
        try:
            number = float(value)
        except OverflowError:
            number = math.inf
        if not math.isfinite(number):
            reject(index, "value_not_finite")
            continue
        result.accepted += 1
        maintenance = status == DeviceStatus.maintenance
        result.maintenance += maintenance
        rows.setdefault((device_id, metric, ts), (device_id, metric, ts, number, maintenance))
        contacted.add(device_id)
    batch = list(rows.values())
    result.stored = store.write(session.connection(), batch)
    alerting.evaluate_ingested(session, rows=batch, devices=known.values(), stored=result.stored, now=now)
    indicators_service.mark_ingested(session, rows=batch)
    if cases is not None:
        alerting.open_due_cases(session, intake=cases, now=now, device_ids=contacted)
    if contacted:
        session.execute(update(Device).where(Device.id.in_(contacted))
                        .values(last_contact_at=now, updated_at=Device.updated_at),
                        execution_options={"synchronize_session": False})
        for loaded in list(session.identity_map.values()):  # the sender's device, say
            if isinstance(loaded, Device) and loaded.id in contacted:
                session.expire(loaded, ["last_contact_at"])
    return result


# Series --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Point:
    ts: datetime
    value: float | None = None
    maintenance: bool = False
    min: float | None = None
    max: float | None = None
    avg: float | None = None
    count: int = 1


def series(session: Session, *, device: Device, metric: str, resolution: str, since: datetime,
           until: datetime, limit: int = 10_000) -> list[Point]:
    """Raw readings or 1-minute / 1-hour rollups of one metric of one device in [since, until)."""
    types = session.get(DeviceType, device.type_id)
    if metric not in types.metrics:
        raise InvalidInput(f"device {device.code!r} reports no metric {metric!r}", code="unknown_metric",
                           field="metric")
    if resolution == "raw":
        rows = session.execute(select(Reading.ts, Reading.value, Reading.maintenance).where(
            Reading.device_id == device.id, Reading.metric == metric, Reading.ts >= since, Reading.ts < until)
            .order_by(Reading.ts).limit(limit))
        return [Point(ts=ts, value=value, maintenance=maintenance) for ts, value, maintenance in rows]
    table = {"1m": MinuteRollup, "1h": HourRollup}.get(resolution)
    if table is None:
        raise InvalidInput("resolution is raw, 1m or 1h", field="resolution")
    rows = session.execute(select(table.bucket, table.min, table.max, table.sum, table.count).where(
        table.device_id == device.id, table.metric == metric, table.bucket >= since, table.bucket < until)
        .order_by(table.bucket).limit(limit))
    return [Point(ts=bucket, min=low, max=high, avg=total / count, count=count)
            for bucket, low, high, total, count in rows]


# Retention -----------------------------------------------------------------------------------

def prune(session: Session, *, now: datetime, raw_days: int, rollup_days: int,
          indicator_days: int | None = None) -> store.PruneReport:
    """Drop raw readings, rollups and indicator values (default: kept as long as rollups) past their days."""
    indicator_days = rollup_days if indicator_days is None else indicator_days
    if min(raw_days, rollup_days, indicator_days) < 1:
        field_name = "raw_days" if raw_days < 1 else "rollup_days" if rollup_days < 1 else "indicator_days"
        raise InvalidInput("keep at least one day", field=field_name)
    if rollup_days < raw_days:
        raise InvalidInput("rollups are kept at least as long as raw readings", field="rollup_days")
    report = store.prune(session.connection(), now=now, raw_days=raw_days, rollup_days=rollup_days)
    values = indicators_service.prune_values(session, before=now.astimezone(UTC) - timedelta(days=indicator_days))
    return dataclasses.replace(report, indicator_values_deleted=values)


def run_prune(engine: Engine, *, holder: str, now: datetime, raw_days: int, rollup_days: int,
              indicator_days: int | None = None, every: timedelta = timedelta(hours=1)) -> store.PruneReport | None:
    """Prune for the background worker at most once per ``every`` among all workers: the
    ``sensing-prune`` lease's expiry is when the next prune is due. None when it is not due."""
    with unit_of_work(engine) as session:
        if not jobs.take_when_due(session, name=PRUNE_LEASE, holder=holder, now=now, every=every):
            return None
        return prune(session, now=now, raw_days=raw_days, rollup_days=rollup_days, indicator_days=indicator_days)
