"""The sweeper and an extension granted after the step went overdue: the new deadline holds, so the
supervision opened for the old one ends instead of escalating; when the new deadline passes too, the
step is overdue again and supervised afresh."""

from __future__ import annotations

from sqlalchemy.orm import Session

from cityops.cases import service, sweeper
from cityops.cases.lifecycle import Action
from cityops.categories.time_limits import parse_limit
from tests.integration.cases.conftest import CALENDAR, local, staff

ONE_DAY = parse_limit("1wd")


def sweep(session: Session, now):  # noqa: ANN001, ANN201
    return sweeper.sweep(session, now=now, calendar=CALENDAR, supervision_limit=ONE_DAY)


def test_an_extension_ends_the_supervision_of_the_overdue_step_until_the_new_deadline(
        session: Session, case) -> None:  # noqa: ANN001
    start = local(2025, 11, 3, 9, 0)  # a Monday
    service.act(session, case=case, action=Action.register, actor=staff("operator"), at=start, calendar=CALENDAR)
    service.act(session, case=case, action=Action.dispatch, actor=staff("dispatcher"), at=start, calendar=CALENDAR,
                data={"lead": "D1"})
    service.act(session, case=case, action=Action.acknowledge, actor=staff("handler", "D1"), at=start,
                calendar=CALENDAR)
    handle = service.deadlines_of(session, case=case)[-1]
    assert (handle.step, handle.due_at) == ("handle", local(2025, 11, 6, 18, 0))  # 3wd
    late = sweep(session, local(2025, 11, 6, 18, 5))
    assert (late.overdue, late.supervised) == (1, 1)
    until = local(2025, 11, 20, 18, 0)
    service.act(session, case=case, action=Action.request_extension, actor=staff("handler", "D1"),
                at=local(2025, 11, 7, 9, 0), calendar=CALENDAR, reason="需要采购材料",
                data={"until": until.isoformat()})
    service.act(session, case=case, action=Action.approve_extension, actor=staff("dispatcher"),
                at=local(2025, 11, 7, 10, 0), calendar=CALENDAR)
    assert handle.due_at == until and handle.overdue_at is None
    # The district's supervision was due at close of business on 7 November; the step is no longer
    # overdue then, so nothing escalates to the city and the supervision is over.
    quiet = sweep(session, local(2025, 11, 7, 18, 5))
    assert (quiet.overdue, quiet.supervised, quiet.escalated) == (0, 0, 0)
    assert [(s.level, s.closed_at is not None) for s in sweeper.supervisions_of(session, case=case)] == [
        ("district", True)]
    assert service.list_cases(session, viewer=_leader(session), queue="supervised") == []
    again = sweep(session, local(2025, 11, 20, 18, 5))
    assert (again.overdue, again.supervised) == (1, 1)
    assert [(s.level, s.closed_at is None) for s in sweeper.supervisions_of(session, case=case)] == [
        ("district", False), ("district", True)]


def _leader(session: Session):  # noqa: ANN202
    from cityops.org import service as org_service
    from tests.factories import make_user
    return org_service.principal_of_user(session, make_user(session, username="lead", roles=["leader"],
                                                            area_code="990000"))
