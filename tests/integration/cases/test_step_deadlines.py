"""Step deadlines on the work calendar, with explicit times: across the 2025 National Day holiday,
through rework, an approved extension, and a deferral that stops the clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from cityops.cases import service
from cityops.cases.lifecycle import Action
from cityops.org import service as org_service
from tests.factories import make_user
from tests.integration.cases.conftest import CALENDAR, SHANGHAI, local, staff


def steps(session: Session, case) -> list[tuple[str, datetime, datetime | None]]:  # noqa: ANN001
    return [(d.step, d.due_at.astimezone(SHANGHAI), d.met_at) for d in service.deadlines_of(session, case=case)]


def test_deadlines_follow_the_steps_across_national_day(session: Session, case) -> None:  # noqa: ANN001
    at = local(2025, 9, 30, 16, 30)
    service.act(session, case=case, action=Action.register, actor=staff("operator"), at=at, calendar=CALENDAR)
    service.act(session, case=case, action=Action.dispatch, actor=staff("dispatcher"),
                at=local(2025, 9, 30, 17, 0), calendar=CALENDAR, data={"lead": "D1"})
    # register: platform default 2wh from 16:00 → 18:00; dispatch 1wh from 16:30 → 17:30, both met;
    # acknowledge 2wh from 17:00 on 30 September: one hour that day, then 1–8 October are holidays
    # and 9 October is the next working day → 10:00.
    assert steps(session, case) == [
        ("register", local(2025, 9, 30, 18, 0), local(2025, 9, 30, 16, 30).astimezone(UTC)),
        ("dispatch", local(2025, 9, 30, 17, 30), local(2025, 9, 30, 17, 0).astimezone(UTC)),
        ("acknowledge", local(2025, 10, 9, 10, 0), None),
    ]
    service.act(session, case=case, action=Action.acknowledge, actor=staff("handler", "D1"),
                at=local(2025, 10, 9, 9, 30), calendar=CALENDAR)
    # handle 3wd from 9 October: close of business on the third working day after it — 10 October,
    # 11 October (a Saturday, but a make-up working day), 13 October.
    assert steps(session, case)[-1] == ("handle", local(2025, 10, 13, 18, 0), None)


def test_rework_restarts_handling_and_an_extension_keeps_the_original(session: Session, case) -> None:  # noqa: ANN001
    start = local(2025, 11, 3, 9, 0)
    service.act(session, case=case, action=Action.register, actor=staff("operator"), at=start, calendar=CALENDAR)
    service.act(session, case=case, action=Action.dispatch, actor=staff("dispatcher"), at=start, calendar=CALENDAR,
                data={"lead": "D1"})
    service.act(session, case=case, action=Action.acknowledge, actor=staff("handler", "D1"), at=start,
                calendar=CALENDAR)
    until = local(2025, 11, 20, 18, 0)
    service.act(session, case=case, action=Action.request_extension, actor=staff("handler", "D1"),
                at=start + timedelta(hours=1), calendar=CALENDAR, reason="需要采购材料",
                data={"until": until.isoformat()})
    service.act(session, case=case, action=Action.approve_extension, actor=staff("dispatcher"),
                at=start + timedelta(hours=2), calendar=CALENDAR)
    handle = service.deadlines_of(session, case=case)[-1]
    assert handle.due_at == until and handle.original_due_at == local(2025, 11, 6, 18, 0)
    service.act(session, case=case, action=Action.report, actor=staff("handler", "D1"),
                at=local(2025, 11, 5, 10, 0), calendar=CALENDAR, reason="done")
    service.act(session, case=case, action=Action.verify, actor=staff("inspector"),
                at=local(2025, 11, 5, 11, 0), calendar=CALENDAR, reason="not done", data={"passed": False})
    assert [s for s, _, _ in steps(session, case)][-3:] == ["handle", "verify", "handle"]
    assert steps(session, case)[-1] == ("handle", local(2025, 11, 10, 18, 0), None)


def test_deferral_stops_the_clock_and_resuming_restarts_it(session: Session, case) -> None:  # noqa: ANN001
    start = local(2025, 11, 3, 9, 0)
    service.act(session, case=case, action=Action.register, actor=staff("operator"), at=start, calendar=CALENDAR)
    service.act(session, case=case, action=Action.defer, actor=staff("dispatcher"), at=start + timedelta(hours=1),
                calendar=CALENDAR, reason="等待汛期结束")
    assert service.deadlines_of(session, case=case)[-1].met_at is not None
    assert service.list_cases(session, viewer=org_service.principal_of_user(
        session, make_user(session, username="lead", roles=["leader"], area_code="990000")), queue="overdue",
        now=local(2025, 12, 1, 9, 0)) == []
    service.act(session, case=case, action=Action.resume, actor=staff("dispatcher"), at=local(2025, 11, 10, 9, 0),
                calendar=CALENDAR)
    assert steps(session, case)[-1] == ("dispatch", local(2025, 11, 10, 10, 0), None)
