"""`cityops areas import` on real boundary files and on broken ones, against a fresh SQLite store."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from cityops.cli import app
from cityops.config import get_settings
from cityops.db import get_engine, unit_of_work
from cityops.models import Area
from tests.conftest import SHARED_DATA, needs_shared_data

CHINA = SHARED_DATA / "china"


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("CITYOPS_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    yield tmp_path
    get_engine().dispose()
    get_settings.cache_clear()


def area_count() -> int:
    with unit_of_work() as session:
        return session.scalar(select(func.count()).select_from(Area))


def run(*args: str):  # noqa: ANN201
    return CliRunner().invoke(app, ["areas", "import", *args])


@needs_shared_data
def test_imports_districts_under_a_new_city_and_prints_a_summary(store: Path) -> None:
    result = run(str(CHINA / "shanghai_310000_districts.json"), "--level", "district", "--code-field", "adcode",
                 "--name-field", "name", "--city", "上海市", "--crs", "gcj02")
    assert result.exit_code == 0, result.output
    assert "created city 310000" in result.output and "imported 16 district areas" in result.output
    assert area_count() == 17


@needs_shared_data
def test_invalid_polygons_are_repaired_and_reported(store: Path) -> None:
    result = run(str(CHINA / "nanjing_320100_districts.json"), "--level", "district", "--code-field", "adcode",
                 "--name-field", "name", "--city", "南京市", "--crs", "gcj02")
    assert result.exit_code == 0, result.output
    assert "created city 320100" in result.output
    assert result.output.count("repaired") >= 2 and "雨花台区" in result.output and "高淳区" in result.output
    with unit_of_work() as session:
        assert session.scalar(select(func.count()).select_from(Area).where(Area.level == "district")) == 11


@needs_shared_data
def test_a_file_with_one_bad_feature_imports_nothing(store: Path, tmp_path: Path) -> None:
    collection = json.loads((CHINA / "shanghai_310000_districts.json").read_text(encoding="utf-8"))
    collection["features"][5]["properties"]["adcode"] = ""
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps(collection), encoding="utf-8")
    result = run(str(broken), "--level", "district", "--code-field", "adcode", "--name-field", "name",
                 "--city", "上海市", "--crs", "gcj02")
    assert result.exit_code == 1
    assert "nothing was written" in result.output and "features[5].properties.adcode" in result.output
    assert area_count() == 0


def test_streets_without_any_district_are_refused(store: Path, tmp_path: Path) -> None:
    square = {"type": "Feature", "properties": {"c": "S1", "n": "x"},
              "geometry": {"type": "Polygon", "coordinates": [[[121, 31], [121.1, 31], [121.1, 31.1], [121, 31]]]}}
    path = tmp_path / "streets.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [square]}), encoding="utf-8")
    result = run(str(path), "--level", "street", "--code-field", "c", "--name-field", "n")
    assert result.exit_code == 1 and "no district exists" in result.output
    assert area_count() == 0
