"""`cityops demo [--city shanghai|nanjing] [--cases N]`: load a demo city with a month of cases (idempotent),
train its category-suggestion model when the data directory lacks a current one, and print its logins."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from cityops.config import DEV_DEMO_PASSWORD, Settings, get_settings
from cityops.db import get_engine, migrate, unit_of_work
from cityops.demo import case_plan, service
from cityops.demo import cases as demo_cases
from cityops.demo import classifier as demo_classifier
from cityops.demo.catalogue import CITIES
from cityops.errors import CityOpsError

app = typer.Typer(help="The demo city.")
console = Console()


def password_notice(settings: Settings) -> str:
    source = "the development default" if settings.demo_password == DEV_DEMO_PASSWORD else "CITYOPS_DEMO_PASSWORD"
    return f"demo password: {settings.demo_password}  (from {source})"


@app.callback(invoke_without_command=True)
def demo(
    city: Annotated[str, typer.Option(help=f"which city: {', '.join(CITIES)}")] = "shanghai",
    cases: Annotated[int, typer.Option(help="cases over the last 30 days, taken through the closed loop "
                                            "(0: none)")] = demo_cases.DEFAULT_CASES,
) -> None:
    """Load the demo city into the store, or show it when it is already loaded; train the demo's
    category-suggestion model into the data directory unless a current one is there."""
    try:
        demo_cases.check_count(cases)
    except CityOpsError as exc:
        console.print(f"[red]{exc.detail}[/red]")
        raise typer.Exit(1) from exc
    settings = get_settings()
    console.print(password_notice(settings))
    engine = get_engine(settings)
    migrate(engine)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    try:
        with Progress(*columns, console=console, transient=True) as bar, unit_of_work(engine) as session:
            tasks: dict[str, int] = {}

            def progress(stage: str, done: int, total: int) -> None:
                if stage not in tasks:
                    tasks[stage] = bar.add_task(stage, total=total)
                bar.update(tasks[stage], completed=done)

            summary = service.load_demo(session, city=city, data_dir=settings.shared_data_dir,
                                        password=settings.demo_password, cases=cases, settings=settings,
                                        progress=progress)
    except CityOpsError as exc:
        console.print(f"[red]{exc.detail}[/red]")
        raise typer.Exit(1) from exc
    print_summary(summary)
    print_model(demo_classifier.ensure(settings.data_dir), settings)


def print_model(made: demo_classifier.DemoModel, settings: Settings) -> None:
    if made.trained:
        console.print(f"[green]trained the category-suggestion model in {made.seconds:.1f} s[/green] "
                      f"({made.categories} categories, {made.examples} examples from the shipped phrases): "
                      f"{made.path}", soft_wrap=True)
    else:
        console.print(f"the category-suggestion model is up to date: {made.path}", soft_wrap=True)
    chosen = settings.classifier_model
    if chosen is not None and Path(chosen).resolve() != made.path.resolve():
        console.print(f"[yellow]CITYOPS_CLASSIFIER_MODEL is set to {chosen}: the server suggests categories with "
                      "that model, not the demo's[/yellow]", soft_wrap=True)


def print_summary(summary: service.DemoSummary) -> None:
    if summary.created:
        console.print(f"[green]loaded the {summary.city_name} demo in {summary.seconds:.1f} s[/green]")
    else:
        console.print(f"the {summary.city_name} demo is already loaded; nothing changed (its logins keep the "
                      "password they were created with)")
    for warning in summary.warnings:
        console.print(f"[yellow]data: {warning}[/yellow]")
    if summary.cases is not None:
        made = summary.cases
        console.print(f"made {made.made} cases over the last {case_plan.DAYS} days through the closed loop in "
                      f"{made.seconds:.1f} s" + (f": {', '.join(f'{n} {s}' for s, n in made.by_status.most_common())}"
                                                 if made.made else ""), soft_wrap=True)
    counts = Table("what", "how many", title=f"{summary.city_name} ({summary.city_code})")
    for level, count in summary.areas.items():
        counts.add_row(f"areas: {level}", str(count))
    counts.add_row("operations centres", str(summary.ops_centres))
    counts.add_row("departments", str(summary.departments))
    counts.add_row("responsibility cells", str(summary.responsibilities))
    counts.add_row("placeholder points", str(summary.placeholders))
    console.print(counts)
    logins = Table(title="demo logins")
    logins.add_column("username", no_wrap=True)
    logins.add_column("role", no_wrap=True)
    logins.add_column("area")
    logins.add_column("department")
    for login in summary.logins:
        logins.add_row(login.username, login.role, login.area_name, login.department or "")
    console.print(logins)
