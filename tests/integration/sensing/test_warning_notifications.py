"""Warnings reach the people who watch the place: the operators and dispatchers whose jurisdiction
covers the device get a line in their inbox naming the device, level and rule; others do not;
webhooks may subscribe to the warning topics."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from cityops.notify import service as notify
from cityops.notify.models import Notification
from cityops.org.models import User
from cityops.sensing.models import WarningRow
from tests.factories import make_user
from tests.integration.sensing.test_alerting import make_rule, send
from tests.integration.sensing.world import NOW, STREET, make_world


def inbox(session: Session, username: str) -> list[tuple[str, str]]:
    return [(note.topic, note.text) for note in session.scalars(
        select(Notification).join(User, Notification.user_id == User.id).where(User.username == username)
        .order_by(Notification.id))]


def test_a_warning_is_told_to_the_operators_and_dispatchers_of_its_place(session: Session) -> None:
    world = make_world(session)
    make_user(session, username="street.op", roles=["operator"], area_code=STREET)
    make_user(session, username="street.disp", roles=["dispatcher"], area_code=STREET)
    make_user(session, username="other.op", roles=["operator"], area_code="99010102")
    make_rule(session, world, for_s=0)
    send(session, world, ("11:00", 3.1), ("11:01", 4.2), ("11:02", 1.0))
    notify.fan_out(session, now=NOW)
    told = inbox(session, "street.op")
    assert [topic for topic, _ in told] == ["warning.fired", "warning.level_changed", "warning.resolved"]
    fired = session.scalar(select(WarningRow.id))
    assert told[0][1] == f"预警 #{fired} 发出：WL-1 水位超限黄色预警，读数 3.1m（规则 wl-high）"
    assert told[1][1] == f"预警 #{fired} 级别变化：WL-1 水位超限红色预警，读数 4.2m（规则 wl-high）"
    assert [topic for topic, _ in inbox(session, "street.disp")] == [topic for topic, _ in told]
    assert inbox(session, "other.op") == []


def test_webhooks_may_subscribe_to_warnings() -> None:
    assert {"warning.fired", "warning.level_changed", "warning.resolved"} <= set(notify.TOPICS)
