"""Writing many rows at once, for imports and ingest: the driver's ``executemany`` with values
already in the form the store keeps them, without building an ORM object or a parameter dict per row.

SQLAlchemy's ORM and Core ``insert`` executemany cost 5–10 µs per row in bookkeeping, more than
SQLite takes to store the row; this goes through the columns' own bind processors (so a UTC
datetime is stored exactly as the ORM stores it) and hands tuples to the driver.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import orjson
from sqlalchemy import JSON, Connection, Table, func, insert, select, text


class BulkInsert:
    """``INSERT INTO table (columns…)`` for many rows, given as tuples in the order of ``columns``.
    JSON columns take Python values (serialised here with orjson)."""

    def __init__(self, connection: Connection, table: Table, columns: Sequence[str]) -> None:
        dialect = connection.dialect
        self.connection, self.columns = connection, tuple(columns)
        compiled = insert(table).compile(dialect=dialect, column_keys=list(columns))
        self.sql = str(compiled)
        self.positional = compiled.positional
        order = compiled.positiontup if compiled.positional else list(compiled.params)
        if sorted(order) != sorted(columns):
            raise ValueError(f"insert into {table.name} binds {order}, not {list(columns)}")
        self.order = [self.columns.index(name) for name in order]
        self.names = list(order)
        self.processors: list[Callable[[Any], Any] | None] = []
        for name in order:
            column_type = table.c[name].type
            if isinstance(column_type, JSON):
                self.processors.append(_json)
            else:
                self.processors.append(column_type._cached_bind_processor(dialect))

    def write(self, rows: Iterable[Sequence[Any]]) -> int:
        """Insert ``rows``; returns how many."""
        given = list(zip(*rows, strict=True))  # column by column: processors run in tight loops
        if not given:
            return 0
        columns = []
        for index, processor in zip(self.order, self.processors, strict=True):
            values = given[index]
            columns.append(values if processor is None else [None if v is None else processor(v) for v in values])
        prepared: list[Any] = list(zip(*columns, strict=True))
        if not self.positional:
            prepared = [dict(zip(self.names, row, strict=True)) for row in prepared]
        self.connection.exec_driver_sql(self.sql, prepared)
        return len(prepared)


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()


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
