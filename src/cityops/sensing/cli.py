"""`cityops sensing …`: import devices, consume readings from MQTT, prune old readings, list the indicators
and compute them from the command line."""

from __future__ import annotations

import logging
import os
import signal
import threading
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from cityops.config import get_settings
from cityops.db import get_engine, migrate, unit_of_work
from cityops.errors import CityOpsError
from cityops.geo import service as geo_service
from cityops.sensing import alerting, indicators_service, mqtt, service
from cityops.sensing import devices as registry

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
    indicator_days: Annotated[int | None, typer.Option(min=1, help="keep indicators' values this many days "
                                                                   "(default: as long as rollups)")] = None,
) -> None:
    """Drop raw readings, rollups and indicators' values past their retention (whole monthly partitions of
    readings on PostgreSQL)."""
    migrate(get_engine())
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=console,
                  transient=True) as progress:
        progress.add_task("pruning readings", total=None)
        try:
            with unit_of_work() as session:
                report = service.prune(session, now=datetime.now(UTC), raw_days=raw_days, rollup_days=rollup_days,
                                        indicator_days=indicator_days)
        except CityOpsError as exc:
            progress.stop()
            raise _fail(exc) from exc
    console.print(report.__dict__)


@app.command("consume")
def consume(
    client_id: Annotated[str, typer.Option(help="MQTT client id: the broker keeps one session (and what it has "
                                                "not yet acknowledged) per id; run one consumer per id")]
    = mqtt.DEFAULT_CLIENT_ID,
    batch: Annotated[int, typer.Option(min=1, max=30_000, help="messages per unit of work at most")] = 500,
    delay: Annotated[float, typer.Option(min=0.0, help="seconds a batch waits for more messages")] = 0.2,
    subscription: Annotated[list[str] | None, typer.Option(
        help=f"topic filter (repeatable; default {mqtt.TOPIC_FILTER}), e.g. $share/cityops/{mqtt.TOPIC_FILTER} "
             "for several consumers sharing the load")] = None,
) -> None:
    """Store readings published to cityops/devices/{device}/readings (QoS 1) from the broker at
    CITYOPS_MQTT_URL until interrupted; each message is acknowledged once its batch is committed."""
    settings = get_settings()
    if not settings.mqtt_url:
        console.print("[red]set CITYOPS_MQTT_URL, e.g. mqtt://127.0.0.1:1883[/red]")
        raise typer.Exit(1)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("cityops").setLevel(logging.INFO)
    engine = get_engine(settings)
    migrate(engine)
    try:
        consumer = mqtt.ReadingsConsumer(engine, settings.mqtt_url, client_id=client_id, batch_size=batch,
                                         max_delay=delay, subscriptions=subscription or (mqtt.TOPIC_FILTER,),
                                         ingest=partial(service.ingest,
                                                        cases=alerting.CaseIntake.from_settings(settings)))
    except CityOpsError as exc:
        raise _fail(exc) from exc
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    consumer.start()
    try:
        stopped.wait()
    except KeyboardInterrupt:
        pass
    finally:
        consumer.stop()
    console.print(consumer.stats.__dict__)


@app.command("indicators")
def indicators(
    class_code: Annotated[str | None, typer.Option("--class", help="only this class of indicators")] = None,
) -> None:
    """The indicator catalogue, with how many areas have a value and the newest bucket of each."""
    migrate(get_engine())
    with unit_of_work(read_only=True) as session:
        rows = indicators_service.list_indicators(session, viewer=None, class_code=class_code)
        classes = indicators_service.class_codes(session)
        summary = indicators_service.latest_summary(session, indicator_ids=[row.id for row in rows])
    table = Table("code", "name", "class", "level", "interval", "source", "areas", "newest")
    for row in rows:
        areas, newest = summary.get(row.id, (0, None))
        table.add_row(row.code, row.name, classes[row.class_id], row.level, f"{row.interval_s} s",
                      indicators_service.describe_source(row.source), str(areas),
                      newest.isoformat() if newest else "—")
    console.print(table)


@app.command("compute-indicators")
def compute_indicators() -> None:
    """Run one round of the indicator job now (the background worker runs it every round), unless a worker
    holds its lease."""
    engine = get_engine()
    migrate(engine)
    report = indicators_service.run_compute(engine, holder=f"cli:{os.getpid()}", now=datetime.now(UTC))
    if report is None:
        console.print("[yellow]a worker is computing the indicators now; nothing done[/yellow]")
        raise typer.Exit(1)
    console.print({"buckets": report.buckets, "changed": report.changed, "warning_moves": report.warning_moves})
