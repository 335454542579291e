"""Replays at work: the replayed devices registered in the demo city, the calibrated NAB rules kept as
rules of the platform, the readings sent in time order (through the same senders as the simulator),
and the warnings the platform raised read back in the series' own time to be scored."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from cityops.geo.locator import Locator
from cityops.sensing import alerting, replay, rules
from cityops.sensing import devices as registry
from cityops.sensing.devices import DeviceSpec
from cityops.sensing.models import SensingRule, WarningRow
from cityops.sensing.simulate_fleet import ORIGIN, Sender, city_author, places_in_streets


def ensure_devices(session: Session, devices: Sequence[replay.ReplayDevice], *, locator: Locator,
                   seed: int = 0) -> int:
    """Register the replayed devices (and their types) that are missing, each inside one of the city's
    streets; returns how many were added."""
    types = {device_type.code for device_type in registry.list_device_types(session)}
    for device in devices:
        if device.type_code not in types:
            registry.create_device_type(session, code=device.type_code, name=device.name, metrics=device.metrics)
            types.add(device.type_code)
    present = set(registry.devices_by_code(session, codes=[device.code for device in devices]))
    missing = [device for device in devices if device.code not in present]
    for device, place in zip(missing, places_in_streets(session, [d.code for d in missing], seed=seed), strict=True):
        registry.create_device(session, spec=DeviceSpec(code=device.code, name=f"{device.name}（{place.street_name}）",
                                                        type_code=device.type_code, lon=place.lon, lat=place.lat),
                               locator=locator, actor=None, origin=ORIGIN)
    return len(missing)


def ensure_rules(session: Session, replay_rules: Iterable[rules.Rule], *, name: str) -> list[str]:
    """Keep the rules as rules of the platform (city-wide, by the system) unless a rule of that code
    exists; returns the codes added."""
    existing = {row.code for row in alerting.list_rules(session)}
    author = city_author(session)
    added = []
    for rule in replay_rules:
        if rule.code not in existing:
            alerting.create_rule(session, code=rule.code, name=name, definition=alerting.rule_to_json(rule),
                                 author=author)
            added.append(rule.code)
    return added


def fired_since(session: Session, *, rule_codes: Sequence[str], since: datetime) -> dict[str, list[datetime]]:
    """When each rule's warnings fired, from ``since`` on."""
    found: dict[str, list[datetime]] = {code: [] for code in rule_codes}
    for code, fired_at in session.execute(
            select(SensingRule.code, WarningRow.fired_at).join(SensingRule, SensingRule.id == WarningRow.rule_id)
            .where(SensingRule.code.in_(rule_codes), WarningRow.fired_at >= since).order_by(WarningRow.fired_at)):
        found[code].append(fired_at)
    return found


@dataclass
class ReplayStats:
    readings: int = 0
    accepted: int = 0
    rejected: int = 0
    batches: int = 0
    seconds: float = 0.0
    rejections: list[str] = field(default_factory=list)


def send_in_time(items: Iterable[replay.Timed], sender: Sender, *, stop: threading.Event, batch_size: int = 5_000,
                 clock: Callable[[], float] = time.monotonic,
                 on_batch: Callable[[ReplayStats], None] | None = None) -> ReplayStats:
    """Send each reading when it is due (after the start), in batches of what is due together."""
    stats = ReplayStats()
    started = clock()
    batch: list[dict[str, object]] = []

    def flush() -> None:
        if not batch:
            return
        sent = sender.send(batch)
        stats.readings += sent.readings
        stats.accepted += sent.accepted
        stats.rejected += sent.rejected
        stats.batches += 1
        stats.seconds = clock() - started
        batch.clear()
        if on_batch is not None:
            on_batch(stats)

    for item in items:
        wait = item.due.total_seconds() - (clock() - started)
        if wait > 0:
            flush()
            if stop.wait(wait):
                break
        elif stop.is_set():
            break
        batch.append(item.reading)
        if len(batch) >= batch_size:
            flush()
    flush()
    stats.seconds = clock() - started
    return stats


def shifted_back(moments: Iterable[datetime], shift: timedelta) -> list[datetime]:
    return [moment - shift for moment in moments]
