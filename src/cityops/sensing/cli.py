"""`cityops sensing …`: import devices, consume readings from MQTT and prune old readings from the command
line."""

from __future__ import annotations

import logging
import signal
import threading
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from cityops.config import get_settings
from cityops.db import get_engine, migrate, unit_of_work
from cityops.errors import CityOpsError
from cityops.geo import service as geo_service
from cityops.sensing import alerting, mqtt, service
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
