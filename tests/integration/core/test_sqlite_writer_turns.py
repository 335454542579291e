"""SQLite writers of one process take turns on a lock handed over as each commits, rolls back or
drops its connection, so none waits in SQLite's own sleeping retry loop, and a failed writer
never keeps the others out."""

from __future__ import annotations

import gc
import threading
import weakref
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from cityops.config import Settings
from cityops.db import make_engine, migrate, unit_of_work, writer_active
from cityops.main import create_app


@pytest.fixture
def store(tmp_path: Path) -> Engine:
    engine = make_engine(f"sqlite:///{tmp_path / 'turns.db'}")
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE reports (id INTEGER PRIMARY KEY, body TEXT NOT NULL)")
    yield engine
    engine.dispose()


def count(engine: Engine) -> int:
    with engine.connect() as connection:
        return connection.exec_driver_sql("SELECT count(*) FROM reports").scalar()


def test_a_writer_holds_the_turn_until_it_commits(store: Engine) -> None:
    with store.begin() as connection:
        connection.exec_driver_sql("INSERT INTO reports (body) VALUES ('a')")
        assert writer_active(store)
    assert not writer_active(store)
    assert count(store) == 1


def test_readers_take_no_turn(store: Engine) -> None:
    with unit_of_work(store, read_only=True) as session:
        session.execute(text("SELECT count(*) FROM reports")).scalar()
        assert not writer_active(store)


def test_a_failed_writer_hands_the_turn_over(store: Engine) -> None:
    with pytest.raises(Exception, match="NOT NULL"), store.begin() as connection:
        connection.exec_driver_sql("INSERT INTO reports (body) VALUES (NULL)")
    assert not writer_active(store)
    with unit_of_work(store) as session:
        session.execute(text("INSERT INTO reports (body) VALUES ('b')"))
    assert not writer_active(store)
    assert count(store) == 1


def test_a_writer_whose_connection_is_dropped_hands_the_turn_over(store: Engine) -> None:
    with pytest.raises(ConnectionError), store.connect() as connection, connection.begin():
        connection.exec_driver_sql("INSERT INTO reports (body) VALUES ('lost')")
        assert writer_active(store)
        connection.invalidate()  # as when the driver reports the connection broken
        assert not writer_active(store)
        raise ConnectionError("the connection was dropped")
    assert count(store) == 0


def test_concurrent_writers_all_land(store: Engine) -> None:
    def write(worker: int) -> None:
        for number in range(25):
            with unit_of_work(store) as session:
                session.execute(text("INSERT INTO reports (body) VALUES (:body)"), {"body": f"{worker}-{number}"})

    threads = [threading.Thread(target=write, args=(worker,)) for worker in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert count(store) == 100
    assert not writer_active(store)


def test_a_reader_runs_while_a_writer_holds_the_turn(store: Engine) -> None:
    """A read-only unit of work begins deferred: it neither waits for the turn nor for SQLite's lock."""
    with store.begin() as connection:
        connection.exec_driver_sql("INSERT INTO reports (body) VALUES ('pending')")
        seen: list[int] = []
        reader = threading.Thread(target=lambda: seen.append(_read_count(store)))
        reader.start()
        reader.join(timeout=2)
        assert not reader.is_alive() and seen == [0]  # the writer's row is not committed yet
        assert writer_active(store)


def _read_count(engine: Engine) -> int:
    with unit_of_work(engine, read_only=True) as session:
        return session.execute(text("SELECT count(*) FROM reports")).scalar()


def test_a_get_request_is_served_while_a_writer_holds_the_turn(tmp_path: Path) -> None:
    """The API's own unit of work per request (not the tests' stand-in): a GET reads beside a writer."""
    settings = Settings(environment="test", data_dir=tmp_path, secret_key="t" * 40, sweep_interval_s=0)
    engine = make_engine(settings.sqlalchemy_url)
    migrate(engine)
    with TestClient(create_app(settings, engine)) as client, engine.begin() as writer:
        writer.exec_driver_sql("INSERT INTO change_stamps (name, version) VALUES ('a writer', 1)")
        answers: list[int] = []
        reader = threading.Thread(target=lambda: answers.append(
            client.get("/open311/v2/services.json").status_code))
        reader.start()
        reader.join(timeout=3)
        assert not reader.is_alive() and answers == [200]
        assert writer_active(engine)
    engine.dispose()


def test_units_of_work_keep_no_engine_alive(tmp_path: Path) -> None:
    """Nothing made for a unit of work (the read-only engine its readers connect through, say) holds
    on to the engine after it is done with, so a process that makes engines does not keep them all."""
    engine = make_engine(f"sqlite:///{tmp_path / 'gone.db'}")
    for read_only in (True, False):
        with unit_of_work(engine, read_only=read_only) as session:
            session.execute(text("SELECT 1"))
    engine.dispose()
    gone = weakref.ref(engine)
    del engine, session
    gc.collect()
    assert gone() is None
