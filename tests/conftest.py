"""Shared fixtures: a migrated store per backend, a rolled-back session per test, an API client.

Storage tests run on SQLite always and on PostgreSQL at CITYOPS_TEST_POSTGRES_URL (default: the local
server); without a reachable PostgreSQL they skip with the reason, except in CI
(CITYOPS_TEST_REQUIRE_SERVICES=1), where that is a failure. Each test runs inside a transaction that is
rolled back, API requests included.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from cityops.config import Settings
from cityops.db import make_engine, migrate
from cityops.deps import get_session
from cityops.main import create_app

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"
POSTGRES_URL = os.environ.get("CITYOPS_TEST_POSTGRES_URL") or DEFAULT_POSTGRES_URL
REQUIRE_SERVICES = os.environ.get("CITYOPS_TEST_REQUIRE_SERVICES") == "1"

needs_shared_data = pytest.mark.skipif(not SHARED_DATA.is_dir(),
                                       reason=f"public data folder {SHARED_DATA} is absent")

BACKENDS = ["sqlite", "postgresql"]


def _postgres_unreachable_reason() -> str | None:
    try:
        probe = create_engine(make_url(POSTGRES_URL).set(drivername="postgresql+psycopg"),
                              connect_args={"connect_timeout": 3})
        with probe.connect():
            pass
        probe.dispose()
    except Exception as exc:  # noqa: BLE001  (any failure means: no PostgreSQL to test against)
        return f"PostgreSQL at {POSTGRES_URL} is unreachable ({type(exc).__name__}); set CITYOPS_TEST_POSTGRES_URL"
    return None


def _postgres_scratch_database(base_url: str) -> tuple[str, Engine]:
    """A throwaway database next to the one CITYOPS_TEST_POSTGRES_URL names, so tests never touch
    that database's own tables."""
    url = make_url(base_url).set(drivername="postgresql+psycopg")
    name = f"cityops_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    return url.set(database=name).render_as_string(hide_password=False), admin


@contextmanager
def migrated_store(backend: str, folder: Path) -> Iterator[Engine]:
    """A new, migrated, empty store: a SQLite file in ``folder``, or a scratch PostgreSQL database
    (skipped with the reason when PostgreSQL is unreachable, a failure in CI), dropped afterwards."""
    if backend == "sqlite":
        store = make_engine(f"sqlite:///{folder / 'cityops.db'}")
        migrate(store)
        yield store
        store.dispose()
        return
    reason = _postgres_unreachable_reason()
    if reason:
        if REQUIRE_SERVICES:
            pytest.fail(reason)
        pytest.skip(reason)
    url, admin = _postgres_scratch_database(POSTGRES_URL)
    store = make_engine(url)
    migrate(store)
    yield store
    store.dispose()
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session", params=BACKENDS)
def engine(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    with migrated_store(request.param, tmp_path_factory.mktemp("store")) as store:
        yield store


@pytest.fixture(params=BACKENDS)
def scratch_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A store of its own whose units of work really commit (for tests of concurrency and background
    workers, which run outside the rolled-back test transaction)."""
    with migrated_store(request.param, tmp_path) as store:
        yield store


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    """A session whose work is rolled back after the test; commits become savepoints."""
    connection = engine.connect()
    outer = connection.begin()
    db = Session(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)
    try:
        yield db
    finally:
        db.close()
        outer.rollback()
        connection.close()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    # No background sweeper: tests sweep explicitly, inside their own rolled-back transaction.
    return Settings(environment="test", data_dir=tmp_path, secret_key="test-secret-" + "x" * 32,
                    demo_password="demo-pass-123", sweep_interval_s=0)


@pytest.fixture
def app(settings: Settings, engine: Engine, session: Session):  # noqa: ANN201
    application = create_app(settings, engine)

    def same_session() -> Iterator[Session]:
        # A savepoint per request plays the unit of work: kept on success, undone on any error.
        savepoint = session.begin_nested()
        try:
            yield session
        except BaseException:
            savepoint.rollback()
            raise
        if savepoint.is_active:
            savepoint.commit()

    application.dependency_overrides[get_session] = same_session
    return application


@pytest.fixture
def client(app) -> Iterator[TestClient]:  # noqa: ANN001
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client
