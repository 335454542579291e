"""Running the sweeper: in-process beside the API by default, or as `cityops cases sweep` workers at
scale. Each sweep is one unit of work under the store's ``sweeper`` lease."""

from __future__ import annotations

import logging
import os
import socket
import threading
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from cityops import jobs
from cityops.calendar import service as calendar_service
from cityops.cases.sweeper import SweepResult, sweep
from cityops.categories.time_limits import parse_limit
from cityops.config import Settings
from cityops.db import unit_of_work

log = logging.getLogger("cityops.sweeper")
LEASE = "sweeper"


def holder_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


def sweep_once(engine: Engine, settings: Settings, *, holder: str, now: datetime | None = None,
               lease_ttl: timedelta = timedelta(minutes=5)) -> SweepResult | None:
    """One sweep if this holder gets the lease; None when another worker holds it."""
    now = now or datetime.now(UTC)
    with unit_of_work(engine) as session:
        if not jobs.acquire(session, name=LEASE, holder=holder, now=now, ttl=lease_ttl):
            return None
        calendar = calendar_service.load_calendar(session, settings=settings)
        return sweep(session, now=now, calendar=calendar, supervision_limit=parse_limit(settings.supervision_limit))


class BackgroundSweeper:
    """Sweeps every ``interval`` seconds on a daemon thread until stopped."""

    def __init__(self, engine: Engine, settings: Settings, *, interval: float) -> None:
        self.engine, self.settings, self.interval = engine, settings, interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="cityops-sweeper", daemon=True)
        self.holder = holder_name()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                result = sweep_once(self.engine, self.settings, holder=self.holder)
                if result and (result.reminded or result.overdue or result.escalated):
                    log.info("sweep: %s", result)
            except Exception:  # noqa: BLE001  (a failed sweep is logged and retried next interval)
                log.exception("sweep failed")
