"""A SQLite store with rows in it upgrades from any earlier revision to the newest: SQLite alters a
table by making it again and dropping the old one, which foreign keys refuse while other rows point at
it (a store with warnings could not take migration 0016). ``cityops.db.migrate`` runs the migrations
with foreign keys off and checks every key before committing; these tests put a row in every table
at each past revision, upgrade, and find every row still there and every key whole.

PostgreSQL alters tables in place, so the rebuild and its foreign-key trap are SQLite's alone."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, inspect, text

import cityops.db
from cityops.db import make_engine, migrate


def _revisions() -> list[str]:
    config = Config()
    config.set_main_option("script_location", str(Path(cityops.db.__file__).parent / "migrations"))
    return [script.revision for script in reversed(list(ScriptDirectory.from_config(config).walk_revisions()))]


PAST = _revisions()[:-1]


def _virtual_tables(connection: Connection) -> set[str]:
    """Full-text indexes and the shadow tables SQLite keeps for them: written by triggers, not by rows."""
    virtual = [row[0] for row in connection.exec_driver_sql(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND sql LIKE 'CREATE VIRTUAL TABLE%'")]
    return {name for name in inspect(connection).get_table_names()
            if any(name == table or name.startswith(f"{table}_") for table in virtual)}


def _placeholder(column: dict[str, Any], table: str) -> object:
    kind = str(column["type"]).upper()
    if "INT" in kind or "BOOL" in kind:
        return 1
    if "FLOAT" in kind or "NUMERIC" in kind or "REAL" in kind:
        return 1.0
    if "DATE" in kind or "TIME" in kind:
        return "2025-01-01 00:00:00.000000"
    if "JSON" in kind:
        return "{}"
    return f"{table}-{column['name']}"


def _row(connection: Connection, table: str, made: dict[str, int]) -> int:
    """A row of ``table`` with every column it requires, and a row for each table it points at; its id."""
    if table in made:
        return made[table]
    found = inspect(connection)
    keys = {column: key["referred_table"] for key in found.get_foreign_keys(table)
            for column in key["constrained_columns"]}
    values: dict[str, object] = {}
    for column in found.get_columns(table):
        name = column["name"]
        if name in keys and keys[name] != table:
            values[name] = _row(connection, keys[name], made)
        elif name not in keys and not column["nullable"] and not (column.get("primary_key") and name == "id"):
            values[name] = _placeholder(column, table)
    names = ", ".join(f'"{name}"' for name in values)
    connection.execute(text(f'INSERT INTO "{table}" ({names}) VALUES ({", ".join(f":{n}" for n in values)})'),
                       values)
    made[table] = connection.exec_driver_sql("SELECT last_insert_rowid()").scalar_one()
    return made[table]


def _store_at(tmp_path: Path, revision: str) -> tuple[Engine, set[str]]:
    """A store at ``revision`` with a row in every table; the tables filled."""
    engine = make_engine(f"sqlite:///{tmp_path / 'store.db'}")
    migrate(engine, revision)
    with engine.begin() as connection:
        made: dict[str, int] = {}
        for table in set(inspect(connection).get_table_names()) - _virtual_tables(connection) - {"alembic_version"}:
            _row(connection, table, made)
    return engine, set(made)


@pytest.mark.parametrize("revision", PAST)
def test_a_store_with_a_row_in_every_table_upgrades_from_any_revision(tmp_path: Path, revision: str) -> None:
    engine, filled = _store_at(tmp_path, revision)
    migrate(engine)
    with engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalar_one() == _revisions()[-1]
        assert connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall() == []
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar_one() == 1  # back on for the pool
        still = set(inspect(connection).get_table_names())
        emptied = [table for table in sorted(filled & still)
                   if connection.exec_driver_sql(f'SELECT count(*) FROM "{table}"').scalar_one() == 0]
    engine.dispose()
    assert emptied == []


def test_an_upgrade_that_would_leave_a_broken_key_fails_and_changes_nothing(tmp_path: Path) -> None:
    engine, _ = _store_at(tmp_path, PAST[-1])
    with engine.connect() as connection:  # a row pointing at nothing, as a store written with keys off may hold
        connection.connection.dbapi_connection.execute("PRAGMA foreign_keys=OFF")
        connection.exec_driver_sql("UPDATE case_events SET case_id = 999999")
        connection.commit()
        connection.connection.dbapi_connection.execute("PRAGMA foreign_keys=ON")
    with pytest.raises(RuntimeError, match="case_events → cases"):
        migrate(engine)
    with engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalar_one() == PAST[-1]
    engine.dispose()
