"""The simulator's readings over the wire, on SQLite and PostgreSQL: POSTed to the API with a one-run
token (refused once it is revoked), and published to the real Mosquitto, where the consumer stores them
and a methane spike opens its case through the closed loop."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from functools import partial

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from cityops.cases.models import Case
from cityops.categories import service as categories_service
from cityops.config import Settings
from cityops.db import unit_of_work
from cityops.errors import ServiceUnavailable
from cityops.geo import service as geo_service
from cityops.sensing import alerting, mqtt, service, simulate, simulate_fleet
from cityops.sensing import devices as registry
from cityops.sensing.devices import DeviceSpec
from cityops.sensing.models import Device, Reading, WarningRow
from cityops.sensing.simulate import Fault, FaultKind, SimDevice
from tests.factories import make_city
from tests.integration.sensing.test_mqtt import broker, forget_session, wait_for  # noqa: F401  (fixture)

START = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(hours=1)
GAS = next(kind for kind in simulate.DEVICE_KINDS if kind.type_code == "sim_manhole_gas")


def test_readings_are_posted_to_the_api_with_a_token_for_the_run(client: TestClient, session: Session) -> None:
    make_city(session)
    devices = simulate_fleet.ensure_fleet(session, count=5,
                                          locator=geo_service.build_locator(session, boundary_distance_m=30))
    client_id, token = simulate_fleet.simulator_token(session)
    sender = simulate_fleet.HttpSender("http://testserver", token=token, client=client)
    schedule = simulate.Schedule.for_rate(devices, rate=1.0)
    readings = simulate.Fleet(devices).readings(schedule, START, START + timedelta(minutes=2))
    sent = sender.send(readings)
    assert (sent.readings, sent.accepted, sent.rejected) == (len(readings), len(readings), 0) and readings
    assert session.scalar(select(func.count()).select_from(Reading)) == len(readings)
    simulate_fleet.revoke_token(session, client_id=client_id)
    with pytest.raises(ServiceUnavailable) as refused:
        sender.send(readings)
    assert refused.value.code == "batch_refused" and "401" in refused.value.detail


def test_published_readings_are_stored_and_a_spike_opens_its_case(scratch_store: Engine, broker: str,  # noqa: F811
                                                                  settings: Settings) -> None:
    suffix = uuid.uuid4().hex[:8].upper()
    gauges = [SimDevice(f"SIM-GAS-{suffix}-{n}", GAS) for n in range(2)]
    with unit_of_work(scratch_store) as session:
        make_city(session)
        categories_service.create_category(session, code="E04", name="突发事件", kind="event", origin="test")
        categories_service.create_category(session, code="E0403", name="燃气管道破裂", kind="event",
                                           parent_code="E04", origin="test")
        locator = geo_service.build_locator(session, boundary_distance_m=30)
        simulate_fleet.ensure_fleet(session, count=4, locator=locator)  # the simulated types
        simulate_fleet.ensure_demo_rules(session)
        for gauge, place in zip(gauges, simulate_fleet.places_in_streets(session, [g.code for g in gauges], seed=1),
                                strict=True):
            registry.create_device(session, spec=DeviceSpec(code=gauge.code, name=gauge.code, type_code=GAS.type_code,
                                                            lon=place.lon, lat=place.lat),
                                   locator=locator, actor=None, origin="test")
    client_id = f"cityops-test-{uuid.uuid4().hex[:10]}"
    consumer = mqtt.ReadingsConsumer(scratch_store, broker, client_id=client_id, max_delay=0.05,
                                     subscriptions=[f"cityops/devices/{g.code}/readings" for g in gauges],
                                     ingest=partial(service.ingest, cases=alerting.CaseIntake.from_settings(settings)))
    consumer.start()
    assert consumer.wait_connected(10), "the consumer did not subscribe"  # what comes before, it would miss
    sender = simulate_fleet.MqttSender(broker, client_id=f"cityops-test-sim-{suffix}")
    try:
        leak = Fault(FaultKind.spike, START, START + timedelta(minutes=3))
        fleet = simulate.Fleet(gauges, faults={gauges[0].code: [leak]})
        moments = [START + timedelta(minutes=minute) for minute in range(6)]
        readings = [r for at in moments for g in gauges for r in fleet.report(g, at)]
        assert sender.send(readings).readings == 12

        def stored() -> int:
            with unit_of_work(scratch_store) as session:
                return session.scalar(select(func.count()).select_from(Reading))

        wait_for(lambda: stored() == 12, what="the published readings in the store")
    finally:
        sender.close()
        consumer.stop()
        forget_session(client_id)
    with unit_of_work(scratch_store) as session:
        warning = session.scalar(select(WarningRow))
        assert session.scalar(select(Device.code).where(Device.id == warning.device_id)) == gauges[0].code
        assert (warning.peak_level, warning.status) == ("red", "resolved")
        case = session.get(Case, warning.case_id)
        assert (case.channel, case.external_id) == ("iot_warning", f"warning-{warning.id}")
        assert session.scalar(select(func.count()).select_from(Case)) == 1
