"""The MQTT consumer against the real Mosquitto at 127.0.0.1:1883, on SQLite and PostgreSQL: QoS 1
streams land every reading once, a broker restart or a store that fails loses nothing, and bad
messages are refused, logged and acknowledged without stopping the consumer.

Without a reachable broker these tests skip with the reason, except in CI
(CITYOPS_TEST_REQUIRE_SERVICES=1), where that is a failure. Each test uses a device and client ids of
its own, so other publishers on the broker do not disturb it, and forgets its sessions afterwards.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import Engine, func, select

from cityops.db import unit_of_work
from cityops.sensing import devices as registry
from cityops.sensing import mqtt
from cityops.sensing.devices import DeviceSpec
from cityops.sensing.models import Device, Reading
from tests.conftest import REQUIRE_SERVICES
from tests.integration.sensing.world import IN_STREET, make_world

HOST, PORT = "127.0.0.1", 1883
URL = f"mqtt://{HOST}:{PORT}"
MOSQUITTO_CONF = "/etc/mosquitto/mosquitto.conf"
MOSQUITTO_PID = Path("/run/mosquitto/mosquitto.pid")
Consumers = Callable[..., mqtt.ReadingsConsumer]


def _reachable() -> bool:
    try:
        socket.create_connection((HOST, PORT), timeout=2).close()
    except OSError:
        return False
    return True


def _unavailable(reason: str) -> None:
    if REQUIRE_SERVICES:
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture
def broker() -> str:
    if not _reachable():
        _unavailable(f"Mosquitto at {HOST}:{PORT} is unreachable; start it with "
                     f"'mosquitto -d -c {MOSQUITTO_CONF}'")
    return URL


def wait_for(condition: Callable[[], bool], timeout: float = 30.0, what: str = "the condition",
             state: Callable[[], object] = lambda: "") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what} {state()}")
        time.sleep(0.05)


def forget_session(client_id: str) -> None:
    """End the broker's session of ``client_id`` (a clean start with no session expiry)."""
    client = paho.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=paho.MQTTv5)
    client.connect(HOST, PORT, clean_start=True)
    client.loop_start()
    time.sleep(0.2)
    client.disconnect()
    client.loop_stop()


@pytest.fixture
def devices(scratch_store: Engine) -> tuple[str, str]:
    """Two water-level gauges with codes of this test's own, in the test city's street."""
    suffix = uuid.uuid4().hex[:8].upper()
    codes = (f"WL-{suffix}-A", f"WL-{suffix}-B")
    with unit_of_work(scratch_store) as session:
        world = make_world(session)
        for code in codes:
            registry.create_device(session, spec=DeviceSpec(code=code, name=code, type_code="wl", lon=IN_STREET[0],
                                                            lat=IN_STREET[1]), locator=world.locator, actor=None,
                                   origin="test")
    return codes


@pytest.fixture
def consumers(scratch_store: Engine, broker: str, devices: tuple[str, str]) -> Iterator[Consumers]:
    """Start consumers on the scratch store (the same client id again resumes the same session),
    subscribed to this test's devices only: other test runs may share the broker."""
    started: list[mqtt.ReadingsConsumer] = []
    client_id = f"cityops-test-{uuid.uuid4().hex[:10]}"

    def start(**options: object) -> mqtt.ReadingsConsumer:
        consumer = mqtt.ReadingsConsumer(scratch_store, broker, client_id=client_id, batch_size=100, max_delay=0.05,
                                         subscriptions=[f"cityops/devices/{code}/readings" for code in devices],
                                         **options)
        consumer.start()
        started.append(consumer)
        assert consumer.wait_connected(10), "the consumer did not connect"
        time.sleep(0.2)  # the subscription is acknowledged
        return consumer

    yield start
    for consumer in started:
        consumer.stop()
    if _reachable():
        forget_session(client_id)


class Publisher:
    """A device-side client publishing QoS 1; paho sends again what the broker has not acknowledged."""

    def __init__(self) -> None:
        self.client = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"cityops-test-pub-{uuid.uuid4().hex[:8]}")
        self.client.max_inflight_messages_set(100)
        self.client.reconnect_delay_set(min_delay=1, max_delay=2)
        self.client.on_publish = lambda _client, _userdata, mid, _reason, _properties: self.acknowledged.add(mid)
        self.client.connect(HOST, PORT)
        self.client.loop_start()
        self.sent: list[int] = []
        self.acknowledged: set[int] = set()

    def publish(self, device: str, payload: object) -> None:
        body = payload if isinstance(payload, bytes) else orjson.dumps(payload)
        # while the broker is away paho keeps the message and sends it once connected again
        self.sent.append(self.client.publish(f"cityops/devices/{device}/readings", body, qos=1).mid)

    def wait_acknowledged(self, timeout: float = 60.0) -> None:
        wait_for(lambda: self.acknowledged.issuperset(self.sent), timeout, "the broker's PUBACKs")

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def publisher(broker: str) -> Iterator[Publisher]:
    client = Publisher()
    yield client
    client.close()


def stored(engine: Engine, code: str) -> dict[datetime, float]:
    with unit_of_work(engine, read_only=True) as session:
        return dict(session.execute(select(Reading.ts, Reading.value).join(Device, Device.id == Reading.device_id)
                                    .where(Device.code == code, Reading.metric == "water_level")).all())


def count(engine: Engine, code: str) -> int:
    with unit_of_work(engine, read_only=True) as session:
        return session.scalar(select(func.count()).select_from(Reading).join(Device, Device.id == Reading.device_id)
                              .where(Device.code == code))


def stream(n: int) -> list[tuple[datetime, float]]:
    """``n`` readings, a second apart, ending a minute ago."""
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=n + 60)
    return [(start + timedelta(seconds=i), round(i * 0.01, 2)) for i in range(n)]


def as_reading(ts: datetime, value: float, device: str | None = None) -> dict[str, object]:
    reading: dict[str, object] = {"metric": "water_level", "ts": ts.isoformat(), "value": value}
    return reading if device is None else {"device": device, **reading}


def publish_stream(publisher: Publisher, device: str, readings: list[tuple[datetime, float]]) -> None:
    """By turns a reading without its device, one naming it, and arrays of three."""
    i = 0
    while i < len(readings):
        shape = (i // 5) % 3
        if shape == 2:
            publisher.publish(device, [as_reading(ts, v) for ts, v in readings[i:i + 3]])
            i += 3
        else:
            ts, value = readings[i]
            publisher.publish(device, as_reading(ts, value, device if shape else None))
            i += 1


def test_a_qos1_stream_lands_every_reading_once(scratch_store: Engine, devices: tuple[str, str], consumers: Consumers,
                                                publisher: Publisher) -> None:
    device = devices[0]
    readings = stream(2000)
    consumer = consumers()
    publish_stream(publisher, device, readings)
    publish_stream(publisher, device, readings[:50])  # sent again: stored once
    publisher.wait_acknowledged()
    wait_for(lambda: count(scratch_store, device) >= len(readings), what="every reading in the store",
             state=lambda: (count(scratch_store, device), consumer.stats))
    time.sleep(0.3)
    assert stored(scratch_store, device) == dict(readings)
    assert consumer.stats.stored == len(readings)
    assert consumer.stats.accepted == len(readings) + 50
    assert consumer.stats.malformed == consumer.stats.rejected == consumer.stats.store_failures == 0
    assert consumer.stats.batches < consumer.stats.messages / 5  # batched, not one unit of work a message


def _mosquitto_pid() -> int:
    """The broker's pid: from its pid file, or, when another run's failed start removed that file,
    the oldest process of that name."""
    try:
        return int(MOSQUITTO_PID.read_text().strip())
    except (OSError, ValueError) as exc:
        found = subprocess.run(["pgrep", "-o", "-x", "mosquitto"], capture_output=True, text=True).stdout.strip()
        if not found:
            _unavailable(f"cannot restart Mosquitto: no pid in {MOSQUITTO_PID} ({exc}) and no mosquitto process")
        return int(found)


def _start_mosquitto() -> None:
    subprocess.run(["mosquitto", "-d", "-c", MOSQUITTO_CONF], check=True)
    wait_for(_reachable, 10, "Mosquitto to listen again")


@pytest.fixture
def restartable_broker(broker: str) -> Iterator[Callable[[], None]]:
    """Stops Mosquitto (SIGTERM: it saves sessions and queued messages) and starts it again; it runs
    again after the test whatever happens."""
    pid = _mosquitto_pid()

    def restart(down_for: Callable[[], None] = lambda: None) -> None:
        os.kill(pid, signal.SIGTERM)
        wait_for(lambda: not _alive(pid), 10, "Mosquitto to stop")
        down_for()
        _start_mosquitto()

    try:
        yield restart
    finally:
        if not _reachable():
            _start_mosquitto()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_a_broker_restart_mid_stream_loses_no_acknowledged_reading(
        scratch_store: Engine, devices: tuple[str, str], consumers: Consumers, publisher: Publisher,
        restartable_broker: Callable[..., None]) -> None:
    device = devices[0]
    # Each part stays under Mosquitto's default max_queued_messages (1,000 per client), past which it
    # drops messages for a slow consumer, as a broker configured for the city would not
    readings = stream(2100)
    consumer = consumers()
    first, during, after = readings[:800], readings[800:1200], readings[1200:]
    publish_stream(publisher, device, first)
    wait_for(lambda: count(scratch_store, device) > 0, what="the stream to be under way")

    def publish_while_down() -> None:  # queued by the publisher and sent once it reconnects
        publish_stream(publisher, device, during)
        time.sleep(0.5)

    restartable_broker(publish_while_down)
    # Mosquitto keeps at most max_queued_messages (1000) for a client that is away: resume once the
    # consumer is back, as a broker configured for the city would allow anyway
    assert consumer.wait_connected(30)
    wait_for(lambda: count(scratch_store, device) >= len(first) + len(during), 60, "the queued readings to land",
             state=lambda: (count(scratch_store, device), consumer.stats))
    publish_stream(publisher, device, after)
    publisher.wait_acknowledged()
    wait_for(lambda: count(scratch_store, device) >= len(readings), 60, "every reading in the store",
             state=lambda: (count(scratch_store, device), consumer.stats))
    time.sleep(0.3)
    assert stored(scratch_store, device) == dict(readings)
    assert consumer.stats.stored == len(readings)
    assert consumer.wait_connected(0)


def test_what_is_not_committed_is_not_acknowledged_and_comes_back(
        scratch_store: Engine, devices: tuple[str, str], consumers: Consumers, publisher: Publisher) -> None:
    device = devices[0]
    readings = stream(20)

    def store_down(*_args: object, **_kwargs: object) -> object:
        raise ConnectionError("the store is down")

    failing = consumers(ingest=store_down)
    publish_stream(publisher, device, readings)
    publisher.wait_acknowledged()
    wait_for(lambda: failing.stats.store_failures >= 2, what="the consumer to retry")
    failing.stop()  # gives up the batch in hand, as a crash would, without acknowledging it
    assert failing.stats.batches == 0
    consumer = consumers()  # the same session: the broker delivers what was not acknowledged
    wait_for(lambda: count(scratch_store, device) >= len(readings), what="the redelivered readings")
    assert stored(scratch_store, device) == dict(readings)
    assert consumer.stats.stored == len(readings)


def test_a_malformed_message_is_refused_logged_and_acknowledged(
        scratch_store: Engine, devices: tuple[str, str], consumers: Consumers, publisher: Publisher,
        caplog: pytest.LogCaptureFixture) -> None:
    device = devices[0]
    (t1, v1), (t2, v2), (t3, _) = stream(3)
    caplog.set_level(logging.WARNING, logger="cityops.sensing.mqtt")
    consumer = consumers()
    topic = f"cityops/devices/{device}/readings"
    publisher.publish(device, as_reading(t1, v1))
    for payload in (b"water level 3.2", b"42", b'["WL-1", 3.2]', b"{\"metric\": \"water_level\", \"ts\": "):
        publisher.publish(device, payload)
    publisher.publish(device, as_reading(t3, "high"))  # well-formed, but ingest rejects the value
    publisher.publish(device, as_reading(t2, v2))
    publisher.wait_acknowledged()
    wait_for(lambda: consumer.stats.messages >= 7, what="every message handled")
    assert stored(scratch_store, device) == {t1: v1, t2: v2}
    assert (consumer.stats.malformed, consumer.stats.rejected) == (4, 1)
    warnings = [r.getMessage() for r in caplog.records if r.name == "cityops.sensing.mqtt"]
    assert sum(f"rejected a message on {topic}: not JSON" in w for w in warnings) == 2
    assert f"rejected a message on {topic}: the payload is a reading object or an array of them" in warnings
    assert f"rejected a message on {topic}: reading 0 is not an object {{device, metric, ts, value}}" in warnings
    assert any(w.startswith(f"rejected reading 0 of a message on {topic}: invalid_value") for w in warnings)

    consumer.stop()  # acknowledged, so a new consumer of the same session gets none of them again
    again = consumers()
    time.sleep(1.0)
    assert again.stats.messages == 0


def test_a_payload_for_another_device_than_its_topic_is_refused(
        scratch_store: Engine, devices: tuple[str, str], consumers: Consumers, publisher: Publisher,
        caplog: pytest.LogCaptureFixture) -> None:
    device, other = devices
    (t1, v1), (t2, v2), (t3, v3) = stream(3)
    caplog.set_level(logging.WARNING, logger="cityops.sensing.mqtt")
    consumer = consumers()
    publisher.publish(device, as_reading(t1, v1, other))
    publisher.publish(device, [as_reading(t2, v2), as_reading(t2, v2, other)])  # refused whole
    publisher.publish(other, as_reading(t3, v3))  # on its own topic
    publisher.wait_acknowledged()
    wait_for(lambda: consumer.stats.messages >= 3, what="every message handled")
    assert stored(scratch_store, device) == {}
    assert stored(scratch_store, other) == {t3: v3}
    assert consumer.stats.malformed == 2
    topic = f"cityops/devices/{device}/readings"
    assert f"rejected a message on {topic}: reading 1 names device {other!r}; this topic is device {device!r}'s" in [
        r.getMessage() for r in caplog.records]
