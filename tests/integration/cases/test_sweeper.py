"""The sweeper with explicit times: reminders before a deadline, overdue marks after it, supervision
one level up and escalation, met steps closing their supervision, repeated sweeps changing nothing,
and the lease that keeps two workers apart."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from cityops import jobs
from cityops.cases import service, sweeper
from cityops.cases.lifecycle import Action
from cityops.categories.time_limits import parse_limit
from cityops.models import OpsCentre
from cityops.org import service as org_service
from tests.factories import make_user
from tests.integration.cases.conftest import CALENDAR, local, staff

ONE_DAY = parse_limit("1wd")


def sweep(session: Session, now):  # noqa: ANN001, ANN201
    return sweeper.sweep(session, now=now, calendar=CALENDAR, supervision_limit=ONE_DAY)


def test_remind_then_overdue_then_supervise_and_escalate(session: Session, case) -> None:  # noqa: ANN001
    # Reported Tuesday 30 September 2025 16:00; the register step's 2wh run out at 18:00, and
    # its reminder falls at 80 % of that, 17:36.
    assert vars(sweep(session, local(2025, 9, 30, 17, 0))) == vars(sweeper.SweepResult())
    assert sweep(session, local(2025, 9, 30, 17, 40)).reminded == 1
    assert sweep(session, local(2025, 9, 30, 17, 50)).reminded == 0  # once only
    overdue = sweep(session, local(2025, 9, 30, 18, 5))
    assert (overdue.overdue, overdue.supervised) == (1, 1)
    first = sweeper.supervisions_of(session, case=case)
    assert [(s.level, session.get(OpsCentre, s.ops_centre_id).code) for s in first] == [("district", "oc-990101")]
    # The supervision's own deadline (1wd) is close of business on 9 October, after the holiday.
    assert first[0].due_at == local(2025, 10, 9, 18, 0)
    assert vars(sweep(session, local(2025, 10, 9, 17, 0))) == vars(sweeper.SweepResult())
    assert sweep(session, local(2025, 10, 9, 18, 1)).escalated == 1
    levels = [(s.level, s.closed_at is None) for s in sweeper.supervisions_of(session, case=case)]
    assert levels == [("district", False), ("city", True)]
    assert sweep(session, local(2025, 10, 20, 18, 1)).escalated == 0  # nothing above the city
    leader = org_service.principal_of_user(session, make_user(session, username="lead", roles=["leader"],
                                                              area_code="990000"))
    assert [c.id for c in service.list_cases(session, viewer=leader, queue="supervised")] == [case.id]


def test_meeting_the_step_closes_its_supervision(session: Session, case) -> None:  # noqa: ANN001
    sweep(session, local(2025, 9, 30, 18, 5))
    registered_at = local(2025, 10, 9, 9, 0)
    service.act(session, case=case, action=Action.register, actor=staff("operator"), at=registered_at,
                calendar=CALENDAR)
    sweep(session, local(2025, 10, 9, 9, 1))
    supervision = sweeper.supervisions_of(session, case=case)[0]
    assert supervision.closed_at == registered_at


def test_only_one_worker_holds_the_lease(session: Session) -> None:
    now = local(2025, 1, 1, 0, 0)
    ttl = timedelta(minutes=5)
    assert jobs.acquire(session, name="sweeper", holder="a", now=now, ttl=ttl)
    assert not jobs.acquire(session, name="sweeper", holder="b", now=now + timedelta(minutes=1), ttl=ttl)
    assert jobs.acquire(session, name="sweeper", holder="a", now=now + timedelta(minutes=2), ttl=ttl)  # renew
    assert jobs.acquire(session, name="sweeper", holder="b", now=now + timedelta(minutes=8), ttl=ttl)  # expired
    jobs.release(session, name="sweeper", holder="b", now=now + timedelta(minutes=9))
    assert jobs.acquire(session, name="sweeper", holder="a", now=now + timedelta(minutes=9, seconds=1), ttl=ttl)
