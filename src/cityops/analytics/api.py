"""HTTP API of performance figures."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import BaseModel

from cityops.analytics import service
from cityops.analytics.export import to_xlsx
from cityops.deps import DbSession, Reader
from cityops.errors import InvalidInput
from cityops.geo.levels import AreaLevel

router = APIRouter(prefix="/api/v1/reports", tags=["performance"])
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class PerformanceRow(BaseModel):
    group: str
    cases: int
    closure_rate: float | None
    on_time_closure_rate: float | None
    rework_rate: float | None
    return_rate: float | None
    satisfaction_rate: float | None
    mean_rating: float | None
    median_handling_hours: float | None
    mean_handling_hours: float | None


class PerformanceReport(BaseModel):
    by: str
    start: datetime
    end: datetime
    rows: list[PerformanceRow]


@router.get("/performance", response_model=PerformanceReport,
            responses={200: {"content": {XLSX: {}}, "description": "the report, or a spreadsheet"}},
            summary="On-time closure, closure, rework, return and satisfaction rates, from the timelines")
def performance(
    session: DbSession, viewer: Reader,
    by: Annotated[Literal["department", "area", "category", "month", "week"], Query()] = "department",
    start: datetime | None = None, end: datetime | None = None,
    area_level: AreaLevel = AreaLevel.district,
    format: Literal["json", "xlsx"] = "json",
):  # noqa: ANN201
    """Cases opened in [start, end) (default: the last 30 days) in your jurisdiction, grouped. Areas are
    grouped at `area_level`, never wider than your own area."""
    for name, value in (("start", start), ("end", end)):
        if value is not None and value.tzinfo is None:
            raise InvalidInput("give start and end with a time zone, e.g. 2025-01-01T00:00:00+08:00", field=name)
    end = end or datetime.now(UTC)
    try:
        start = start or end - timedelta(days=30)
        start, end = start.astimezone(UTC), end.astimezone(UTC)
    except OverflowError as error:
        raise InvalidInput("start and end must lie within the years 1 to 9999 in UTC",
                           field="end" if start is None else "start") from error
    if start >= end:
        raise InvalidInput("start must come before end", field="start")
    level = max(area_level, AreaLevel(viewer.area_level), key=lambda lv: lv.rank)
    rows = service.performance(session, viewer=viewer, by=by, start=start, end=end, area_level=level)
    if format == "xlsx":
        return Response(to_xlsx(rows, title=f"by {by}"), media_type=XLSX, headers={
            "Content-Disposition": f'attachment; filename="performance-by-{by}.xlsx"'})
    return PerformanceReport(by=by, start=start, end=end, rows=[PerformanceRow(**r) for r in rows])

