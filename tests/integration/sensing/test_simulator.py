"""The simulated fleet in the store, on SQLite and PostgreSQL: its devices registered inside the city's
streets once, its readings stored through ingest with their faults, the demo's rules raising warnings
and opening cases, and nothing simulated in a city that is not a demo."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from cityops.cases.models import Case
from cityops.categories import service as categories_service
from cityops.config import Settings
from cityops.db import unit_of_work
from cityops.errors import InvalidInput
from cityops.geo import service as geo_service
from cityops.sensing import alerting, service, simulate, simulate_fleet
from cityops.sensing.models import Device, Reading, SensingRule, WarningRow
from cityops.sensing.simulate import Fault, FaultKind
from tests.factories import make_city

START = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)


def fake_clock(start: datetime, step: timedelta) -> Iterator[datetime]:
    moment = start
    while True:
        yield moment
        moment += step


def test_the_fleet_is_registered_inside_the_city_once_and_grows_without_moving(session: Session) -> None:
    make_city(session)
    locator = geo_service.build_locator(session, boundary_distance_m=30)
    devices = simulate_fleet.ensure_fleet(session, count=6, locator=locator, seed=1)
    rows = {row.code: row for row in session.scalars(select(Device))}
    assert sorted(rows) == sorted(device.code for device in devices) and len(rows) == 6
    for row in rows.values():
        assert row.origin == "demo" and row.area_path.startswith("/990000/") and row.area_path.count("/") == 6
        assert 121.0 < row.lon < 121.4 and 31.0 < row.lat < 31.2
    placed = {code: (row.lon, row.lat) for code, row in rows.items()}
    assert simulate_fleet.ensure_fleet(session, count=6, locator=locator, seed=1) == devices
    grown = simulate_fleet.ensure_fleet(session, count=9, locator=locator, seed=1)
    assert grown[:6] == devices
    assert {row.code: (row.lon, row.lat) for row in session.scalars(select(Device)) if row.code in placed} == placed
    assert session.scalar(select(func.count()).select_from(Device)) == 9


def test_a_fleet_needs_a_city_and_a_sensible_size(session: Session) -> None:
    with pytest.raises(InvalidInput) as error:
        simulate_fleet.ensure_fleet(session, count=3, locator=None, seed=0)
    assert "cityops demo" in error.value.detail
    make_city(session)
    locator = geo_service.build_locator(session, boundary_distance_m=30)
    for count in (0, 100_001):
        with pytest.raises(InvalidInput) as error:
            simulate_fleet.ensure_fleet(session, count=count, locator=locator)
        assert error.value.field == "devices"
    assert session.scalar(select(func.count()).select_from(Device)) == 0
    assert not simulate_fleet.holds_demo_city(session)  # the test city is not a demo: no fleet is served


def test_a_run_stores_what_comes_due_and_a_silent_device_sends_nothing(scratch_store: Engine) -> None:
    with unit_of_work(scratch_store) as session:
        make_city(session)
        locator = geo_service.build_locator(session, boundary_distance_m=30)
        devices = simulate_fleet.ensure_fleet(session, count=4, locator=locator)
    silent = devices[1].code
    fleet = simulate.Fleet(devices, faults={silent: [Fault(FaultKind.silence, START, START + timedelta(minutes=5))]})
    schedule = simulate.Schedule.for_rate(devices, rate=1.0)
    clock = fake_clock(START, timedelta(seconds=30))
    sender = simulate_fleet.IngestSender(scratch_store, cases=None, clock=lambda: START + timedelta(minutes=11))
    stats = simulate_fleet.run(fleet, schedule, sender, duration=timedelta(minutes=10), stop=threading.Event(),
                               tick=0, clock=lambda: next(clock))
    with unit_of_work(scratch_store) as session:
        stored = session.execute(select(Device.code, Reading.ts).join(Device, Device.id == Reading.device_id)).all()
    # one report per device every 5 s for 10 minutes, 5 metrics in all, less the air station's first 5 minutes
    assert stats.sent.readings == stats.sent.accepted == len(stored) == 120 * 5 - 60 * 2
    assert stats.sent.rejected == 0 and stats.batches == 20
    assert all(START <= ts.astimezone(UTC) < START + timedelta(minutes=10) for _, ts in stored)
    silent_times = [ts.astimezone(UTC) for code, ts in stored if code == silent]
    assert silent_times and min(silent_times) >= START + timedelta(minutes=5)


def test_the_demo_rules_warn_and_open_cases_where_the_demo_has_the_category(session: Session,
                                                                           settings: Settings) -> None:
    make_city(session)
    categories_service.create_category(session, code="E04", name="突发事件", kind="event", origin="test")
    categories_service.create_category(session, code="E0403", name="燃气管道破裂", kind="event", parent_code="E04",
                                       origin="test")
    locator = geo_service.build_locator(session, boundary_distance_m=30)
    devices = simulate_fleet.ensure_fleet(session, count=3, locator=locator)
    assert sorted(simulate_fleet.ensure_demo_rules(session)) == sorted(
        code for code, _, _ in simulate_fleet.demo_rules(waterlogging=None, gas_leak=None))
    assert simulate_fleet.ensure_demo_rules(session) == []
    opening = dict(session.execute(select(SensingRule.code, SensingRule.definition)).all())
    assert opening["sim-manhole-methane"]["case_category"] == "E0403"
    assert opening["sim-high-water"]["open_case_from"] is None  # no 道路积水 category in this city
    gas = next(device for device in devices if device.kind.type_code == "sim_manhole_gas")
    leak = Fault(FaultKind.spike, START, START + timedelta(minutes=3), scale=1.0)
    fleet = simulate.Fleet([gas], faults={gas.code: [leak]})
    readings = [reading for minute in range(6) for reading in fleet.report(gas, START + timedelta(minutes=minute))]
    intake = alerting.CaseIntake.from_settings(settings)
    result = service.ingest(session, items=readings, caller=simulate_fleet.SIMULATOR, now=START + timedelta(hours=1),
                            cases=intake)
    assert result.accepted == 6
    warning = session.scalar(select(WarningRow))
    assert (warning.origin, warning.status, warning.peak_level) == (gas.code, "resolved", "red")
    assert session.get(Case, warning.case_id).channel == "iot_warning"
