"""Ingest and storage of readings on SQLite and PostgreSQL: each reading checked on its own,
duplicates idempotent, late readings folded into rollups without moving the latest value back,
maintenance marked, partitions made on demand, retention."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from cityops.errors import InvalidInput, PermissionDenied
from cityops.org import service as org_service
from cityops.sensing import service, store
from cityops.sensing.models import Device, HourRollup, LatestReading, MinuteRollup, Reading
from tests.factories import make_user
from tests.integration.sensing.world import NOW, STREET, make_world, reading


def stored(session: Session) -> list[tuple[str, str, datetime, float, bool]]:
    return [tuple(r) for r in session.execute(
        select(Device.code, Reading.metric, Reading.ts, Reading.value, Reading.maintenance)
        .join(Device, Device.id == Reading.device_id).order_by(Device.code, Reading.metric, Reading.ts))]


def rollup(session: Session, table, code: str, bucket: datetime, metric: str = "water_level"):  # noqa: ANN001, ANN201
    return session.execute(select(table.min, table.max, table.sum, table.count).join(
        Device, Device.id == table.device_id).where(Device.code == code, table.metric == metric,
                                                    table.bucket == bucket)).one_or_none()


def latest(session: Session, code: str, metric: str = "water_level"):  # noqa: ANN201
    return session.execute(select(LatestReading.ts, LatestReading.value, LatestReading.maintenance).join(
        Device, Device.id == LatestReading.device_id).where(Device.code == code,
                                                            LatestReading.metric == metric)).one_or_none()


def contact(session: Session, code: str) -> datetime | None:
    return session.scalar(select(Device.last_contact_at).where(Device.code == code))


def test_each_reading_is_checked_on_its_own(session: Session) -> None:
    world = make_world(session)
    items = [
        reading("WL-1", "2026-11-15T19:00:00+08:00", 3.5),            # 0 good
        reading("NOPE", "2026-11-15T11:00:00Z", 1.0),                 # 1 unknown device
        reading("WL-1", "2026-11-15T11:00:00Z", 1.0, metric="pm25"),  # 2 metric of another type
        reading("WL-1", "2026-11-15T11:00:00", 1.0),                  # 3 naive time
        reading("WL-1", "2026-11-15T11:01:00Z", float("nan")),        # 4 NaN
        reading("WL-2", "2026-11-15T11:00:00Z", 1.0),                 # 5 outside the caller's street
        reading("WL-R", "2026-11-15T11:00:00Z", 1.0),                 # 6 retired
        reading("WL-1", "2026-11-15T13:00:00Z", 1.0),                 # 7 an hour ahead of the clock
        reading("WL-1", "2026-11-15T11:02:00Z", "4.0"),               # 8 a string
        reading("WL-1", "2026-11-15T11:03:00Z", True),                # 9 a boolean
        ["WL-1"],                                                     # 10 not an object
        reading("WL-1", "yesterday", 1.0),                            # 11 unreadable time
        reading("WL-1", "2026-11-15T11:04:00+00:00", 10**400),        # 12 beyond a double
        reading("WL-1", "2026-11-15T11:05:00Z", 2, metric="battery"),  # 13 good
    ]
    result = service.ingest(session, items=items, caller=world.admin, now=NOW)
    assert (result.received, result.accepted, result.stored) == (14, 2, 2)
    assert [(r.index, r.code, r.field) for r in result.rejected] == [
        (1, "unknown_device", "device"), (2, "unknown_metric", "metric"), (3, "ts_without_zone", "ts"),
        (4, "value_not_finite", "value"), (5, "unknown_device", "device"), (6, "device_retired", "device"),
        (7, "ts_in_future", "ts"), (8, "invalid_value", "value"), (9, "invalid_value", "value"),
        (10, "not_an_object", "body"), (11, "invalid_ts", "ts"), (12, "value_not_finite", "value")]
    assert result.rejected[4].reason == "no device 'WL-2' in your jurisdiction"
    assert result.rejected[1].reason.endswith("it reports battery, water_level")
    assert stored(session) == [("WL-1", "battery", datetime(2026, 11, 15, 11, 5, tzinfo=UTC), 2.0, False),
                               ("WL-1", "water_level", datetime(2026, 11, 15, 11, tzinfo=UTC), 3.5, False)]
    assert contact(session, "WL-1") == NOW
    assert contact(session, "WL-2") is None and contact(session, "WL-R") is None


def test_a_batch_of_only_bad_readings_changes_nothing(session: Session) -> None:
    world = make_world(session)
    result = service.ingest(session, items=[reading("WL-2", "2026-11-15T11:00:00Z", 1.0), 7],
                            caller=world.admin, now=NOW)
    assert (result.accepted, result.stored, len(result.rejected)) == (0, 0, 2)
    for table in (Reading, MinuteRollup, HourRollup, LatestReading):
        assert session.scalar(select(func.count()).select_from(table)) == 0
    assert session.scalar(select(func.count()).where(Device.last_contact_at.is_not(None))) == 0


def test_duplicates_are_idempotent(session: Session) -> None:
    world = make_world(session)
    batch = [reading("WL-1", f"2026-11-15T11:00:{s:02d}Z", s) for s in range(0, 60, 10)]
    first = service.ingest(session, items=batch + batch[:2], caller=world.admin, now=NOW)
    assert (first.accepted, first.stored, first.duplicates) == (8, 6, 2)
    before = stored(session), rollup(session, MinuteRollup, "WL-1", datetime(2026, 11, 15, 11, tzinfo=UTC))
    again = service.ingest(session, items=[{**r, "value": 99} for r in batch], caller=world.admin, now=NOW)
    assert (again.accepted, again.stored, again.duplicates, again.rejected) == (6, 0, 6, [])
    assert (stored(session), rollup(session, MinuteRollup, "WL-1", datetime(2026, 11, 15, 11, tzinfo=UTC))) == before
    assert tuple(before[1]) == (0, 50, 150, 6)


def test_a_batch_mixing_new_and_stored_readings_stores_and_counts_only_the_new(session: Session) -> None:
    world = make_world(session)
    minute = datetime(2026, 11, 15, 11, tzinfo=UTC)
    service.ingest(session, items=[reading("WL-1", f"2026-11-15T11:00:{s:02d}Z", s) for s in (0, 10, 20, 30)],
                   caller=world.admin, now=NOW)
    mixed = service.ingest(session, items=[reading("WL-1", f"2026-11-15T11:00:{s:02d}Z", 100 + s)
                                           for s in (20, 30, 40, 50)], caller=world.admin, now=NOW)
    assert (mixed.accepted, mixed.stored, mixed.duplicates) == (4, 2, 2)
    # the stored readings keep their first values; the rollup adds the two new ones once
    assert [row[3] for row in stored(session)] == [0, 10, 20, 30, 140, 150]
    assert tuple(rollup(session, MinuteRollup, "WL-1", minute)) == (0, 150, 0 + 10 + 20 + 30 + 140 + 150, 6)


def test_late_readings_land_in_their_buckets_and_never_move_the_latest_value_back(session: Session) -> None:
    world = make_world(session)
    minute = datetime(2026, 11, 15, 10, 0, tzinfo=UTC)
    service.ingest(session, items=[reading("WL-1", "2026-11-15T10:00:30Z", 2.0),
                                   reading("WL-1", "2026-11-15T10:05:00Z", 3.0)], caller=world.admin, now=NOW)
    assert tuple(latest(session, "WL-1")) == (datetime(2026, 11, 15, 10, 5, tzinfo=UTC), 3.0, False)
    # an hour later the device sends what it buffered: one reading in an old minute, one in a new one
    late = service.ingest(session, items=[reading("WL-1", "2026-11-15T18:00:10+08:00", 8.0),
                                          reading("WL-1", "2026-11-15T09:59:59Z", -1.0)],
                          caller=world.admin, now=NOW)
    assert late.stored == 2
    assert tuple(rollup(session, MinuteRollup, "WL-1", minute)) == (2.0, 8.0, 10.0, 2)
    assert tuple(rollup(session, MinuteRollup, "WL-1", minute + timedelta(minutes=5))) == (3.0, 3.0, 3.0, 1)
    assert tuple(rollup(session, HourRollup, "WL-1", minute)) == (2.0, 8.0, 13.0, 3)
    assert tuple(rollup(session, HourRollup, "WL-1", minute - timedelta(hours=1))) == (-1.0, -1.0, -1.0, 1)
    assert tuple(latest(session, "WL-1")) == (datetime(2026, 11, 15, 10, 5, tzinfo=UTC), 3.0, False)
    newer = service.ingest(session, items=[reading("WL-1", "2026-11-15T10:06:00Z", 4.0)], caller=world.admin, now=NOW)
    assert newer.stored == 1 and tuple(latest(session, "WL-1"))[1] == 4.0


def test_rollups_agree_with_the_raw_readings(session: Session) -> None:
    world = make_world(session)
    items = [reading(code, (datetime(2026, 11, 15, 9, tzinfo=UTC) + timedelta(seconds=17 * i)).isoformat(),
                     (i * 7919) % 101 / 10) for i in range(600) for code in ("WL-1", "AQ-1")]
    for item in items:
        if item["device"] == "AQ-1":
            item["metric"] = "pm25"
    for start in range(0, len(items), 250):  # batches, in reverse order: every batch is late
        service.ingest(session, items=items[::-1][start:start + 250], caller=world.admin, now=NOW)
    for table, unit in ((MinuteRollup, "minute"), (HourRollup, "hour")):
        raw: dict[tuple[int, str, datetime], list[float]] = {}
        for device_id, metric, ts, value in session.execute(select(Reading.device_id, Reading.metric, Reading.ts,
                                                                   Reading.value)):
            bucket = ts.replace(second=0, microsecond=0, **({"minute": 0} if unit == "hour" else {}))
            raw.setdefault((device_id, metric, bucket), []).append(value)
        rolled = {(d, m, b): (lo, hi, s, c) for d, m, b, lo, hi, s, c in session.execute(
            select(table.device_id, table.metric, table.bucket, table.min, table.max, table.sum, table.count))}
        assert rolled.keys() == raw.keys()
        for key, values in raw.items():
            lo, hi, total, count = rolled[key]
            assert (lo, hi, count) == (min(values), max(values), len(values))
            assert total == pytest.approx(sum(values))


def test_readings_of_a_device_in_maintenance_are_kept_marked_and_left_out_of_rollups(session: Session) -> None:
    world = make_world(session)
    result = service.ingest(session, items=[reading("WL-M", "2026-11-15T11:00:00Z", 9.9)], caller=world.admin, now=NOW)
    assert (result.accepted, result.stored, result.maintenance) == (1, 1, 1)
    assert stored(session) == [("WL-M", "water_level", datetime(2026, 11, 15, 11, tzinfo=UTC), 9.9, True)]
    assert tuple(latest(session, "WL-M"))[2] is True
    assert session.scalar(select(func.count()).select_from(MinuteRollup)) == 0
    assert contact(session, "WL-M") == NOW


def test_only_devices_systems_and_administrators_send_readings(session: Session) -> None:
    make_world(session)
    operator = org_service.principal_of_user(session, make_user(session, username="op", roles=["operator"],
                                                                area_code=STREET))
    with pytest.raises(PermissionDenied):
        service.ingest(session, items=[reading("WL-1", "2026-11-15T11:00:00Z", 1.0)], caller=operator, now=NOW)


def test_a_batch_body_is_a_json_array_or_ndjson() -> None:
    assert service.parse_batch(b'[{"value": NaN}]', content_type="application/json")[0]["value"] != 0
    lines = service.parse_batch(b'{"a": 1}\n\n{broken\n[2]\n', content_type="application/x-ndjson; charset=utf-8")
    assert lines[0] == {"a": 1} and isinstance(lines[1], service._Unreadable) and lines[2] == [2]
    for body, media_type in ((b"{}", "application/json"), (b"[", "application/json"), (b"[]", "text/csv")):
        with pytest.raises(InvalidInput):
            service.parse_batch(body, content_type=media_type)


def test_partitions_are_made_by_month_as_readings_arrive_and_pruned_whole(session: Session) -> None:
    world = make_world(session)
    items = [reading("WL-1", ts, 1.0) for ts in ("2026-09-10T00:00:00Z", "2026-10-10T00:00:00Z",
                                                  "2026-10-20T00:00:00Z", "2026-11-10T00:00:00Z")]
    assert service.ingest(session, items=items, caller=world.admin, now=NOW).stored == 4
    connection = session.connection()
    postgresql = connection.dialect.name == "postgresql"
    if postgresql:
        assert store.partitions(connection) == ["readings_p202609", "readings_p202610", "readings_p202611",
                                                "readings_p202612"]
        rows = connection.execute(text("SELECT tableoid::regclass::text, count(*) FROM readings GROUP BY 1 "
                                       "ORDER BY 1")).all()
        assert [tuple(r) for r in rows] == [("readings_p202609", 1), ("readings_p202610", 2), ("readings_p202611", 1)]
    else:
        assert store.partitions(connection) == []
    # 2026-10-16 is the cut for raw readings: September goes whole, one October reading row by row
    report = service.prune(session, now=NOW, raw_days=30, rollup_days=90)
    assert report.partitions_dropped == (["readings_p202609"] if postgresql else [])
    assert report.readings_deleted == (1 if postgresql else 2)
    assert [r[2].date().isoformat() for r in stored(session)] == ["2026-10-20", "2026-11-10"]
    assert session.scalar(select(func.count()).select_from(HourRollup)) == 4  # rollups kept 90 days
    report = service.prune(session, now=NOW, raw_days=30, rollup_days=40)
    assert (report.minute_rollups_deleted, report.hour_rollups_deleted) == (1, 1)
    assert latest(session, "WL-1") is not None
    with pytest.raises(InvalidInput):
        service.prune(session, now=NOW, raw_days=30, rollup_days=7)


def test_too_old_readings_are_refused_rather_than_making_ancient_partitions(session: Session) -> None:
    world = make_world(session)
    result = service.ingest(session, items=[reading("WL-1", "1999-01-01T00:00:00Z", 1.0)], caller=world.admin,
                            now=NOW)
    assert [r.code for r in result.rejected] == ["ts_too_old"]
    assert store.partitions(session.connection()) == []
