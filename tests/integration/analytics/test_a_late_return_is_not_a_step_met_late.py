"""On a real store (SQLite file and PostgreSQL), a department that returns its case after the deadline to
acknowledge it has not met that step late: the case, reassigned and handled in time, is closed on time
(按期结案 1/1) and still counts as overdue (its deadline passed unmet). `cityops report` and the report
API give the same figures. Read by ``met_at`` alone — the step's row marked as its work done, as every
ended row was read before ``ended`` — the same case was closed late (0/1)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from shapely.geometry import box
from sqlalchemy import Engine, select, update
from typer.testing import CliRunner

from cityops.analytics import cli as report_cli
from cityops.calendar.workcalendar import WorkCalendar
from cityops.cases import service
from cityops.cases.channels import Channel
from cityops.cases.lifecycle import Action, Actor, ActorKind
from cityops.cases.models import CaseDeadline
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


def local(hour: int, minute: int = 0) -> datetime:
    return datetime(2025, 3, 3, hour, minute, tzinfo=SHANGHAI)


def staff(role: str, department: str | None = None) -> Actor:
    return Actor(kind=ActorKind.user, id="1", role=role, name=role, department=department)


def returned_late(engine: Engine) -> None:
    """A case dispatched to A at 9:20, to be acknowledged within an hour; A returns it at 11:00, 40
    minutes late; reassigned to B at 11:10, acknowledged at 11:20, handled at 12:00 and closed at 12:30,
    each within its limit (a Monday without holidays)."""
    with unit_of_work(engine) as session:
        city = make_city(session)
        categories_service.create_category(session, code="E01", name="市容环境", kind="event", origin="test",
                                           time_limits={"acknowledge": "1h", "handle": "2wh"})
        for code in ("A", "B"):
            org_service.create_department(session, code=code, name=f"{code}队", level="district", area_code="990101",
                                          kind="x", origin="test")
        receiver = org_service.principal_of_user(session, make_user(session, username="op", roles=["operator"],
                                                                    area_code="990000"))
        locator = Locator([AreaShape(a.id, a.code, a.name, a.level, a.parent_id,
                                     box(a.min_lon, a.min_lat, a.max_lon, a.max_lat)) for a in city.areas.values()])
        case = service.intake(session, report=service.Report(
            channel=Channel.hotline_12345, title="人行道破损", category_code="E01", lon=121.02, lat=31.05),
            actor=staff("operator"), receiver=receiver, locator=locator, calendar=CALENDAR, at=local(9),
            policy=service.IntakePolicy()).case
        for action, actor, at, data in (
                (Action.register, staff("operator"), local(9, 10), {}),
                (Action.dispatch, staff("dispatcher"), local(9, 20), {"lead": "A"}),
                (Action.return_, staff("handler", "A"), local(11), {}),
                (Action.reassign, staff("dispatcher"), local(11, 10), {"lead": "B"}),
                (Action.acknowledge, staff("handler", "B"), local(11, 20), {}),
                (Action.report, staff("handler", "B"), local(12), {}),
                (Action.verify, staff("inspector"), local(12, 30), {"passed": True})):
            service.act(session, case=case, action=action, actor=actor, at=at, calendar=CALENDAR, reason="因为",
                        data=data)
        ended = session.execute(select(CaseDeadline.step, CaseDeadline.due_at, CaseDeadline.met_at, CaseDeadline.ended)
                                .where(CaseDeadline.case_id == case.id, CaseDeadline.step == "acknowledge")
                                .order_by(CaseDeadline.id)).all()
        assert [tuple(row) for row in ended] == [("acknowledge", local(10, 20), local(11), "returned"),
                                                 ("acknowledge", local(12, 10), local(11, 20), "met")]


@pytest.fixture
def store(scratch_store: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    monkeypatch.setenv("CITYOPS_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("CITYOPS_DATABASE_URL", scratch_store.url.render_as_string(hide_password=False))
    monkeypatch.setattr(report_cli.console, "width", 250)
    get_settings.cache_clear()
    returned_late(scratch_store)
    yield scratch_store
    get_settings.cache_clear()


def on_screen(by: str) -> dict[str, list[str]]:
    """`cityops report`'s rows on screen, by their first cell: on-time closure and overdue cases."""
    result = CliRunner().invoke(cityops, ["report", "--by", by, "--start", PERIOD["start"], "--end", PERIOD["end"]])
    assert result.exit_code == 0, result.output
    rows = [[cell.strip() for cell in line.strip("│┃").split("│")] for line in result.output.splitlines()
            if re.match(r"^│ \S", line)]
    return {row[0]: row for row in rows}


def from_the_api(store: Engine, tmp_path: Path) -> dict:
    settings = Settings(environment="test", data_dir=tmp_path, secret_key="test-secret-" + "x" * 32,
                        demo_password="demo-pass-123", sweep_interval_s=0)
    with TestClient(create_app(settings, store), raise_server_exceptions=False) as client:
        answer = client.get("/api/v1/reports/performance", params=PERIOD, headers=login(client, "op"))
    assert answer.status_code == 200, answer.text
    return answer.json()


def figures(answer: dict) -> dict[str, tuple]:
    keys = ("closed", "closed_on_time", "on_time_closure_rate", "overdue_cases", "returns", "median_handling_hours")
    return {row["group"]: tuple(row[key] for key in keys) for row in [*answer["rows"], answer["total"]]}


def test_a_case_returned_after_its_deadline_then_handled_in_time_is_closed_on_time_and_overdue(
        store: Engine, tmp_path: Path) -> None:
    # A returned and answers for the return; B handled in time and answers for the outcome
    assert figures(from_the_api(store, tmp_path)) == {
        "A": (0, 0, None, 0, 1, None), "B": (1, 1, 1.0, 1, 0, 0.83), "all": (1, 1, 1.0, 1, 1, 0.83)}
    shown = on_screen("department")
    # cases, closure, on-time closure, overdue cases: the screen and the API agree
    assert shown["B队"][2:6] == ["1", "100.0% (1/1)", "100.0% (1/1)", "1"]
    assert shown["合计"][2:6] == ["1", "100.0% (1/1)", "100.0% (1/1)", "1"]

    # the same row read as its work done, as met_at alone read it: a step met 40 minutes late
    with unit_of_work(store) as session:
        session.execute(update(CaseDeadline).where(CaseDeadline.ended == "returned").values(ended="met"))
    assert figures(from_the_api(store, tmp_path))["all"] == (1, 0, 0.0, 1, 1, 0.83)
    assert on_screen("department")["合计"][2:6] == ["1", "100.0% (1/1)", "0.0% (0/1)", "1"]
