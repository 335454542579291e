"""`cityops simulate …`: drive the demo city's devices with simulated readings, replay real series onto
demo devices, and score a rule against NAB's labelled anomaly windows."""

from __future__ import annotations

import json
import signal
import threading
from datetime import timedelta
from typing import Annotated

import typer
from rich.console import Console
from rich.live import Live

from cityops.config import get_settings
from cityops.db import get_engine, migrate, unit_of_work
from cityops.errors import CityOpsError
from cityops.geo import service as geo_service
from cityops.sensing import simulate_fleet
from cityops.sensing.simulate_fleet import HttpSender, IngestSender, MqttSender, RunStats, Sender

app = typer.Typer(help="Simulated and replayed sensors for the demo city.", no_args_is_help=True)
console = Console()


def _fail(exc: CityOpsError) -> typer.Exit:
    console.print(f"[red]{exc.detail}[/red]" + (f" ({exc.field})" if exc.field else ""))
    return typer.Exit(1)


def _stop_on_signals() -> threading.Event:
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    return stop


Transport = tuple[Sender, int | None]


def open_sender(*, mqtt: bool, direct: bool, url: str, mqtt_url: str | None) -> Transport:
    """The sender a command asked for, and the id of the API client made for it (HTTP only)."""
    settings = get_settings()
    engine = get_engine(settings)
    if direct:
        from cityops.sensing.alerting import CaseIntake

        return IngestSender(engine, cases=CaseIntake.from_settings(settings)), None
    if mqtt:
        broker = mqtt_url or settings.mqtt_url
        if not broker:
            raise typer.BadParameter("give --mqtt-url or set CITYOPS_MQTT_URL", param_hint="--mqtt-url")
        return MqttSender(broker), None
    with unit_of_work(engine) as session:
        client_id, token = simulate_fleet.simulator_token(session)
    return HttpSender(url, token=token), client_id


def close_sender(transport: Transport) -> None:
    sender, client_id = transport
    sender.close()
    if client_id is not None:
        with unit_of_work(get_engine()) as session:
            simulate_fleet.revoke_token(session, client_id=client_id)


def _line(stats: RunStats) -> str:
    return (f"{stats.sent.readings:,} readings sent ({stats.sent.accepted:,} accepted, {stats.sent.rejected:,} "
            f"rejected) in {stats.batches:,} batches, {stats.rate:,.1f}/s over {stats.seconds:,.0f} s")


MQTT_HELP = "publish to the MQTT broker (cityops/devices/{device}/readings, QoS 1) instead of POSTing to the API"
DIRECT_HELP = "store the readings in-process through ingest (no API, no broker)"


@app.command("sensors")
def sensors(
    devices: Annotated[int, typer.Option(min=1, max=100_000, help="simulated devices (registered if missing)")] = 20,
    rate: Annotated[float, typer.Option(min=0.001, help="readings per second over the whole fleet")] = 5.0,
    mqtt: Annotated[bool, typer.Option("--mqtt", help=MQTT_HELP)] = False,
    duration: Annotated[float | None, typer.Option(min=1, help="seconds to run (default: until interrupted)")] = None,
    faults: Annotated[list[str] | None, typer.Option(
        help="faults to inject: spike, drift, silence (repeat or comma-separate; 'none' for none)")] = None,
    fault_every: Annotated[float, typer.Option(
        min=1, help="each fault strikes each device on average once every this many seconds")] = 1800,
    seed: Annotated[int, typer.Option(help="the same seed gives the same fleet, signals and faults")] = 0,
    rules: Annotated[bool, typer.Option(help="add the demo's warning rules on the simulated types if missing")] = True,
    url: Annotated[str, typer.Option(help="the running API")] = "http://127.0.0.1:8000",
    mqtt_url: Annotated[str | None, typer.Option(help="the broker (default: CITYOPS_MQTT_URL)")] = None,
    direct: Annotated[bool, typer.Option("--direct", help=DIRECT_HELP)] = False,
) -> None:
    """Drive the demo city's devices with realistic readings (daily and tidal cycles, noise per metric)
    and injected faults, sent in batches to the running API (or the MQTT broker) as they come due."""
    settings = get_settings()
    engine = get_engine(settings)
    migrate(engine)
    kinds = [] if faults and [name.strip() for name in faults] == ["none"] else (faults or ["spike,drift,silence"])
    try:
        with unit_of_work(engine, read_only=True) as session:
            locator = geo_service.build_locator(session, boundary_distance_m=settings.boundary_distance_m)
        span = timedelta(seconds=duration) if duration else None
        fleet_devices, fleet, schedule = simulate_fleet.start_fleet(
            engine, count=devices, rate=rate, locator=locator, seed=seed, faults=kinds,
            fault_every=timedelta(seconds=fault_every), duration=span, rules=rules)
        transport = open_sender(mqtt=mqtt, direct=direct, url=url, mqtt_url=mqtt_url)
    except CityOpsError as exc:
        raise _fail(exc) from exc
    console.print(f"{len(fleet_devices)} devices, one report each every {schedule.interval.total_seconds():.1f} s, "
                  f"{sum(len(f) for f in fleet.faults.values())} faults planned; Ctrl-C stops")
    stop = _stop_on_signals()
    try:
        with Live(console=console, transient=True) as live:
            stats = simulate_fleet.run(fleet, schedule, transport[0], duration=span, stop=stop,
                                       on_batch=lambda s: live.update(_line(s)))
    finally:
        close_sender(transport)
    console.print(_line(stats))
    print(json.dumps({"devices": len(fleet_devices), "readings": stats.sent.readings, "accepted": stats.sent.accepted,
                      "rejected": stats.sent.rejected, "seconds": round(stats.seconds, 1),
                      "readings_per_s": round(stats.rate, 1),
                      "transport": "direct" if direct else "mqtt" if mqtt else "http"}))
