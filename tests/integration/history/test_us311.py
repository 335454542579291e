"""The shipped mappings on the real 311 exports in ../shared/data/us311, end to end through the
commands: boundaries imported as the mappings' comments say, a sample of each file imported (every
k-th record, to keep the run short), agreement with the source's own district columns measured, a
matrix learnt from the history and accepted by the matrix import. The full files' figures are in
the report of `cityops cases import` (the data README expects 98.5–99.9 % agreement); here only a
floor is asserted, never a measured value."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from cityops.cases.models import Case
from cityops.config import get_settings
from cityops.db import get_engine, migrate, unit_of_work
from tests.conftest import SHARED_DATA, needs_shared_data
from tests.integration.history.test_cli import invoke

pytestmark = needs_shared_data
LA, NYC = SHARED_DATA / "us311" / "la", SHARED_DATA / "us311" / "nyc"
FLOOR = 0.9


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("CITYOPS_DATA_DIR", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    migrate(get_engine())
    yield tmp_path
    get_engine().dispose()
    get_settings.cache_clear()


def sample(source: Path, out: Path, every: int, first: int = 0) -> int:
    """Every ``every``-th record of ``source`` from record ``first`` on (line breaks inside cells
    kept); returns how many."""
    with source.open(encoding="utf-8", newline="") as stream, out.open("w", encoding="utf-8", newline="") as target:
        reader, writer = csv.reader(stream), csv.writer(target)
        writer.writerow(next(reader))
        kept = [row for number, row in enumerate(reader) if number % every == first % every]
        writer.writerows(kept)
    return len(kept)


def areas(*args: str) -> None:
    result = invoke("areas", "import", *args)
    assert result.exit_code == 0, result.output


def imported(*args: str) -> dict:
    result = invoke("cases", "import", *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout.strip().splitlines()[-1])


def la_areas() -> None:
    areas(str(LA / "boundaries" / "la-city-council-districts-2012.json"), "--level", "district", "--city",
          "Los Angeles", "--code-field", "slug", "--name-field", "name")
    areas(str(LA / "boundaries" / "nc-boundary-2019-modified.json"), "--level", "street", "--code-field", "nc_id",
          "--name-field", "name")


def nyc_areas() -> None:
    areas(str(NYC / "boundaries" / "boroughs.geojson"), "--level", "district", "--city", "New York City",
          "--code-field", "BoroCode", "--name-field", "BoroName")
    areas(str(NYC / "boundaries" / "community_districts.geojson"), "--level", "street", "--code-field", "BoroCD",
          "--name-field", "BoroCD")


def test_la_history_agrees_with_its_council_districts_and_teaches_a_matrix(store: Path) -> None:
    la_areas()
    # record 1013 (line 1015) is closed on a date whose midnight falls before its opening
    rows = sample(LA / "myla311_2017_subset_10k.csv", store / "la.csv", every=20, first=1013)
    summary = imported(str(store / "la.csv"), "--mapping", "la_myla311", "--create-departments")
    assert summary["imported"] + summary["rejected"] == summary["rows"] == rows
    assert summary["area.district"] > FLOOR and summary["area.street"] > FLOOR
    assert summary["compare_counts"]["area.district"]["compared"] > 0.7 * rows
    assert summary["unlocated"]["no_coordinates"] > 0  # the export leaves location-less records blank
    assert summary["closed"] > 0.9 * summary["imported"]
    assert summary["categories_created"] > 5 and set(summary["departments_created"]) >= {"BOS", "OCB"}
    rejects = list(csv.DictReader((store / "la.rejects.csv").open(encoding="utf-8")))
    assert len(rejects) == summary["rejected"] >= 1
    assert all("before it was opened" in r["reject_reason"] for r in rejects)  # closed on a date, at midnight

    learnt = invoke("responsibilities", "learn", "--out", str(store / "matrix.csv"), "--source", "MyLA311")
    assert learnt.exit_code == 0, learnt.output
    applied = invoke("responsibilities", "apply", str(store / "matrix.csv"))
    assert applied.exit_code == 0, applied.output
    assert json.loads(applied.stdout.strip().splitlines()[-1])["created"] >= 5
    leads = {row["category_code"]: row["lead_department_code"]
             for row in csv.DictReader((store / "matrix.csv").open(encoding="utf-8"))
             if row["area_code"] == "Los Angeles"}
    assert leads["LA311-BULKY-ITEMS"] == "BOS" and leads["LA311-GRAFFITI-REMOVAL"] == "OCB"

    again = imported(str(store / "la.csv"), "--mapping", "la_myla311")
    assert (again["imported"], again["already_imported"]) == (0, summary["imported"])
    with unit_of_work() as session:
        assert session.scalar(select(func.count()).select_from(Case)) == summary["imported"]


def test_nyc_history_agrees_with_its_boroughs_and_community_districts(store: Path) -> None:
    nyc_areas()
    rows = sample(NYC / "nyc311_2014_2019_twosix.csv", store / "nyc.csv", every=3)
    summary = imported(str(store / "nyc.csv"), "--mapping", "nyc_311", "--create-departments")
    assert summary["imported"] + summary["rejected"] == rows
    assert summary["area.district"] > FLOOR and summary["area.street"] > FLOOR
    assert summary["compare_counts"]["area.street"]["no_source_value"] > 0  # "0 Unspecified" boards


def test_nyc_api_export_with_line_breaks_replays_through_the_live_pipeline(store: Path) -> None:
    nyc_areas()
    rows = sample(NYC / "nyc311_2024_coms6111.csv", store / "api.csv", every=4)
    summary = imported(str(store / "api.csv"), "--mapping", "nyc_311_api", "--replay")
    assert summary["imported"] + summary["rejected"] == rows and summary["rejected"] == 0
    assert summary["closed"] == 0 and summary["replay_shift_days"] > 0
    assert summary["area.district"] > FLOOR and summary["area.street"] > FLOOR
