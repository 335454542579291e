"""The sweeper run by several workers at once against a real store (SQLite file and PostgreSQL):
through `cityops worker`'s job only the lease holder sweeps; and even sweeps that overlap without the
lease remind, mark overdue, supervise and escalate each step exactly once."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, func, select

from cityops.calendar.workcalendar import WorkCalendar
from cityops.cases import service, sweeper
from cityops.cases.channels import Channel
from cityops.cases.models import Supervision
from cityops.categories.time_limits import parse_limit
from cityops.config import Settings
from cityops.db import unit_of_work
from cityops.outbox import OutboxEvent
from cityops.worker import run_sweeper
from tests.integration.cases.conftest import centred_city, staff

WORKERS, CASES = 6, 5
CALENDAR = WorkCalendar()
ONE_HOUR = parse_limit("1h")


def overdue_cases(engine: Engine, *, reported_at: datetime) -> None:
    with unit_of_work(engine) as session:
        receiver, locator = centred_city(session)
        for number in range(CASES):
            report = service.Report(channel=Channel.hotline_12345, title=f"case {number}",
                                    lon=121.005 + 0.01 * number, lat=31.05)
            service.intake(session, report=report, actor=staff("operator"), receiver=receiver, locator=locator,
                           calendar=CALENDAR, at=reported_at, policy=service.IntakePolicy())


def all_at_once(job: Callable[[], object]) -> list[object]:
    start = threading.Barrier(WORKERS)
    results: list[object] = []
    errors: list[BaseException] = []

    def worker() -> None:
        start.wait()
        try:
            results.append(job())
        except BaseException as error:  # noqa: BLE001  (reported by the test below)
            errors.append(error)

    threads = [threading.Thread(target=worker) for _ in range(WORKERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    return results


def counts(engine: Engine) -> dict[str, int]:
    with unit_of_work(engine) as session:
        topics = dict(session.execute(select(OutboxEvent.topic, func.count()).group_by(OutboxEvent.topic)).all())
        levels = dict(session.execute(select(Supervision.level, func.count()).group_by(Supervision.level)).all())
    return {**{t: topics.get(t, 0) for t in ("case.overdue", "case.supervised")}, **levels}


def sweep_without_lease(engine: Engine, now: datetime) -> Callable[[], object]:
    def job() -> object:
        with unit_of_work(engine) as session:
            return sweeper.sweep(session, now=now, calendar=CALENDAR, supervision_limit=ONE_HOUR)
    return job


def test_overlapping_sweeps_mark_and_supervise_each_step_once(scratch_store: Engine) -> None:
    now = datetime(2025, 3, 4, 3, 0, tzinfo=UTC)  # 11:00 in Shanghai on a Tuesday
    overdue_cases(scratch_store, reported_at=now - timedelta(days=1))
    results = all_at_once(sweep_without_lease(scratch_store, now))
    assert sum(r.overdue for r in results) == CASES and sum(r.supervised for r in results) == CASES
    assert counts(scratch_store) == {"case.overdue": CASES, "case.supervised": CASES, "district": CASES}
    later = now + timedelta(hours=2)  # the district's supervisions (1 h) have run out
    results = all_at_once(sweep_without_lease(scratch_store, later))
    assert sum(r.escalated for r in results) == CASES
    assert counts(scratch_store) == {"case.overdue": CASES, "case.supervised": 2 * CASES, "district": CASES,
                                     "city": CASES}
    with unit_of_work(scratch_store) as session:
        open_levels = session.scalars(select(Supervision.level).where(Supervision.closed_at.is_(None))).all()
    assert sorted(open_levels) == ["city"] * CASES


def test_only_the_lease_holder_sweeps(scratch_store: Engine) -> None:
    now = datetime.now(UTC)
    overdue_cases(scratch_store, reported_at=now - timedelta(days=10))
    settings = Settings(environment="test", supervision_limit="1wd")
    holders = iter(f"worker-{n}" for n in range(WORKERS))
    lock = threading.Lock()

    def job() -> object:
        with lock:
            holder = next(holders)
        return run_sweeper(scratch_store, settings, holder=holder, now=now)

    results = all_at_once(job)
    assert sum(r is not None for r in results) == 1
    assert counts(scratch_store) == {"case.overdue": CASES, "case.supervised": CASES, "district": CASES}
