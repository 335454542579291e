"""Shared fixtures for the closed loop's integration tests: the test city with a category that
carries time limits, a district department and centres at every level, and one reported case."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from shapely.geometry import box
from sqlalchemy.orm import Session

from cityops.calendar.workcalendar import WorkCalendar
from cityops.cases import service
from cityops.cases.channels import Channel
from cityops.cases.lifecycle import Action, Actor, ActorKind
from cityops.categories import service as categories_service
from cityops.geo.locator import AreaShape, Locator
from cityops.org import service as org_service
from cityops.org.access import Principal
from tests.factories import make_city, make_user

SHANGHAI = ZoneInfo("Asia/Shanghai")
CALENDAR = WorkCalendar()


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)


def staff(role: str, department: str | None = None) -> Actor:
    return Actor(kind=ActorKind.user, id="1", role=role, name=role, department=department)


Move = tuple[str, str | None, Action, dict[str, Any]]
"""(role, department acted for, action, data) of one move on a case."""


class JointCity:
    """The test city with departments D1, D2 and D3 in its district, for cases handled jointly: each
    case is taken in by an operator and registered, then moved by staff, on a clock that moves a
    minute a step from ``start``; ``times`` keeps when each move was made (``title.action.department``)."""

    def __init__(self, session: Session, start: datetime) -> None:
        city = make_city(session)
        for code in ("D1", "D2", "D3"):
            org_service.create_department(session, code=code, name=code, level="district", area_code="990101",
                                          kind=code, origin="test")
        self.session = session
        self.receiver = org_service.principal_of_user(session, make_user(
            session, username="op", roles=["operator"], area_code="990000"))
        self.locator = Locator([AreaShape(a.id, a.code, a.name, a.level, a.parent_id,
                                          box(a.min_lon, a.min_lat, a.max_lon, a.max_lat))
                                for a in city.areas.values()])
        self.clock: Iterator[datetime] = iter(start + timedelta(minutes=minute) for minute in range(1000))
        self.times: dict[str, datetime] = {}

    def case(self, title: str, *moves: Move) -> int:
        report = service.Report(channel=Channel.hotline_12345, title=title, lon=121.02, lat=31.05)
        made = service.intake(self.session, report=report, actor=staff("operator"), receiver=self.receiver,
                              locator=self.locator, calendar=CALENDAR, at=next(self.clock),
                              policy=service.IntakePolicy()).case
        for role, department, action, data in (("operator", None, Action.register, {}), *moves):
            at = self.times[f"{title}.{action.value}.{department}"] = next(self.clock)
            service.act(self.session, case=made, action=action, actor=staff(role, department), at=at,
                        calendar=CALENDAR, reason="因为", data=data)
        return made.id


def centred_city(session: Session) -> tuple[Principal, Locator]:
    """The test city with an operations centre at each level: its operator, who takes reports in, and a
    locator over its areas' boxes."""
    city = make_city(session)
    for code, level in (("990000", "city"), ("990101", "district"), ("99010101", "street")):
        org_service.create_ops_centre(session, code=f"oc-{code}", name=f"oc-{code}", level=level,
                                      area_code=code, origin="test")
    receiver = org_service.principal_of_user(session, make_user(session, username="op", roles=["operator"],
                                                                area_code="990000"))
    return receiver, Locator([AreaShape(a.id, a.code, a.name, a.level, a.parent_id,
                                        box(a.min_lon, a.min_lat, a.max_lon, a.max_lat)) for a in city.areas.values()])


@pytest.fixture
def case(session: Session):  # noqa: ANN201
    receiver, locator = centred_city(session)
    categories_service.create_category(session, code="E01", name="市容环境", kind="event", origin="test",
                                       time_limits={"dispatch": "1wh", "acknowledge": "2wh", "handle": "3wd",
                                                    "verify": "4h"})
    org_service.create_department(session, code="D1", name="D1", level="district", area_code="990101",
                                  kind="x", origin="test")
    report = service.Report(channel=Channel.hotline_12345, title="x", category_code="E01", lon=121.02, lat=31.05)
    return service.intake(session, report=report, actor=staff("operator"), receiver=receiver, locator=locator,
                          calendar=CALENDAR, at=local(2025, 9, 30, 16, 0), policy=service.IntakePolicy()).case


