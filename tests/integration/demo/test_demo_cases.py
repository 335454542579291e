"""The demo city's month of cases, taken through the live pipeline: every stage of the closed loop
holds cases, every timeline replays to the case's stored state, and the performance report has
figures to show. One load of the smaller demo city (Nanjing) per backend, rolled back at the end.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from cityops.analytics import service as analytics
from cityops.cases import service as cases_service
from cityops.cases.models import Case, CaseDeadline, CaseEvent, Supervision
from cityops.demo.service import DemoSummary, load_demo
from cityops.geo import service as geo_service
from cityops.notify.models import Notification
from cityops.org import service as org_service
from cityops.org.access import Principal
from cityops.org.models import User
from cityops.outbox import OutboxEvent
from tests.conftest import SHARED_DATA, needs_shared_data

pytestmark = needs_shared_data
PASSWORD = "demo-pass-123"
CASES = 80


@pytest.fixture(scope="module")
def nanjing(engine: Engine) -> Iterator[tuple[Session, DemoSummary]]:
    connection = engine.connect()
    outer = connection.begin()
    db = Session(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)
    try:
        yield db, load_demo(db, city="nanjing", data_dir=SHARED_DATA, password=PASSWORD, cases=CASES)
    finally:
        db.close()
        outer.rollback()
        connection.close()


def city_viewer(session: Session) -> Principal:
    city = geo_service.get_area(session, code="320100")
    return Principal(id=0, kind="user", name="leader", roles=("leader",), area_id=city.id, area_code=city.code,
                     area_path=city.path, area_level=city.level)


def test_every_stage_of_the_loop_holds_cases(nanjing: tuple[Session, DemoSummary]) -> None:
    db, summary = nanjing
    assert summary.cases is not None and summary.cases.made == CASES
    statuses = Counter(db.scalars(select(Case.status)))
    assert sum(statuses.values()) == CASES and statuses == summary.cases.by_status
    for status in ("reported", "registered", "dispatched", "in_progress", "handled", "closed", "merged", "rejected"):
        assert statuses[status] > 0, status
    assert statuses["closed"] > CASES / 2
    assert set(db.scalars(select(Case.origin))) == {"demo"}
    assert len(set(db.scalars(select(Case.channel)))) >= 6  # all eight in a month of 600 (the unit tests)


def test_cases_spread_over_the_month_and_the_city(nanjing: tuple[Session, DemoSummary]) -> None:
    db, _ = nanjing
    now = datetime.now(UTC)
    opened = list(db.scalars(select(Case.opened_at)))
    assert min(opened) >= now - timedelta(days=31) and max(opened) <= now
    assert max(opened) - min(opened) > timedelta(days=20)
    districts = {path.split("/")[2] for path in db.scalars(select(Case.area_path))}
    assert len(districts) > 3
    assert db.scalar(select(func.count()).select_from(Case).where(Case.area_id.is_(None))) == 0
    assert db.scalar(select(func.max(CaseEvent.at))) <= now


def test_every_timeline_replays_to_the_stored_case(nanjing: tuple[Session, DemoSummary]) -> None:
    db, _ = nanjing
    for case in db.scalars(select(Case)):
        state = cases_service.state_of(db, case=case)
        assert (state.status.value, state.version, state.rework_count, state.return_count, state.rating,
                state.duplicate_of) == (case.status, case.version, case.rework_count, case.return_count,
                                        case.rating, case.duplicate_of_id), case.id


def test_the_loop_shows_its_detours(nanjing: tuple[Session, DemoSummary]) -> None:
    db, _ = nanjing
    actions = Counter(db.scalars(select(CaseEvent.action)))
    for action in ("intake", "register", "dispatch", "acknowledge", "report", "verify", "return", "reassign",
                   "request_extension", "approve_extension", "reject", "merge", "close", "rate", "summon",
                   "report_in"):
        assert actions[action] > 0, action
    assert db.scalar(select(func.count()).select_from(Case).where(Case.rework_count > 0)) > 0
    merged = db.scalars(select(Case).where(Case.status == "merged")).all()
    assert all(db.get(Case, case.duplicate_of_id).report_count > 1 for case in merged)
    ratings = [r for r in db.scalars(select(Case.rating)) if r is not None]
    assert ratings and all(1 <= r <= 5 for r in ratings) and sum(r >= 4 for r in ratings) > len(ratings) / 2


def test_the_sweeper_has_marked_what_is_late(nanjing: tuple[Session, DemoSummary]) -> None:
    db, _ = nanjing
    now = datetime.now(UTC)
    late_and_open = db.scalars(select(CaseDeadline).where(CaseDeadline.met_at.is_(None),
                                                          CaseDeadline.due_at < now)).all()
    assert late_and_open and all(step.overdue_at is not None for step in late_and_open)
    assert db.scalar(select(func.count()).select_from(Supervision).where(Supervision.closed_at.is_(None))) > 0


def test_the_staff_were_told_as_the_month_went(nanjing: tuple[Session, DemoSummary]) -> None:
    """Every event reached the inboxes within the worker's round of when it happened, not all on the day the
    server first starts."""
    db, _ = nanjing
    assert db.scalar(select(func.count()).select_from(OutboxEvent).where(OutboxEvent.fanned_out_at.is_(None))) == 0
    told = db.execute(select(Notification.created_at, OutboxEvent.created_at).join(
        OutboxEvent, Notification.event_id == OutboxEvent.id)).all()
    assert len(told) > CASES
    assert all(timedelta(0) <= at - happened <= timedelta(hours=3) for at, happened in told)
    assert min(at for at, _ in told) < datetime.now(UTC) - timedelta(days=20)


def test_each_handler_login_has_cases_to_acknowledge_and_to_handle(
        nanjing: tuple[Session, DemoSummary]) -> None:
    """The street's handler works for its street office, which the matrix leaves only what no bureau
    takes (属地兜底): it had an empty queue to acknowledge in a month of 600; the city's had no case."""
    db, _ = nanjing
    for username in ("nj.handler.street", "nj.handler.district", "nj.handler.city"):
        user = db.scalars(select(User).where(User.username == username)).one()
        queues = {q.name: q.count for q in cases_service.queues_of(
            db, viewer=org_service.principal_of_user(db, user), now=datetime.now(UTC))}
        assert queues["to_acknowledge"] >= 1 and queues["to_handle"] >= 1, (username, queues)


def test_the_performance_report_has_figures(nanjing: tuple[Session, DemoSummary]) -> None:
    db, _ = nanjing
    now = datetime.now(UTC)
    report = analytics.performance(db, viewer=city_viewer(db), by="department", start=now - timedelta(days=30),
                                   end=now, now=now)
    total = report.total
    assert total["closed"] > 0 and total["closure_rate"] > 0.5
    assert 0.5 < total["on_time_closure_rate"] < 1
    assert total["rated"] > 0 and total["satisfaction_rate"] > 0.5
    assert total["returns"] > 0 and total["reworked"] > 0
    assert len(report.rows) > 3


def test_a_second_load_adds_no_case(nanjing: tuple[Session, DemoSummary]) -> None:
    db, _ = nanjing
    before = (db.scalar(select(func.count()).select_from(Case)), db.scalar(select(func.count()).select_from(CaseEvent)))
    again = load_demo(db, city="nanjing", data_dir=SHARED_DATA, password=PASSWORD)
    assert not again.created and again.cases is None
    assert (db.scalar(select(func.count()).select_from(Case)),
            db.scalar(select(func.count()).select_from(CaseEvent))) == before
