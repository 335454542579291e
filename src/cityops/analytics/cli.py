"""`cityops report`: performance figures on screen, or as a spreadsheet."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from cityops.analytics import service
from cityops.analytics.export import NAMED, WORDS, group_name, period_text, to_xlsx
from cityops.analytics.figures import (
    EXPLANATIONS,
    FIGURES,
    GROUP_HEADINGS,
    HEADINGS,
    LANGUAGES,
    MAIN_FIGURES,
    RATE_PARTS,
    TOTAL,
    Language,
)
from cityops.analytics.rates import NO_GROUP
from cityops.db import unit_of_work
from cityops.geo.levels import AreaLevel
from cityops.org.access import Principal

console = Console()
WHOLE_STORE = Principal(id=0, kind="user", name="cli", roles=("leader",), area_id=0, area_code="", area_path="/",
                        area_level="city")


def cell(row: dict[str, object], key: str) -> str:
    """A figure as the table shows it: a rate as a percentage with the two counts it divides, — when it
    has nothing to divide by."""
    value = row[key]
    if value is None:
        return "—"
    if key in RATE_PARTS:
        part, whole = RATE_PARTS[key]
        return f"{value * 100:.1f}% ({row[part]}/{row[whole]})"
    return f"{value:.2f}" if isinstance(value, float) else str(value)


def report(
    by: Annotated[str, typer.Option(help="department, area, category, month or week")] = "department",
    days: Annotated[int, typer.Option(min=1, help="the last N days (unless --start is given)")] = 30,
    start: Annotated[datetime | None, typer.Option(help="period start (UTC unless a zone is given)")] = None,
    end: Annotated[datetime | None, typer.Option(help="period end")] = None,
    area_level: Annotated[AreaLevel, typer.Option(help="level of areas for --by area")] = AreaLevel.district,
    xlsx: Annotated[Path | None, typer.Option(dir_okay=False, help="also write a spreadsheet here")] = None,
    lang: Annotated[str, typer.Option(help="zh-CN (default) or en: the table's and the spreadsheet's words")] = "zh-CN",
) -> None:
    """On-time closure, closure, overdue, rework, return and satisfaction rates (each with the two counts it
    divides) and handling times, computed from the case timelines of the whole store, with a totals row;
    each figure's meaning is printed under the table."""
    if by not in ("department", "area", "category", "month", "week"):
        raise typer.BadParameter("by must be department, area, category, month or week")
    if lang not in LANGUAGES:
        raise typer.BadParameter("lang must be zh-CN or en", param_hint="--lang")
    language: Language = "en" if lang == "en" else "zh-CN"
    now = datetime.now(UTC)
    zone = start.tzinfo if start and start.tzinfo else end.tzinfo if end and end.tzinfo else UTC
    end = (end or now).replace(tzinfo=end.tzinfo if end and end.tzinfo else UTC)
    start = (start or end - timedelta(days=days)).replace(tzinfo=start.tzinfo if start and start.tzinfo else UTC)
    with unit_of_work() as session:
        shown = service.performance(session, viewer=WHOLE_STORE, by=by, start=start, end=end, area_level=area_level,
                                    now=now)
    words = HEADINGS[language]
    named = by in NAMED
    table = Table(GROUP_HEADINGS[language][by], *([words["code"]] if named else []),
                  *(words[key] for key in MAIN_FIGURES),
                  title=f"{WORDS[language]['title']} · {period_text(start, end, zone=zone, language=language)}")
    for row in shown.rows:
        code = "" if row["group"] == NO_GROUP else str(row["group"])
        table.add_row(group_name(row, by=by, language=language), *([code] if named else []),
                      *(cell(row, key) for key in MAIN_FIGURES))
    table.add_section()
    table.add_row(TOTAL[language], *([""] if named else []), *(cell(shown.total, key) for key in MAIN_FIGURES),
                  style="bold")
    console.print(table)
    explained = EXPLANATIONS[language]
    for key in ("group", *FIGURES):
        console.print(f"{GROUP_HEADINGS[language][by] if key == 'group' else words[key]}: {explained[key]}",
                      markup=False, highlight=False, soft_wrap=True)
    if xlsx is not None:
        xlsx.write_bytes(to_xlsx(shown, language=language, zone=zone, generated_at=now))
        console.print(f"wrote {xlsx}")
