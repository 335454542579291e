"""A department's queues look its cases up through the indexes made for them (migration 0024), on both
stores: the cases it holds, and holds in a given state, through ``ix_case_assignments_department_status``
(department, then state), and its summonses through ``ix_case_deadlines_department`` (department,
then whether met, then when due: its overdue queue seeks its late report-ins); no count reads all of
either table. Without those indexes SQLite scans every
assignment and every open deadline (or the whole of ``case_deadlines``) for each count. Whether a case
is in view for being held by the department is one probe of that case's assignment, by its key: not a
read of everything the department holds, which PostgreSQL did for every queue (and scanned the cases).

The plans are of the statements ``queues_of`` and ``queue_page`` really send, with their values. SQLite
plans without statistics, as it runs; PostgreSQL from statistics, so it gets a few thousand cases of a
dozen departments, analysed, and is kept off whole-table scans."""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import insert, select, text
from sqlalchemy.orm import Session

from cityops.cases import queues, service
from cityops.cases.models import Case, CaseAssignment, CaseDeadline
from cityops.cases.ordering import CaseOrder
from cityops.org.access import Principal
from tests.factories import make_city, query_plan, statements_and_values_during

NOW = datetime(2025, 10, 9, 8, 0, tzinfo=UTC)
STREETS = ("99010101", "99010102", "99010201", "99010202")
DEPARTMENTS = [f"dept-{n}" for n in range(12)]
PART = {"dispatched": "dispatched", "in_progress": "in_progress", "handled": "reported", "closed": "reported"}
STEP = {"registered": "dispatch", "dispatched": "acknowledge", "in_progress": "handle", "handled": "verify"}


@pytest.fixture
def handler(session: Session) -> Iterator[Principal]:
    """A district department's handler, among 3,000 cases held by a dozen departments, one in ten
    with a summons too (most of them reported in)."""
    city = make_city(session)
    rng = random.Random(24)
    cases, parts, steps = [], [], []
    for n in range(1, 3_001):
        status = rng.choice([*PART, "registered"])
        street = city[rng.choice(STREETS)]
        cases.append({"id": n, "tracking_code": f"Q{n:09d}", "channel": "grid_patrol", "status": status,
                      "version": 1, "title": "暴露垃圾", "description": "", "area_id": street.id,
                      "area_path": street.path, "opened_at": NOW - timedelta(hours=n)})
        if status in PART:
            parts.append({"case_id": n, "department_code": rng.choice(DEPARTMENTS), "role": "lead", "position": 0,
                          "status": PART[status]})
        if status in STEP:
            steps.append({"case_id": n, "step": STEP[status], "time_limit": "1wd", "started_at": NOW,
                          "due_at": NOW + timedelta(hours=rng.uniform(-24, 48)), "remind_at": NOW, "met_at": None,
                          "department_code": None})
        if rng.random() < 0.1:
            steps.append({"case_id": n, "step": "report_in", "time_limit": "2h", "started_at": NOW,
                          "due_at": NOW + timedelta(hours=2), "remind_at": NOW,
                          "met_at": NOW if rng.random() < 0.8 else None, "department_code": rng.choice(DEPARTMENTS)})
    session.execute(insert(Case), cases)
    session.execute(insert(CaseAssignment), parts)
    session.execute(insert(CaseDeadline), steps)
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("ANALYZE case_assignments"))
        session.execute(text("ANALYZE case_deadlines"))
        session.execute(text("ANALYZE cases"))
        session.execute(text("SET LOCAL enable_seqscan = off"))  # a few thousand rows: a scan would do
    district = city["990101"]
    yield Principal(id=1, kind="user", name="handler", roles=("handler",), area_id=district.id,
                    area_code=district.code, area_path=district.path, area_level=district.level,
                    department_code=DEPARTMENTS[0])


def sent(session: Session, action: Callable[[], object]) -> list[tuple[str, Any]]:
    """The statements on cases that ``action`` sends, with their values."""
    return [(statement, values) for statement, values in statements_and_values_during(session.get_bind().engine, action)
            if "FROM cases" in statement]


def reads(shown: str, index: str, *columns: str, sqlite: bool) -> bool:
    """Whether the plan seeks ``index`` on (at least) ``columns``, in order."""
    if sqlite:
        return re.search(rf"USING (COVERING )?INDEX {index} \({'.*'.join(columns)}", shown) is not None
    return re.search(rf"{index} cond=\(?\(+{'.*'.join(columns)}", shown) is not None


def probes_the_hold(shown: str, *, sqlite: bool) -> bool:
    """Whether the plan looks the department's hold on each case up by the assignment's key."""
    return reads(shown, "sqlite_autoindex_case_assignments_1" if sqlite else "pk_case_assignments",
                 "case_id", "department_code", sqlite=sqlite)


def reads_the_whole_hold(shown: str, *, sqlite: bool) -> bool:
    """Whether the plan reads every case the department holds (its assignments by department alone)."""
    if sqlite:
        return "ix_case_assignments_department_status (department_code=?)" in shown
    return re.search(r"ix_case_assignments_department_status cond=\(\(department_code\)::text = '[^']*'::text\) ",
                     shown) is not None


def test_a_departments_queue_counts_seek_its_assignments_and_summonses(session: Session,
                                                                        handler: Principal) -> None:
    sqlite = session.get_bind().dialect.name == "sqlite"
    counted = [name for name in queues.worked_by(handler.roles, in_department=True) if name != "all"]
    statements = sent(session, lambda: service.queues_of(session, viewer=handler, now=NOW))
    assert len(statements) == len(counted)
    shown = {name: query_plan(session, *statement) for name, statement in zip(counted, statements, strict=True)}
    for name, steps in shown.items():
        if sqlite:
            assert "SCAN case_assignments" not in steps and "SCAN case_deadlines" not in steps, (name, steps)
    # the queues of cases it holds read them by the department; every case held is in its view
    for name in ("to_acknowledge", "to_handle", "department"):
        assert reads(shown[name], "ix_case_assignments_department_status", "department_code",
                     sqlite=sqlite), (name, shown[name])
        assert not probes_the_hold(shown[name], sqlite=sqlite), (name, shown[name])
    # the others may hold cases outside its area that it holds: each probed, its whole hold never read
    for name in ("summoned", "overdue", "supervised"):
        assert probes_the_hold(shown[name], sqlite=sqlite), (name, shown[name])
        assert not reads_the_whole_hold(shown[name], sqlite=sqlite), (name, shown[name])
    for name in ("to_acknowledge", "to_handle"):
        assert reads(shown[name], "ix_case_assignments_department_status", "department_code", "status",
                     sqlite=sqlite), shown[name]
    assert reads(shown["summoned"], "ix_case_deadlines_department", "department_code", "met_at",
                 sqlite=sqlite), shown["summoned"]
    assert reads(shown["department"], "ix_case_deadlines_department", "department_code",
                 sqlite=sqlite), shown["department"]
    # its late steps: its own report-ins, and the steps of the cases it has a part in to act on
    assert reads(shown["overdue"], "ix_case_deadlines_department", "department_code", "met_at", "due_at",
                 sqlite=sqlite), shown["overdue"]
    assert reads(shown["overdue"], "ix_case_assignments_department_status", "department_code", "status",
                 sqlite=sqlite), shown["overdue"]


def test_the_summoned_queue_by_deadline_walks_the_departments_summonses(session: Session,
                                                                        handler: Principal) -> None:
    sqlite = session.get_bind().dialect.name == "sqlite"
    waiting = session.scalar(select(CaseDeadline.case_id).where(
        CaseDeadline.department_code == handler.department_code, CaseDeadline.met_at.is_(None)).limit(1))
    assert waiting is not None
    [listed, *_] = sent(session, lambda: service.queue_page(session, viewer=handler, queue="summoned",
                                                            order=CaseOrder.deadline, limit=20, now=NOW))
    steps = query_plan(session, *listed)
    assert reads(steps, "ix_case_deadlines_department", "department_code", "met_at", sqlite=sqlite), steps
    if sqlite:
        assert "SCAN case_deadlines" not in steps, steps
