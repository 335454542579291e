"""`cityops report` on a real store (SQLite file and PostgreSQL): the table on screen and the .xlsx
file give, per department, exactly what the cases' timelines say — a return counts against the
department that returned, a late handling step spoils the on-time closure, a failed verification is
rework — and nothing else: the counters kept on the case rows are not read."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from shapely.geometry import box
from sqlalchemy import Engine, update
from typer.testing import CliRunner

from cityops.analytics import cli as report_cli
from cityops.calendar.workcalendar import WorkCalendar
from cityops.cases import service
from cityops.cases.channels import Channel
from cityops.cases.lifecycle import Action, Actor, ActorKind
from cityops.cases.models import Case
from cityops.categories import service as categories_service
from cityops.cli import app as cityops
from cityops.config import get_settings
from cityops.db import unit_of_work
from cityops.geo.locator import AreaShape, Locator
from cityops.org import service as org_service
from tests.factories import make_city, make_user

SHANGHAI = ZoneInfo("Asia/Shanghai")
CALENDAR = WorkCalendar()
COLUMNS = ("group", "cases", "closure_rate", "on_time_closure_rate", "rework_rate", "return_rate",
           "satisfaction_rate", "mean_rating", "median_handling_hours", "mean_handling_hours")


def local(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2025, 3, day, hour, minute, tzinfo=SHANGHAI)


def staff(role: str, department: str | None = None) -> Actor:
    return Actor(kind=ActorKind.user, id="1", role=role, name=role, department=department)


CITIZEN = Actor(kind=ActorKind.citizen, id=None, role="citizen", name="citizen")


def build_history(engine: Engine) -> None:
    """Three cases in March 2025 (no holidays): one returned by A and handled by B on time, rated 4;
    one handled by A late and reworked, rated 2; one rejected."""
    with unit_of_work(engine) as session:
        city = make_city(session)
        categories_service.create_category(session, code="E01", name="市容环境", kind="event", origin="test",
                                           time_limits={"handle": "2wh"})
        for code in ("A", "B"):
            org_service.create_department(session, code=code, name=code, level="district", area_code="990101",
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


EXPECTED = {
    "A": ["A", 1, 1.0, 0.0, 1.0, 0.5, 0.0, 2.0, 6.17, 6.17],
    "B": ["B", 1, 1.0, 1.0, 0.0, 0.0, 1.0, 4.0, 1.0, 1.0],
    "(none)": ["(none)", 1, None, None, None, None, None, None, None, None],
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


def run_report(tmp_path: Path) -> tuple[list[list[object]], list[list[str]]]:
    sheet_path = tmp_path / "performance.xlsx"
    result = CliRunner().invoke(cityops, ["report", "--by", "department", "--start", "2025-03-01T00:00:00+08:00",
                                          "--end", "2025-04-01T00:00:00+08:00", "--xlsx", str(sheet_path)])
    assert result.exit_code == 0, result.output
    shown = [[cell.strip() for cell in line.strip("│┃").split("│")] for line in result.output.splitlines()
             if re.match(r"^│ \S", line)]
    sheet = openpyxl.load_workbook(sheet_path).active
    return [list(row) for row in sheet.iter_rows(min_row=2, values_only=True)], shown


def test_the_report_reads_every_figure_off_the_timelines(store: Engine, tmp_path: Path) -> None:
    rows, shown = run_report(tmp_path)
    assert {row[0]: row for row in rows} == EXPECTED
    assert {row[0]: row for row in shown} == {
        group: ["–" if value is None else str(value) for value in values] for group, values in EXPECTED.items()}
    # The counters on the case rows are projections for the work queues; the report never reads them.
    with unit_of_work(store) as session:
        session.execute(update(Case).values(rework_count=7, return_count=7, rating=None, status="reported",
                                            closed_at=None))
    assert run_report(tmp_path)[0] == rows


def test_a_period_without_cases_gives_an_empty_report_and_a_bad_grouping_is_refused(store: Engine,
                                                                                    tmp_path: Path) -> None:
    empty = CliRunner().invoke(cityops, ["report", "--start", "2024-01-01T00:00:00+08:00",
                                         "--end", "2024-02-01T00:00:00+08:00"])
    assert empty.exit_code == 0 and not re.search(r"^│ \S", empty.output, re.MULTILINE)
    bad = CliRunner().invoke(cityops, ["report", "--by", "colour"])
    assert bad.exit_code != 0 and "department, area, category, month or week" in bad.output
