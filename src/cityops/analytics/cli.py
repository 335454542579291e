"""`cityops report`: performance figures on screen, or as a spreadsheet."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from cityops.analytics import service
from cityops.analytics.export import to_xlsx
from cityops.analytics.figures import DEFINITIONS, HEADINGS
from cityops.db import unit_of_work
from cityops.geo.levels import AreaLevel
from cityops.org.access import Principal

console = Console()
WHOLE_STORE = Principal(id=0, kind="user", name="cli", roles=("leader",), area_id=0, area_code="", area_path="/",
                        area_level="city")


def report(
    by: Annotated[str, typer.Option(help="department, area, category, month or week")] = "department",
    days: Annotated[int, typer.Option(min=1, help="the last N days (unless --start is given)")] = 30,
    start: Annotated[datetime | None, typer.Option(help="period start (UTC unless a zone is given)")] = None,
    end: Annotated[datetime | None, typer.Option(help="period end")] = None,
    area_level: Annotated[AreaLevel, typer.Option(help="level of areas for --by area")] = AreaLevel.district,
    xlsx: Annotated[Path | None, typer.Option(dir_okay=False, help="also write a spreadsheet here")] = None,
) -> None:
    """On-time closure, closure, overdue, rework, return and satisfaction rates and handling times,
    computed from the case timelines of the whole store; each figure's meaning is printed under the table."""
    if by not in ("department", "area", "category", "month", "week"):
        raise typer.BadParameter("by must be department, area, category, month or week")
    end = (end or datetime.now(UTC)).replace(tzinfo=end.tzinfo if end and end.tzinfo else UTC)
    start = (start or end - timedelta(days=days)).replace(tzinfo=start.tzinfo if start and start.tzinfo else UTC)
    with unit_of_work() as session:
        rows = service.performance(session, viewer=WHOLE_STORE, by=by, start=start, end=end, area_level=area_level)
    table = Table(*HEADINGS.values(), title=f"performance by {by}, {start:%Y-%m-%d} – {end:%Y-%m-%d}")
    for row in rows:
        table.add_row(*("–" if row[key] is None else str(row[key]) for key in HEADINGS))
    console.print(table)
    for key, heading in HEADINGS.items():
        console.print(f"{heading}: {DEFINITIONS[key]}", markup=False, highlight=False, soft_wrap=True)
    if xlsx is not None:
        xlsx.write_bytes(to_xlsx(rows, title=f"by {by}"))
        console.print(f"wrote {xlsx}")
