"""`cityops cases import` and `cityops cases placeholders`: bring another system's work orders in;
`cityops responsibilities learn` and `apply`: propose a matrix from that history, and apply it once reviewed.

The last line ``import`` prints on standard output is one JSON object (see ``ImportSummary.line``);
progress, tables and refusals go to standard error, so ``… | tail -1`` is the summary.
"""

from __future__ import annotations

import gc
import json
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from cityops.config import get_settings
from cityops.db import get_engine, migrate, unit_of_work
from cityops.errors import CityOpsError, InvalidFile
from cityops.geo.levels import AreaLevel
from cityops.history.importer import (
    ImportOptions,
    ImportSummary,
    import_history,
    read_rows,
    units_of_work,
    write_rejects,
)
from cityops.history.learn import create_departments, department_areas, matrix_csv, propose, sightings
from cityops.history.mapping import HistoryMapping, parse_mapping
from cityops.history.rows import Location, placeholder_candidates
from cityops.org import responsibility

app = typer.Typer(help="Cases: import and replay the history of another system's work orders.",
                  no_args_is_help=True)
responsibilities_app = typer.Typer(help="The responsibility matrix: learn it from imported history, apply a "
                                   "reviewed file.", no_args_is_help=True)
err = Console(stderr=True)


def shipped_mappings() -> dict[str, str]:
    """Name → TOML text of the mappings shipped with CityOps."""
    folder = resources.files("cityops.history").joinpath("mappings")
    return {entry.name.removesuffix(".toml"): entry.read_text(encoding="utf-8")
            for entry in folder.iterdir() if entry.name.endswith(".toml")}


def load_mapping(spec: str) -> HistoryMapping:
    """A mapping file, or the name of a shipped mapping (``la_myla311``)."""
    path = Path(spec)
    if path.is_file():
        return parse_mapping(path.read_text(encoding="utf-8"))
    shipped = shipped_mappings()
    name = path.name.removesuffix(".toml")
    if name not in shipped:
        raise InvalidFile(f"no mapping file {spec!r}, and no shipped mapping of that name "
                          f"(shipped: {', '.join(sorted(shipped))})", field="mapping")
    return parse_mapping(shipped[name])


def _refuse(exc: CityOpsError) -> typer.Exit:
    where = f" ({exc.field})" if exc.field else ""
    err.print(f"[red]refused, nothing was written[/red]: {exc.detail}{where}")
    for problem in exc.extra.get("problems", [])[1:]:
        err.print(f"  {problem['field']}: {problem['detail']}")
    typer.echo(json.dumps({"imported": 0, "rejected": 0, "seconds": 0.0, "duplicates_flagged": 0,
                           "error": exc.detail, "field": exc.field}, ensure_ascii=False))
    return typer.Exit(1)


def _print_tables(summary: ImportSummary) -> None:
    if summary.agreements:
        table = Table("result", "share", "compared", "agree", "no answer", "no place", "no source", "chain ≠",
                      title="agreement with the source's own columns")
        for a in summary.agreements:
            counts = a.counts()
            table.add_row(a.target, f"{a.share:.2%}" if a.share is not None else "—",
                          *(str(counts.get(k, "")) for k in ("compared", "agree", "platform_none", "no_location",
                                                              "no_source_value", "chain_differs")))
        err.print(table)
    if summary.unknown_departments:
        err.print("[yellow]departments the platform does not know[/yellow] (their cases were routed by the "
                  "matrix; --create-departments creates them): "
                  + ", ".join(f"{k} ({v} rows)" for k, v in summary.unknown_departments.most_common()))
    for reject in summary.rejects[:10]:
        err.print(f"[red]row {reject.row}[/red] (line {reject.line}) {reject.field}: {reject.reason}")
    if len(summary.rejects) > 10:
        err.print(f"… and {len(summary.rejects) - 10} more rejected rows")


@contextmanager
def _without_cycle_collection() -> Iterator[None]:
    """The command's process does nothing but the import: Python's cycle collector, which runs every
    few hundred new objects and walks more of them as the rows held in memory grow, took about 30 %
    of a large import's time, to find nothing — what an import holds stays in use until it ends."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@app.command("import")
def import_cases(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="the CSV export")],
    mapping: Annotated[str, typer.Option(help="a TOML mapping file, or a shipped one: la_myla311, nyc_311")],
    replay: Annotated[bool, typer.Option(help="feed the rows through the live pipeline in time order")] = False,
    batch: Annotated[int, typer.Option(min=1, help="rows per transaction")] = 5000,
    rejects: Annotated[Path | None, typer.Option(dir_okay=False, help="where to write rejected rows "
                                                 "[default: FILE's name + .rejects.csv, here]")] = None,
    area: Annotated[str | None, typer.Option(help="code of the area the history belongs to "
                                             "[default: the store's only city]")] = None,
    create_departments: Annotated[bool, typer.Option(help="create departments the source names and the "
                                                     "platform lacks, at the history's area")] = False,
) -> None:
    """Import historical work orders with their timelines (or replay them), in batches that are each
    written whole; rejected rows go to the reject file with the reason."""
    try:
        loaded = load_mapping(mapping)
    except CityOpsError as exc:
        raise _refuse(exc) from exc
    settings = get_settings()
    engine = get_engine(settings)
    migrate(engine)
    options = ImportOptions(replay=replay, batch_size=batch, area_code=area, create_departments=create_departments)
    columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn())
    with Progress(*columns, console=err, transient=True) as progress, _without_cycle_collection():
        task = progress.add_task(f"{'replaying' if replay else 'importing'} {file.name}", total=None)
        try:
            summary = import_history(scope=units_of_work(engine), source=file, mapping=loaded, settings=settings,
                                     options=options,
                                     progress=lambda done, total: progress.update(task, completed=done, total=total))
        except CityOpsError as exc:
            progress.stop()
            raise _refuse(exc) from exc
    _print_tables(summary)
    line = summary.line()
    if summary.rejects:
        target = rejects or Path.cwd() / f"{file.stem}.rejects.csv"
        with target.open("w", encoding="utf-8", newline="") as out:
            write_rejects(file, loaded, summary.rejects, out)
        line["rejects_file"] = str(target)
    if summary.error:
        err.print(f"[red]stopped at row {summary.stopped_at_row}: {summary.error}[/red]; that batch was rolled "
                  "back, earlier ones are kept — run the same import again to carry on")
    typer.echo(json.dumps(line, ensure_ascii=False))
    if summary.error:
        raise typer.Exit(1)


@app.command("placeholders")
def find_placeholders(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="the CSV export")],
    mapping: Annotated[str, typer.Option(help="a TOML mapping file, or a shipped one")],
    min_rows: Annotated[int | None, typer.Option(help="rows a point needs to be judged a placeholder "
                                                 "[default: 0.1 % of located rows, at least 10]")] = None,
) -> None:
    """Find default points a source stamps on records without a location: the most used exact points,
    each judged by how many different addresses its rows give."""
    try:
        loaded = load_mapping(mapping)
        rows, _ = read_rows(file, loaded)
    except CityOpsError as exc:
        raise _refuse(exc) from exc
    located = [(r.lon, r.lat, r.address) for r in rows if r.location == Location.given]
    used, threshold = placeholder_candidates(located, min_rows=min_rows)
    table = Table("lon", "lat", "rows", "addresses", "placeholder?",
                  title=f"most used points of {len(located)} located rows (placeholder: ≥ {threshold} rows, "
                        "addresses differing for at least half)")
    for point in used:
        table.add_row(f"{point.lon:.6f}", f"{point.lat:.6f}", str(point.rows), str(point.addresses),
                      "[red]yes[/red]" if point.placeholder else "no")
    err.print(table)
    found = [[p.lon, p.lat] for p in used if p.placeholder]
    typer.echo(f"placeholder_points = {json.dumps(found)}" if found else "no placeholder point found")

@responsibilities_app.command("learn")
def learn(
    out: Annotated[Path, typer.Option(dir_okay=False, help="the matrix CSV to write")] = Path(
        "responsibilities.learnt.csv"),
    level: Annotated[AreaLevel, typer.Option(help="the level of the areas to propose cells for")] = AreaLevel.street,
    by: Annotated[str, typer.Option(help="what leads: the source's department, or its queue")] = "department",
    source: Annotated[str | None, typer.Option(help="only history from this source (its mapping's name)")] = None,
    min_support: Annotated[int, typer.Option(min=1, help="cases the lead must have handled")] = 5,
    min_share: Annotated[float, typer.Option(min=0.0, max=1.0, help="share of the cases it must have had")] = 0.5,
    all_cells: Annotated[bool, typer.Option(help="a cell for every area, not only where it differs from the "
                                            "city's")] = False,
    create_missing_departments: Annotated[bool, typer.Option(
        "--create-departments", help="create the departments history names and the platform lacks")] = False,
) -> None:
    """Propose a responsibility matrix from imported history, for an administrator to review and apply
    with the matrix import."""
    migrate(get_engine())
    try:
        with unit_of_work() as session:
            found = list(sightings(session, by=by, source=source))
            served = department_areas(session, (s.lead for s in found if s.lead))
            result = propose(found, level=level, min_support=min_support, min_share=min_share,
                             compact=not all_cells, serves=served)
            known = set(served)
            missing = {c.lead for c in result.cells} - known
            created = []
            if missing and create_missing_departments:
                created = create_departments(session, missing, city_codes=(
                    (s.area_path or "").strip("/").split("/")[0] for s in found if s.area_path))
                known |= set(created)
    except CityOpsError as exc:
        err.print(f"[red]refused[/red]: {exc.detail}")
        raise typer.Exit(1) from exc
    table = Table("category", "area", "level", "lead", "support", "cases", "share", "next", "",
                  title=f"proposed from {result.read} imported cases")
    for cell in result.cells:
        table.add_row(cell.category_code, cell.area_code, cell.level, cell.lead, str(cell.support), str(cell.cases),
                      f"{cell.share:.0%}", cell.runner_up or "", "" if cell.lead in known else "[red]unknown[/red]")
    err.print(table)
    if result.skipped:
        err.print("not proposed: " + ", ".join(f"{k} {v}" for k, v in sorted(result.skipped.items())))
    unknown = Counter(c.lead for c in result.cells if c.lead not in known)
    if unknown:
        err.print("[yellow]departments the platform does not know[/yellow] (their cells are left out; "
                  "--create-departments creates them): " + ", ".join(f"{k} ({v} cells)" for k, v in unknown.items()))
    if created:
        err.print(f"created departments {', '.join(created)} at the city (kind imported)")
    written = [c for c in result.cells if c.lead in known]
    out.write_text(matrix_csv(written), encoding="utf-8")
    typer.echo(f"wrote {len(written)} cells to {out}; review it, then apply it with "
               f"`cityops responsibilities apply {out}` (or POST /api/v1/responsibilities/import)")


@responsibilities_app.command("apply")
def apply(file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="a matrix CSV")]) -> None:
    """Upsert the cells of a matrix CSV (as `learn` writes it), all or nothing."""
    migrate(get_engine())
    try:
        with unit_of_work() as session:
            report = responsibility.import_csv(session, data=file.read_bytes(), origin="cli")
    except CityOpsError as exc:
        err.print(f"[red]refused, nothing was written[/red]: {exc.detail}")
        for problem in exc.extra.get("rows", [])[:20]:
            err.print(f"  row {problem.get('row')} {problem.get('field')}: {problem.get('reason')}")
        raise typer.Exit(1) from exc
    typer.echo(json.dumps({"rows": report.rows, "created": report.created, "updated": report.updated,
                           "unchanged": report.unchanged}))
