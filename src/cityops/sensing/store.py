"""Storage of readings for volume: one bulk write per batch that stores the new readings, folds
them into the 1-minute and 1-hour rollups and moves the latest values forward; monthly partitions
on PostgreSQL; retention.

A batch goes into a temporary staging table first (COPY on PostgreSQL, ``executemany`` on SQLite).
Only readings not stored before reach the rollups, so a duplicate is never counted twice and a late
reading lands in its own bucket, merged with what is there (min, max, sum and count merge without
the raw rows). The latest value moves only to a newer ``ts``.

On PostgreSQL this is one statement of data-modifying CTEs over ``INSERT … ON CONFLICT DO NOTHING
RETURNING``. On SQLite, whose writer holds the store's write lock for the whole transaction, the staged
readings are written in key order at once; only a batch that holds a reading stored before has
those deleted from the staging table first.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, delete, text

from cityops.bulk import sqlite_utc
from cityops.sensing.models import HourRollup, MinuteRollup, Reading

ReadingRow = tuple[int, str, datetime, float, bool]
"""device id, metric, ts (aware, UTC), value, maintenance — unique on the first three in a batch."""
STAGING = "readings_staging"
PARTITION_PREFIX = "readings_p"
PARTITION_LOCK = "cityops readings partitions"

_ROLLUP_MERGE = {
    "postgresql": "min = least(r.min, excluded.min), max = greatest(r.max, excluded.max), "
                  "sum = r.sum + excluded.sum, count = r.count + excluded.count",
    "sqlite": "min = min(r.min, excluded.min), max = max(r.max, excluded.max), "
              "sum = r.sum + excluded.sum, count = r.count + excluded.count",
}
_LATEST_MERGE = ("ON CONFLICT (device_id, metric) DO UPDATE SET ts = excluded.ts, value = excluded.value, "
                 "maintenance = excluded.maintenance WHERE excluded.ts > l.ts")

_POSTGRESQL_WRITE = f"""
WITH inserted AS (
    INSERT INTO readings (device_id, metric, ts, value, maintenance)
    SELECT device_id, metric, ts, value, maintenance FROM {STAGING}
    ON CONFLICT DO NOTHING
    RETURNING device_id, metric, ts, value, maintenance
), minute AS (
    INSERT INTO reading_rollups_1m AS r (device_id, metric, bucket, min, max, sum, count)
    SELECT device_id, metric, date_trunc('minute', ts, 'UTC'), min(value), max(value), sum(value), count(*)
    FROM inserted WHERE NOT maintenance GROUP BY 1, 2, 3
    ON CONFLICT (device_id, metric, bucket) DO UPDATE SET {_ROLLUP_MERGE["postgresql"]}
), hour AS (
    INSERT INTO reading_rollups_1h AS r (device_id, metric, bucket, min, max, sum, count)
    SELECT device_id, metric, date_trunc('hour', ts, 'UTC'), min(value), max(value), sum(value), count(*)
    FROM inserted WHERE NOT maintenance GROUP BY 1, 2, 3
    ON CONFLICT (device_id, metric, bucket) DO UPDATE SET {_ROLLUP_MERGE["postgresql"]}
), latest AS (
    INSERT INTO reading_latest AS l (device_id, metric, ts, value, maintenance)
    SELECT DISTINCT ON (device_id, metric) device_id, metric, ts, value, maintenance
    FROM inserted ORDER BY device_id, metric, ts DESC
    {_LATEST_MERGE}
)
SELECT count(*) FROM inserted
"""

_SQLITE_ROLLUP = """
INSERT INTO {table} AS r (device_id, metric, bucket, min, max, sum, count)
SELECT device_id, metric, {bucket}, min(value), max(value), sum(value), count(*)
FROM temp.{staging} WHERE NOT maintenance GROUP BY device_id, metric, {bucket}
ON CONFLICT (device_id, metric, bucket) DO UPDATE SET {merge}
"""


def write(connection: Connection, rows: Sequence[ReadingRow]) -> int:
    """Store ``rows`` and fold the new ones into the rollups and latest values; returns how many
    were new (the rest were stored before)."""
    if not rows:
        return 0
    if connection.dialect.name == "postgresql":
        ensure_partitions(connection, months={(ts.year, ts.month) for _, _, ts, _, _ in rows})
        return _write_postgresql(connection, rows)
    return _write_sqlite(connection, rows)


def _write_postgresql(connection: Connection, rows: Sequence[ReadingRow]) -> int:
    cursor = connection.connection.driver_connection.cursor()
    try:
        cursor.execute(f"CREATE TEMP TABLE {STAGING} (device_id integer, metric text, ts timestamptz, "
                       "value double precision, maintenance boolean)")
        with cursor.copy(f"COPY {STAGING} (device_id, metric, ts, value, maintenance) FROM STDIN "
                         "(FORMAT BINARY)") as copy:
            copy.set_types(["int4", "text", "timestamptz", "float8", "bool"])
            for row in rows:
                copy.write_row(row)
        stored = cursor.execute(_POSTGRESQL_WRITE).fetchone()[0]
        cursor.execute(f"DROP TABLE {STAGING}")
    finally:
        cursor.close()
    return stored


def _write_sqlite(connection: Connection, rows: Sequence[ReadingRow]) -> int:
    staged = []
    times: dict[datetime, tuple[str, str, str]] = {}  # a batch's readings share few times
    for device_id, metric, ts, value, maintenance in rows:
        texts = times.get(ts)
        if texts is None:
            minute = ts.replace(second=0, microsecond=0)
            texts = times[ts] = (sqlite_utc(ts), sqlite_utc(minute), sqlite_utc(minute.replace(minute=0)))
        staged.append((device_id, metric, texts[0], value, 1 if maintenance else 0, texts[1], texts[2]))
    cursor = connection.connection.driver_connection.cursor()
    try:
        cursor.execute(f"DROP TABLE IF EXISTS temp.{STAGING}")
        cursor.execute(f"CREATE TEMP TABLE {STAGING} (device_id, metric, ts, value, maintenance, minute, hour)")
        cursor.executemany(f"INSERT INTO temp.{STAGING} VALUES (?, ?, ?, ?, ?, ?, ?)", staged)
        # In key order: the batch's readings of one series land together in the key's index. A batch
        # holding a reading stored before fails as a whole (SQLite backs the statement out, the
        # transaction goes on); only then are the staged readings checked one by one.
        insert = (f"INSERT INTO readings (device_id, metric, ts, value, maintenance) SELECT device_id, metric, ts, "
                  f"value, maintenance FROM temp.{STAGING} ORDER BY device_id, metric, ts")
        try:
            cursor.execute(insert)
        except sqlite3.IntegrityError:
            cursor.execute(f"DELETE FROM temp.{STAGING} WHERE EXISTS (SELECT 1 FROM readings r WHERE r.device_id = "
                           f"{STAGING}.device_id AND r.metric = {STAGING}.metric AND r.ts = {STAGING}.ts)")
            cursor.execute(insert)
        stored = cursor.rowcount
        for table, bucket in (("reading_rollups_1m", "minute"), ("reading_rollups_1h", "hour")):
            cursor.execute(_SQLITE_ROLLUP.format(table=table, bucket=bucket, staging=STAGING,
                                                 merge=_ROLLUP_MERGE["sqlite"]))
        # SQLite takes the other columns of an aggregate query's row from the row holding max(ts)
        cursor.execute(f"INSERT INTO reading_latest AS l (device_id, metric, ts, value, maintenance) "
                       f"SELECT device_id, metric, max(ts), value, maintenance FROM temp.{STAGING} "
                       f"GROUP BY device_id, metric {_LATEST_MERGE}")
        cursor.execute(f"DROP TABLE temp.{STAGING}")
    finally:
        cursor.close()
    return stored


def partition_name(year: int, month: int) -> str:
    return f"{PARTITION_PREFIX}{year:04d}{month:02d}"


def _next_month(year: int, month: int) -> tuple[int, int]:
    return (year + 1, 1) if month == 12 else (year, month + 1)


def ensure_partitions(connection: Connection, *, months: set[tuple[int, int]]) -> list[str]:
    """Create the monthly partitions of ``readings`` that ``months`` need and do not have yet, each
    with the month after it so that the turn of a month rarely waits on creating one (PostgreSQL).
    Returns the names created."""
    wanted = {month for first in months for month in (first, _next_month(*first))}
    names = {partition_name(*month): month for month in wanted}
    missing = set(connection.scalars(text("SELECT name FROM unnest(CAST(:names AS text[])) AS name "
                                          "WHERE to_regclass(name) IS NULL"), {"names": sorted(names)}))
    if not missing:
        return []
    # One creator at a time; the others find the partition there once they hold the lock.
    connection.execute(text("SELECT pg_advisory_xact_lock(hashtext(:lock))"), {"lock": PARTITION_LOCK})
    created = []
    for name in sorted(missing):
        year, month = names[name]
        if connection.scalar(text("SELECT to_regclass(:name)"), {"name": name}) is not None:
            continue
        end = _next_month(year, month)
        connection.exec_driver_sql(
            f"CREATE TABLE {name} PARTITION OF readings FOR VALUES FROM ('{year:04d}-{month:02d}-01 00:00+00') "
            f"TO ('{end[0]:04d}-{end[1]:02d}-01 00:00+00')")
        created.append(name)
    return created


def partitions(connection: Connection) -> list[str]:
    """The partitions of ``readings``, oldest first (PostgreSQL; [] on SQLite)."""
    if connection.dialect.name != "postgresql":
        return []
    return sorted(connection.scalars(text(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = to_regclass('readings')")))


@dataclass(frozen=True)
class PruneReport:
    raw_before: datetime
    rollups_before: datetime
    partitions_dropped: list[str]
    readings_deleted: int
    minute_rollups_deleted: int
    hour_rollups_deleted: int
    indicator_values_deleted: int = 0


def prune(connection: Connection, *, now: datetime, raw_days: int, rollup_days: int) -> PruneReport:
    """Drop raw readings older than ``raw_days`` and rollups older than ``rollup_days``: whole
    monthly partitions at once on PostgreSQL, row by row in the month that straddles the cut.
    Latest values are kept whatever their age."""
    if raw_days < 0 or rollup_days < 0:
        raise ValueError("retention days must not be negative")
    raw_before = now.astimezone(UTC) - timedelta(days=raw_days)
    rollups_before = now.astimezone(UTC) - timedelta(days=rollup_days)
    dropped = []
    for name in partitions(connection):
        year, month = int(name[len(PARTITION_PREFIX):][:4]), int(name[len(PARTITION_PREFIX):][4:])
        end_year, end_month = _next_month(year, month)
        if datetime(end_year, end_month, 1, tzinfo=UTC) <= raw_before:
            connection.exec_driver_sql(f"DROP TABLE {name}")
            dropped.append(name)
    deleted = connection.execute(delete(Reading).where(Reading.ts < raw_before)).rowcount
    minutes = connection.execute(delete(MinuteRollup).where(MinuteRollup.bucket < rollups_before)).rowcount
    hours = connection.execute(delete(HourRollup).where(HourRollup.bucket < rollups_before)).rowcount
    return PruneReport(raw_before=raw_before, rollups_before=rollups_before, partitions_dropped=dropped,
                       readings_deleted=deleted, minute_rollups_deleted=minutes, hour_rollups_deleted=hours)
