"""A server that starts sweeps at once: a step whose deadline passed while the server was down is marked
overdue as it starts, not an interval later, and the server answers meanwhile."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from cityops import worker
from cityops.calendar.workcalendar import WorkCalendar
from cityops.cases import service
from cityops.cases.channels import Channel
from cityops.cases.models import CaseDeadline
from cityops.config import Settings
from cityops.db import unit_of_work
from cityops.main import create_app
from cityops.outbox import OutboxEvent
from tests.integration.cases.conftest import centred_city, staff

AN_HOUR = 3600.0  # far longer than the test waits: only a round at startup can mark the step


def a_case_reported(engine: Engine, *, at: datetime) -> int:
    with unit_of_work(engine) as session:
        receiver, locator = centred_city(session)
        report = service.Report(channel=Channel.hotline_12345, title="井盖缺失", lon=121.02, lat=31.05)
        return service.intake(session, report=report, actor=staff("operator"), receiver=receiver, locator=locator,
                              calendar=WorkCalendar(), at=at, policy=service.IntakePolicy()).case.id


def marked_overdue(engine: Engine, case_id: int) -> list[str]:
    with unit_of_work(engine, read_only=True) as session:
        return list(session.scalars(select(CaseDeadline.step).where(CaseDeadline.case_id == case_id,
                                                                    CaseDeadline.overdue_at.is_not(None))))


def overdue_events(engine: Engine, case_id: int) -> int:
    with unit_of_work(engine, read_only=True) as session:
        return len(session.scalars(select(OutboxEvent.id).where(OutboxEvent.case_id == case_id,
                                                                OutboxEvent.topic == "case.overdue")).all())


def served(folder: Path, engine: Engine) -> TestClient:
    return TestClient(create_app(Settings(environment="test", data_dir=folder, secret_key="s" * 40,
                                          sweep_interval_s=AN_HOUR), engine))


def test_a_deadline_passed_while_down_is_marked_overdue_at_startup(scratch_store: Engine, tmp_path: Path) -> None:
    case_id = a_case_reported(scratch_store, at=datetime.now(UTC) - timedelta(days=10))
    assert marked_overdue(scratch_store, case_id) == []
    with served(tmp_path, scratch_store):
        waited_until = time.monotonic() + 30
        while not marked_overdue(scratch_store, case_id) and time.monotonic() < waited_until:
            time.sleep(0.05)
        assert marked_overdue(scratch_store, case_id) == ["register"]
    assert overdue_events(scratch_store, case_id) == 1


def test_the_server_answers_while_the_first_round_runs(scratch_store: Engine, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    started, release = threading.Event(), threading.Event()
    run_all = worker.run_all

    def held_round(*args, **kwargs) -> dict[str, object]:  # noqa: ANN002, ANN003
        started.set()
        release.wait(30)
        return run_all(*args, **kwargs)

    monkeypatch.setattr(worker, "run_all", held_round)
    case_id = a_case_reported(scratch_store, at=datetime.now(UTC) - timedelta(days=10))
    try:
        with served(tmp_path, scratch_store) as client:
            assert started.wait(10)
            assert client.get("/healthz").status_code == 200
            assert marked_overdue(scratch_store, case_id) == []
            release.set()
    finally:
        release.set()
    assert marked_overdue(scratch_store, case_id) == ["register"]
