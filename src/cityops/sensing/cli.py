"""`cityops sensing …`: import devices and prune old readings from the command line."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from cityops.config import get_settings
from cityops.db import get_engine, migrate, unit_of_work
from cityops.errors import CityOpsError
from cityops.geo import service as geo_service
from cityops.sensing import devices as registry
from cityops.sensing import service

app = typer.Typer(help="Sensing: IoT devices and their readings.", no_args_is_help=True)
console = Console()


def _fail(exc: CityOpsError) -> typer.Exit:
    console.print(f"[red]{exc.detail}[/red]" + (f" ({exc.field})" if exc.field else ""))
    for row in exc.extra.get("rows", [])[:50]:
        console.print(f"  row {row['row']} {row['field']}: {row['reason']}")
    return typer.Exit(1)


@app.command("import-devices")
def import_devices(file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)]) -> None:
    """Upsert devices from a CSV file (code,name,type,lon,lat[,department_code,installed_on,status]), all or
    nothing."""
    settings = get_settings()
    migrate(get_engine(settings))
    try:
        with unit_of_work() as session:
            locator = geo_service.build_locator(session, boundary_distance_m=settings.boundary_distance_m)
            report = registry.import_csv(session, data=file.read_bytes(), locator=locator, actor=None, origin="cli")
    except CityOpsError as exc:
        raise _fail(exc) from exc
    console.print(report.__dict__)


@app.command("prune")
def prune(
    raw_days: Annotated[int, typer.Option(min=1, help="keep raw readings this many days")],
    rollup_days: Annotated[int, typer.Option(min=1, help="keep 1-minute and 1-hour rollups this many days")],
) -> None:
    """Drop raw readings and rollups past their retention (whole monthly partitions on PostgreSQL)."""
    migrate(get_engine())
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=console,
                  transient=True) as progress:
        progress.add_task("pruning readings", total=None)
        try:
            with unit_of_work() as session:
                report = service.prune(session, now=datetime.now(UTC), raw_days=raw_days, rollup_days=rollup_days)
        except CityOpsError as exc:
            progress.stop()
            raise _fail(exc) from exc
    console.print(report.__dict__)
