"""SQLite writers of one process take turns on a lock handed over as each commits, rolls back or
drops its connection, so none waits in SQLite's own sleeping retry loop, and a failed writer
never keeps the others out."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from cityops.db import make_engine, unit_of_work, writer_active


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
