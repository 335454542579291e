"""Fixtures for integration tests that need stores of their own."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from cityops.db import make_engine, migrate
from tests.conftest import POSTGRES_URL, REQUIRE_SERVICES, _postgres_scratch_database, _postgres_unreachable_reason


@pytest.fixture(params=["sqlite", "postgresql"])
def scratch_store(request: pytest.FixtureRequest, tmp_path) -> Iterator[Engine]:  # noqa: ANN001
    """A store of its own, migrated and empty, whose units of work really commit (for tests of
    concurrency and background workers, which run outside the rolled-back test transaction)."""
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'race.db'}")
        migrate(engine)
        yield engine
        engine.dispose()
        return
    reason = _postgres_unreachable_reason()
    if reason:
        pytest.fail(reason) if REQUIRE_SERVICES else pytest.skip(reason)
    url, admin = _postgres_scratch_database(POSTGRES_URL)
    engine = make_engine(url)
    migrate(engine)
    yield engine
    engine.dispose()
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))
    admin.dispose()


