"""The `cityops` command."""

from __future__ import annotations

import os
import re
from typing import Annotated

import typer
from pydantic import ValidationError
from pydantic_settings import SettingsError
from rich.console import Console

from cityops.analytics.cli import report
from cityops.categories.cli import app as categories_app
from cityops.classify.cli import app as classifier_app
from cityops.cli_worker import worker
from cityops.config import get_settings, trusted_proxies
from cityops.db import get_engine, migrate, store_status
from cityops.demo.cli import app as demo_app
from cityops.geo.cli import app as areas_app
from cityops.history.cli import app as cases_app
from cityops.history.cli import responsibilities_app
from cityops.org.cli import app as users_app
from cityops.sensing.cli import app as sensing_app
from cityops.sensing.simulate_cli import app as simulate_app

app = typer.Typer(help="CityOps: city operations platform (城市运行“一网统管”).", no_args_is_help=True)
db_app = typer.Typer(help="The store: migrations and status.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(areas_app, name="areas")
app.add_typer(categories_app, name="categories")
app.add_typer(users_app, name="users")
app.add_typer(classifier_app, name="classifier")
app.add_typer(cases_app, name="cases")
app.add_typer(responsibilities_app, name="responsibilities")
app.command()(worker)
app.command()(report)
app.add_typer(demo_app, name="demo")
app.add_typer(sensing_app, name="sensing")
app.add_typer(simulate_app, name="simulate")
console = Console()


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply every migration to the configured store (SQLite by default)."""
    engine = get_engine()
    migrate(engine)
    console.print(store_status(engine))


@db_app.command("status")
def db_status() -> None:
    """Print the store's backend and schema revision."""
    console.print(store_status(get_engine()))


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(envvar="PORT", help="port (or $PORT)")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="worker processes (PostgreSQL for more than one)")] = 1,
    keep_alive: Annotated[int, typer.Option(min=1, help="seconds an idle client connection stays open")] = 75,
    forwarded_allow_ips: Annotated[str | None, typer.Option(
        help="reverse proxies trusted to say the client's address (X-Forwarded-For), which anonymous "
             "callers are rate-limited by: comma-separated addresses or networks (10.0.0.0/8), or * for any "
             "peer; default $CITYOPS_FORWARDED_ALLOW_IPS, else $FORWARDED_ALLOW_IPS, else 127.0.0.1 and ::1"
    )] = None,
) -> None:
    """Serve the API (and the web console once built)."""
    import uvicorn

    try:
        settings = get_settings()
    except (ValidationError, SettingsError) as exc:
        typer.echo(f"A setting is wrong; nothing was started.\n{_settings_problem(exc)}", err=True)
        raise typer.Exit(2) from None
    proxies, source = forwarded_allow_ips, "--forwarded-allow-ips"
    if proxies is None:
        proxies, source = settings.forwarded_allow_ips, "CITYOPS_FORWARDED_ALLOW_IPS"
    if proxies is None:
        proxies, source = os.environ.get("FORWARDED_ALLOW_IPS"), "FORWARDED_ALLOW_IPS"
    if proxies is not None:
        try:
            proxies = trusted_proxies(proxies)
        except ValueError as exc:
            raise typer.BadParameter(str(exc), param_hint=source) from None
    migrate(get_engine(settings))
    console.print(f"CityOps on [bold]http://{host}:{port}[/bold]  (API docs: http://{host}:{port}/docs)")
    # live streams never end on their own: past this many seconds a shutdown stops waiting for them
    # (their clients reconnect to another process with their Last-Event-ID)
    # an idle connection outlives a load balancer's (60 s on most) and a client's pause between calls:
    # uvicorn's own 5 s closes connections that clients and proxies are about to reuse (ECONNRESET, 502)
    # forwarded_allow_ips: the peers whose X-Forwarded-For uvicorn believes (None: uvicorn's default)
    uvicorn.run("cityops.main:create_app", factory=True, host=host, port=port, workers=workers,
                log_level="info", timeout_graceful_shutdown=5, timeout_keep_alive=keep_alive,
                proxy_headers=True, forwarded_allow_ips=proxies)


def _settings_problem(exc: Exception) -> str:
    """Which setting is wrong and why, by its variable's name (CITYOPS_…)."""
    if not isinstance(exc, ValidationError):  # a value that is not JSON where the setting needs JSON
        return re.sub(r'field "(\w+)"', lambda m: f"CITYOPS_{m[1].upper()} (not valid JSON?)", str(exc))
    lines = []
    for error in exc.errors():
        where = [str(part) for part in error["loc"]]
        inner = f" ({'.'.join(where[1:])})" if where[1:] else ""
        name = f"CITYOPS_{where[0].upper()}{inner}: " if where else ""
        lines.append(f"  {name}{error['msg']}")  # not the value given: it may be a secret
    return "\n".join(lines)
