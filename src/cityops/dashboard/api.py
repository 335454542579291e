"""HTTP API of the city dashboard (一屏观天下): the live counters, the area map's colours, trends and the
category mix, and the vital-sign panels, each of the caller's jurisdiction or an area inside it (one
outside is not found). Whoever reads records reads them. The figures are the other APIs' own: the
counters are the live stream's ``counts``, the on-time closure rate that of ``/reports/performance``,
the open and overdue cases those of the ``/cases`` queues, the warnings and values those of
``/warnings`` and ``/indicators/{code}/latest``."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from cityops.dashboard import figures, service
from cityops.deps import AppSettings, DbSession, Reader
from cityops.geo.levels import AreaLevel
from cityops.problems import problem_responses
from cityops.sensing.rules import WarningLevel

router = APIRouter(prefix="/api/v1/dashboard", tags=["dashboard"])
READS = problem_responses(401, 403, 404, 422)
AreaCode = Annotated[str | None, Query(min_length=1, max_length=64,
                                       description="an area inside your jurisdiction; default: your own")]


def _now() -> datetime:
    return datetime.now(UTC)


class Counters(BaseModel):
    reported_today: int = Field(description="cases opened since the city's midnight (merged reports included)")
    dispatched: int = Field(description="waiting for a department to acknowledge (the to_acknowledge queue)")
    in_progress: int = Field(description="being handled (the to_handle queue)")
    overdue: int = Field(description="with a step's deadline passed unmet (the overdue queue)")
    warnings_active: int = Field(description="warnings firing or acknowledged")


class Closure(BaseModel):
    start: datetime = Field(description="the period: cases opened from the city's midnight this many days ago …")
    end: datetime = Field(description="… up to now")
    days: int
    cases: int
    closure_rate: float | None
    on_time_closure_rate: float | None = Field(description="closed with every step on time ÷ closed; None: none "
                                                           "closed")


class SummaryOut(BaseModel):
    area_code: str
    area_name: str
    at: datetime
    counts: Counters
    closure: Closure


@router.get("/summary", response_model=SummaryOut, summary="The live counters and the on-time closure rate",
            responses=READS)
def summary(
    session: DbSession, settings: AppSettings, viewer: Reader, area: AreaCode = None,
    days: Annotated[int, Query(ge=1, le=366, description="the closure figures' period in days, today included")]
    = 30,
) -> SummaryOut:
    now = _now()
    found = service.summary(session, viewer=viewer, area_code=area, now=now, timezone=settings.timezone,
                            period_days=days)
    closure = found.closure
    return SummaryOut(area_code=found.area.code, area_name=found.area.name, at=now, counts=Counters(**found.counts),
                      closure=Closure(start=found.period_start, end=found.period_end, days=days,
                                      cases=closure["cases"], closure_rate=closure["closure_rate"],
                                      on_time_closure_rate=closure["on_time_closure_rate"]))


class AreaFiguresOut(BaseModel):
    open: int = Field(description="cases not closed, rejected or merged")
    overdue: int
    warnings_active: int
    highest_warning: WarningLevel | None


class MapAreaOut(AreaFiguresOut):
    code: str


class AreaMapOut(BaseModel):
    parent: str
    level: AreaLevel
    at: datetime
    areas: list[MapAreaOut] = Field(description="every area of the level under the parent, zeros included")
    elsewhere: AreaFiguresOut = Field(description="filed under the parent but in none of the areas (at the parent "
                                                  "itself or a level between)")
    total: AreaFiguresOut = Field(description="the parent's: the areas' and elsewhere's together")


def _figures(found: figures.AreaFigures) -> dict[str, object]:
    return {"open": found.open, "overdue": found.overdue, "warnings_active": found.warnings_active,
            "highest_warning": found.highest_warning}


@router.get("/areas", response_model=AreaMapOut, summary="Open and overdue cases and active warnings per area",
            responses=READS)
def areas(
    session: DbSession, viewer: Reader,
    parent: Annotated[str | None, Query(min_length=1, max_length=64,
                                        description="the area drilled into; default: your own")] = None,
    level: Annotated[AreaLevel | None, Query(description="the areas shown; default: the level below the "
                                                         "parent's")] = None,
) -> AreaMapOut:
    """For colouring the map: each area of ``level`` under ``parent`` with its open cases, overdue cases
    and active warnings (their count and highest level)."""
    now = _now()
    found = service.area_map(session, viewer=viewer, parent_code=parent, level=level, now=now)
    return AreaMapOut(parent=found.parent.code, level=found.level, at=now,
                      areas=[MapAreaOut(code=found.codes[path], **_figures(item))
                             for path, item in found.folded.areas.items()],
                      elsewhere=AreaFiguresOut(**_figures(found.folded.elsewhere)),
                      total=AreaFiguresOut(**_figures(found.folded.total)))


class DayOut(BaseModel):
    date: date
    reported: int


class CategoryShareOut(BaseModel):
    code: str | None = Field(description="a top-level category; null: cases without a category")
    name: str | None
    open: int
    closed: int


class TrendsOut(BaseModel):
    area_code: str
    timezone: str
    start: datetime
    end: datetime
    days: list[DayOut] = Field(description="cases opened per day of the city (merged reports included), oldest "
                                           "first, today last")
    categories: list[CategoryShareOut] = Field(description="the cases opened in the period that are now open or "
                                                           "closed, by top-level category, most first")


@router.get("/trends", response_model=TrendsOut, summary="Reports per day and the category mix", responses=READS)
def trends(
    session: DbSession, settings: AppSettings, viewer: Reader, area: AreaCode = None,
    days: Annotated[int, Query(ge=1, le=366, description="how many days, today included")] = 30,
) -> TrendsOut:
    found = service.trends(session, viewer=viewer, area_code=area, days=days, now=_now(), timezone=settings.timezone)
    return TrendsOut(area_code=found.area.code, timezone=settings.timezone, start=found.period_start,
                     end=found.period_end, days=[DayOut(date=day, reported=count) for day, count in found.days],
                     categories=[CategoryShareOut(code=share.code, name=name, open=share.open, closed=share.closed)
                                 for share, name in found.categories])


class ThresholdOut(BaseModel):
    level: WarningLevel
    fire_at: float
    clear_at: float


class RuleThresholdsOut(BaseModel):
    rule: str
    name: str
    area_code: str | None = Field(description="the rule watches this area and everything in it; null: everywhere")
    comparison: str = Field(description="above: fires at or over fire_at; below: at or under it")
    levels: list[ThresholdOut] = Field(description="lowest level first")


class PanelValueOut(BaseModel):
    area_code: str
    at: datetime = Field(description="the start of the value's bucket")
    value: float
    updated_at: datetime
    rules: list[str] = Field(description="the rules (below) watching this area")


class PanelOut(BaseModel):
    indicator: str
    name: str
    class_code: str = Field(serialization_alias="class")
    unit: str
    level: str
    interval_s: int
    values: list[PanelValueOut]
    thresholds: list[RuleThresholdsOut]


class VitalSignsOut(BaseModel):
    area_code: str
    indicators: list[PanelOut]


@router.get("/vital-signs", response_model=VitalSignsOut, response_model_by_alias=True,
            summary="Every active indicator's latest values with its rules' thresholds", responses=READS)
def vital_signs(session: DbSession, viewer: Reader, area: AreaCode = None) -> VitalSignsOut:
    """Latest values of the areas in your jurisdiction (or under ``area``), beside the per-level thresholds
    of the active threshold rules on each indicator that watch those areas."""
    found, panels = service.vital_signs(session, viewer=viewer, area_code=area)
    return VitalSignsOut(area_code=found.code, indicators=[PanelOut(
        indicator=panel.indicator.code, name=panel.indicator.name, class_code=panel.class_code,
        unit=panel.indicator.unit, level=panel.indicator.level, interval_s=panel.indicator.interval_s,
        values=[PanelValueOut(area_code=value.area_code, at=value.bucket, value=value.value,
                              updated_at=value.updated_at, rules=rules) for value, rules in panel.values],
        thresholds=[RuleThresholdsOut(rule=item.rule.code, name=item.row.name, area_code=item.rule.scope.area,
                                      comparison=item.rule.comparison.value,
                                      levels=[ThresholdOut(level=t.level, fire_at=t.fire_at, clear_at=t.clear_at)
                                              for t in figures.thresholds(item.rule)])
                    for item in panel.rules]) for panel in panels])
