"""A store with rows in it upgrades from any earlier revision to the newest. SQLite alters a table
by making it again and dropping the old one, which foreign keys refuse while other rows point at it (a
store with warnings could not take migration 0016): ``cityops.db.migrate`` runs the migrations there
with foreign keys off and checks every key before committing. These tests take a store back to each
past revision, put a row in every table, upgrade, and find every row still there and every key whole,
on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Column, Connection, Engine, MetaData, Table, inspect, select

import cityops.db
from cityops.db import migrate
from cityops.sensing.store import ensure_partitions, partitions
from tests.factories import downgrade


def _revisions() -> list[str]:
    config = Config()
    config.set_main_option("script_location", str(Path(cityops.db.__file__).parent / "migrations"))
    return [script.revision for script in reversed(list(ScriptDirectory.from_config(config).walk_revisions()))]


PAST = _revisions()[:-1]


def _virtual_tables(connection: Connection) -> set[str]:
    """SQLite's full-text index and its shadow tables: written by triggers, not by rows."""
    if connection.dialect.name != "sqlite":
        return set()
    virtual = [row[0] for row in connection.exec_driver_sql(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND sql LIKE 'CREATE VIRTUAL TABLE%'")]
    return {name for name in inspect(connection).get_table_names()
            if any(name == table or name.startswith(f"{table}_") for table in virtual)}


PLACEHOLDERS = {int: 1, float: 1.0, bool: True, datetime: datetime(2025, 1, 1, tzinfo=UTC), date: date(2025, 1, 1),
                dict: {}, list: [], bytes: b"-"}


def _placeholder(column: Column, table: str) -> object:
    kind = column.type.python_type
    return PLACEHOLDERS.get(kind, f"{table}-{column.name}"[:getattr(column.type, "length", None)])


def _row(connection: Connection, tables: MetaData, table: str, filled: set[str]) -> None:
    """A row of ``table`` with every column it requires, after a row of each table it points at."""
    if table in filled:
        return
    shape: Table = tables.tables[table]
    values: dict[str, object] = {}
    for column in shape.columns:
        pointed = [key.column for key in column.foreign_keys if key.column.table.name != table]
        if pointed:
            _row(connection, tables, pointed[0].table.name, filled)
            values[column.name] = connection.execute(select(pointed[0]).limit(1)).scalar_one()
        elif not column.nullable and not (column.primary_key and column.autoincrement in (True, "auto")
                                          and column.name == "id"):
            values[column.name] = _placeholder(column, table)
    connection.execute(shape.insert().values(values))
    filled.add(table)


def _filled_at(engine: Engine, revision: str) -> set[str]:
    """The store taken back to ``revision``, with a row in every table: the tables filled."""
    downgrade(engine, revision)
    filled: set[str] = set()
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql" and "readings" in inspect(connection).get_table_names():
            ensure_partitions(connection, months={(PLACEHOLDERS[datetime].year, PLACEHOLDERS[datetime].month)})
        tables = MetaData()
        tables.reflect(connection)
        # a partition's row is the partitioned table's: written through it
        written_through = _virtual_tables(connection) | set(partitions(connection)) | {"alembic_version"}
        for table in sorted(set(tables.tables) - written_through):
            _row(connection, tables, table, filled)
    return filled


def _revision(connection: Connection) -> str:
    return connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalar_one()


def _broken_keys(connection: Connection) -> list:
    if connection.dialect.name != "sqlite":
        return []  # PostgreSQL checks every key as it is written, migrations included
    return connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()


@pytest.mark.parametrize("revision", PAST)
def test_a_store_with_a_row_in_every_table_upgrades_from_any_revision(scratch_store: Engine, revision: str) -> None:
    filled = _filled_at(scratch_store, revision)
    migrate(scratch_store)
    with scratch_store.connect() as connection:
        assert _revision(connection) == _revisions()[-1]
        assert _broken_keys(connection) == []
        if connection.dialect.name == "sqlite":
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar_one() == 1  # back on for the pool
        still = set(inspect(connection).get_table_names())
        emptied = [table for table in sorted(filled & still)
                   if connection.exec_driver_sql(f'SELECT count(*) FROM "{table}"').scalar_one() == 0]
    assert emptied == []


@pytest.mark.parametrize("scratch_store", ["sqlite"], indirect=True)
def test_an_upgrade_that_would_leave_a_broken_key_fails_and_changes_nothing(scratch_store: Engine) -> None:
    _filled_at(scratch_store, PAST[-1])
    with scratch_store.connect() as connection:  # a row pointing at nothing, as a store written with keys off may hold
        connection.connection.dbapi_connection.execute("PRAGMA foreign_keys=OFF")
        connection.exec_driver_sql("UPDATE case_events SET case_id = 999999")
        connection.commit()
        connection.connection.dbapi_connection.execute("PRAGMA foreign_keys=ON")
    with pytest.raises(RuntimeError, match="case_events → cases"):
        migrate(scratch_store)
    with scratch_store.connect() as connection:
        assert _revision(connection) == PAST[-1]
