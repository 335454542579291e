"""`cityops areas …`: import and inspect the area tree."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from cityops.db import get_engine, migrate, unit_of_work
from cityops.errors import CityOpsError
from cityops.geo import service
from cityops.geo.coords import Crs
from cityops.geo.geojson import read_feature_collection
from cityops.geo.levels import AreaLevel
from cityops.geo.render import MapArea, areas_svg

app = typer.Typer(help="Areas: the five-level tree of places (市 → 区 → 街镇 → 网格 → 社区).", no_args_is_help=True)
console = Console()


@app.command("import")
def import_areas(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="a GeoJSON FeatureCollection")],
    level: Annotated[AreaLevel, typer.Option(help="the level every feature in the file belongs to")],
    code_field: Annotated[str, typer.Option(help="feature property holding the area code")],
    name_field: Annotated[str, typer.Option(help="feature property holding the area name")],
    parent: Annotated[str | None, typer.Option(help="code of the parent of every feature")] = None,
    city: Annotated[str | None, typer.Option(help="nest districts under this city, created if new")] = None,
    crs: Annotated[Crs, typer.Option(help="coordinate system of the file")] = Crs.wgs84,
) -> None:
    """Import one level of areas, all or nothing. Without --parent each feature nests under the
    existing area one level up that covers most of it. Invalid polygons are repaired and listed."""
    migrate(get_engine())
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                  console=console, transient=True) as progress:
        task = progress.add_task(f"reading {file.name}", total=None)
        try:
            features = read_feature_collection(file.read_bytes(), code_field=code_field,
                                               name_field=name_field, crs=crs)
            progress.update(task, description=f"nesting and storing {len(features)} {level.value} areas")
            with unit_of_work() as session:
                summary = service.import_areas(session, features=features, level=level, parent_code=parent,
                                               city_name=city, source=file.name)
        except CityOpsError as exc:
            progress.stop()
            where = f" ({exc.field})" if exc.field else ""
            console.print(f"[red]import refused, nothing was written[/red]: {exc.detail}{where}")
            raise typer.Exit(1) from exc
    if summary.created_city:
        console.print(f"created city {summary.created_city}")
    for repair in summary.repaired:
        console.print(f"[yellow]repaired[/yellow] {repair['code']} {repair['name']}: {repair['reason']}")
    table = Table("parent", "areas")
    for code, count in sorted(summary.parents.items()):
        table.add_row(code, str(count))
    if summary.parents:
        console.print(table)
    console.print(f"imported {summary.imported} {summary.level} areas, repaired {len(summary.repaired)}, "
                  f"in {summary.seconds:.2f}s")


@app.command("list")
def list_areas(
    level: Annotated[AreaLevel | None, typer.Option()] = None,
    parent: Annotated[str | None, typer.Option()] = None,
    limit: Annotated[int, typer.Option(min=1)] = 50,
) -> None:
    """Print areas, widest first."""
    with unit_of_work() as session:
        areas, total = service.list_areas(session, within_path="/", level=level, parent_code=parent,
                                          limit=limit)
        table = Table("code", "name", "level", "synthetic", title=f"{len(areas)} of {total} areas")
        for area in areas:
            table.add_row(area.code, area.name, area.level, "yes" if area.synthetic else "")
    console.print(table)


@app.command("map")
def draw_map(
    out: Annotated[Path, typer.Argument(dir_okay=False, help="the SVG file to write")],
    level: Annotated[AreaLevel, typer.Option(help="the level to draw")] = AreaLevel.street,
    within: Annotated[str | None, typer.Option(help="only areas under this code")] = None,
    labels: Annotated[bool, typer.Option(help="write each area's name")] = True,
) -> None:
    """Draw one level of areas as an SVG map, coloured by their parent."""
    with unit_of_work() as session:
        root = service.get_area(session, code=within).path if within else "/"
        areas, _ = service.list_areas(session, within_path=root, level=level, limit=1_000_000)
        if not areas:
            console.print(f"[red]no {level.value} areas under {within or 'the store'}[/red]")
            raise typer.Exit(1)
        drawn = [MapArea(code=a.code, name=a.name, geometry=service.geometry_of(a),
                         group=a.path.strip("/").split("/")[-2] if a.parent_id else a.code) for a in areas]
    out.write_text(areas_svg(drawn, title=f"{len(drawn)} {level.value} areas", labels=labels), encoding="utf-8")
    console.print(f"wrote {out} ({len(drawn)} areas)")
