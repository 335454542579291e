"""`cityops sensing compute-indicators` and `cityops sensing indicators` on a real store (SQLite file and
PostgreSQL): one round of the job computes what readings marked, the table shows the catalogue with how
many areas have a value; a second round finds nothing new."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from cityops.cli import app as cityops
from cityops.config import get_settings
from cityops.db import unit_of_work
from cityops.sensing import cli as sensing_cli
from cityops.sensing import service
from tests.integration.sensing.test_indicators import city_admin, make_indicator
from tests.integration.sensing.world import make_world, reading


@pytest.fixture
def store(scratch_store: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    monkeypatch.setenv("CITYOPS_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("CITYOPS_DATABASE_URL", scratch_store.url.render_as_string(hide_password=False))
    monkeypatch.setattr(sensing_cli.console, "width", 250)
    get_settings.cache_clear()
    yield scratch_store
    get_settings.cache_clear()


def test_one_round_from_the_command_line(store: Engine) -> None:
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    with unit_of_work(store) as session:
        make_world(session)
        admin = city_admin(session)
        make_indicator(session, admin, now=now)
        items = [reading("WL-1", now.isoformat(), 2.5), reading("WL-2", now.isoformat(), 1.5)]
        assert service.ingest(session, items=items, caller=admin, now=now + timedelta(seconds=1)).stored == 2
    computed = CliRunner().invoke(cityops, ["sensing", "compute-indicators"])
    assert computed.exit_code == 0, computed.output
    assert "'buckets': 1, 'changed': 2" in computed.output
    again = CliRunner().invoke(cityops, ["sensing", "compute-indicators"])
    assert "'buckets': 0, 'changed': 0" in again.output
    listed = CliRunner().invoke(cityops, ["sensing", "indicators"])
    assert listed.exit_code == 0, listed.output
    row = next(line for line in listed.output.splitlines() if "wl-max" in line)
    assert [cell.strip() for cell in row.strip("│┃ ").split("│")][2:7] == [
        "water", "street", "60 s", "max(water_level) of wl", "2"]
