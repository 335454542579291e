"""Never dispatched twice: many workers race to dispatch the same registered cases through separate
connections to a real store (SQLite file and PostgreSQL). Exactly one dispatch lands per case; every
other attempt is refused with a 409, never a second timeline entry."""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import UTC, datetime

from shapely.geometry import box
from sqlalchemy import Engine, func, select

from cityops.calendar.workcalendar import WorkCalendar
from cityops.cases import service
from cityops.cases.channels import Channel
from cityops.cases.lifecycle import Action, Actor, ActorKind
from cityops.cases.models import Case, CaseEvent
from cityops.db import unit_of_work
from cityops.errors import Conflict
from cityops.geo.locator import AreaShape, Locator
from cityops.geo.models import Area
from cityops.org import service as org_service
from cityops.org.access import Principal
from cityops.org.models import User
from tests.factories import make_city, make_user
from tests.integration.cases.conftest import CALENDAR, staff

WORKERS, CASES = 6, 8


def registered_cases(engine: Engine) -> list[int]:
    with unit_of_work(engine) as session:
        city = make_city(session)
        org_service.create_department(session, code="D1", name="D1", level="district", area_code="990101",
                                      kind="x", origin="test")
        receiver = org_service.principal_of_user(session, make_user(session, username="op", roles=["operator"],
                                                                    area_code="990000"))
        locator = Locator([AreaShape(a.id, a.code, a.name, a.level, a.parent_id,
                                     box(a.min_lon, a.min_lat, a.max_lon, a.max_lat)) for a in city.areas.values()])
        ids = []
        for number in range(CASES):
            report = service.Report(channel=Channel.hotline_12345, title=f"case {number}", lon=121.02, lat=31.05)
            case = service.intake(session, report=report, actor=staff("operator"), receiver=receiver, locator=locator,
                                  calendar=CALENDAR, at=datetime.now(UTC), policy=service.IntakePolicy()).case
            service.act(session, case=case, action=Action.register, actor=staff("operator"),
                        at=datetime.now(UTC), calendar=CALENDAR)
            ids.append(case.id)
    return ids


def test_concurrent_dispatches_land_exactly_once(scratch_store: Engine) -> None:
    store = scratch_store
    ids = registered_cases(store)
    outcomes: Counter[str] = Counter()
    lock = threading.Lock()
    start = threading.Barrier(WORKERS)

    def worker(number: int) -> None:
        actor = Actor(kind=ActorKind.user, id=str(number), role="dispatcher", name=f"d{number}")
        start.wait()
        for case_id in ids:
            try:
                with unit_of_work(store) as session:
                    case = session.get(Case, case_id)
                    service.act(session, case=case, action=Action.dispatch, actor=actor, at=datetime.now(UTC),
                                calendar=WorkCalendar(), data={"lead": "D1"})
                outcome = "dispatched"
            except Conflict as refused:
                outcome = refused.code
            with lock:
                outcomes[outcome] += 1

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(WORKERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert outcomes["dispatched"] == CASES
    assert sum(outcomes.values()) == WORKERS * CASES
    assert set(outcomes) <= {"dispatched", "illegal_transition", "concurrent_change"}
    with unit_of_work(store) as session:
        dispatches = session.scalars(select(CaseEvent.case_id).where(CaseEvent.action == "dispatch")).all()
        assert sorted(dispatches) == sorted(ids)
        assert {c.status for c in session.scalars(select(Case))} == {"dispatched"}


def operator_and_locator(store: Engine) -> tuple[Principal, Locator]:
    """The operator ``registered_cases`` made, and a locator over the test city."""
    with unit_of_work(store) as session:
        receiver = org_service.principal_of_user(session, session.scalar(select(User).where(User.username == "op")))
        areas = session.scalars(select(Area)).all()
        return receiver, Locator([AreaShape(a.id, a.code, a.name, a.level, a.parent_id,
                                            box(a.min_lon, a.min_lat, a.max_lon, a.max_lat)) for a in areas])


def test_concurrent_intakes_all_land_and_readers_do_not_queue_behind_a_writer(scratch_store: Engine) -> None:
    """Each intake reads (idempotency, area, categories) before it writes: on SQLite a transaction that
    only takes the write lock at its first write would fail with "database is locked" when another
    intake committed in between. Every intake must land; a read-only unit of work must not wait."""
    store = scratch_store
    registered_cases(store)  # the city, the department and the operator
    receiver, locator = operator_and_locator(store)
    failures: list[BaseException] = []
    start = threading.Barrier(WORKERS)

    def worker(number: int) -> None:
        start.wait()
        for repeat in range(5):
            try:
                with unit_of_work(store) as session:
                    report = service.Report(channel=Channel.hotline_12345, title=f"intake {number}-{repeat}",
                                            lon=121.02 + number / 1000, lat=31.05 + repeat / 1000)
                    service.intake(session, report=report, actor=staff("operator"), receiver=receiver,
                                   locator=locator, calendar=CALENDAR, at=datetime.now(UTC),
                                   policy=service.IntakePolicy())
            except Exception as failure:  # noqa: BLE001  (collected: the assertion shows them)
                failures.append(failure)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(WORKERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert failures == []
    with unit_of_work(store) as session:
        assert session.scalar(select(func.count()).select_from(Case)) == CASES + WORKERS * 5

    writer_has_lock, reader_done = threading.Event(), threading.Event()

    def hold_the_write_lock() -> None:
        with unit_of_work(store) as session:
            session.get(Case, 1).title = "held"
            session.flush()
            writer_has_lock.set()
            reader_done.wait(timeout=10)

    holder = threading.Thread(target=hold_the_write_lock)
    holder.start()
    assert writer_has_lock.wait(timeout=10)
    started = time.perf_counter()
    with unit_of_work(store, read_only=True) as session:
        assert session.scalar(select(func.count()).select_from(Case)) == CASES + WORKERS * 5
    waited = time.perf_counter() - started
    reader_done.set()
    holder.join(timeout=10)
    assert waited < 2  # far below the 5 s busy timeout a queued reader would wait out


def test_the_same_report_sent_at_once_from_many_connections_makes_one_case(scratch_store: Engine) -> None:
    """Retries racing each other (same channel and external id): one case, and every other attempt
    either returns it or is refused with a 409 to retry, never a second case."""
    store = scratch_store
    registered_cases(store)
    receiver, locator = operator_and_locator(store)
    outcomes: list[str] = []
    start = threading.Barrier(WORKERS)

    def send() -> None:
        start.wait()
        try:
            with unit_of_work(store) as session:
                report = service.Report(channel=Channel.hotline_12345, title="井盖缺失", lon=121.03, lat=31.06,
                                        external_id="12345-20261130-0001")
                result = service.intake(session, report=report, actor=staff("operator"), receiver=receiver,
                                        locator=locator, calendar=CALENDAR, at=datetime.now(UTC),
                                        policy=service.IntakePolicy())
                outcomes.append("created" if result.created else "returned")
        except Conflict as refused:
            outcomes.append(refused.code)

    threads = [threading.Thread(target=send) for _ in range(WORKERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert len(outcomes) == WORKERS and outcomes.count("created") == 1
    assert set(outcomes) <= {"created", "returned", "concurrent_intake"}
    with unit_of_work(store) as session:
        assert session.scalar(select(func.count()).select_from(Case).where(
            Case.external_id == "12345-20261130-0001")) == 1
