"""`cityops cases import`, `cases placeholders` and `responsibilities learn` on a fresh SQLite store,
mounted as the `cityops` command mounts them: the last line of an import is its JSON summary, rejected
rows land in the reject file, and a refused mapping changes nothing."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from cityops.cases.models import Case
from cityops.cli import app as cityops
from cityops.config import get_settings
from cityops.db import get_engine, migrate, unit_of_work
from cityops.org import service as org_service
from tests.factories import make_city
from tests.integration.history.conftest import IN_S1, export

MAPPING = """
[source]
name = "Test311"
timezone = "Asia/Shanghai"
datetime_formats = ["%Y-%m-%d %H:%M"]
[fields]
external_id = "id"
opened_at = "opened"
closed_at = "closed"
category = "type"
department = "agency"
lat = "lat"
lon = "lon"
[categories]
parent = "T311"
[compare]
area.street = "street"
"""


def invoke(*args: str):  # noqa: ANN201
    return CliRunner().invoke(cityops, list(args))


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("CITYOPS_DATA_DIR", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    migrate(get_engine())
    with unit_of_work() as session:
        make_city(session)
        org_service.create_department(session, code="D1", name="D1", level="district", area_code="990101",
                                      kind="x", origin="test")
    (tmp_path / "mapping.toml").write_text(MAPPING, encoding="utf-8")
    yield tmp_path
    get_engine().dispose()
    get_settings.cache_clear()


def cases() -> int:
    with unit_of_work() as session:
        return session.scalar(select(func.count()).select_from(Case))


def good(n: int) -> list[dict[str, str]]:
    return [{"id": f"G{i}", "opened": f"2025-03-{i + 1:02d} 09:00", "closed": f"2025-03-{i + 1:02d} 18:00",
             **IN_S1} for i in range(n)]


def test_import_prints_its_summary_last_and_writes_the_rejects(store: Path) -> None:
    (store / "export.csv").write_bytes(export(*good(6), {"id": "BAD", "opened": "yesterday", **IN_S1}))
    result = invoke("cases", "import", str(store / "export.csv"), "--mapping", str(store / "mapping.toml"),
                    "--batch", "4")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert (summary["imported"], summary["rejected"], summary["area.street"]) == (6, 1, 1.0)
    assert list(summary)[:4] == ["imported", "rejected", "seconds", "duplicates_flagged"]
    assert summary["rejects_file"] == str(Path.cwd() / "export.rejects.csv")
    [reject] = list(csv.DictReader((store / "export.rejects.csv").open(encoding="utf-8")))
    assert (reject["reject_row"], reject["reject_field"], reject["id"]) == ("8", "opened_at", "BAD")
    assert "row 8" in result.stderr and cases() == 6

    again = invoke("cases", "import", str(store / "export.csv"), "--mapping", str(store / "mapping.toml"),
                   "--rejects", str(store / "again.csv"))
    summary = json.loads(again.stdout.strip().splitlines()[-1])
    assert (summary["imported"], summary["already_imported"], summary["rejects_file"]) == (0, 6, str(
        store / "again.csv"))
    assert cases() == 6


def test_a_refused_mapping_changes_nothing_and_still_ends_with_json(store: Path) -> None:
    (store / "export.csv").write_bytes(export(*good(2)))
    (store / "bad.toml").write_text(MAPPING.replace('opened_at = "opened"', 'opened = "opened"'), encoding="utf-8")
    result = invoke("cases", "import", str(store / "export.csv"), "--mapping", str(store / "bad.toml"))
    assert result.exit_code == 1
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["imported"] == 0 and summary["field"] == "fields.opened"
    assert "refused, nothing was written" in result.stderr and cases() == 0


def test_a_file_without_the_mapped_columns_is_refused(store: Path) -> None:
    (store / "export.csv").write_text("id,opened\nA,2025-03-01 09:00\n", encoding="utf-8")
    result = invoke("cases", "import", str(store / "export.csv"), "--mapping", str(store / "mapping.toml"))
    assert result.exit_code == 1 and "lacks the column(s)" in result.stderr and cases() == 0


def test_an_unknown_mapping_name_lists_the_shipped_ones(store: Path) -> None:
    (store / "export.csv").write_bytes(export(*good(1)))
    result = invoke("cases", "import", str(store / "export.csv"), "--mapping", "paris_dansmarue")
    assert result.exit_code == 1 and "la_myla311" in result.stderr and "nyc_311" in result.stderr


def test_placeholders_finds_a_default_point(store: Path) -> None:
    rows = [{"id": f"P{i}", "opened": "2025-03-01 09:00", "lon": "121.3", "lat": "31.1"} for i in range(12)]
    (store / "export.csv").write_bytes(export(*good(3), *rows))
    result = invoke("cases", "placeholders", str(store / "export.csv"), "--mapping", str(store / "mapping.toml"),
                    "--min-rows", "10")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().splitlines()[-1] == "placeholder_points = [[121.3, 31.1]]"


def test_learn_writes_a_matrix_for_review(store: Path) -> None:
    (store / "export.csv").write_bytes(export(*good(6)))
    assert invoke("cases", "import", str(store / "export.csv"), "--mapping", str(store / "mapping.toml")).exit_code == 0
    result = invoke("responsibilities", "learn", "--out", str(store / "matrix.csv"), "--level", "street")
    assert result.exit_code == 0, result.output
    assert "wrote 1 cells" in result.stdout
    [cell] = list(csv.DictReader((store / "matrix.csv").open(encoding="utf-8")))
    assert (cell["category_code"], cell["area_code"], cell["lead_department_code"]) == ("T311-NOISE", "990101", "D1")
    assert cell["note"] == "learnt from history: 6 of 6 cases (100%)"
