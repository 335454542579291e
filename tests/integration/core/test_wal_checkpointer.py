"""The server copies SQLite's write-ahead log back from a thread of its own, so that no request's
commit waits for a checkpoint: its connections turn SQLite's automatic checkpoint off while the
checkpointer runs, and get it back once it stops."""

from __future__ import annotations

import threading
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from cityops.config import Settings
from cityops.db import WalCheckpointer, make_engine, migrate
from cityops.main import create_app


def automatic_checkpoint_pages(engine: Engine) -> int:
    with engine.connect() as connection:
        return connection.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar_one()


def store(folder: Path) -> Engine:
    engine = make_engine(f"sqlite:///{folder / 'cityops.db'}")
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE readings_sample (value BLOB)")
    return engine


def write_rows(engine: Engine, count: int) -> None:
    for _ in range(count):
        with engine.begin() as connection:
            connection.exec_driver_sql("INSERT INTO readings_sample VALUES (randomblob(2000))")


def test_commits_leave_the_log_to_the_checkpointer_while_it_runs(tmp_path: Path) -> None:
    engine = store(tmp_path)
    assert automatic_checkpoint_pages(engine) == 1000
    checkpointer = WalCheckpointer(engine, interval_s=60).start()
    try:
        assert automatic_checkpoint_pages(engine) == 0
        write_rows(engine, 800)  # past 1,000 pages: SQLite would have checkpointed inside a commit
        busy, logged, copied = checkpointer.round()
        assert busy == 0 and logged > 1000 and copied == logged
    finally:
        checkpointer.stop()
    assert automatic_checkpoint_pages(engine) == 1000
    with engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT count(*) FROM readings_sample").scalar_one() == 800


def test_a_round_never_waits_for_a_writer(tmp_path: Path) -> None:
    engine = store(tmp_path)
    checkpointer = WalCheckpointer(engine, interval_s=60).start()
    writing, done = threading.Event(), threading.Event()

    def open_writer() -> None:
        with engine.begin() as connection:  # takes the writers' turn and SQLite's write lock
            connection.exec_driver_sql("INSERT INTO readings_sample VALUES (randomblob(10))")
            writing.set()
            done.wait(10)

    try:
        write_rows(engine, 50)
        writer = threading.Thread(target=open_writer)
        writer.start()
        assert writing.wait(10)
        busy, logged, copied = checkpointer.round()  # would block for the writer if it took its turn
        assert busy == 0 and copied == logged > 0
        done.set()
        writer.join()
    finally:
        done.set()
        checkpointer.stop()


def test_the_server_runs_one_for_a_sqlite_store_and_stops_it_on_shutdown(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'cityops.db'}")
    migrate(engine)
    settings = Settings(environment="test", data_dir=tmp_path, secret_key="s" * 40, sweep_interval_s=0)
    with TestClient(create_app(settings, engine)) as client:
        assert client.get("/healthz").status_code == 200
        assert automatic_checkpoint_pages(engine) == 0
    assert automatic_checkpoint_pages(engine) == 1000


def test_a_server_told_not_to_leaves_sqlite_its_own_checkpoints(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'cityops.db'}")
    migrate(engine)
    settings = Settings(environment="test", data_dir=tmp_path, secret_key="s" * 40, sweep_interval_s=0,
                        sqlite_checkpoint_interval_s=0)
    with TestClient(create_app(settings, engine)):
        assert automatic_checkpoint_pages(engine) == 1000
