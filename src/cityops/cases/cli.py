"""`cityops cases …`: background work of the closed loop."""

from __future__ import annotations

import time
from typing import Annotated

import typer
from rich.console import Console

from cityops.cases.worker import holder_name, sweep_once
from cityops.config import get_settings
from cityops.db import get_engine, migrate

app = typer.Typer(help="Cases: the closed loop's background work.", no_args_is_help=True)
console = Console()


@app.command()
def sweep(
    once: Annotated[bool, typer.Option(help="sweep once and exit")] = False,
    interval: Annotated[float, typer.Option(min=1.0, help="seconds between sweeps")] = 30.0,
) -> None:
    """Remind before deadlines, mark overdue steps and open supervisions. Safe to run as several
    workers: a lease in the store lets one sweep at a time."""
    settings = get_settings()
    engine = get_engine(settings)
    migrate(engine)
    holder = holder_name()
    while True:
        result = sweep_once(engine, settings, holder=holder)
        console.print(f"{'another worker holds the lease' if result is None else result}")
        if once:
            return
        time.sleep(interval)
