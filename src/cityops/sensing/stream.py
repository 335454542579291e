"""The live stream of one viewer: the live events of their jurisdiction (``cityops.live``) as
server-sent events, with the screen's counters.

A stream opens with a ``retry`` hint, then — when the client resumes with ``Last-Event-ID`` — the
stored events after that id, then the counters, then each new event as the hub finds it. Counters
(cases reported today, dispatched, in progress, overdue; active warnings) are read again every
``counts_s`` and sent when they changed; viewers of one jurisdiction share one reading. A comment
line goes out after ``heartbeat_s`` of silence, so proxies keep the connection and a client notices
a dead one. The stream ends by itself after ``lifetime_s`` (the client reconnects with its
``Last-Event-ID``, and its token is checked again), when it fell too far behind to be kept up from
memory (it resumes from the store), when the application shuts down, or when the client goes away.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import anyio
import orjson
from fastapi.sse import format_sse_event
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from cityops.analytics import service as analytics_service
from cityops.db import unit_of_work
from cityops.live import Event, LiveHub
from cityops.sensing.models import WarningRow
from cityops.sensing.warnings import ACTIVE

RETRY_MS = 3000
BACKLOG_LIMIT = 1000
"""A client further behind than this is told to ``resync`` (reload its lists) instead."""


@dataclass(frozen=True)
class StreamTiming:
    heartbeat_s: float = 15.0
    counts_s: float = 5.0
    lifetime_s: float = 30 * 60.0


def event_data(item: Event) -> dict[str, Any]:
    return {"event_id": item.id, "at": item.at.isoformat(), **item.payload}


def encode(item: Event) -> bytes:
    return format_sse_event(data_str=orjson.dumps(event_data(item)).decode(), event=item.kind, id=str(item.cursor))


def counters(session: Session, *, area_path: str, timezone: str, now: datetime) -> dict[str, int]:
    """The screen's counters for ``area_path`` now: the cases' (``analytics.screen_counts``, the day
    starting at local midnight) and the active warnings."""
    day_start = now.astimezone(ZoneInfo(timezone)).replace(hour=0, minute=0, second=0, microsecond=0)
    counts = analytics_service.screen_counts(session, area_path=area_path, day_start=day_start, now=now)
    counts["warnings_active"] = session.scalar(select(func.count()).select_from(WarningRow).where(
        WarningRow.area_path.startswith(area_path, autoescape=True),
        WarningRow.status.in_([status.value for status in ACTIVE]))) or 0
    return counts


class SharedCounters:
    """Counters per jurisdiction, read at most once per ``max_age_s`` however many streams ask."""

    def __init__(self, engine: Engine, *, timezone: str, max_age_s: float) -> None:
        self.engine, self.timezone, self.max_age_s = engine, timezone, max_age_s
        self._latest: dict[str, tuple[float, dict[str, int]]] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def get(self, area_path: str) -> dict[str, int]:
        lock = self._locks.setdefault(area_path, asyncio.Lock())
        async with lock:
            read = self._latest.get(area_path)
            if read is None or time.monotonic() - read[0] >= self.max_age_s:
                counts = await anyio.to_thread.run_sync(self._read, area_path)
                read = self._latest[area_path] = (time.monotonic(), counts)
            return read[1]

    def _read(self, area_path: str) -> dict[str, int]:
        with unit_of_work(self.engine, read_only=True) as session:
            return counters(session, area_path=area_path, timezone=self.timezone, now=datetime.now(UTC))


_IDLE = object()


async def events(*, hub: LiveHub, counts: SharedCounters, area_path: str, last_event_id: int | None,
                 timing: StreamTiming) -> AsyncIterator[bytes]:
    """The server-sent events of a viewer whose jurisdiction is ``area_path`` (see the module's doc)."""
    subscription = await hub.subscribe(area_path)
    try:
        yield format_sse_event(retry=RETRY_MS, comment="cityops live stream")
        sent: set[int] = set()
        if last_event_id is not None:
            backlog = await hub.backlog(area_path=area_path, after=last_event_id, limit=BACKLOG_LIMIT + 1)
            if len(backlog) > BACKLOG_LIMIT:
                yield format_sse_event(data_str=orjson.dumps({"reason": "too_far_behind"}).decode(), event="resync",
                                       id=str(hub.settled if hub.settled is not None else backlog[-1].id))
            else:
                for item in backlog:
                    sent.add(item.id)
                    yield encode(item)
        shown = await counts.get(area_path)
        yield format_sse_event(data_str=orjson.dumps(shown).decode(), event="counts")
        started = last_beat = next_counts = time.monotonic()
        next_counts += timing.counts_s
        while True:
            now = time.monotonic()
            if now - started >= timing.lifetime_s:
                return
            wait = min(last_beat + timing.heartbeat_s, next_counts, started + timing.lifetime_s) - now
            try:
                item = await asyncio.wait_for(subscription.queue.get(), max(wait, 0))
            except TimeoutError:
                item = _IDLE
            if item is None or (subscription.overflowed and subscription.queue.empty()):
                return
            now = time.monotonic()
            if isinstance(item, Event) and item.id not in sent:
                yield encode(item)
                last_beat = now
            if now >= next_counts:
                next_counts = now + timing.counts_s
                latest = await counts.get(area_path)
                if latest != shown:
                    shown = latest
                    yield format_sse_event(data_str=orjson.dumps(shown).decode(), event="counts")
                    last_beat = now
            if now - last_beat >= timing.heartbeat_s:
                yield format_sse_event(comment="heartbeat")
                last_beat = now
    finally:
        hub.unsubscribe(subscription)
