"""`cityops worker`: the background jobs (time-limit sweeper, outbox fan-out, webhook delivery)."""

from __future__ import annotations

import time
from typing import Annotated

import typer
from rich.console import Console

from cityops.config import get_settings
from cityops.db import get_engine, migrate
from cityops.sensing.alerting import CaseIntake
from cityops.worker import holder_name, run_all

console = Console()


def worker(
    once: Annotated[bool, typer.Option(help="run every job once and exit")] = False,
    interval: Annotated[float, typer.Option(min=1.0, help="seconds between rounds")] = 10.0,
) -> None:
    """Remind before deadlines, mark overdue steps and open supervisions; deliver notifications and
    webhooks. Safe to run as several processes: leases in the store give each job to one at a time.
    Set CITYOPS_SWEEP_INTERVAL_S=0 on the API processes when these run."""
    settings = get_settings()
    engine = get_engine(settings)
    migrate(engine)
    holder = holder_name()
    cases = CaseIntake.from_settings(settings)
    while True:
        console.print(run_all(engine, settings, holder=holder, cases=cases))
        if once:
            return
        time.sleep(interval)
