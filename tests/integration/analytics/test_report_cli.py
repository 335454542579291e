"""`cityops report` on a real store (SQLite file and PostgreSQL): the table on screen and the .xlsx
file give, per department, exactly what the cases' timelines and step deadlines say — a return counts
against the department that returned, a late handling step spoils the on-time closure and makes the
case overdue, as does an extension asked for after the deadline had passed (which spoils the on-time
closure too), a step still waiting past its deadline is overdue now, a failed verification is rework —
and nothing else: the counters kept on the case rows and the sweeper's overdue marks are not read. The
API answers the same figures as JSON, CSV and .xlsx."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from fastapi.testclient import TestClient
from shapely.geometry import box
from sqlalchemy import Engine, update
from typer.testing import CliRunner

from cityops.analytics import cli as report_cli
from cityops.analytics.export import DEFINITIONS_SHEET
from cityops.analytics.figures import DEFINITIONS, HEADINGS
from cityops.calendar.workcalendar import WorkCalendar
from cityops.cases import service
from cityops.cases.channels import Channel
from cityops.cases.lifecycle import Action, Actor, ActorKind
from cityops.cases.models import Case, CaseDeadline
from cityops.categories import service as categories_service
from cityops.cli import app as cityops
from cityops.config import Settings, get_settings
from cityops.db import unit_of_work
from cityops.geo.locator import AreaShape, Locator
from cityops.main import create_app
from cityops.org import service as org_service
from tests.factories import login, make_city, make_user

SHANGHAI = ZoneInfo("Asia/Shanghai")
CALENDAR = WorkCalendar()
PERIOD = {"start": "2025-03-01T00:00:00+08:00", "end": "2025-04-01T00:00:00+08:00"}


def local(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2025, 3, day, hour, minute, tzinfo=SHANGHAI)


def staff(role: str, department: str | None = None) -> Actor:
    return Actor(kind=ActorKind.user, id="1", role=role, name=role, department=department)


CITIZEN = Actor(kind=ActorKind.citizen, id=None, role="citizen", name="citizen")


def build_history(engine: Engine) -> None:
    """Five cases in March 2025 (no holidays): one returned by A and handled by B on time, rated 4;
    one handled by A late and reworked, rated 2; one rejected; one dispatched to B and never
    acknowledged; one whose handling A had extended only after its deadline had passed, then met."""
    with unit_of_work(engine) as session:
        city = make_city(session)
        categories_service.create_category(session, code="E01", name="市容环境", kind="event", origin="test",
                                           time_limits={"handle": "2wh"})
        for code in ("A", "B"):
            org_service.create_department(session, code=code, name=f"{code}队", level="district", area_code="990101",
                                          kind="x", origin="test")
        receiver = org_service.principal_of_user(session, make_user(session, username="op", roles=["operator"],
                                                                    area_code="990000"))
        locator = Locator([AreaShape(a.id, a.code, a.name, a.level, a.parent_id,
                                     box(a.min_lon, a.min_lat, a.max_lon, a.max_lat)) for a in city.areas.values()])

        def new_case(title: str, lon: float, at: datetime) -> Case:
            report = service.Report(channel=Channel.hotline_12345, title=title, category_code="E01", lon=lon,
                                    lat=31.05)
            return service.intake(session, report=report, actor=staff("operator"), receiver=receiver,
                                  locator=locator, calendar=CALENDAR, at=at, policy=service.IntakePolicy()).case

        def step(case: Case, action: Action, actor: Actor, at: datetime, **kwargs) -> None:  # noqa: ANN003
            service.act(session, case=case, action=action, actor=actor, at=at, calendar=CALENDAR, **kwargs)

        first = new_case("人行道破损", 121.02, local(3, 9))
        step(first, Action.register, staff("operator"), local(3, 9, 10))
        step(first, Action.dispatch, staff("dispatcher"), local(3, 9, 20), data={"lead": "A"})
        step(first, Action.return_, staff("handler", "A"), local(3, 9, 30), reason="不属于本单位")
        step(first, Action.reassign, staff("dispatcher"), local(3, 9, 40), reason="改派", data={"lead": "B"})
        step(first, Action.acknowledge, staff("handler", "B"), local(3, 9, 50))
        step(first, Action.report, staff("handler", "B"), local(3, 10, 40), reason="已修复")
        step(first, Action.verify, staff("inspector"), local(3, 11), data={"passed": True})
        step(first, Action.rate, CITIZEN, local(3, 12), data={"score": 4})

        second = new_case("井盖缺失", 121.12, local(4, 9))
        step(second, Action.register, staff("operator"), local(4, 9, 10))
        step(second, Action.dispatch, staff("dispatcher"), local(4, 9, 20), data={"lead": "A"})
        step(second, Action.acknowledge, staff("handler", "A"), local(4, 9, 30))
        step(second, Action.report, staff("handler", "A"), local(4, 15, 30), reason="已补")  # 2wh ran out 11:30
        step(second, Action.verify, staff("inspector"), local(4, 16), reason="尺寸不符", data={"passed": False})
        step(second, Action.report, staff("handler", "A"), local(4, 17), reason="已更换")
        step(second, Action.verify, staff("inspector"), local(4, 17, 30), data={"passed": True})
        step(second, Action.rate, CITIZEN, local(4, 18), data={"score": 2})

        third = new_case("咨询", 121.32, local(5, 9))
        step(third, Action.reject, staff("operator"), local(5, 9, 5), reason="非城市管理事项")

        fourth = new_case("路灯不亮", 121.02, local(6, 9))
        step(fourth, Action.register, staff("operator"), local(6, 9, 10))
        step(fourth, Action.dispatch, staff("dispatcher"), local(6, 9, 20), data={"lead": "B"})  # 2wh: 11:20

        fifth = new_case("树木倒伏", 121.02, local(7, 9))
        step(fifth, Action.register, staff("operator"), local(7, 9, 10))
        step(fifth, Action.dispatch, staff("dispatcher"), local(7, 9, 20), data={"lead": "A"})
        step(fifth, Action.acknowledge, staff("handler", "A"), local(7, 9, 30))  # handling due 11:30
        step(fifth, Action.request_extension, staff("handler", "A"), local(7, 12), reason="需要吊车",
             data={"until": local(10, 18).isoformat()})
        step(fifth, Action.approve_extension, staff("dispatcher"), local(7, 12, 30))
        step(fifth, Action.report, staff("handler", "A"), local(10, 10), reason="已清理")
        step(fifth, Action.verify, staff("inspector"), local(10, 10, 30), data={"passed": True})


# group, its name, cases, closure, on time, overdue cases, overdue rate, overdue now, rework, return,
# satisfaction, rating, median and mean handling hours
EXPECTED = {
    "A": ["A", "A队", 2, 1.0, 0.0, 2, 1.0, 0, 0.5, 0.3333, 0.0, 2.0, 39.42, 39.42],
    "B": ["B", "B队", 2, 0.5, 1.0, 1, 0.5, 1, 0.0, 0.0, 1.0, 4.0, 1.0, 1.0],
    "(none)": ["(none)", None, 1, None, None, 0, 0.0, 0, None, None, None, None, None, None],
}


@pytest.fixture
def store(scratch_store: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    monkeypatch.setenv("CITYOPS_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("CITYOPS_DATABASE_URL", scratch_store.url.render_as_string(hide_password=False))
    monkeypatch.setattr(report_cli.console, "width", 250)
    get_settings.cache_clear()
    build_history(scratch_store)
    yield scratch_store
    get_settings.cache_clear()


def run_report(tmp_path: Path) -> tuple[list[list[object]], list[list[str]], str]:
    sheet_path = tmp_path / "performance.xlsx"
    result = CliRunner().invoke(cityops, ["report", "--by", "department", "--start", PERIOD["start"],
                                          "--end", PERIOD["end"], "--xlsx", str(sheet_path)])
    assert result.exit_code == 0, result.output
    shown = [[cell.strip() for cell in line.strip("│┃").split("│")] for line in result.output.splitlines()
             if re.match(r"^│ \S", line)]
    sheet = openpyxl.load_workbook(sheet_path).active
    return [list(row) for row in sheet.iter_rows(min_row=2, values_only=True)], shown, result.output


def test_the_report_reads_every_figure_off_the_timelines(store: Engine, tmp_path: Path) -> None:
    rows, shown, _ = run_report(tmp_path)
    assert {row[0]: row for row in rows} == EXPECTED
    assert {row[0]: row for row in shown} == {
        group: ["–" if value is None else str(value) for value in values] for group, values in EXPECTED.items()}
    # The counters on the case rows are projections for the work queues, and the overdue marks the
    # sweeper's (none ran here); the report reads neither.
    with unit_of_work(store) as session:
        session.execute(update(Case).values(rework_count=7, return_count=7, rating=None, status="reported",
                                            closed_at=None))
        session.execute(update(CaseDeadline).values(overdue_at=local(1, 0)))
    assert run_report(tmp_path)[0] == rows


def test_each_figure_is_explained_alike_on_screen_in_the_spreadsheet_and_in_the_api(store: Engine,
                                                                                    tmp_path: Path) -> None:
    _, _, output = run_report(tmp_path)
    explained = [line for line in output.splitlines() if line.split(": ", 1)[0] in HEADINGS.values()]
    assert explained == [f"{HEADINGS[key]}: {DEFINITIONS[key]}" for key in HEADINGS]
    notes = openpyxl.load_workbook(tmp_path / "performance.xlsx")[DEFINITIONS_SHEET]
    assert [tuple(row) for row in notes.iter_rows(values_only=True)] == [
        (HEADINGS[key], DEFINITIONS[key]) for key in HEADINGS]
    with served(store, tmp_path) as (client, _):
        schema = client.get("/openapi.json").json()["components"]["schemas"]["PerformanceRow"]["properties"]
    assert {key: figure["description"] for key, figure in schema.items()} == DEFINITIONS


@contextmanager
def served(store: Engine, tmp_path: Path) -> Iterator[tuple[TestClient, dict[str, str]]]:
    """The API on the same store, and the city-wide operator's bearer header."""
    settings = Settings(environment="test", data_dir=tmp_path, secret_key="test-secret-" + "x" * 32,
                        demo_password="demo-pass-123", sweep_interval_s=0)
    with TestClient(create_app(settings, store), raise_server_exceptions=False) as client:
        yield client, login(client, "op")


def as_number(cell: str) -> object:
    """A CSV cell as the JSON has it: empty for none, else a whole number or a fraction."""
    return None if cell == "" else float(cell) if "." in cell else int(cell)


def test_the_api_answers_the_same_figures_as_json_csv_and_xlsx(store: Engine, tmp_path: Path) -> None:
    on_screen, _, _ = run_report(tmp_path)
    with served(store, tmp_path) as (client, op):
        answer = client.get("/api/v1/reports/performance", params=PERIOD, headers=op)
        as_csv = client.get("/api/v1/reports/performance", params={**PERIOD, "format": "csv"}, headers=op)
        accepted = client.get("/api/v1/reports/performance", params=PERIOD, headers={**op, "Accept": "text/csv"})
        json_first = client.get("/api/v1/reports/performance", params=PERIOD,
                                headers={**op, "Accept": "application/json, text/csv;q=0.5"})
        sheet = client.get("/api/v1/reports/performance", params={**PERIOD, "format": "xlsx"}, headers=op)
    assert answer.status_code == 200, answer.text
    from_json = [[row[key] for key in HEADINGS] for row in answer.json()["rows"]]
    assert {row[0]: row for row in from_json} == EXPECTED
    assert from_json == on_screen

    assert as_csv.status_code == 200, as_csv.text
    assert as_csv.headers["content-type"] == "text/csv; charset=utf-8"
    assert as_csv.headers["content-disposition"] == 'attachment; filename="performance-by-department.csv"'
    assert as_csv.content.startswith(b"\xef\xbb\xbf")  # the byte-order mark Excel needs for the Chinese headings
    header, *lines = list(csv.reader(io.StringIO(as_csv.content.decode("utf-8-sig"))))
    assert header == list(HEADINGS.values())
    assert [[line[0], line[1] or None, *map(as_number, line[2:])] for line in lines] == from_json
    assert accepted.status_code == 200 and accepted.content == as_csv.content
    assert json_first.headers["content-type"] == "application/json" and json_first.json() == answer.json()

    workbook = openpyxl.load_workbook(io.BytesIO(sheet.content)).active
    assert [list(row) for row in workbook.iter_rows(min_row=2, values_only=True)] == from_json


def test_an_unknown_format_is_refused_naming_the_field(store: Engine, tmp_path: Path) -> None:
    with served(store, tmp_path) as (client, op):
        refused = client.get("/api/v1/reports/performance", params={**PERIOD, "format": "pdf"}, headers=op)
    assert refused.status_code == 422
    assert refused.headers["content-type"] == "application/problem+json"
    assert (refused.json()["code"], refused.json()["field"]) == ("invalid_input", "format")


def test_a_period_without_cases_gives_an_empty_report_and_a_bad_grouping_is_refused(store: Engine,
                                                                                    tmp_path: Path) -> None:
    empty = CliRunner().invoke(cityops, ["report", "--start", "2024-01-01T00:00:00+08:00",
                                         "--end", "2024-02-01T00:00:00+08:00"])
    assert empty.exit_code == 0 and not re.search(r"^│ \S", empty.output, re.MULTILINE)
    bad = CliRunner().invoke(cityops, ["report", "--by", "colour"])
    assert bad.exit_code != 0 and "department, area, category, month or week" in bad.output
