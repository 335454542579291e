"""Rules that wait on time run on the worker's clock: a device that falls silent raises its no-data
warning without any reading arriving, up a level as the silence grows, and its next reading
resolves it; a device in maintenance stays quiet."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from cityops.sensing import alerting
from cityops.sensing.models import Device, WarningRow
from tests.integration.sensing.test_alerting import make_rule, send, warnings_of
from tests.integration.sensing.world import NOW, SensedWorld, make_world

SILENCES = [{"level": "yellow", "after_s": 900}, {"level": "red", "after_s": 3600}]
LAST_READING = NOW.replace(hour=11, minute=0)


def silent_device_rule(session: Session) -> SensedWorld:
    world = make_world(session)
    make_rule(session, world, code="wl-silent", kind="no_data", levels=[], silence_levels=SILENCES, for_s=None)
    send(session, world, ("11:00", 1.0))
    return world


def test_a_silent_device_raises_its_no_data_warning_on_the_clock(session: Session) -> None:
    silent_device_rule(session)
    assert alerting.advance_all(session, now=LAST_READING + timedelta(minutes=10)) == 0
    assert warnings_of(session) == []
    alerting.advance_all(session, now=LAST_READING + timedelta(minutes=16))
    assert warnings_of(session) == [("WL-1", "firing", "yellow")]
    alerting.advance_all(session, now=LAST_READING + timedelta(minutes=61))
    assert warnings_of(session) == [("WL-1", "firing", "red")]
    alerting.advance_all(session, now=LAST_READING + timedelta(minutes=90))  # nothing new to say
    assert session.scalar(select(WarningRow.level)) == "red"


def test_the_next_reading_resolves_it(session: Session) -> None:
    world = silent_device_rule(session)
    alerting.advance_all(session, now=LAST_READING + timedelta(minutes=16))
    send(session, world, ("11:20", 1.0))
    assert warnings_of(session) == [("WL-1", "resolved", "yellow")]


def test_a_device_in_maintenance_stays_quiet(session: Session) -> None:
    silent_device_rule(session)
    session.execute(update(Device).where(Device.code == "WL-1").values(status="maintenance"))
    assert alerting.advance_all(session, now=LAST_READING + timedelta(hours=2)) == 0
    assert warnings_of(session) == []
