"""The MQTT consumer of device readings: topic ``cityops/devices/{device}/readings``, QoS 1.

A message carries one reading object or a JSON array of them; a reading without ``device`` is the
topic's device's, and a message naming another device than its topic is refused whole. Messages are
collected into batches (``batch_size`` messages, or whatever arrived ``max_delay`` seconds after the
first) and each batch is stored by :func:`cityops.sensing.service.ingest` in one unit of work.

**Acknowledgement.** Messages are acknowledged (PUBACK) only after their batch is committed. The
session is persistent (a fixed client id, ``clean_start`` off, a session that outlives the connection),
so whatever was received but not acknowledged — the consumer crashed, the broker restarted, the store
was down — is delivered again; storing a reading twice changes nothing. A message received on an
earlier connection is never acknowledged on a later one: the broker sends it again there. MQTT 5 is
used so that the consumer's Receive Maximum (65,535), not the broker's default of 20 messages in
flight, bounds how many unacknowledged messages it holds: batches fill, and a consumer that falls
behind holds the backlog itself instead of leaving it in the broker's queue, which Mosquitto caps at
``max_queued_messages`` (1000 by default) and beyond which it drops messages. Malformed messages (not
JSON, not an object or array, a reading that is not an object, another device) and readings that
ingest rejects are logged with their topic and acknowledged, so they are not delivered forever.
While the store fails, the batch in hand is retried with back-off and nothing more is acknowledged;
paho reconnects to the broker with back-off (1 s doubling to 30 s).

**Authorisation.** The topic is the device: the broker authenticates devices and lets each publish to
its own topic only (with Mosquitto, username = device code and ``pattern write
cityops/devices/%u/readings`` in the ACL file). The consumer holds to that — a payload for another
device is refused — and stores as :data:`DEVICE_GATEWAY`, the platform's system principal for devices,
whose jurisdiction is the whole store; ingest still refuses unknown and retired devices and metrics the
device's type does not report.

**The broker's part.** Nothing acknowledged to a device is lost only if the broker keeps it: with
Mosquitto, ``persistence true`` (it saves on a clean stop, and every ``autosave_interval`` otherwise)
and a ``max_queued_messages`` above what devices send while the consumer is away (0: no limit).
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote, urlsplit

import orjson
import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from sqlalchemy import Engine

from cityops.db import unit_of_work
from cityops.errors import InvalidInput
from cityops.org.access import Principal
from cityops.org.roles import Role
from cityops.sensing import service

log = logging.getLogger("cityops.sensing.mqtt")

TOPIC_FILTER = "cityops/devices/+/readings"
DEFAULT_CLIENT_ID = "cityops-readings"
RECEIVE_MAXIMUM = 65_535
"""Unacknowledged messages the broker may send the consumer at once (MQTT 5's largest value)."""
SESSION_EXPIRY_S = 7 * 24 * 3600
"""How long the broker keeps the consumer's session (subscription and unacknowledged messages) while
it is away."""
DEVICE_GATEWAY = Principal(id=0, kind="client", name="MQTT device gateway", roles=(Role.system.value,), area_id=0,
                           area_code="", area_path="/", area_level="city")
MAX_LOGGED_REJECTIONS = 20
"""Per batch: a device sending nothing but bad readings must not flood the log."""

Ingest = Callable[..., service.IngestResult]


class MalformedMessage(Exception):
    """A message that is not one reading object or an array of them for its topic's device."""


@dataclass(frozen=True)
class Broker:
    host: str
    port: int
    username: str | None = None
    password: str | None = None
    tls: bool = False


def parse_url(url: str) -> Broker:
    """``mqtt://[user:password@]host[:port]`` (1883) or ``mqtts://…`` (TLS, 8883)."""
    parts = urlsplit(url)
    if parts.scheme not in {"mqtt", "mqtts"} or not parts.hostname:
        raise InvalidInput(f"an MQTT URL is mqtt://host:port or mqtts://host:port, not {url!r}", field="mqtt_url")
    tls = parts.scheme == "mqtts"
    try:
        port = parts.port or (8883 if tls else 1883)
    except ValueError as exc:
        raise InvalidInput(f"the MQTT URL's port is not a port: {url!r}", field="mqtt_url") from exc
    return Broker(host=parts.hostname, port=port, tls=tls,
                  username=unquote(parts.username) if parts.username else None,
                  password=unquote(parts.password) if parts.password else None)


def device_of_topic(topic: str) -> str | None:
    parts = topic.split("/")
    if len(parts) != 4 or parts[:2] != ["cityops", "devices"] or parts[3] != "readings" or not parts[2]:
        return None
    return parts[2]


def readings_of(topic: str, payload: bytes) -> list[dict[str, Any]]:
    """The readings of one message, each naming its device; :class:`MalformedMessage` says why not."""
    device = device_of_topic(topic)
    if device is None:
        raise MalformedMessage("the topic is not cityops/devices/{device}/readings")
    try:
        try:
            body = orjson.loads(payload)
        except orjson.JSONDecodeError:
            # NaN and Infinity are not JSON, but devices send them: the reading is rejected for its value
            body = json.loads(payload)
    except (ValueError, RecursionError) as exc:
        raise MalformedMessage(f"not JSON: {str(exc).splitlines()[0][:80]}") from exc
    items = body if isinstance(body, list) else [body]
    if not isinstance(body, list | dict):
        raise MalformedMessage("the payload is a reading object or an array of them")
    if len(items) > service.MAX_BATCH:
        raise MalformedMessage(f"a message holds at most {service.MAX_BATCH:,} readings")
    readings = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise MalformedMessage(f"reading {index} is not an object {{device, metric, ts, value}}")
        named = item.get("device", device)
        if named != device:
            raise MalformedMessage(f"reading {index} names device {named!r}; this topic is device {device!r}'s")
        readings.append(item if "device" in item else {**item, "device": device})
    return readings


@dataclass
class _Received:
    connection: int
    mid: int
    qos: int
    topic: str
    payload: bytes


@dataclass
class ConsumerStats:
    batches: int = 0
    messages: int = 0
    malformed: int = 0
    accepted: int = 0
    stored: int = 0
    rejected: int = 0
    store_failures: int = 0


@dataclass
class _Batch:
    items: list[dict[str, Any]] = field(default_factory=list)
    spans: list[tuple[str, int, int]] = field(default_factory=list)
    """(topic, first index, end index) of each well-formed message's readings in ``items``."""


class ReadingsConsumer:
    """Consumes readings on a network thread (paho's) and stores them on a thread of its own."""

    def __init__(self, engine: Engine, url: str, *, client_id: str = DEFAULT_CLIENT_ID, batch_size: int = 500,
                 max_delay: float = 0.2, subscriptions: Sequence[str] = (TOPIC_FILTER,),
                 ingest: Ingest = service.ingest, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        """``subscriptions`` narrow or share the topic filter, e.g. ``$share/cityops/cityops/devices/+/readings``
        for several consumers (each with its own client id) sharing the load."""
        self.engine, self.broker, self.client_id = engine, parse_url(url), client_id
        self.subscriptions = tuple(subscriptions)
        self.batch_size, self.max_delay = batch_size, max_delay
        self._ingest, self._clock = ingest, clock
        self.stats = ConsumerStats()
        self._received: queue.Queue[_Received] = queue.Queue()
        self._stopping = threading.Event()
        self._connected = threading.Event()
        self._connection = 0
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="cityops-mqtt-readings", daemon=True)
        self.client = self._client()

    def _client(self) -> paho.Client:
        client = paho.Client(CallbackAPIVersion.VERSION2, client_id=self.client_id, protocol=paho.MQTTv5,
                             manual_ack=True)
        if self.broker.username is not None:
            client.username_pw_set(self.broker.username, self.broker.password)
        if self.broker.tls:
            client.tls_set()
        client.reconnect_delay_set(min_delay=1, max_delay=30)
        client.on_connect, client.on_disconnect, client.on_message = (self._on_connect, self._on_disconnect,
                                                                      self._on_message)
        client.on_subscribe = self._on_subscribe
        return client

    def start(self) -> None:
        """Connect in the background (retrying while the broker is away) and start consuming."""
        properties = Properties(PacketTypes.CONNECT)
        properties.SessionExpiryInterval = SESSION_EXPIRY_S
        properties.ReceiveMaximum = RECEIVE_MAXIMUM
        self.client.connect_async(self.broker.host, self.broker.port, keepalive=30, clean_start=False,
                                  properties=properties)
        self.client.loop_start()
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Store and acknowledge the batch in hand (if the store lets it), then disconnect; the
        session stays, so anything unacknowledged comes back to the next consumer."""
        self._stopping.set()
        self._thread.join(timeout=timeout)
        self.client.disconnect()
        self.client.loop_stop()

    def wait_connected(self, timeout: float) -> bool:
        """Whether the consumer is connected and the broker has acknowledged its subscriptions within
        ``timeout`` s: from then on, what devices publish reaches it (before, a new session misses it)."""
        return self._connected.wait(timeout)

    def _on_connect(self, client: paho.Client, _userdata: object, _flags: object, reason: Any,
                    _properties: object) -> None:
        if reason.is_failure:
            log.warning("MQTT broker %s:%d refused the connection: %s", self.broker.host, self.broker.port, reason)
            return
        with self._lock:
            self._connection += 1
        client.subscribe([(subscription, 1) for subscription in self.subscriptions])
        log.info("consuming %s from %s:%d as %s", ", ".join(self.subscriptions), self.broker.host, self.broker.port,
                 self.client_id)

    def _on_subscribe(self, _client: paho.Client, _userdata: object, _mid: int, reasons: list[Any],
                      _properties: object) -> None:
        refused = [reason for reason in reasons if reason.is_failure]
        if refused:
            log.warning("MQTT broker %s:%d refused subscriptions: %s", self.broker.host, self.broker.port, refused)
            return
        self._connected.set()

    def _on_disconnect(self, _client: paho.Client, _userdata: object, _flags: object, reason: Any,
                       _properties: object) -> None:
        with self._lock:  # what was received on this connection can no longer be acknowledged
            self._connection += 1
        self._connected.clear()
        if not self._stopping.is_set():
            log.warning("lost the MQTT broker %s:%d (%s); reconnecting", self.broker.host, self.broker.port, reason)

    def _on_message(self, _client: paho.Client, _userdata: object, message: paho.MQTTMessage) -> None:
        self._received.put(_Received(connection=self._connection, mid=message.mid, qos=message.qos,
                                     topic=message.topic, payload=message.payload))

    def _run(self) -> None:
        # what is still queued at stop is not acknowledged, so the broker delivers it again
        while not self._stopping.is_set():
            messages = self._collect()
            if messages and self._store(messages):
                self._acknowledge(messages)

    def _collect(self) -> list[_Received]:
        try:
            messages = [self._received.get(timeout=0.2)]
        except queue.Empty:
            return []
        deadline = time.monotonic() + self.max_delay
        while len(messages) < self.batch_size:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self._stopping.is_set():
                break
            try:
                messages.append(self._received.get(timeout=remaining))
            except queue.Empty:
                break
        return messages

    def _batch(self, messages: list[_Received]) -> _Batch:
        batch = _Batch()
        for message in messages:
            try:
                readings = readings_of(message.topic, message.payload)
            except MalformedMessage as exc:
                self.stats.malformed += 1
                log.warning("rejected a message on %s: %s", message.topic, exc)
                continue
            batch.spans.append((message.topic, len(batch.items), len(batch.items) + len(readings)))
            batch.items.extend(readings)
        return batch

    def _store(self, messages: list[_Received]) -> bool:
        """Ingest the batch in one unit of work, retrying with back-off while the store fails; False
        when stopped before it could be stored."""
        batch, delay = self._batch(messages), 0.5
        while batch.items:
            try:
                with unit_of_work(self.engine) as session:
                    result = self._ingest(session, items=batch.items, caller=DEVICE_GATEWAY, now=self._clock())
                break
            except Exception:  # noqa: BLE001  (nothing is acknowledged; the batch is retried or redelivered)
                self.stats.store_failures += 1
                log.exception("could not store a batch of %d readings; retrying in %.1f s", len(batch.items), delay)
                if self._stopping.wait(delay):
                    return False
                delay = min(delay * 2, 30.0)
        else:
            result = service.IngestResult()
        self.stats.batches += 1
        self.stats.messages += len(messages)
        self.stats.accepted += result.accepted
        self.stats.stored += result.stored
        self.stats.rejected += len(result.rejected)
        self._log_rejections(batch, result)
        return True

    def _log_rejections(self, batch: _Batch, result: service.IngestResult) -> None:
        for rejection in result.rejected[:MAX_LOGGED_REJECTIONS]:
            topic, first = next((t, start) for t, start, end in batch.spans if start <= rejection.index < end)
            log.warning("rejected reading %d of a message on %s: %s (%s: %s)", rejection.index - first, topic,
                        rejection.code, rejection.field, rejection.reason)
        if len(result.rejected) > MAX_LOGGED_REJECTIONS:
            log.warning("… and %d more rejected readings in this batch", len(result.rejected) - MAX_LOGGED_REJECTIONS)

    def _acknowledge(self, messages: list[_Received]) -> None:
        # under the lock, so that no PUBACK of an earlier connection's message reaches a later one
        with self._lock:
            for message in messages:
                if message.connection == self._connection and message.qos > 0:
                    self.client.ack(message.mid, message.qos)
