"""`cityops simulate …`: drive the demo city's devices with simulated readings, replay real series onto
demo devices, and score a rule against NAB's labelled anomaly windows."""

from __future__ import annotations

import json
import signal
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.live import Live
from rich.table import Table

from cityops.config import get_settings
from cityops.db import get_engine, migrate, unit_of_work
from cityops.errors import CityOpsError
from cityops.geo import service as geo_service
from cityops.sensing import replay, replay_run, rules, simulate_fleet
from cityops.sensing import service as sensing_service
from cityops.sensing.alerting import CaseIntake
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
        return IngestSender(engine, cases=CaseIntake.from_settings(settings)), None
    if mqtt:
        broker = mqtt_url or settings.mqtt_url
        if not broker:
            raise typer.BadParameter("give --mqtt-url or set CITYOPS_MQTT_URL", param_hint="--mqtt-url")
        return MqttSender(broker), None
    simulate_fleet.check_api(url)
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


replay_app = typer.Typer(help="Replay real series onto demo devices, in time order, optionally faster.",
                         no_args_is_help=True)
app.add_typer(replay_app, name="replay")
evaluate_app = typer.Typer(help="Score a rule against labelled anomalies.", no_args_is_help=True)
app.add_typer(evaluate_app, name="evaluate")

SPEED_HELP = "times faster than real time (1: real time); 0: as fast as the platform takes them"
SERIES_HELP = "NAB series to take (repeatable), e.g. realKnownCause/nyc_taxi.csv; default: every labelled one"


def _sensors_dir(root: Path | None) -> Path:
    return root or get_settings().shared_data_dir / "sensors"


def _calibration(probation: float, steps: str, hold: int) -> replay.Calibration:
    try:
        shares = tuple(float(part) for part in steps.split(","))
    except ValueError:
        raise typer.BadParameter("steps are three numbers, e.g. 0.1,0.3,0.6", param_hint="--steps") from None
    return replay.Calibration(probation=probation, steps=shares, hold=hold)


def _scores_table(scores: list[replay.SeriesScore], title: str) -> Table:
    table = Table("series", "readings", "windows", "with a warning", "warnings", "outside every window", title=title)
    for item in scores:
        table.add_row(Path(item.source).stem, f"{item.readings:,}", str(item.score.windows),
                      str(item.score.windows_with_warning), str(item.score.warnings), str(item.score.warnings_outside))
    return table


def _totals(scores: list[replay.SeriesScore]) -> replay.WindowScore:
    return sum((item.score for item in scores), replay.WindowScore(0, 0, 0, 0))


def _figures(total: replay.WindowScore, calibration: replay.Calibration, **more: object) -> str:
    return json.dumps({"windows": total.windows, "windows_with_warning": total.windows_with_warning,
                       "warnings": total.warnings, "warnings_outside_windows": total.warnings_outside,
                       "rule": {"probation": calibration.probation, "steps": list(calibration.steps),
                                "hold_readings": calibration.hold}, **more})


CALIBRATION_HELP = {
    "probation": "share of each series, from its start, taken as its normal range",
    "steps": "yellow, orange and red fire this far past the normal range (shares of its width)",
    "hold": "readings past a level, after the first, before it fires (the rule's for)",
}


@evaluate_app.command("nab")
def evaluate_nab(
    series: Annotated[list[str] | None, typer.Option(help=SERIES_HELP)] = None,
    probation: Annotated[float, typer.Option(help=CALIBRATION_HELP["probation"])] = 0.15,
    steps: Annotated[str, typer.Option(help=CALIBRATION_HELP["steps"])] = "0.1,0.3,0.6",
    hold: Annotated[int, typer.Option(help=CALIBRATION_HELP["hold"])] = 1,
    root: Annotated[Path | None, typer.Option(help="the sensors data folder (default: shared data's)")] = None,
) -> None:
    """How many of NAB's labelled anomaly windows contain a warning of the calibrated rules, and how many
    warnings fall outside every window, evaluated by the platform's rule engine (dry runs). The last
    line is the figures as JSON."""
    try:
        calibration = _calibration(probation, steps, hold)
        scores = replay.score_nab(replay.read_nab(_sensors_dir(root) / "nab", names=series), calibration)
    except CityOpsError as exc:
        raise _fail(exc) from exc
    console.print(_scores_table(scores, "NAB: calibrated threshold rules (dry run)"))
    print(_figures(_totals(scores), calibration, series=len(scores), evaluated_by="dry_run"))


def _run_replay(tracks: list[replay.Track], devices: list[replay.ReplayDevice], *, speed: float, mqtt: bool,
                direct: bool, url: str, mqtt_url: str | None, seed: int,
                replay_rules: list[rules.Rule] | None = None) -> tuple[replay_run.ReplayStats, replay.ReplayClock]:
    settings = get_settings()
    engine = get_engine(settings)
    migrate(engine)
    clock = replay.replay_clock(tracks, now=datetime.now(UTC), speed=speed,
                                max_age=sensing_service.MAX_LATENESS - timedelta(days=1))
    with unit_of_work(engine) as session:
        locator = geo_service.build_locator(session, boundary_distance_m=settings.boundary_distance_m)
        added = replay_run.ensure_devices(session, devices, locator=locator, seed=seed)
        made = replay_run.ensure_rules(session, replay_rules, name="NAB 回放校准规则") if replay_rules else []
    console.print(f"{len(devices)} devices ({added} registered now), {len(made)} rules added; the series move "
                  f"{min(clock.shifts.values()).days}–{max(clock.shifts.values()).days} days forward")
    transport = open_sender(mqtt=mqtt, direct=direct, url=url, mqtt_url=mqtt_url)
    stop = _stop_on_signals()
    total = sum(len(track.points) for track in tracks)
    try:
        with Live(console=console, transient=True) as live:
            stats = replay_run.send_in_time(
                replay.timeline(tracks, clock=clock), transport[0], stop=stop,
                on_batch=lambda s: live.update(f"{s.readings:,} of {total:,} readings sent, {s.accepted:,} "
                                               f"accepted, {s.seconds:,.0f} s"))
    finally:
        close_sender(transport)
    console.print(f"{stats.readings:,} readings sent ({stats.accepted:,} accepted, {stats.rejected:,} rejected) in "
                  f"{stats.batches:,} batches, {stats.seconds:,.1f} s")
    return stats, clock


TRANSPORT_OPTIONS = {"url": "the running API", "mqtt_url": "the broker (default: CITYOPS_MQTT_URL)"}


@replay_app.command("nab")
def replay_nab(
    series: Annotated[list[str] | None, typer.Option(help=SERIES_HELP)] = None,
    speed: Annotated[float, typer.Option(min=0, help=SPEED_HELP)] = 0,
    with_rules: Annotated[bool, typer.Option("--rules/--no-rules", help=(
        "keep each series' calibrated rules (see `cityops simulate evaluate nab`) as rules of the platform"))] = True,
    evaluate: Annotated[bool, typer.Option("--evaluate", help=(
        "afterwards, score the warnings the platform raised against the labelled windows (not with --mqtt: "
        "the consumer stores asynchronously)"))] = False,
    probation: Annotated[float, typer.Option(help=CALIBRATION_HELP["probation"])] = 0.15,
    steps: Annotated[str, typer.Option(help=CALIBRATION_HELP["steps"])] = "0.1,0.3,0.6",
    hold: Annotated[int, typer.Option(help=CALIBRATION_HELP["hold"])] = 1,
    mqtt: Annotated[bool, typer.Option("--mqtt", help=MQTT_HELP)] = False,
    direct: Annotated[bool, typer.Option("--direct", help=DIRECT_HELP)] = False,
    url: Annotated[str, typer.Option(help=TRANSPORT_OPTIONS["url"])] = "http://127.0.0.1:8000",
    mqtt_url: Annotated[str | None, typer.Option(help=TRANSPORT_OPTIONS["mqtt_url"])] = None,
    root: Annotated[Path | None, typer.Option(help="the sensors data folder (default: shared data's)")] = None,
    seed: Annotated[int, typer.Option(help="where the devices are placed")] = 0,
) -> None:
    """Replay NAB's labelled series onto demo devices (one device and type per series), in time order."""
    if evaluate and (mqtt or not with_rules):
        raise typer.BadParameter("--evaluate needs --rules and HTTP or --direct", param_hint="--evaluate")
    try:
        calibration = _calibration(probation, steps, hold)
        tracks = replay.read_nab(_sensors_dir(root) / "nab", names=series)
        series_rules = {track.device: replay.calibrated_rules(track, calibration) for track in tracks}
        _, clock = _run_replay(tracks, replay.nab_devices(tracks), speed=speed, mqtt=mqtt, direct=direct, url=url,
                               mqtt_url=mqtt_url, seed=seed,
                               replay_rules=[rule for pair in series_rules.values() for rule in pair]
                               if with_rules else None)
    except CityOpsError as exc:
        raise _fail(exc) from exc
    if not evaluate:
        return
    with unit_of_work(get_engine(), read_only=True) as session:
        scores = []
        for track in tracks:
            codes = [rule.code for rule in series_rules[track.device]]
            shift = clock.shifts[track.device]
            fired = sorted(moment for moments in replay_run.fired_since(session, rule_codes=codes,
                                                                        since=track.points[0][0] + shift).values()
                           for moment in replay_run.shifted_back(moments, shift))
            scores.append(replay.SeriesScore(track.source, len(track.points), series_rules[track.device],
                                             tuple(fired), replay.score_windows(fired, track.windows)))
    console.print(_scores_table(scores, "NAB replayed through the platform: its warnings"))
    print(_figures(_totals(scores), calibration, series=len(scores), evaluated_by="platform_warnings"))


@replay_app.command("beijing")
def replay_beijing(
    stations: Annotated[list[str] | None, typer.Option(help="stations (repeatable): Changping, Dongsi, Tiantan; "
                                                            "default: all")] = None,
    since: Annotated[datetime, typer.Option(formats=["%Y-%m-%d"], help="first day replayed (Beijing time)")]
    = datetime(2017, 1, 1),
    days: Annotated[int, typer.Option(min=1, max=390, help="days replayed from --since")] = 59,
    speed: Annotated[float, typer.Option(min=0, help=SPEED_HELP)] = 0,
    mqtt: Annotated[bool, typer.Option("--mqtt", help=MQTT_HELP)] = False,
    direct: Annotated[bool, typer.Option("--direct", help=DIRECT_HELP)] = False,
    url: Annotated[str, typer.Option(help=TRANSPORT_OPTIONS["url"])] = "http://127.0.0.1:8000",
    mqtt_url: Annotated[str | None, typer.Option(help=TRANSPORT_OPTIONS["mqtt_url"])] = None,
    root: Annotated[Path | None, typer.Option(help="the sensors data folder (default: shared data's)")] = None,
    seed: Annotated[int, typer.Option(help="where the devices are placed")] = 0,
) -> None:
    """Replay Beijing's hourly air quality (PM2.5, PM10, SO2, NO2, CO, O3) onto demo air stations; the
    default is the smoggy winter of January–February 2017."""
    try:
        tracks = replay.read_beijing(_sensors_dir(root) / "beijing_aq", stations=stations, since=since,
                                     until=since + timedelta(days=days))
        _run_replay(tracks, replay.beijing_devices(tracks), speed=speed, mqtt=mqtt, direct=direct, url=url,
                    mqtt_url=mqtt_url, seed=seed)
    except CityOpsError as exc:
        raise _fail(exc) from exc
