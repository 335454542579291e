"""Background work: the time-limit sweeper, the outbox fan-out, webhook delivery, the indicator job
(``sensing.indicators_service``), the clock of warning rules that wait on time and, hourly, the retention
of sensor readings. In-process beside
the API by default; at scale as `cityops worker` processes. Each job runs in its own unit of work
under its own lease in the store, so several workers never do the same job at once."""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import Engine

from cityops import jobs, live
from cityops.calendar import service as calendar_service
from cityops.cases.sweeper import sweep
from cityops.categories.time_limits import parse_limit
from cityops.config import Settings
from cityops.db import unit_of_work
from cityops.notify import service as notify
from cityops.notify.service import Outgoing
from cityops.sensing import alerting, indicators_service
from cityops.sensing import service as sensing_service

log = logging.getLogger("cityops.worker")
LEASE_TTL = timedelta(minutes=5)
Post = Callable[[Outgoing], int]


def holder_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


def http_post(outgoing: Outgoing) -> int:
    response = httpx.post(outgoing.url, content=outgoing.body, headers=outgoing.headers, timeout=10.0)
    return response.status_code


def run_sweeper(engine: Engine, settings: Settings, *, holder: str, now: datetime) -> object | None:
    with unit_of_work(engine) as session:
        if not jobs.acquire(session, name="sweeper", holder=holder, now=now, ttl=LEASE_TTL):
            return None
        calendar = calendar_service.load_calendar(session, settings=settings)
        return sweep(session, now=now, calendar=calendar, supervision_limit=parse_limit(settings.supervision_limit))


def run_fan_out(engine: Engine, *, holder: str, now: datetime) -> int | None:
    with unit_of_work(engine) as session:
        if not jobs.acquire(session, name="outbox", holder=holder, now=now, ttl=LEASE_TTL):
            return None
        return notify.fan_out(session, now=now)


def run_deliveries(engine: Engine, *, holder: str, now: datetime, post: Post = http_post) -> int | None:
    """POST what is due; each outcome is recorded in its own transaction, outside the HTTP call."""
    with unit_of_work(engine) as session:
        if not jobs.acquire(session, name="webhooks", holder=holder, now=now, ttl=LEASE_TTL):
            return None
        outgoing = notify.due_deliveries(session, now=now)
    for item in outgoing:
        try:
            status, error = post(item), None
        except httpx.HTTPError as exc:
            status, error = None, f"{type(exc).__name__}: {exc}"
        with unit_of_work(engine) as session:
            notify.record_attempt(session, delivery_id=item.delivery_id, now=datetime.now(UTC), status=status,
                                  error=error if error else (None if status and status < 300 else f"HTTP {status}"))
    return len(outgoing)


def run_rule_clock(engine: Engine, *, holder: str, now: datetime, cases: alerting.CaseIntake) -> int | None:
    """Warning rules that wait on time: no data for N minutes, readings held back by a lateness window;
    then the cases of warnings that reached their rule's case level and have none yet (those raised on
    this clock, and those whose opening failed before)."""
    with unit_of_work(engine) as session:
        if not jobs.acquire(session, name="rule-clock", holder=holder, now=now, ttl=LEASE_TTL):
            return None
        moves = alerting.advance_all(session, now=now)
        alerting.open_due_cases(session, intake=cases, now=now)
        return moves


def run_all(engine: Engine, settings: Settings, *, holder: str, post: Post = http_post,
            cases: alerting.CaseIntake | None = None) -> dict[str, object]:
    """One round of every job. ``cases`` should be kept across rounds (it caches the locator)."""
    now = datetime.now(UTC)
    cases = cases or alerting.CaseIntake.from_settings(settings)
    return {"sweep": run_sweeper(engine, settings, holder=holder, now=now),
            "fanned_out": run_fan_out(engine, holder=holder, now=now),
            "delivered": run_deliveries(engine, holder=holder, now=now, post=post),
            "indicators": indicators_service.run_compute(engine, holder=holder, now=now),
            "rule_clock": run_rule_clock(engine, holder=holder, now=now, cases=cases),
            "pruned": sensing_service.run_prune(engine, holder=holder, now=now, raw_days=settings.readings_raw_days,
                                                rollup_days=settings.readings_rollup_days,
                                                indicator_days=settings.indicator_values_days),
            "live_pruned": live.run_prune(engine, holder=holder, now=now)}


class BackgroundWorker:
    """Runs every job on a daemon thread at once when started, then every ``interval`` seconds until stopped."""

    def __init__(self, engine: Engine, settings: Settings, *, interval: float,
                 cases: alerting.CaseIntake | None = None) -> None:
        self.engine, self.settings, self.interval = engine, settings, interval
        self.cases = cases or alerting.CaseIntake.from_settings(settings)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="cityops-worker", daemon=True)
        self.holder = holder_name()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        # The first round at once, not an interval after start: what fell due while the server was down
        # (reminders, overdue marks, supervisions) is raised as it starts, here rather than before it answers.
        while True:
            try:
                run_all(self.engine, self.settings, holder=self.holder, cases=self.cases)
            except Exception:  # noqa: BLE001  (a failed round is logged and retried next interval)
                log.exception("background jobs failed")
            if self._stop.wait(self.interval):
                return
