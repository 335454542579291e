"""Writing many rows at once, for imports and ingest: the driver's ``executemany`` with values
already in the form the store keeps them, without building an ORM object or a parameter dict per row.

SQLAlchemy's ORM and Core ``insert`` executemany cost 5–10 µs per row in bookkeeping, more than
SQLite takes to store the row; this goes through the columns' own bind processors (so a UTC
datetime is stored exactly as the ORM stores it) and hands tuples to the driver.

On SQLite, a table with triggers (``cases`` keeps its full-text index up to date by one) is written
through a staging table: the rows go into a temporary table, then into the table with one
``INSERT … SELECT``. The triggers run as before, but inside one statement: FTS5 flushes what it has
buffered at every statement savepoint, so a trigger fired by one ``INSERT`` per row writes a tiny
index segment per row: 40–50 % of the time of writing cases with their timelines and deadlines
(measured with 20,000 and 100,000 cases).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import orjson
from sqlalchemy import JSON, Connection, Table, func, insert, select, text
from sqlalchemy.orm import Session

from cityops.db import UTCDateTime

BULK_CACHE_KIB = 1024 * 1024
"""SQLite page cache of a connection writing in bulk: the indexes that rows land in at random
(tracking codes, area paths, points) outgrow the default 2 MiB after a few thousand cases, and each
batch would then read and spill the same pages again. Pages are only taken as they are used."""
BULK_CHECKPOINT_PAGES = 10_000
"""WAL pages (40 MiB at 4 KiB) before a checkpoint copies them into the database, instead of the
default 1,000: a batch writes more than 1,000, so every commit would checkpoint, copying the same
index pages into the database batch after batch."""


class BulkInsert:
    """``INSERT INTO table (columns…)`` for many rows, given as tuples in the order of ``columns``.
    JSON columns take Python values (serialised here with orjson). The statement and the columns'
    processors are worked out once per store kind, table and columns (``_plan``), so that writing a
    handful of rows — a new case's timeline — costs little more than the driver's call."""

    def __init__(self, connection: Connection, table: Table, columns: Sequence[str]) -> None:
        self.connection, self.table, self.columns = connection, table, tuple(columns)
        dialect = connection.dialect
        key = (dialect.name, dialect.driver, table.name, self.columns)
        plan = _PLANS.get(key)
        if plan is None:
            plan = _PLANS[key] = _plan(connection, table, self.columns)
        self.sql, self.positional, self.order, self.names, self.processors, self.staging = plan

    def write(self, rows: Iterable[Sequence[Any]]) -> int:
        """Insert ``rows``; returns how many."""
        given = list(zip(*rows, strict=True))  # column by column: processors run in tight loops
        if not given:
            return 0
        columns = []
        written: dict[datetime, str] = {}  # rows repeat their times (a case's opening starts several steps)
        for index, processor in zip(self.order, self.processors, strict=True):
            values = given[index]
            if processor is sqlite_utc:
                columns.append([None if v is None else written[v] if v in written else
                                written.setdefault(v, sqlite_utc(v)) for v in values])
            else:
                columns.append(values if processor is None else [None if v is None else processor(v) for v in values])
        prepared: list[Any] = list(zip(*columns, strict=True))
        if not self.positional:
            prepared = [dict(zip(self.names, row, strict=True)) for row in prepared]
        if self.staging is None:
            self.connection.exec_driver_sql(self.sql, prepared)
        else:
            self._write_staged(prepared)
        return len(prepared)

    def _write_staged(self, prepared: list[Any]) -> None:
        names = ", ".join(self.connection.dialect.identifier_preparer.quote(n) for n in self.names)
        cursor = self.connection.connection.driver_connection.cursor()
        try:
            # untyped columns: each value reaches the table as bound, and the table's own affinities apply
            cursor.execute(f"DROP TABLE IF EXISTS temp.{self.staging}")
            cursor.execute(f"CREATE TEMP TABLE {self.staging} ({names})")
            cursor.executemany(f"INSERT INTO temp.{self.staging} ({names}) VALUES ({', '.join('?' * len(self.names))})",
                               prepared)
            target = self.connection.dialect.identifier_preparer.format_table(self.table)
            cursor.execute(f"INSERT INTO {target} ({names}) SELECT {names} FROM temp.{self.staging} ORDER BY rowid")
            cursor.execute(f"DROP TABLE temp.{self.staging}")
        finally:
            cursor.close()


_Plan = tuple[str, bool, list[int], list[str], list[Callable[[Any], Any] | None], str | None]
_PLANS: dict[tuple[str, str, str, tuple[str, ...]], _Plan] = {}


def _plan(connection: Connection, table: Table, columns: tuple[str, ...]) -> _Plan:
    """The statement, whether it binds by position, the order it binds ``columns`` in, their names,
    each one's processor, and the staging table (SQLite, a table with triggers)."""
    dialect = connection.dialect
    compiled = insert(table).compile(dialect=dialect, column_keys=list(columns))
    order = list(compiled.positiontup if compiled.positional else compiled.params)
    if sorted(order) != sorted(columns):
        raise ValueError(f"insert into {table.name} binds {order}, not {list(columns)}")
    processors: list[Callable[[Any], Any] | None] = []
    sqlite = dialect.name == "sqlite"
    for name in order:
        column_type = table.c[name].type
        if isinstance(column_type, JSON):
            processors.append(_json)
        elif sqlite and isinstance(column_type, UTCDateTime):
            processors.append(sqlite_utc)
        else:
            processors.append(column_type._cached_bind_processor(dialect))
    staging = _staging_table(connection, table) if sqlite else None
    return str(compiled), compiled.positional, [columns.index(name) for name in order], order, processors, staging


def insert_values(connection: Connection, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert rows given as column → value, each with every column but an autoincrement key
    (``with_defaults`` fills the rest): one ``BulkInsert`` per set of columns."""
    by_columns: dict[tuple[str, ...], list[Mapping[str, Any]]] = {}
    for row in rows:
        by_columns.setdefault(tuple(sorted(row)), []).append(row)
    for columns, same in by_columns.items():
        BulkInsert(connection, table, columns).write([tuple(row[c] for c in columns) for row in same])


def with_defaults(table: Table, values: dict[str, Any]) -> dict[str, Any]:
    """``values`` with each missing column set as inserting it would set it: its default (a value, or
    a function called now), else NULL. An autoincrement key is left for the store to draw."""
    for column in table.columns:
        if column.key in values or (column.primary_key and column.autoincrement in (True, "auto")
                                    and column.default is None):
            continue
        default = column.default
        if default is None:
            values[column.key] = None
        elif default.is_scalar:
            values[column.key] = default.arg
        elif default.is_callable:
            values[column.key] = default.arg(None)
        else:
            raise ValueError(f"{table.name}.{column.key} has a default that only the store can compute")
    return values


_COLLECTED = "cityops.bulk.collected"


@contextmanager
def collecting_rows(session: Session) -> Iterator[dict[type, list[SimpleNamespace]]]:
    """While open, ``new_row`` on ``session`` collects the rows it makes, by model, for the caller to
    write at once (``insert_values``) instead of adding ORM objects to the session: a new case's
    timeline, deadlines and announcements, which nothing reads back, cost more as ORM objects
    (made, tracked, flushed or taken out again) than writing them."""
    collected: dict[type, list[SimpleNamespace]] = {}
    session.info[_COLLECTED] = collected
    try:
        yield collected
    finally:
        session.info.pop(_COLLECTED, None)


def new_row(session: Session, model: type, **values: Any) -> Any:
    """A new row of ``model``: added to the session as an ORM object; or, inside ``collecting_rows``,
    a plain namespace with every column (defaults filled in), collected for one write."""
    collected = session.info.get(_COLLECTED)
    if collected is None:
        row = model(**values)
        session.add(row)
        return row
    row = SimpleNamespace(**with_defaults(model.__table__, values))
    collected.setdefault(model, []).append(row)
    return row


def _staging_table(connection: Connection, table: Table) -> str | None:
    """The temporary table to stage rows for ``table`` in, when triggers fire on inserting into it."""
    triggered = connection.exec_driver_sql(
        "SELECT 1 FROM sqlite_master WHERE type = 'trigger' AND tbl_name = ? LIMIT 1", (table.name,)).first()
    return f"bulk_staging_{table.name}" if triggered else None


def sqlite_utc(value: datetime) -> str:
    """An aware datetime as SQLite columns of ``UTCDateTime`` keep it (``YYYY-MM-DD HH:MM:SS.ffffff``
    in UTC), without the two processors' calls and format dictionary per value."""
    if value.tzinfo is not UTC:
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
    return value.isoformat(" ", "microseconds")[:26]


def _json(value: Any) -> str:
    # keys that are not text are written as text, as the json module does
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


def tune_for_bulk_load(connection: Connection) -> None:
    """Settings of a connection that writes in bulk (SQLite; other stores need none). Durability is
    unchanged: WAL with ``synchronous=NORMAL``, as every connection has it (``cityops.db``)."""
    if connection.dialect.name != "sqlite":
        return
    connection.exec_driver_sql(f"PRAGMA cache_size = -{BULK_CACHE_KIB}")
    connection.exec_driver_sql(f"PRAGMA temp.cache_size = -{BULK_CACHE_KIB // 8}")
    connection.exec_driver_sql(f"PRAGMA wal_autocheckpoint = {BULK_CHECKPOINT_PAGES}")


def reserve_ids(connection: Connection, table: Table, count: int) -> list[int]:
    """``count`` primary keys for rows about to be written with explicit ids. PostgreSQL draws them
    from the column's sequence, so concurrent writers never collide; SQLite has one writer at a time,
    and this transaction holds the write lock once it has written, so max(id) + 1 … is safe there
    (the caller writes before any other transaction can)."""
    if count <= 0:
        return []
    key = table.primary_key.columns.values()[0]
    if connection.dialect.name == "postgresql":
        sequence = connection.scalar(select(func.pg_get_serial_sequence(table.name, key.name)))
        return list(connection.scalars(text("SELECT nextval(:sequence) FROM generate_series(1, :count)"),
                                       {"sequence": sequence, "count": count}))
    start = (connection.scalar(select(func.max(key))) or 0) + 1
    return list(range(start, start + count))
