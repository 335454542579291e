"""A handler sees the cases in its area and the cases its department holds, wherever they lie: each
once (a case its department holds jointly with another, or holds in its own area, not twice), in every
queue and every order, page after page with no case repeated or skipped, and each queue counted as
it is listed; a case outside the area that the department does not hold is in no queue of it, though
another department holds it or the department was summoned to it. Operations-centre staff of the same
street, without a department, see the street alone. On SQLite and PostgreSQL alike."""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert
from sqlalchemy.orm import Session

from cityops.cases import lifecycle, queues, service
from cityops.cases.lifecycle import Action
from cityops.cases.models import Case, CaseAssignment, CaseDeadline, Supervision
from cityops.cases.ordering import CaseOrder
from cityops.org import service as org_service
from cityops.org.access import Principal
from tests.factories import make_city

NOW = datetime(2025, 10, 9, 8, 0, tzinfo=UTC)
OWN, OTHER = "greening-990101", "water-990101"
HERE, NEXT_DOOR = "99010101", "99010102"
PLACES = {  # where a case lies, and the departments holding it
    "in the area": (HERE, ()),
    "held in the area": (HERE, (OWN,)),
    "held with another in the area": (HERE, (OTHER, OWN)),
    "held outside the area": (NEXT_DOOR, (OWN,)),
    "held with another outside the area": (NEXT_DOOR, (OWN, OTHER)),
    "another's outside the area": (NEXT_DOOR, (OTHER,)),
    "outside the area": (NEXT_DOOR, ()),
}
HELD_STATUSES = {"dispatched": "dispatched", "in_progress": "in_progress", "handled": "reported", "closed": "reported"}
"""The statuses of a case dispatched to departments, with their parts' status in it."""
STEP = {"reported": "register", "registered": "dispatch", "dispatched": "acknowledge", "in_progress": "handle",
        "handled": "verify"}
REPORTS_IN_FROM = {s.value for s in lifecycle.TABLE[Action.report_in].sources}


@dataclass(frozen=True)
class CaseMade:
    id: int
    place: str
    street: str
    parts: dict[str, str]
    status: str
    priority: int
    reports: int
    step_due: datetime | None
    """The open deadline of the case's step (None once closed)."""
    summons: str | None
    """The department's summons: None, or late, waiting (not yet due) or met."""
    summons_due: datetime | None


@dataclass(frozen=True)
class Street:
    handler: Principal
    """A handler of the department, serving the street."""
    centre: Principal
    """The street's dispatcher, of no department."""
    cases: list[CaseMade]


@pytest.fixture
def street(session: Session) -> Street:
    """Cases in each place, of each status, their step late or not, the department summoned to some of
    them (late, waiting or reported in), every late step supervised by the district's centre."""
    city = make_city(session)
    centre = org_service.create_ops_centre(session, code="centre-990101", name="区中心", level="district",
                                           area_code="990101", origin="test").id
    rng = random.Random(7)
    found, cases, parts, steps, supervisions = [], [], [], [], []
    for place, (at, holders) in PLACES.items():
        statuses = HELD_STATUSES if holders else ("reported", "registered", "closed")
        for status, late, summons in itertools.product(statuses, (True, False), (None, "late", "waiting", "met")):
            if status == "closed" and summons in {"late", "waiting"}:
                continue  # closing a case ends its summonses
            n = len(found) + 1
            step_due = None if status == "closed" else NOW + timedelta(hours=-2 - n if late else 2 + n)
            summons_due = None if summons is None else NOW + timedelta(hours=-1 - n if summons == "late" else 1 + n)
            case = CaseMade(n, place, at, {d: HELD_STATUSES[status] for d in holders}, status,
                        rng.choice((0, 0, 1, 2)), rng.choice((1, 1, 2)), step_due, summons, summons_due)
            found.append(case)
            cases.append({"id": n, "tracking_code": f"V{n:09d}", "channel": "grid_patrol", "status": status,
                          "version": 1, "title": "暴露垃圾", "description": "", "area_id": city[at].id,
                          "area_path": city[at].path, "opened_at": NOW - timedelta(days=30, hours=n),
                          "priority": case.priority, "report_count": case.reports})
            parts += [{"case_id": n, "department_code": department, "role": "lead" if i == 0 else "assisting",
                       "position": i, "status": part} for i, (department, part) in enumerate(case.parts.items())]
            for due, department in ((step_due, None), (summons_due, OWN)):
                if due is None:
                    continue
                met = NOW - timedelta(hours=30) if department and summons == "met" else None
                steps.append({"id": len(steps) + 1, "case_id": n, "step": "report_in" if department else STEP[status],
                              "time_limit": "1wd", "started_at": NOW - timedelta(days=2), "due_at": due,
                              "remind_at": due, "met_at": met, "department_code": department})
                if due < NOW and met is None:
                    supervisions.append({"case_id": n, "deadline_id": len(steps), "ops_centre_id": centre,
                                         "level": "district", "opened_at": due, "due_at": NOW + timedelta(days=1)})
    session.execute(insert(Case), cases)
    session.execute(insert(CaseAssignment), parts)
    session.execute(insert(CaseDeadline), steps)
    session.execute(insert(Supervision), supervisions)
    here = city[HERE]

    def staff(roles: tuple[str, ...], department: str | None) -> Principal:
        return Principal(id=1, kind="user", name="staff", roles=roles, area_id=here.id, area_code=here.code,
                         area_path=here.path, area_level=here.level, department_code=department)

    return Street(staff(("handler",), OWN), staff(("dispatcher",), None), found)


def in_queue(case: CaseMade, queue: str | None, *, department: str | None) -> bool:
    """Whether ``queue`` of a viewer serving the street (of ``department``, if any) holds ``case``."""
    part = case.parts.get(department) if department else None
    in_view = case.street == HERE or part is not None
    step_late = case.step_due is not None and case.step_due < NOW
    own_late = department is not None and case.summons == "late"
    if queue in {"overdue", "supervised"}:  # every late step is supervised
        if department is None:
            return in_view and (step_late or case.summons == "late")
        return in_view and (own_late or (step_late and part in queues.ACTING_PARTS))
    return in_view and {
        None: True,
        "to_acknowledge": part == "dispatched",
        "to_handle": part == "in_progress",
        "summoned": department is not None and case.summons in {"late", "waiting"} and case.status in REPORTS_IN_FROM,
        "department": part is not None or (department is not None and case.summons is not None),
        "to_dispatch": case.status in {"registered", "returned"},
        "to_register": case.status == "reported",
        "to_verify": case.status == "handled",
    }[queue]


def in_order(cases: list[CaseMade], order: CaseOrder, *, queue: str | None) -> list[int]:
    def running(case: CaseMade) -> datetime | None:  # the summoned queue goes by the department's report-in
        return case.summons_due if queue == "summoned" else case.step_due

    key = {CaseOrder.newest: lambda c: -c.id, CaseOrder.oldest: lambda c: c.id,
           CaseOrder.priority: lambda c: (-c.priority, c.id), CaseOrder.reports: lambda c: (-c.reports, c.id),
           CaseOrder.deadline: lambda c: (running(c) is None, running(c) or NOW, c.id)}[order]
    return [c.id for c in sorted(cases, key=key)]


def paged(session: Session, viewer: Principal, queue: str | None, order: CaseOrder, limit: int) -> list[int]:
    seen, cursor = [], None
    while True:
        page = service.queue_page(session, viewer=viewer, queue=queue, order=order, cursor=cursor, limit=limit,
                                  now=NOW)
        seen += [case.id for case in page.cases]
        if page.next_cursor is None:
            return seen
        cursor = page.next_cursor
        assert len(seen) <= len(PLACES) * 64, "the cursor goes round"


@pytest.mark.parametrize("who", ["handler", "centre"])
def test_each_queue_lists_each_case_in_view_once_in_order_page_after_page_and_counts_it(
        session: Session, street: Street, who: str) -> None:
    viewer = getattr(street, who)
    worked = queues.worked_by(viewer.roles, in_department=viewer.department_code is not None)
    counted = {q.name: q.count for q in service.queues_of(session, viewer=viewer, now=NOW)}
    for queue in worked:
        name = None if queue == "all" else queue
        expected = [c for c in street.cases if in_queue(c, name, department=viewer.department_code)]
        assert expected, queue  # every queue has something to list
        if name is not None:
            assert counted[queue] == len(expected), queue
        for order in CaseOrder:
            whole = in_order(expected, order, queue=name)
            for limit in (3, 500):
                assert paged(session, viewer, name, order, limit) == whole, (queue, order, limit)


def test_the_handler_sees_its_area_and_what_its_department_holds_and_nothing_else(
        session: Session, street: Street) -> None:
    places = {c.id: c.place for c in street.cases}
    listed = paged(session, street.handler, None, CaseOrder.newest, 500)
    assert len(listed) == len(set(listed))
    assert {places[i] for i in listed} == set(PLACES) - {"another's outside the area", "outside the area"}
    assert {places[i] for i in paged(session, street.centre, None, CaseOrder.newest, 500)} == {
        "in the area", "held in the area", "held with another in the area"}
    # summoned outside its area to a case it does not hold: not in its view, so in none of its queues
    summoned_elsewhere = [c.id for c in street.cases if c.street == NEXT_DOOR and OWN not in c.parts and c.summons]
    assert summoned_elsewhere
    for queue in queues.worked_by(street.handler.roles, in_department=True):
        assert not set(summoned_elsewhere) & set(paged(session, street.handler, None if queue == "all" else queue,
                                                       CaseOrder.newest, 500)), queue
