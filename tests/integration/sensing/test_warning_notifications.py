"""Warnings reach the people who watch the place: the operators and dispatchers whose jurisdiction
covers the device get a line in their inbox naming the warning as the warnings board does (its area,
rule and level, then the device and the reading), never by its id; others do not; webhooks may
subscribe to the warning topics."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from cityops.geo.models import Area
from cityops.notify import service as notify
from cityops.notify.models import Notification
from cityops.org.models import User
from cityops.outbox import OutboxEvent
from cityops.sensing import alerting
from cityops.sensing import indicators_service as indicators
from cityops.sensing.models import WarningRow
from tests.factories import make_user
from tests.integration.sensing import test_indicators
from tests.integration.sensing.test_alerting import make_rule, send
from tests.integration.sensing.world import NOW, STREET, make_world, reading


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
    # named by the area it is filed under (the device's, as the warnings board shows it), never by its id
    area = session.scalar(select(Area.name).join(WarningRow, WarningRow.area_path == Area.path))
    assert told[0][1] == f"{area} 水位超限黄色预警 发出：WL-1，读数 3.1m（规则 wl-high）"
    assert told[1][1] == f"{area} 水位超限红色预警 级别变化：WL-1，读数 4.2m（规则 wl-high）"
    assert told[2][1] == f"{area} 水位超限红色预警 解除：WL-1，读数 1m（规则 wl-high）"
    assert area and not any("#" in text for _, text in told)
    assert [topic for topic, _ in inbox(session, "street.disp")] == [topic for topic, _ in told]
    assert inbox(session, "other.op") == []


def test_webhooks_may_subscribe_to_warnings() -> None:
    assert {"warning.fired", "warning.level_changed", "warning.resolved"} <= set(notify.TOPICS)


def test_an_indicators_warning_is_named_by_its_area_and_rule(session: Session) -> None:
    """An indicator's warning comes from an area, not a device: the line names the area once."""
    make_world(session)
    make_user(session, username="street.op", roles=["operator"], area_code=STREET)
    admin = test_indicators.city_admin(session)
    test_indicators.make_indicator(session, admin)
    alerting.create_rule(session, code="wl-street-high", name="街道最高水位", author=admin, definition={
        "kind": "threshold", "scope": {"indicator": "wl-max"}, "levels": [{"level": "yellow", "fire_at": 3.0}]})
    test_indicators.send(session, admin, reading("WL-1", "2026-11-15T12:00:10Z", 3.2))
    indicators.compute(session, now=NOW + timedelta(minutes=1, seconds=40))
    notify.fan_out(session, now=NOW + timedelta(minutes=2))
    street = session.scalar(select(Area.name).where(Area.code == STREET))
    assert inbox(session, "street.op") == [
        ("warning.fired", f"{street} 街道最高水位黄色预警 发出：读数 3.2m（规则 wl-street-high）")]


def test_a_warning_queued_before_it_carried_names_is_told_by_its_codes(session: Session) -> None:
    """An event written by an older version (no rule, device or unit names) still reads without an id."""
    make_world(session)
    make_user(session, username="street.op", roles=["operator"], area_code=STREET)
    street = session.scalar(select(Area).where(Area.code == STREET))
    session.add(OutboxEvent(topic="warning.fired", area_path=street.path, created_at=NOW, payload={
        "warning_id": 7, "rule": "wl-high", "origin": "WL-1", "level": "yellow", "value": 3.1}))
    session.flush()
    notify.fan_out(session, now=NOW)
    assert inbox(session, "street.op") == [
        ("warning.fired", f"{street.name} wl-high黄色预警 发出：WL-1，读数 3.1（规则 wl-high）")]
