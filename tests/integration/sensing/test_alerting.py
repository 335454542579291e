"""Rules evaluated as readings arrive, on SQLite and PostgreSQL: one warning per rule and origin that
fires after its ``for`` duration, changes level with entries, resolves on clear; the same batch twice
changes nothing; late readings count as if they had come in time; maintenance raises nothing; silences
keep announcements out of the outbox, not the warning out of the store."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cityops.org import service as org_service
from cityops.outbox import OutboxEvent
from cityops.sensing import alerting, rules, service
from cityops.sensing.models import Reading, RuleStateRow, WarningEntryRow, WarningRow
from tests.factories import make_user
from tests.integration.sensing.world import NOW, STREET, SensedWorld, make_world, reading

LEVELS = [{"level": "yellow", "fire_at": 3.0, "clear_at": 2.8}, {"level": "orange", "fire_at": 3.5, "clear_at": 3.3},
          {"level": "red", "fire_at": 4.0, "clear_at": 3.8}]


def make_rule(session: Session, world: SensedWorld, code: str = "wl-high", **definition: Any) -> int:
    data = {"kind": "threshold", "metric": "water_level", "scope": {"device_type": "wl", "area": STREET},
            "levels": LEVELS, "for_s": 120} | definition
    return alerting.create_rule(session, code=code, name="水位超限", definition=data, author=world.admin).id


def send(session: Session, world: SensedWorld, *values: tuple[str, float], device: str = "WL-1") -> None:
    items = [reading(device, f"2026-11-15T{hhmm}:00Z", value) for hhmm, value in values]
    result = service.ingest(session, items=items, caller=world.admin, now=NOW)
    assert result.accepted == len(items), result.rejected


def warnings_of(session: Session) -> list[tuple[str, str, str]]:
    return [tuple(row) for row in session.execute(
        select(WarningRow.origin, WarningRow.status, WarningRow.level).order_by(WarningRow.id))]


def entries(session: Session) -> list[tuple[str, str | None, str]]:
    return [tuple(row) for row in session.execute(
        select(WarningEntryRow.action, WarningEntryRow.from_level, WarningEntryRow.to_level)
        .order_by(WarningEntryRow.warning_id, WarningEntryRow.version))]


def topics(session: Session) -> list[str]:
    return list(session.scalars(select(OutboxEvent.topic).where(OutboxEvent.topic.startswith("warning."))
                                .order_by(OutboxEvent.id)))


def test_a_warning_fires_after_its_for_duration_rises_and_resolves_on_clear(session: Session) -> None:
    world = make_world(session)
    make_rule(session, world)
    send(session, world, ("11:00", 3.1), ("11:01", 3.2))
    assert warnings_of(session) == []
    send(session, world, ("11:02", 3.1))
    assert warnings_of(session) == [("WL-1", "firing", "yellow")]
    send(session, world, ("11:03", 3.6), ("11:05", 3.7))
    send(session, world, ("11:06", 4.1), ("11:08", 4.2))
    assert warnings_of(session) == [("WL-1", "firing", "red")]
    warning = session.scalar(select(WarningRow))
    assert (warning.peak_level, warning.value, warning.closed_at) == ("red", 4.2, None)
    send(session, world, ("11:09", 2.5))
    assert warnings_of(session) == [("WL-1", "resolved", "red")]
    assert warning.closed_at == NOW.replace(hour=11, minute=9)
    assert entries(session) == [("fire", None, "yellow"), ("change_level", "yellow", "orange"),
                                ("change_level", "orange", "red"), ("resolve", "red", "red")]
    assert topics(session) == ["warning.fired", "warning.level_changed", "warning.level_changed", "warning.resolved"]
    payload = session.scalar(select(OutboxEvent.payload).where(OutboxEvent.topic == "warning.level_changed"))
    assert (payload["warning_id"], payload["previous_level"], payload["level"]) == (warning.id, "yellow", "orange")
    send(session, world, ("11:10", 3.2), ("11:12", 3.3))
    assert warnings_of(session) == [("WL-1", "resolved", "red"), ("WL-1", "firing", "yellow")]


def test_a_warning_resolved_and_raised_again_within_one_batch_is_two_warnings(session: Session) -> None:
    world = make_world(session)
    make_rule(session, world, for_s=0)
    send(session, world, ("11:00", 3.6), ("11:01", 2.0), ("11:02", 4.1), ("11:03", 4.2))
    assert warnings_of(session) == [("WL-1", "resolved", "orange"), ("WL-1", "firing", "red")]
    assert entries(session) == [("fire", None, "orange"), ("resolve", "orange", "orange"), ("fire", None, "red")]


def snapshot(session: Session) -> tuple[Any, ...]:
    return (warnings_of(session), entries(session), topics(session),
            sorted((r.rule_id, r.metric, str(r.state)) for r in session.scalars(select(RuleStateRow))))


def test_the_same_batch_twice_changes_nothing(session: Session) -> None:
    world = make_world(session)
    make_rule(session, world)
    batch = (("11:00", 3.6), ("11:02", 3.7), ("11:03", 2.0))
    send(session, world, *batch)
    before = snapshot(session)
    assert before[0] == [("WL-1", "resolved", "orange")]
    send(session, world, *batch)
    send(session, world, ("11:00", 9.9), ("11:02", 9.9))  # the same times again, other values: stored ones count
    assert snapshot(session) == before


def test_a_late_reading_counts_as_if_it_had_come_in_time(session: Session) -> None:
    world = make_world(session)
    rule_id = make_rule(session, world, for_s=300, allowed_lateness_s=600)
    send(session, world, ("11:00", 3.1), ("11:10", 3.1))
    send(session, world, ("11:05", 2.0))  # late, but within the lateness window: it breaks the run
    send(session, world, ("11:30", 3.1))
    assert warnings_of(session) == []  # without the 11:05 reading, 11:10 would have fired
    send(session, world, ("11:01", 3.9))  # older than the watermark: too late, and nothing changes
    send(session, world, ("11:40", 3.2), ("11:50", 3.2))
    assert warnings_of(session) == [("WL-1", "firing", "yellow")]
    device = session.scalar(select(WarningRow)).device_id
    stored = [rules.Reading(ts, value) for ts, value in session.execute(
        select(Reading.ts, Reading.value).order_by(Reading.ts)
        .where(Reading.device_id == device, Reading.ts != NOW.replace(hour=11, minute=1)))]
    replay = rules.dry_run(alerting.rule_of(alerting.get_rule(session, rule_id=rule_id)), stored)
    # 11:30 ends a 20-minute run that began at 11:10; it waits for the watermark until 11:40 comes
    assert [(e.fired_at, e.peak_level) for e in replay.episodes] == [(NOW.replace(hour=11, minute=30), "yellow")]
    assert session.scalar(select(WarningRow.fired_at)) == replay.episodes[0].fired_at


def test_maintenance_readings_raise_nothing(session: Session) -> None:
    world = make_world(session)
    make_rule(session, world, for_s=0)
    send(session, world, ("11:00", 4.5), ("11:01", 4.6), device="WL-M")
    assert warnings_of(session) == []
    assert session.scalar(select(func.count()).select_from(RuleStateRow)) == 0


def test_readings_outside_a_rules_scope_are_not_watched(session: Session) -> None:
    world = make_world(session)
    make_rule(session, world, for_s=0)
    send(session, world, ("11:00", 4.5))
    items = [reading("WL-1", "2026-11-15T11:00:00Z", 9.0, metric="battery"),
             reading("AQ-1", "2026-11-15T11:00:00Z", 900.0, metric="pm25")]
    service.ingest(session, items=items, caller=world.admin, now=NOW)
    assert warnings_of(session) == [("WL-1", "firing", "red")]
    assert session.scalar(select(func.count()).select_from(RuleStateRow)) == 1


def test_a_silence_keeps_the_announcement_not_the_warning(session: Session) -> None:
    world = make_world(session)
    make_rule(session, world, for_s=0)
    operator = org_service.principal_of_user(session, make_user(session, username="street.op", roles=["operator"],
                                                                area_code=STREET))
    alerting.create_silence(session, matchers=[("area", STREET), ("rule", "wl-high")], reason="汛期演练",
                            starts_at=NOW - timedelta(hours=1), ends_at=NOW + timedelta(hours=1), author=operator)
    send(session, world, ("11:00", 3.2))
    assert warnings_of(session) == [("WL-1", "firing", "yellow")]
    assert topics(session) == []


def test_the_store_holds_one_active_warning_per_rule_and_origin(session: Session) -> None:
    world = make_world(session)
    make_rule(session, world, for_s=0)
    send(session, world, ("11:00", 3.2))
    first = session.scalar(select(WarningRow))
    twin = WarningRow(rule_id=first.rule_id, device_id=first.device_id, metric=first.metric, origin=first.origin,
                      status="acknowledged", level="red", peak_level="red", labels=first.labels,
                      area_path=first.area_path, fired_at=first.fired_at, updated_at=first.updated_at, version=1)
    savepoint = session.begin_nested()
    session.add(twin)
    with pytest.raises(IntegrityError):
        session.flush()
    savepoint.rollback()
    first.status = "resolved"
    session.add(WarningRow(rule_id=first.rule_id, device_id=first.device_id, metric=first.metric, origin=first.origin,
                           status="firing", level="red", peak_level="red", labels=first.labels,
                           area_path=first.area_path, fired_at=first.fired_at, updated_at=first.updated_at, version=1))
    session.flush()
