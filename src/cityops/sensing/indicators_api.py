"""HTTP API of indicators (体征): their classes and the catalogue, a series per indicator and area, the
latest values in the caller's jurisdiction.

Administrators add classes and indicators (for areas in their jurisdiction) and deactivate them; whoever
reads records reads them: the indicators inside their jurisdiction or computed over it, and values of the
areas in it only.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from cityops.deps import CurrentPrincipal, DbSession, Reader
from cityops.errors import PermissionDenied
from cityops.org.access import Principal
from cityops.org.roles import Role
from cityops.problems import problem_responses
from cityops.sensing import authors
from cityops.sensing import indicators_service as service
from cityops.sensing.models import IndicatorClass, IndicatorLatest, IndicatorRow
from cityops.times import zoned

router = APIRouter(prefix="/api/v1", tags=["indicators"])
READS = problem_responses(401, 403, 404, 422)
WRITES = problem_responses(401, 403, 404, 409, 422)
CODE = r"^[A-Za-z0-9_.\-]+$"


def _administrator(principal: CurrentPrincipal) -> Principal:
    if Role.administrator not in principal.roles:
        raise PermissionDenied("only administrators manage indicators", code="role_not_allowed")
    return principal


Administrator = Annotated[Principal, Depends(_administrator)]


class IndicatorClassIn(BaseModel):
    code: str = Field(min_length=1, max_length=64, pattern=CODE)
    name: str = Field(min_length=1, max_length=200)


class IndicatorClassOut(BaseModel):
    code: str
    name: str


class IndicatorIn(BaseModel):
    code: str = Field(min_length=1, max_length=64, pattern=CODE)
    name: str = Field(min_length=1, max_length=200)
    class_code: str = Field(alias="class", min_length=1, max_length=64)
    unit: str = Field("", max_length=32)
    level: str = Field(description="city, district, street or grid: one value per area of this level")
    interval_s: int = Field(ge=60, le=7 * 86_400, description="bucket and refresh interval: whole minutes dividing a "
                                                              "day (60, 300, 3600 …) or whole days")
    area_code: str | None = Field(None, max_length=64, description="compute for the areas under this one; "
                                                                   "default: your own area")
    source: dict[str, Any] = Field(description=(
        "kind device_metric: metric, aggregate (max, min, avg, sum, count), device_type (optional); "
        "kind cases: measure (opened: cases opened per bucket; open: cases open when sampled), channels, "
        "category (with its subclasses), statuses, overdue (open only)"),
        examples=[{"kind": "device_metric", "metric": "water_level", "aggregate": "max", "device_type": "wl"},
                  {"kind": "cases", "measure": "opened", "channels": ["hotline_12345"]}])


class IndicatorOut(BaseModel):
    code: str
    name: str
    class_code: str = Field(serialization_alias="class")
    unit: str
    level: str
    interval_s: int
    area_code: str
    source: dict[str, Any]
    active: bool
    author: str = Field(description="as recorded: a user's login name, an API client's or a system's name")
    author_display_name: str = Field(description="the name to show: the current display name of the user who "
                                                 "made it, else the author")
    created_at: datetime


class PointOut(BaseModel):
    at: datetime
    value: float


class SeriesOut(BaseModel):
    indicator: str
    area_code: str
    unit: str
    step_s: int
    points: list[PointOut]


class LatestValueOut(BaseModel):
    area_code: str
    at: datetime
    """The start of the value's bucket."""
    value: float
    updated_at: datetime


class LatestOut(BaseModel):
    indicator: str
    unit: str
    level: str
    values: list[LatestValueOut]


def _now() -> datetime:
    return datetime.now(UTC)


def _class_out(row: IndicatorClass) -> IndicatorClassOut:
    return IndicatorClassOut(code=row.code, name=row.name)


def _out(session: Session, row: IndicatorRow, author_shown: str) -> IndicatorOut:
    return IndicatorOut(code=row.code, name=row.name, class_code=session.get(IndicatorClass, row.class_id).code,
                        unit=row.unit, level=row.level, interval_s=row.interval_s,
                        area_code=row.area_path.strip("/").split("/")[-1], source=row.source, active=row.active,
                        author=row.author, author_display_name=author_shown, created_at=row.created_at)


def _outs(session: Session, rows: list[IndicatorRow]) -> list[IndicatorOut]:
    return [_out(session, row, shown) for row, shown in zip(rows, authors.shown(session, rows), strict=True)]


@router.post("/indicator-classes", response_model=IndicatorClassOut, status_code=201,
             summary="Add a class of indicators (水务, 交通 …)", responses=WRITES)
def create_class(session: DbSession, _: Administrator, body: IndicatorClassIn) -> IndicatorClassOut:
    return _class_out(service.create_class(session, code=body.code, name=body.name))


@router.get("/indicator-classes", response_model=list[IndicatorClassOut], summary="Classes of indicators",
            responses=READS)
def list_classes(session: DbSession, _: Reader) -> list[IndicatorClassOut]:
    return [_class_out(row) for row in service.list_classes(session)]


@router.post("/indicators", response_model=IndicatorOut, status_code=201, response_model_by_alias=True,
             summary="Add an indicator", responses=WRITES)
def create_indicator(session: DbSession, admin: Administrator, body: IndicatorIn) -> IndicatorOut:
    """Its values start from now (history is not replayed); device metrics as readings arrive, case counts
    on the worker's clock."""
    row = service.create_indicator(session, code=body.code, name=body.name, class_code=body.class_code,
                                   unit=body.unit, level=body.level, interval_s=body.interval_s, source=body.source,
                                   area_code=body.area_code, author=admin, now=_now())
    return _outs(session, [row])[0]


@router.get("/indicators", response_model=list[IndicatorOut], response_model_by_alias=True,
            summary="Indicators of your jurisdiction", responses=READS)
def list_indicators(
    session: DbSession,
    viewer: Reader,
    class_code: Annotated[str | None, Query(alias="class", max_length=64)] = None,
) -> list[IndicatorOut]:
    return _outs(session, service.list_indicators(session, viewer=viewer, class_code=class_code))


@router.get("/indicators/{code}", response_model=IndicatorOut, response_model_by_alias=True,
            summary="One indicator", responses=READS)
def get_indicator(session: DbSession, viewer: Reader, code: str) -> IndicatorOut:
    return _outs(session, [service.get_indicator(session, code=code, viewer=viewer)])[0]


@router.post("/indicators/{code}/deactivate", response_model=IndicatorOut, response_model_by_alias=True,
             summary="Stop computing an indicator (its values stay)", responses=WRITES)
def deactivate_indicator(session: DbSession, admin: Administrator, code: str) -> IndicatorOut:
    row = service.get_indicator(session, code=code, viewer=admin)
    return _outs(session, [service.deactivate_indicator(session, row=row, author=admin)])[0]


@router.get("/indicators/{code}/series", response_model=SeriesOut, summary="An indicator's values in one area",
            responses=READS)
def series(
    session: DbSession,
    viewer: Reader,
    code: str,
    area: Annotated[str, Query(min_length=1, max_length=64, description="an area of the indicator's level")],
    since: Annotated[datetime | None, Query(description="from (inclusive); default: a day before until")] = None,
    until: Annotated[datetime | None, Query(description="to (exclusive); default: now")] = None,
    step: Annotated[int | None, Query(ge=60, le=366 * 86_400, description="seconds, a whole multiple of the "
                                                                        "indicator's interval (the default)")] = None,
) -> SeriesOut:
    """Buckets combined into a coarser step as the indicator's values combine over time: the highest of
    maxima, the lowest of minima, the total of case flows, the mean otherwise."""
    row = service.get_indicator(session, code=code, viewer=viewer)
    end = zoned(until, "until") or _now()
    start = zoned(since, "since") or end - timedelta(days=1)
    found, used, points = service.series(session, row=row, area_code=area, viewer=viewer, since=start, until=end,
                                         step=None if step is None else timedelta(seconds=step))
    return SeriesOut(indicator=row.code, area_code=found.code, unit=row.unit, step_s=int(used.total_seconds()),
                     points=[PointOut(at=at, value=value) for at, value in points])


def _latest_out(row: IndicatorRow, values: list[IndicatorLatest]) -> LatestOut:
    return LatestOut(indicator=row.code, unit=row.unit, level=row.level,
                     values=[LatestValueOut(area_code=item.area_code, at=item.bucket, value=item.value,
                                            updated_at=item.updated_at) for item in values])


@router.get("/indicators/{code}/latest", response_model=LatestOut,
            summary="An indicator's newest value in each area of your jurisdiction", responses=READS)
def latest(
    session: DbSession,
    viewer: Reader,
    code: str,
    area: Annotated[str | None, Query(max_length=64, description="only areas under this one")] = None,
) -> LatestOut:
    row = service.get_indicator(session, code=code, viewer=viewer)
    return _latest_out(row, service.latest(session, row=row, viewer=viewer, area_code=area))
