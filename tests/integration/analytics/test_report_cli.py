"""`cityops report` on a real store (SQLite file and PostgreSQL): the table on screen and the .xlsx
file give, per department, exactly what the cases' timelines and step deadlines say — a return counts
against the department that returned, a late handling step spoils the on-time closure and makes the
case overdue, as does an extension asked for after the deadline had passed (which spoils the on-time
closure too), a step still waiting past its deadline is overdue now, a failed verification is rework —
and nothing else: the counters kept on the case rows and the sweeper's overdue marks are not read. Each
rate comes with the two counts it divides, and a 合计 row with the figures of all the cases together.
The API answers the same figures as JSON, CSV and .xlsx."""

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
from cityops.analytics.figures import DEFINITIONS, EXPLANATIONS, FIGURES, HEADINGS, MAIN_FIGURES
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
    None: [None, "未分派", 1, None, None, 0, 0.0, 0, None, None, None, None, None, None],
}
# the counts each rate divides: registered, closed, closed on time, handled, reworked, dispatches, returns,
# rated, satisfied (A: three dispatches, one of them returned; B: the reassignment and the fourth case)
COUNTED = {"A": [2, 2, 0, 2, 1, 3, 1, 1, 0], "B": [2, 1, 1, 1, 0, 2, 0, 1, 1], None: [0, 0, 0, 0, 0, 0, 0, 0, 0]}
COUNTS = ["registered", "closed", "closed_on_time", "handled", "reworked", "dispatches", "returns", "rated",
          "satisfied"]
# the totals: five cases, four registered, three closed (one on time), one of three handled reworked…
TOTAL = {"cases": 5, "registered": 4, "closed": 3, "closure_rate": 0.75, "closed_on_time": 1,
         "on_time_closure_rate": 0.3333, "overdue_cases": 3, "overdue_now": 1, "handled": 3, "reworked": 1,
         "rework_rate": 0.3333, "dispatches": 5, "returns": 1,
         "return_rate": 0.2, "rated": 2, "satisfied": 1, "satisfaction_rate": 0.5, "mean_rating": 3.0}
# the table on screen: each rate with the two counts it divides
SHOWN = {
    "A队": ["A队", "A", "2", "100.0% (2/2)", "0.0% (0/2)", "2", "100.0% (2/2)", "0", "50.0% (1/2)", "33.3% (1/3)",
          "0.0% (0/1)", "2.00", "39.42", "39.42"],
    "B队": ["B队", "B", "2", "50.0% (1/2)", "100.0% (1/1)", "1", "50.0% (1/2)", "1", "0.0% (0/1)", "0.0% (0/2)",
          "100.0% (1/1)", "4.00", "1.00", "1.00"],
    "未分派": ["未分派", "", "1", "—", "—", "0", "0.0% (0/1)", "0", "—", "—", "—", "—", "—", "—"],
    "合计": ["合计", "", "5", "75.0% (3/4)", "33.3% (1/3)", "3", "60.0% (3/5)", "1", "33.3% (1/3)", "20.0% (1/5)",
           "50.0% (1/2)", "3.00", "6.17", "26.61"],
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


def run_report(tmp_path: Path, *options: str) -> tuple[list[list[object]], list[list[str]], str]:
    """The spreadsheet's rows (the header's, then each group's, then the totals') and the table's rows on
    screen, and the whole output."""
    sheet_path = tmp_path / "performance.xlsx"
    result = CliRunner().invoke(cityops, ["report", "--by", "department", "--start", PERIOD["start"],
                                          "--end", PERIOD["end"], "--xlsx", str(sheet_path), *options])
    assert result.exit_code == 0, result.output
    shown = [[cell.strip() for cell in line.strip("│┃").split("│")] for line in result.output.splitlines()
             if re.match(r"^│ \S", line)]
    sheet = openpyxl.load_workbook(sheet_path).worksheets[0]
    return [list(row) for row in sheet.iter_rows(values_only=True)], shown, result.output


def as_in_the_sheet(row: dict) -> list[object]:
    """An API row as the spreadsheet gives it: the group by its name, then its code (the unassigned group's
    null: none), then every figure."""
    return [row["name"], row["group"], *(row[key] for key in FIGURES)]


def test_the_report_reads_every_figure_off_the_timelines(store: Engine, tmp_path: Path) -> None:
    sheet, shown, _ = run_report(tmp_path)
    with served(store, tmp_path) as (client, op):
        answer = client.get("/api/v1/reports/performance", params=PERIOD, headers=op).json()
    rows = {row["group"]: row for row in answer["rows"]}
    assert {group: [row[key] for key in ("group", "name", *MAIN_FIGURES)] for group, row in rows.items()} == EXPECTED
    assert {group: [row[key] for key in COUNTS] for group, row in rows.items()} == COUNTED
    assert answer["total"]["group"] == "all"
    assert {key: answer["total"][key] for key in TOTAL} == TOTAL
    assert {row[0]: row for row in shown} == SHOWN
    assert shown[-1][0] == "合计"
    header, *groups, total = sheet
    assert header[:3] == ["部门", "编码", "案件数"]
    assert groups == [as_in_the_sheet(row) for row in answer["rows"]]
    assert total == ["合计", None, *(answer["total"][key] for key in FIGURES)]
    # The counters on the case rows are projections for the work queues, and the overdue marks the
    # sweeper's (none ran here); the report reads neither.
    with unit_of_work(store) as session:
        session.execute(update(Case).values(rework_count=7, return_count=7, rating=None, status="reported",
                                            closed_at=None))
        session.execute(update(CaseDeadline).values(overdue_at=local(1, 0)))
    again, shown_again, _ = run_report(tmp_path)
    assert again == sheet and shown_again == shown


def test_each_figure_is_explained_alike_on_screen_in_the_spreadsheet_and_in_the_api(store: Engine,
                                                                                    tmp_path: Path) -> None:
    _, _, output = run_report(tmp_path)
    words = {**HEADINGS["zh-CN"], "group": "部门"}
    explained = [line for line in output.splitlines() if line.split(": ", 1)[0] in words.values()]
    assert explained == [f"{words[key]}: {EXPLANATIONS['zh-CN'][key]}" for key in ("group", *FIGURES)]
    notes = openpyxl.load_workbook(tmp_path / "performance.xlsx")["说明"]
    lines = [tuple(row) for row in notes.iter_rows(values_only=True)]
    assert lines[lines.index(("指标", "含义")) + 1:] == [
        (words[key], EXPLANATIONS["zh-CN"][key]) for key in ("group", *FIGURES)]
    with served(store, tmp_path) as (client, _):
        schema = client.get("/openapi.json").json()["components"]["schemas"]["PerformanceRow"]["properties"]
    assert {key: figure["description"] for key, figure in schema.items()} == DEFINITIONS


def test_the_report_in_english(store: Engine, tmp_path: Path) -> None:
    sheet, shown, output = run_report(tmp_path, "--lang", "en")
    assert sheet[0][:3] == ["Department", "Code", "Cases"] and sheet[-1][0] == "Total"
    assert {row[0] for row in shown} == {"A队", "B队", "(not dispatched)", "Total"}
    assert "Return rate: Returns ÷ dispatches." in output
    refused = CliRunner().invoke(cityops, ["report", "--lang", "fr"])
    assert refused.exit_code != 0 and "zh-CN or en" in refused.output


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
        english = client.get("/api/v1/reports/performance", params={**PERIOD, "format": "csv", "lang": "en"},
                             headers=op)
        unknown = client.get("/api/v1/reports/performance", params={**PERIOD, "format": "xlsx", "lang": "fr"},
                             headers=op)
    assert answer.status_code == 200, answer.text
    from_json = [as_in_the_sheet(row) for row in answer.json()["rows"]]
    assert from_json == on_screen[1:-1]

    assert as_csv.status_code == 200, as_csv.text
    assert as_csv.headers["content-type"] == "text/csv; charset=utf-8"
    assert as_csv.headers["content-disposition"] == 'attachment; filename="performance-by-department.csv"'
    assert as_csv.content.startswith(b"\xef\xbb\xbf")  # the byte-order mark Excel needs for the Chinese headings
    header, *lines = list(csv.reader(io.StringIO(as_csv.content.decode("utf-8-sig"))))
    assert header == ["部门", "编码", *(HEADINGS["zh-CN"][key] for key in FIGURES)]
    *groups, total = [[line[0], line[1] or None, *map(as_number, line[2:])] for line in lines]
    assert groups == from_json
    assert total == on_screen[-1] == ["合计", None, *(answer.json()["total"][key] for key in FIGURES)]
    assert accepted.status_code == 200 and accepted.content == as_csv.content
    assert json_first.headers["content-type"] == "application/json" and json_first.json() == answer.json()
    assert english.content.decode("utf-8-sig").splitlines()[0].startswith("Department,Code,Cases,Registered,")
    assert unknown.status_code == 422 and unknown.json()["field"] == "lang"

    book = openpyxl.load_workbook(io.BytesIO(sheet.content))
    assert book.sheetnames == ["按部门", "说明"]
    rows = [list(row) for row in book.active.iter_rows(values_only=True)]
    assert rows == on_screen
    about = {row[0]: row[1] for row in book["说明"].iter_rows(values_only=True) if row and row[0]}
    assert about["统计周期"] == "2025-03-01 至 2025-03-31（含首尾两日）" and about["分组方式"] == "按部门"


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
    shown = [[cell.strip() for cell in line.strip("│").split("│")] for line in empty.output.splitlines()
             if re.match(r"^│ \S", line)]
    assert empty.exit_code == 0 and shown == [["合计", "", "0", *["—"] * 2, "0", "—", "0", *["—"] * 6]]
    bad = CliRunner().invoke(cityops, ["report", "--by", "colour"])
    assert bad.exit_code != 0 and "department, area, category, month or week" in bad.output
