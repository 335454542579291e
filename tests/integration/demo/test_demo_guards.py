"""The demo's guards: it refuses stores holding other data, bad requests, and writes nothing then;
and the ``cityops demo`` command."""

from __future__ import annotations

from pathlib import Path

import pytest
import shapely
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cityops.demo.service import load_demo
from cityops.errors import Conflict, InvalidInput
from cityops.geo import service as geo_service
from cityops.geo.levels import AreaLevel
from cityops.geo.models import Area, PlaceholderPoint
from cityops.org.models import Department, OpsCentre, Responsibility, User
from tests.conftest import SHARED_DATA, needs_shared_data
from tests.factories import make_city, make_user

pytestmark = needs_shared_data
PASSWORD = "demo-pass-123"


def row_counts(session: Session) -> dict[str, int]:
    return {model.__tablename__: session.scalar(select(func.count()).select_from(model))
            for model in (Area, Department, OpsCentre, User, Responsibility, PlaceholderPoint)}


def test_refuses_a_store_with_other_data_and_writes_nothing(session: Session) -> None:
    make_city(session)
    before = row_counts(session)
    with pytest.raises(Conflict) as caught:
        load_demo(session, city="shanghai", data_dir=SHARED_DATA, password=PASSWORD)
    assert caught.value.code == "store_not_demo"
    assert caught.value.extra["non_demo"]["areas"] == before["areas"]
    assert row_counts(session) == before


def test_refuses_when_the_city_exists_as_real_data(session: Session) -> None:
    geo_service.create_area(session, code="310000", name="上海市", level=AreaLevel.city, parent=None,
                            geometry=shapely.box(121, 31, 122, 32), origin="import")
    with pytest.raises(Conflict) as caught:
        load_demo(session, city="shanghai", data_dir=SHARED_DATA, password=PASSWORD)
    assert caught.value.code == "store_not_demo"


def test_bad_requests_write_nothing(session: Session, tmp_path: Path) -> None:
    with pytest.raises(InvalidInput) as caught:
        load_demo(session, city="hangzhou", data_dir=SHARED_DATA, password=PASSWORD)
    assert caught.value.field == "city"
    with pytest.raises(InvalidInput) as caught:
        load_demo(session, city="shanghai", data_dir=tmp_path, password=PASSWORD)
    assert caught.value.code == "demo_data_missing" and str(tmp_path) in caught.value.detail
    with pytest.raises(InvalidInput) as caught:
        load_demo(session, city="shanghai", data_dir=SHARED_DATA, password="short")
    assert caught.value.field == "password"
    for count in (-1, 1.5, True):
        with pytest.raises(InvalidInput) as caught:
            load_demo(session, city="shanghai", data_dir=SHARED_DATA, password=PASSWORD, cases=count)
        assert caught.value.field == "cases"
    assert sum(row_counts(session).values()) == 0


def test_refuses_a_store_with_one_real_user(session: Session) -> None:
    city = make_city(session)
    make_user(session, username="someone", roles=["operator"], area_code=city["990000"].code)
    session.execute(Area.__table__.update().values(origin="demo"))
    with pytest.raises(Conflict) as caught:
        load_demo(session, city="nanjing", data_dir=SHARED_DATA, password=PASSWORD)
    assert caught.value.extra["non_demo"] == {"users": 1}


def test_command_loads_once_then_reports_what_is_there(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from cityops.config import get_settings
    from cityops.demo.cli import app

    monkeypatch.setenv("CITYOPS_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("CITYOPS_SHARED_DATA_DIR", str(SHARED_DATA))
    monkeypatch.delenv("CITYOPS_DATABASE_URL", raising=False)
    monkeypatch.delenv("CITYOPS_DEMO_PASSWORD", raising=False)
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        refused = runner.invoke(app, ["--city", "nanjing", "--cases", "-1"], env={"COLUMNS": "200"})
        assert refused.exit_code == 1
        assert "the number of demo cases must be a whole number from 0 to" in refused.output
        assert not (tmp_path / "cityops.db").exists()  # refused before the store was even opened
        first = runner.invoke(app, ["--city", "nanjing", "--cases", "40"], env={"COLUMNS": "200"})
        assert first.exit_code == 0, first.output
        assert "demo password: cityops-demo" in first.output
        assert "loaded the 南京市 demo" in first.output
        assert "made 40 cases over the last 30 days through the closed loop in" in first.output
        assert "closed" in first.output.split("made 40 cases")[1]
        assert "nj.handler.street" in first.output and "梅园新村街道办事处" in first.output
        assert "雨花台区" in first.output  # the repaired boundary is reported
        second = runner.invoke(app, ["--city", "nanjing"], env={"COLUMNS": "200"})
        assert second.exit_code == 0, second.output
        assert "already loaded; nothing changed" in second.output
        assert "made" not in second.output  # a second run adds no cases
        assert "nj.admin.city" in second.output
        monkeypatch.setenv("CITYOPS_SHARED_DATA_DIR", str(tmp_path))
        get_settings.cache_clear()
        missing = runner.invoke(app, ["--city", "shanghai"], env={"COLUMNS": "200"})
        assert missing.exit_code == 1
        assert "public data folder" in missing.output
    finally:
        get_settings.cache_clear()
