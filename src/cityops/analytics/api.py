"""HTTP API of performance figures."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Header, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field

from cityops.analytics import service
from cityops.analytics.export import json_rows, to_csv, to_xlsx
from cityops.analytics.figures import DEFINITIONS, EXPLANATIONS, Language
from cityops.deps import AppSettings, DbSession, Reader
from cityops.errors import InvalidInput
from cityops.geo.levels import AreaLevel

router = APIRouter(prefix="/api/v1/reports", tags=["performance"])
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV = "text/csv"


class PerformanceRow(BaseModel):
    group: str | None = Field(description=DEFINITIONS["group"])
    name: str | None = Field(description=DEFINITIONS["name"])
    cases: int = Field(description=DEFINITIONS["cases"])
    registered: int = Field(description=DEFINITIONS["registered"])
    closed: int = Field(description=DEFINITIONS["closed"])
    closure_rate: float | None = Field(description=DEFINITIONS["closure_rate"])
    closed_on_time: int = Field(description=DEFINITIONS["closed_on_time"])
    on_time_closure_rate: float | None = Field(description=DEFINITIONS["on_time_closure_rate"])
    overdue_cases: int = Field(description=DEFINITIONS["overdue_cases"])
    overdue_rate: float | None = Field(description=DEFINITIONS["overdue_rate"])
    overdue_now: int = Field(description=DEFINITIONS["overdue_now"])
    handled: int = Field(description=DEFINITIONS["handled"])
    reworked: int = Field(description=DEFINITIONS["reworked"])
    rework_rate: float | None = Field(description=DEFINITIONS["rework_rate"])
    dispatches: int = Field(description=DEFINITIONS["dispatches"])
    returns: int = Field(description=DEFINITIONS["returns"])
    return_rate: float | None = Field(description=DEFINITIONS["return_rate"])
    rated: int = Field(description=DEFINITIONS["rated"])
    satisfied: int = Field(description=DEFINITIONS["satisfied"])
    satisfaction_rate: float | None = Field(description=DEFINITIONS["satisfaction_rate"])
    mean_rating: float | None = Field(description=DEFINITIONS["mean_rating"])
    median_handling_hours: float | None = Field(description=DEFINITIONS["median_handling_hours"])
    mean_handling_hours: float | None = Field(description=DEFINITIONS["mean_handling_hours"])


class PerformanceReport(BaseModel):
    by: str
    start: datetime
    end: datetime
    rows: list[PerformanceRow] = Field(description="每组一行；没有部门（未派遣）、区域或分类的案件为一组，其 group 为 "
                                                   "null，name 为其名称（未分派、未指定）。 A row per group; the "
                                                   "cases with no department (never dispatched), area or category "
                                                   "are one group, whose group is null and whose name says what it "
                                                   "is (in `lang`).")
    total: PerformanceRow = Field(description="合计：周期内全部案件作为一组，从时间线算出（不是各行比率相加）。 "
                                              "Totals: all the cases of the period as one group, read off the "
                                              "timelines (not the rows' rates added up); its group is `all`.")
    explanations: dict[str, str] = Field(description="每个数字（及 group 列）的含义，用 `lang` 的语言，与表格、导出文件"
                                                     "的说明相同。 What each figure (and the group column) counts, in "
                                                     "`lang`: the same words as the CLI's, the spreadsheet's.")


def _asks_for_csv(accept: str | None) -> bool:
    """Whether an Accept header ranks CSV above JSON (a bare */* or no header is JSON's)."""
    quality: dict[str, float] = {}
    for media_range in (accept or "").split(","):
        media_type, _, parameters = media_range.partition(";")
        weight = re.search(r"\bq=([01](?:\.\d{0,3})?)", parameters)
        quality[media_type.strip().lower()] = float(weight.group(1)) if weight else 1.0
    return quality.get(CSV, 0) > quality.get("application/json", 0)


@router.get("/performance", response_model=PerformanceReport,
            responses={200: {"content": {XLSX: {}, CSV: {"schema": {"type": "string"}}},
                             "description": "the report, a spreadsheet, or CSV (UTF-8 with a byte-order mark: "
                                            "a header row naming each figure, then a row per group and a "
                                            "合计 (Total) row)"}},
            summary="On-time closure, closure, overdue, rework, return and satisfaction rates, from the timelines")
def performance(
    session: DbSession, viewer: Reader, settings: AppSettings,
    by: Annotated[Literal["department", "area", "category", "month", "week"], Query()] = "department",
    start: datetime | None = None, end: datetime | None = None,
    area_level: AreaLevel = AreaLevel.district,
    format: Annotated[Literal["json", "xlsx", "csv"] | None, Query(
        description="json, xlsx or csv; when left out, CSV if Accept asks for text/csv, JSON otherwise")] = None,
    lang: Annotated[Language, Query(description="the language of a spreadsheet's or CSV's headings and "
                                                "group names, and of the unassigned group's name in JSON: "
                                                "zh-CN (default) or en")] = "zh-CN",
    accept: Annotated[str | None, Header(include_in_schema=False)] = None,
):  # noqa: ANN201
    """Cases opened in [start, end) (default: the last 30 days) in your jurisdiction, grouped. Areas are
    grouped at `area_level`, never wider than your own area. Overdue steps are judged as of now."""
    for name, value in (("start", start), ("end", end)):
        if value is not None and value.tzinfo is None:
            raise InvalidInput("give start and end with a time zone, e.g. 2025-01-01T00:00:00+08:00", field=name)
    now = datetime.now(UTC)
    zone = (start or end).tzinfo if (start or end) is not None else ZoneInfo(settings.timezone)
    end = end or now
    try:
        start = start or end - timedelta(days=30)
        start, end = start.astimezone(UTC), end.astimezone(UTC)
    except OverflowError as error:
        raise InvalidInput("start and end must lie within the years 1 to 9999 in UTC",
                           field="end" if start is None else "start") from error
    if start >= end:
        raise InvalidInput("start must come before end", code="end_before_start", field="start")
    level = max(area_level, AreaLevel(viewer.area_level), key=lambda lv: lv.rank)
    report = service.performance(session, viewer=viewer, by=by, start=start, end=end, area_level=level, now=now)
    format = format or ("csv" if _asks_for_csv(accept) else "json")
    if format == "xlsx":
        return Response(to_xlsx(report, language=lang, zone=zone, generated_at=now), media_type=XLSX, headers={
            "Content-Disposition": f'attachment; filename="performance-by-{by}.xlsx"'})
    if format == "csv":
        return Response(to_csv(report, language=lang), media_type=f"{CSV}; charset=utf-8", headers={
            "Content-Disposition": f'attachment; filename="performance-by-{by}.csv"'})
    return PerformanceReport(by=by, start=start, end=end,
                             rows=[PerformanceRow(**r) for r in json_rows(report, language=lang)],
                             total=PerformanceRow(**report.total), explanations=EXPLANATIONS[lang])
