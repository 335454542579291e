"""`cityops users …`: accounts and API clients from the command line."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from cityops.db import unit_of_work
from cityops.errors import CityOpsError
from cityops.org import service

app = typer.Typer(help="Users and API clients.", no_args_is_help=True)
console = Console()


def _fail(exc: CityOpsError) -> typer.Exit:
    console.print(f"[red]{exc.detail}[/red]" + (f" ({exc.field})" if exc.field else ""))
    return typer.Exit(1)


@app.command("create")
def create_user(
    username: str,
    area: Annotated[str, typer.Option(help="code of the user's area (jurisdiction)")],
    role: Annotated[list[str], typer.Option(help="a role; repeat for several")],
    display_name: Annotated[str | None, typer.Option()] = None,
    department: Annotated[str | None, typer.Option(help="department code")] = None,
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True)] = "",
) -> None:
    """Create a staff account."""
    try:
        with unit_of_work() as session:
            service.create_user(session, username=username, display_name=display_name or username,
                                password=password, area_code=area, roles=role, department_code=department,
                                origin="cli")
    except CityOpsError as exc:
        raise _fail(exc) from exc
    console.print(f"created {username}")


@app.command("client")
def create_client(
    name: str,
    area: Annotated[str, typer.Option(help="code of the client's area")],
    kind: Annotated[str, typer.Option(help="system or device")] = "system",
) -> None:
    """Register an API client and print its token (shown only once)."""
    try:
        with unit_of_work() as session:
            client, token = service.create_api_client(session, name=name, kind=kind, area_code=area,
                                                      roles=[kind], origin="cli")
            client_id = client.id
    except CityOpsError as exc:
        raise _fail(exc) from exc
    console.print(f"client {client_id}: {token}")


@app.command("list")
def list_users() -> None:
    """Print every account."""
    from cityops.org.access import Principal

    everyone = Principal(id=0, kind="user", name="cli", roles=("administrator",), area_id=0, area_code="",
                         area_path="/", area_level="city")
    with unit_of_work() as session:
        users, total = service.list_users(session, viewer=everyone, limit=10_000)
        table = Table("username", "name", "roles", title=f"{total} users")
        for user in users:
            table.add_row(user.username, user.display_name, ", ".join(user.roles))
    console.print(table)
