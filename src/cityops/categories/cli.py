"""`cityops categories …`: seed, import and export the category tree."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy.orm import Session

from cityops.categories import service
from cityops.categories.service import CategoryKind, ImportReport
from cityops.db import get_engine, migrate, unit_of_work
from cityops.errors import CityOpsError

app = typer.Typer(help="Categories: component (部件) and event (事件) classes and the citizen-message "
                       "taxonomy, each with default time limits per step.", no_args_is_help=True)
console = Console()
err_console = Console(stderr=True)


def _run(description: str, work: Callable[[Session], ImportReport]) -> None:
    """Run one import in its own unit of work, showing progress, then its report or its rejections."""
    migrate(get_engine())
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                  console=console, transient=True) as progress:
        progress.add_task(description, total=None)
        try:
            with unit_of_work() as session:
                report = work(session)
        except CityOpsError as exc:
            progress.stop()
            _print_refusal(exc)
            raise typer.Exit(1) from exc
    table = Table("rows", "created", "updated", "unchanged", "deactivated below", title="categories")
    table.add_row(*(str(v) for v in (report.rows, report.created, report.updated, report.unchanged,
                                     report.deactivated)))
    console.print(table)


def _print_refusal(exc: CityOpsError) -> None:
    rows = exc.extra.get("rows")
    if not rows:
        where = f" ({exc.field})" if exc.field else ""
        err_console.print(f"[red]refused, nothing was written[/red]: {exc.detail}{where}")
        return
    table = Table("row", "field", "reason", title=f"{len(rows)} problem(s); nothing was written",
                  title_style="red")
    for problem in rows:
        table.add_row(str(problem["row"]), problem["field"], problem["reason"])
    err_console.print(table)


@app.command("import")
def import_file(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False,
                                         help="CSV: code,name,kind,parent_code,register,dispatch,"
                                              "acknowledge,handle,verify,active")],
) -> None:
    """Import categories from CSV, all or nothing: new codes are added, known ones updated, none
    deleted (set active=false to retire one). Every bad row is listed."""
    _run(f"importing {file.name}", lambda session: service.import_csv(session, data=file.read_bytes()))


@app.command("export")
def export_file(
    file: Annotated[Path | None, typer.Argument(dir_okay=False, help="output file (default: stdout)")] = None,
    kind: Annotated[CategoryKind | None, typer.Option(help="only this kind")] = None,
) -> None:
    """Export categories as CSV, in the format `import` reads."""
    with unit_of_work() as session:
        text = service.export_csv(session, kind=kind)
    if file is None:
        sys.stdout.write(text)
        return
    file.write_text(text, encoding="utf-8")
    console.print(f"wrote {text.count(chr(10)) - 1} categories to {file}")


@app.command("seed")
def seed() -> None:
    """Add (or refresh) the standard component and event classes of digital city management
    (GB/T 30428.2 / CJ/T 214) with their default time limits."""
    _run("seeding the city-management classes", service.seed_city_management)


@app.command("taxonomy")
def taxonomy(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False,
                                         help="CSV with columns 一级分类,二级分类,三级分类")],
) -> None:
    """Import a three-level citizen-message taxonomy as categories M01, M0101, M010101 … in file
    order."""
    _run(f"importing the taxonomy {file.name}",
         lambda session: service.import_message_taxonomy(session, path=file))
