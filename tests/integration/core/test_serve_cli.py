"""`cityops serve` keeps idle connections open longer than uvicorn's own 5 s, which closes a pooled
connection just as a client or a load balancer reuses it (connection reset, 502)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from typer.testing import CliRunner

from cityops.cli import app
from cityops.config import get_settings
from cityops.db import get_engine


@pytest.fixture
def started(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[dict[str, Any]]]:
    """What `serve` hands uvicorn, on a fresh store, instead of serving."""
    monkeypatch.setenv("CITYOPS_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: calls.append(kwargs))
    yield calls
    get_engine().dispose()
    get_settings.cache_clear()


def test_idle_connections_outlive_a_load_balancers_idle_timeout(started: list[dict[str, Any]]) -> None:
    assert CliRunner().invoke(app, ["serve", "--port", "8123"]).exit_code == 0
    assert (started[0]["port"], started[0]["timeout_keep_alive"]) == (8123, 75)
    assert CliRunner().invoke(app, ["serve", "--keep-alive", "5"]).exit_code == 0
    assert started[1]["timeout_keep_alive"] == 5


def test_a_keep_alive_below_one_second_is_refused_and_nothing_starts(started: list[dict[str, Any]]) -> None:
    refused = CliRunner().invoke(app, ["serve", "--keep-alive", "0"])
    assert refused.exit_code == 2 and "--keep-alive" in refused.output
    assert started == []
