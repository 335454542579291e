"""The demo city's simulated fleet at work: its devices registered in the store, its readings sent to
the platform, and the demo fleet the served demo runs beside the API.

- ``ensure_fleet`` registers what is missing of the first N simulated devices (``SIM-WL-0000`` …, the
  kinds of ``simulate.KIND_PATTERN``) through the device registry, each at a random point inside one
  of the city's streets (the locator files it under its grid or community), owned by the department
  of its kind where the demo has one (水务 for gauges, 生态环境 for air and noise, the gas company for
  manholes). Device types are created on first use. Nothing existing is changed.
- ``ensure_demo_rules`` adds the demo's warning rules on those types when missing: high water (red
  opens a 道路积水 case), manhole methane (orange opens a 燃气管道破裂 case), PM2.5 by China's
  air-quality bands, noise above 75 dB(A) for five minutes, and a gauge that falls silent.
- Senders: ``IngestSender`` stores batches in-process through ``service.ingest`` (one unit of work
  each), ``HttpSender`` POSTs them to a running API's ``/api/v1/readings``, ``MqttSender`` publishes each
  device's readings to ``cityops/devices/{device}/readings`` at QoS 1 and waits for the broker's
  acknowledgements.
- ``run`` paces a fleet in real time: every tick it sends what the schedule says came due since the
  last one, until the duration is over or it is stopped.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import httpx
import orjson
import paho.mqtt.client as paho
import shapely
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from cityops.categories import service as categories_service
from cityops.db import unit_of_work
from cityops.errors import InvalidInput, NotFound, ServiceUnavailable
from cityops.geo import service as geo_service
from cityops.geo.levels import AreaLevel
from cityops.geo.locator import Locator
from cityops.org import service as org_service
from cityops.org.access import Principal
from cityops.org.roles import Role
from cityops.sensing import alerting, service, simulate
from cityops.sensing import devices as registry
from cityops.sensing.devices import DeviceSpec
from cityops.sensing.mqtt import parse_url
from cityops.sensing.simulate import DeviceKind, SimDevice

log = logging.getLogger("cityops.sensing.simulator")
ORIGIN = "demo"
OWNER_KINDS = {"sim_water_gauge": "water", "sim_air_station": "environment", "sim_noise_meter": "environment"}
"""The demo's district department that owns each kind (the gas company, city-wide, owns the manholes)."""


# The fleet in the store -----------------------------------------------------------------------

def device_code(number: int, kind: DeviceKind) -> str:
    return f"{kind.code_prefix}-{number:04d}"


def fleet_devices(count: int) -> list[SimDevice]:
    return [SimDevice(device_code(number, kind), kind) for number, kind in enumerate(simulate.kinds_for(count))]


def _city(session: Session) -> Any:
    cities, _ = geo_service.list_areas(session, within_path="/", level=AreaLevel.city, limit=2)
    if not cities:
        raise InvalidInput("the store holds no city: load one first (cityops demo)", field="devices")
    return cities[0]


def holds_demo_city(session: Session) -> bool:
    """Whether the store's city is a demo one: a real city never gets simulated devices on its own."""
    try:
        return _city(session).origin == ORIGIN
    except InvalidInput:
        return False


def _point_inside(geometry: Any, chance: random.Random) -> tuple[float, float]:
    west, south, east, north = geometry.bounds
    shapely.prepare(geometry)
    for _ in range(200):
        lon, lat = chance.uniform(west, east), chance.uniform(south, north)
        if shapely.contains_xy(geometry, lon, lat):
            return round(lon, 6), round(lat, 6)
    point = geometry.representative_point()
    return round(point.x, 6), round(point.y, 6)


def _owner(session: Session, kind: DeviceKind, *, city_code: str, district_code: str,
           known: dict[str, str | None]) -> str | None:
    code = f"{city_code}-gas" if kind.type_code == "sim_manhole_gas" else \
        f"{district_code}-{OWNER_KINDS.get(kind.type_code, 'environment')}"
    if code not in known:
        try:
            org_service.get_department(session, code=code)
            known[code] = code
        except NotFound:
            known[code] = None
    return known[code]


@dataclass(frozen=True)
class Place:
    lon: float
    lat: float
    street_name: str
    district_code: str


def places_in_streets(session: Session, codes: Sequence[str], *, seed: int) -> list[Place]:
    """A point for each device code inside one of the city's streets, the same for the same seed."""
    if not codes:
        return []
    city = _city(session)
    streets, _ = geo_service.list_areas(session, within_path=city.path, level=AreaLevel.street, limit=100_000)
    if not streets:
        raise InvalidInput("the city has no streets to place devices in: load the demo city (cityops demo)",
                           field="devices")
    shapes: dict[int, Any] = {}
    places = []
    for code in codes:
        chance = random.Random(simulate.seed_of(seed, "place", code))
        street = streets[chance.randrange(len(streets))]
        if street.id not in shapes:
            shapes[street.id] = geo_service.geometry_of(street)
        lon, lat = _point_inside(shapes[street.id], chance)
        chain = street.path.strip("/").split("/")
        places.append(Place(lon, lat, street.name, chain[1] if len(chain) > 2 else street.code))
    return places


def ensure_fleet(session: Session, *, count: int, locator: Locator, seed: int = 0) -> list[SimDevice]:
    """The first ``count`` simulated devices, registering the missing ones (see the module's doc)."""
    if count < 1 or count > 100_000:
        raise InvalidInput("simulate 1 to 100,000 devices", field="devices")
    city = _city(session)
    devices = fleet_devices(count)
    types = {device_type.code for device_type in registry.list_device_types(session)}
    for kind in simulate.DEVICE_KINDS:
        if kind.type_code not in types:
            registry.create_device_type(session, code=kind.type_code, name=kind.name, metrics=kind.units,
                                        offline_after_s=kind.offline_after_s)
    present = set(registry.devices_by_code(session, codes=[device.code for device in devices]))
    missing = [(number, device) for number, device in enumerate(devices) if device.code not in present]
    owners: dict[str, str | None] = {}
    for (number, device), place in zip(missing, places_in_streets(
            session, [device.code for _, device in missing], seed=seed), strict=True):
        owner = _owner(session, device.kind, city_code=city.code, district_code=place.district_code, known=owners)
        name = f"{device.kind.name.removesuffix('（模拟）')} {place.street_name} {number:04d}（模拟）"
        registry.create_device(session, spec=DeviceSpec(code=device.code, name=name, type_code=device.kind.type_code,
                                                        lon=place.lon, lat=place.lat, department_code=owner),
                               locator=locator, actor=None, origin=ORIGIN)
    return devices


def _levels(*pairs: tuple[str, float, float]) -> list[dict[str, Any]]:
    return [{"level": level, "fire_at": fire_at, "clear_at": clear_at} for level, fire_at, clear_at in pairs]


def demo_rules(*, waterlogging: str | None, gas_leak: str | None) -> list[tuple[str, str, dict[str, Any]]]:
    """(code, name, definition) of the demo's rules on the simulated types; a rule opens cases only when
    the demo has its category."""
    def opens(level: str, category: str | None) -> dict[str, Any]:
        return {"open_case_from": level, "case_category": category} if category else {}

    return [
        ("sim-high-water", "河道高水位", {
            "kind": "threshold", "metric": "water_level", "scope": {"device_type": "sim_water_gauge"}, "for_s": 60,
            "levels": _levels(("yellow", 3.6, 3.5), ("orange", 3.9, 3.8), ("red", 4.3, 4.1)),
            **opens("red", waterlogging)}),
        ("sim-manhole-methane", "窨井可燃气体", {
            "kind": "threshold", "metric": "methane", "scope": {"device_type": "sim_manhole_gas"}, "for_s": 30,
            "levels": _levels(("yellow", 10.0, 8.0), ("orange", 20.0, 15.0), ("red", 25.0, 20.0)),
            **opens("orange", gas_leak)}),
        ("sim-pm25", "PM2.5 污染", {
            "kind": "threshold", "metric": "pm25", "scope": {"device_type": "sim_air_station"}, "for_s": 600,
            "levels": _levels(("blue", 75.0, 70.0), ("yellow", 115.0, 105.0), ("orange", 150.0, 140.0),
                              ("red", 250.0, 230.0))}),
        ("sim-noise", "噪声超标", {
            "kind": "threshold", "metric": "noise", "scope": {"device_type": "sim_noise_meter"}, "for_s": 300,
            "levels": _levels(("yellow", 75.0, 72.0), ("orange", 85.0, 80.0))}),
        ("sim-gauge-silent", "水位计无数据", {
            "kind": "no_data", "metric": "water_level", "scope": {"device_type": "sim_water_gauge"},
            "silence_levels": [{"level": "yellow", "after_s": 600}, {"level": "orange", "after_s": 1800}]}),
    ]


def _category(session: Session, code: str) -> str | None:
    try:
        return categories_service.get_category(session, code=code).code
    except NotFound:
        return None


def city_author(session: Session) -> Principal:
    """The simulator as the author of city-wide rules: the platform's system, over the whole city."""
    city = _city(session)
    return Principal(id=0, kind="client", name="演示模拟器", roles=(Role.system.value,), area_id=city.id,
                     area_code=city.code, area_path=city.path, area_level=AreaLevel.city.value)


def ensure_demo_rules(session: Session) -> list[str]:
    """Add the demo's rules that are missing (see ``demo_rules``); returns the codes added."""
    author = city_author(session)
    existing = {row.code for row in alerting.list_rules(session)}
    added = []
    for code, name, definition in demo_rules(waterlogging=_category(session, "E0111"),
                                             gas_leak=_category(session, "E0403")):
        if code not in existing:
            alerting.create_rule(session, code=code, name=name, definition=definition, author=author)
            added.append(code)
    return added


# Sending --------------------------------------------------------------------------------------

@dataclass
class Sent:
    readings: int = 0
    accepted: int = 0
    rejected: int = 0


class Sender(Protocol):
    def send(self, readings: list[dict[str, Any]]) -> Sent: ...

    def close(self) -> None: ...


SIMULATOR = Principal(id=0, kind="client", name="演示模拟器", roles=(Role.system.value,), area_id=0, area_code="",
                      area_path="/", area_level=AreaLevel.city.value)
"""The in-process sender's caller: the platform's own system, whose jurisdiction is the whole store."""


class IngestSender:
    """Stores each batch through ``service.ingest`` in a unit of work of its own."""

    def __init__(self, engine: Engine, *, cases: alerting.CaseIntake | None,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.engine, self.cases, self.clock = engine, cases, clock

    def send(self, readings: list[dict[str, Any]]) -> Sent:
        with unit_of_work(self.engine) as session:
            result = service.ingest(session, items=readings, caller=SIMULATOR, now=self.clock(), cases=self.cases)
        return Sent(len(readings), result.accepted, len(result.rejected))

    def close(self) -> None:
        pass


class HttpSender:
    """POSTs each batch to a running API, with a token of a system client."""

    def __init__(self, url: str, *, token: str, timeout: float = 60.0, client: httpx.Client | None = None) -> None:
        """``client``: an HTTP client of one's own (its base URL is the API's) instead of one for ``url``."""
        self.client = client or httpx.Client(base_url=url.rstrip("/"), timeout=timeout)
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def send(self, readings: list[dict[str, Any]]) -> Sent:
        try:
            response = self.client.post("/api/v1/readings", content=orjson.dumps(readings), headers=self.headers)
        except httpx.HTTPError as error:
            raise ServiceUnavailable(f"the API at {self.client.base_url} did not answer: {error}",
                                     code="api_unreachable") from error
        if response.status_code != 200:
            raise ServiceUnavailable(f"the API refused a batch: HTTP {response.status_code} {response.text[:300]}",
                                     code="batch_refused")
        body = response.json()
        return Sent(len(readings), body["accepted"], len(body["rejected"]))

    def close(self) -> None:
        self.client.close()


class MqttSender:
    """Publishes each device's readings of a batch as one message (a JSON array) at QoS 1, and returns
    once the broker has acknowledged them all."""

    def __init__(self, url: str, *, client_id: str = "cityops-simulator", timeout: float = 30.0) -> None:
        broker = parse_url(url)
        self.timeout = timeout
        self.client = paho.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=paho.MQTTv5)
        if broker.username is not None:
            self.client.username_pw_set(broker.username, broker.password)
        if broker.tls:
            self.client.tls_set()
        self.client.max_inflight_messages_set(1000)
        try:
            self.client.connect(broker.host, broker.port)
        except OSError as error:
            raise ServiceUnavailable(f"no MQTT broker at {url}: {error}", code="broker_unreachable") from error
        self.client.loop_start()

    def send(self, readings: list[dict[str, Any]]) -> Sent:
        by_device: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for reading in readings:
            by_device[str(reading["device"])].append(reading)
        messages = [self.client.publish(f"cityops/devices/{device}/readings", orjson.dumps(items), qos=1)
                    for device, items in by_device.items()]
        for message in messages:
            message.wait_for_publish(self.timeout)
            if not message.is_published():
                raise ServiceUnavailable("the MQTT broker did not acknowledge a message in time",
                                         code="broker_unreachable")
        return Sent(len(readings), len(readings), 0)

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def check_api(url: str) -> None:
    """Fail fast, and say what to do, when no API answers at ``url``."""
    try:
        httpx.get(f"{url.rstrip('/')}/healthz", timeout=10.0).raise_for_status()
    except httpx.HTTPError as error:
        raise ServiceUnavailable(f"no CityOps API answers at {url} ({error}); start one with `cityops serve`, "
                                 "or send with --mqtt or --direct", code="api_unreachable") from error


def simulator_token(session: Session) -> tuple[int, str]:
    """A fresh token of a system client of the city for one run over HTTP (revoke it afterwards)."""
    city = _city(session)
    client, token = org_service.create_api_client(session, name="演示模拟器（传感器）", kind="system",
                                                  area_code=city.code, roles=[Role.system.value], origin=ORIGIN)
    return client.id, token


def revoke_token(session: Session, *, client_id: int) -> None:
    org_service.revoke_api_client(session, client=org_service.get_api_client(session, client_id=client_id,
                                                                             viewer=SIMULATOR))


# Running --------------------------------------------------------------------------------------

@dataclass
class RunStats:
    sent: Sent = field(default_factory=Sent)
    batches: int = 0
    faults: int = 0
    seconds: float = 0.0

    @property
    def rate(self) -> float:
        return self.sent.readings / self.seconds if self.seconds else 0.0


def run(fleet: simulate.Fleet, schedule: simulate.Schedule, sender: Sender, *, duration: timedelta | None,
        stop: threading.Event, tick: float = 1.0, clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        on_batch: Callable[[RunStats], None] | None = None) -> RunStats:
    """Send the fleet's readings as they come due, every ``tick`` seconds, for ``duration`` (None: until
    ``stop`` is set). A batch that fails is logged and its readings dropped, as a device's would be."""
    stats = RunStats(faults=sum(len(faults) for faults in fleet.faults.values()))
    started, began = clock(), time.perf_counter()
    end = started + duration if duration is not None else None
    since, next_tick = started, began + tick
    while True:
        # ticks keep their pace whatever a batch took to send
        if stop.wait(max(0.0, next_tick - time.perf_counter())) and end is None:
            break
        next_tick = max(next_tick + tick, time.perf_counter())
        until = clock() if end is None else min(clock(), end)
        readings = fleet.readings(schedule, since, until)
        since = until
        if readings:
            try:
                sent = sender.send(readings)
            except Exception:  # noqa: BLE001  (the run goes on; a device's lost batch is what silence looks like)
                log.exception("could not send %d simulated readings", len(readings))
                sent = Sent(len(readings), 0, len(readings))
            stats.sent.readings += sent.readings
            stats.sent.accepted += sent.accepted
            stats.sent.rejected += sent.rejected
            stats.batches += 1
        stats.seconds = time.perf_counter() - began
        if on_batch is not None:
            on_batch(stats)
        if stop.is_set() or (end is not None and until >= end):
            break
    return stats


def start_fleet(engine: Engine, *, count: int, rate: float, locator: Locator, seed: int, faults: Sequence[str],
                fault_every: timedelta, duration: timedelta | None,
                rules: bool) -> tuple[list[SimDevice], simulate.Fleet, simulate.Schedule]:
    """Register the fleet (and the demo rules) and build its signals and schedule."""
    with unit_of_work(engine) as session:
        devices = ensure_fleet(session, count=count, locator=locator, seed=seed)
        if rules:
            ensure_demo_rules(session)
    schedule = simulate.Schedule.for_rate(devices, rate=rate)
    kinds = simulate.as_fault_kinds(faults)
    plan = simulate.plan_faults([device.code for device in devices], kinds=kinds, start=datetime.now(UTC),
                                duration=duration or timedelta(days=365), every=fault_every, seed=seed)
    return devices, simulate.Fleet(devices, faults=plan, seed=seed), schedule


class DemoFleet:
    """The served demo's small simulated fleet, fed in-process on a thread of its own until stopped."""

    def __init__(self, engine: Engine, *, cases: alerting.CaseIntake, count: int, rate: float,
                 fault_every: timedelta) -> None:
        self.engine, self.cases, self.count, self.rate, self.fault_every = engine, cases, count, rate, fault_every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="cityops-demo-fleet", daemon=True)

    def start(self) -> DemoFleet:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        try:
            with unit_of_work(self.engine, read_only=True) as session:
                if not holds_demo_city(session):
                    log.info("the store holds no demo city: no simulated fleet")
                    return
                locator = self.cases.locators.get(session)
            _, fleet, schedule = start_fleet(self.engine, count=self.count, rate=self.rate, locator=locator, seed=0,
                                             faults=[kind.value for kind in simulate.FaultKind],
                                             fault_every=self.fault_every, duration=None, rules=True)
        except Exception:  # noqa: BLE001  (the demo runs without its fleet rather than not at all)
            log.exception("the demo's simulated fleet could not start")
            return
        log.info("the demo's simulated fleet: %d devices, %.1f readings/s", self.count, self.rate)
        run(fleet, schedule, IngestSender(self.engine, cases=self.cases), duration=None, stop=self._stop)
