"""Live events: what the operations centre's screens hear of the moment it happens (new and changed
warnings, indicator values …), in the viewer's jurisdiction, over ``GET /api/v1/stream``.

**Publishing.** Inside the unit of work that makes the change, once the change is flushed::

    from cityops import live

    live.publish(session, kind="indicator", area_path=area.path,
                 payload={"indicator": "water_level_max", "value": 3.2, "at": at.isoformat()})

- ``kind``: a short word, sent as the event's name on the stream (``warning``: a new or changed
  warning; ``indicator``: a new value of an indicator; ``case``: a case taken in or moved, once per
  intake or action; more as domains need them).
- ``area_path``: the path of the area the event concerns (``/310000/310101/310101002/``); a viewer
  hears of it when the path lies in their jurisdiction (starts with their area's path).
- ``payload``: JSON values, enough for a screen to update without asking again (ids and versions,
  so that a client receiving an event twice can tell).

The event is a row of ``live_events`` written in that same transaction, so it is delivered after the
unit of work commits — never before, and never if it rolls back. Do not publish from outside a unit of
work or after it has committed: there is no session then, and a crash in between would lose the event.

**Delivery.** Each API process has one ``LiveHub``. While anyone is subscribed, its poller reads the
rows after the last it has seen — at once when a unit of work of this process that published commits
(``publish`` wakes the hubs of its process), otherwise every ``poll_s`` — and hands each to the
subscriptions whose jurisdiction covers it. So events raised by any process (other API workers, the
MQTT consumer, ``cityops worker``) reach every stream, on SQLite and PostgreSQL alike, without a broker.

**Order and resume.** Ids come from the store. On PostgreSQL two transactions may commit out of id
order, so the poller also re-reads the ids it skipped (a gap) until they appear or ``gap_grace_s``
passes (the transaction rolled back). An event's ``cursor`` — what the stream sends as its SSE id — is
the highest id up to which every event has been handed out once it is: its own id as a rule, lower
while a gap below it is open, higher when it fills one. A client that resumes from a cursor
(``Last-Event-ID``) misses nothing, and may receive an event twice. Rows are kept ``KEEP`` long for resuming
(``prune``, run by the background worker).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import weakref
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import anyio
from sqlalchemy import JSON, BigInteger, Engine, Integer, String, delete, event, func, or_, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Mapped, Session, mapped_column

from cityops import jobs
from cityops.bulk import BulkInsert
from cityops.db import Base, UTCDateTime, unit_of_work, utcnow

log = logging.getLogger("cityops.live")
KEEP = timedelta(hours=24)
"""How long events are kept for clients that resume."""
PRUNE_LEASE = "live-prune"
MAX_GAP = 10_000
"""At most this many skipped ids below a new one are looked for again."""
_WAKE_KEY = "cityops.live.wake"
_HUBS: weakref.WeakSet[LiveHub] = weakref.WeakSet()


class LiveEvent(Base):
    __tablename__ = "live_events"
    # AUTOINCREMENT on SQLite: ids are never reused after pruning, so a client's Last-Event-ID stays meaningful
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    area_path: Mapped[str] = mapped_column(String(1024))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


def publish(session: Session, *, kind: str, area_path: str, payload: dict[str, Any]) -> None:
    """Announce a change to live screens once the unit of work of ``session`` commits (see the module's doc)."""
    # the driver's insert: the ORM's bookkeeping of an object nothing reads back cost a tenth of an intake
    BulkInsert(session.connection(), LiveEvent.__table__, ("kind", "area_path", "payload", "created_at")).write(
        [(kind, area_path, payload, utcnow())])
    session.info[_WAKE_KEY] = True


@event.listens_for(Session, "after_commit")
def _wake_hubs(session: Session) -> None:
    """After a commit that published: one listener for every session, as registering one on each
    publishing session cost more than the insert."""
    if not session.info.pop(_WAKE_KEY, None):
        return
    for hub in list(_HUBS):
        try:
            hub.wake()
        except Exception:  # noqa: BLE001  (the change is committed; a hub that misses the call polls anyway)
            log.exception("live events: could not wake a hub")


def latest_id(session: Session) -> int:
    """The id of the newest event (0: none yet): where a client that has seen nothing starts from."""
    return session.scalar(select(func.max(LiveEvent.id))) or 0


def prune(session: Session, *, now: datetime, keep: timedelta = KEEP) -> int:
    """Forget events older than ``keep``; returns how many."""
    return session.execute(delete(LiveEvent).where(LiveEvent.created_at < now - keep)).rowcount or 0


def run_prune(engine: Engine, *, holder: str, now: datetime, every: timedelta = timedelta(hours=1)) -> int | None:
    """Prune for the background worker at most once per ``every`` among all workers (the lease's
    expiry is when the next prune is due); None when it is not due."""
    with unit_of_work(engine) as session:
        if not jobs.take_when_due(session, name=PRUNE_LEASE, holder=holder, now=now, every=every):
            return None
        return prune(session, now=now)


@dataclass(frozen=True)
class Event:
    id: int
    kind: str
    area_path: str
    payload: dict[str, Any]
    at: datetime
    cursor: int
    """Resume from here to miss nothing (see the module's doc)."""


class Subscription:
    """One stream's share of the hub: the events in its jurisdiction, in the order they were found.
    A stream that falls ``max_queued`` events behind is ``overflowed``; it should end so that its client
    resumes from the store."""

    def __init__(self, area_path: str, *, max_queued: int) -> None:
        self.area_path = area_path
        self.queue: asyncio.Queue[Event | None] = asyncio.Queue(maxsize=max_queued)
        self.overflowed = False

    def offer(self, item: Event | None) -> None:
        try:
            self.queue.put_nowait(item)
        except asyncio.QueueFull:
            self.overflowed = True


class LiveHub:
    """The process's reader of ``live_events`` and its subscriptions (see the module's doc)."""

    def __init__(self, engine: Engine, *, poll_s: float = 0.25, gap_grace_s: float = 30.0, batch: int = 1000,
                 max_queued: int = 10_000) -> None:
        self.engine, self.poll_s, self.gap_grace_s, self.batch = engine, poll_s, gap_grace_s, batch
        self.max_queued = max_queued
        self.subscriptions: set[Subscription] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._woken: asyncio.Event | None = None
        self._poller: asyncio.Task[None] | None = None
        self._ready: asyncio.Event | None = None
        self._max_seen = 0
        self._gaps: dict[int, float] = {}
        self._settled: int | None = None
        self._closed = False
        _HUBS.add(self)

    @property
    def settled(self) -> int | None:
        """Every id up to this one has been read (or given up as rolled back); None while not reading."""
        return self._settled

    def cursor_of(self, event_id: int) -> int:
        settled = self._settled
        return event_id if settled is None else min(event_id, settled)

    async def subscribe(self, area_path: str) -> Subscription:
        """A subscription to the events under ``area_path`` found from now on."""
        subscription = Subscription(area_path, max_queued=self.max_queued)
        if self._closed:
            subscription.offer(None)
            return subscription
        self.subscriptions.add(subscription)
        if self._poller is None or self._poller.done():
            self._loop = asyncio.get_running_loop()
            self._woken, self._ready = asyncio.Event(), asyncio.Event()
            self._poller = self._loop.create_task(self._poll(), name="cityops-live-poller")
        await self._ready.wait()
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        self.subscriptions.discard(subscription)

    def wake(self) -> None:
        """Read the store now (thread-safe; called after a publishing unit of work commits)."""
        loop, woken = self._loop, self._woken
        if loop is not None and woken is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile: nobody to wake
                loop.call_soon_threadsafe(woken.set)

    async def close(self) -> None:
        """End every subscription and stop reading (the application is shutting down)."""
        self._closed = True
        for subscription in list(self.subscriptions):
            subscription.offer(None)
        self.subscriptions.clear()
        if self._poller is not None:
            self._poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poller

    async def backlog(self, *, area_path: str, after: int, limit: int) -> list[Event]:
        """Stored events under ``area_path`` after id ``after``, oldest first, at most ``limit``."""
        return await anyio.to_thread.run_sync(self.read_backlog, area_path, after, limit)

    def read_backlog(self, area_path: str, after: int, limit: int, session: Session | None = None) -> list[Event]:
        """As ``backlog``, in ``session`` (or a unit of work of its own)."""
        if session is None:
            with unit_of_work(self.engine, read_only=True) as own:
                return self.read_backlog(area_path, after, limit, own)
        rows = session.execute(select(LiveEvent.id, LiveEvent.kind, LiveEvent.area_path, LiveEvent.payload,
                                      LiveEvent.created_at)
                               .where(LiveEvent.id > after, LiveEvent.area_path.startswith(area_path, autoescape=True))
                               .order_by(LiveEvent.id).limit(limit)).all()
        return [Event(*row, cursor=self.cursor_of(row[0])) for row in rows]

    async def _poll(self) -> None:
        assert self._woken is not None and self._ready is not None
        try:
            await self._follow()
        finally:
            self._ready.set()  # no subscriber waits for a poller that has stopped
            # nobody listens: what was settled goes stale; the next subscription starts from the latest again
            self._settled = None

    async def _follow(self) -> None:
        assert self._woken is not None and self._ready is not None
        started = False
        while self.subscriptions and not self._closed:
            self._woken.clear()
            found: list[Event] = []
            try:
                if not started:
                    # from the newest event on: what came before is for resuming clients to ask for
                    await anyio.to_thread.run_sync(self._start_from_latest)
                    started = True
                else:
                    found = await anyio.to_thread.run_sync(self._read_new)
            except SQLAlchemyError:
                log.exception("live events: reading the store failed; trying again")
            self._ready.set()
            for item in found:
                for subscription in list(self.subscriptions):
                    if item.area_path.startswith(subscription.area_path):
                        subscription.offer(item)
            if len(found) < self.batch:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._woken.wait(), self.poll_s)

    def _start_from_latest(self) -> None:
        with unit_of_work(self.engine, read_only=True) as session:
            latest = latest_id(session)
        self._max_seen = max(latest, self._max_seen)
        self._gaps, self._settled = {}, self._max_seen

    def _read_new(self) -> list[Event]:
        newer = LiveEvent.id > self._max_seen
        with unit_of_work(self.engine, read_only=True) as session:
            rows = session.execute(select(LiveEvent.id, LiveEvent.kind, LiveEvent.area_path, LiveEvent.payload,
                                          LiveEvent.created_at)
                                   .where(or_(newer, LiveEvent.id.in_(list(self._gaps))) if self._gaps else newer)
                                   .order_by(LiveEvent.id).limit(self.batch)).all()
        now = time.monotonic()
        # ids not seen for gap_grace_s belonged to transactions that rolled back
        self._gaps = {id_: since for id_, since in self._gaps.items() if now - since < self.gap_grace_s}
        found = []
        for row in rows:
            self._gaps.pop(row[0], None)
            if row[0] > self._max_seen:
                # ids skipped here may belong to transactions still committing; look for them a while
                self._gaps.update(dict.fromkeys(range(max(self._max_seen + 1, row[0] - MAX_GAP), row[0]), now))
                self._max_seen = row[0]
            # everything up to the first open gap has now been handed out, this event included
            self._settled = min(self._gaps, default=self._max_seen + 1) - 1
            found.append(Event(*row, cursor=self._settled))
        if not rows:
            self._settled = min(self._gaps, default=self._max_seen + 1) - 1
        return found


