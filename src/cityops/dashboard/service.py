"""The city dashboard's figures, read through the other domains' services: the live counters as the stream
sends them (``sensing.stream.counters``), the on-time closure rate as performance reports define it
(``analytics``), cases per area, day and category (``cases.counts``), active warnings per area and
indicators' latest values with their rules (``sensing``). Each figure is one grouped query over an
indexed range (area path prefix, opening time, status), whatever the number of areas shown."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.orm import Session

from cityops.analytics import service as analytics_service
from cityops.cases import counts as case_counts
from cityops.cases.states import OPEN_STATUSES
from cityops.categories import service as categories_service
from cityops.dashboard import figures
from cityops.errors import NotFound
from cityops.geo import service as geo_service
from cityops.geo.levels import AreaLevel
from cityops.geo.models import Area
from cityops.org.access import Principal
from cityops.sensing import alerting, stream
from cityops.sensing import indicators_service as indicators
from cityops.sensing.models import IndicatorLatest, IndicatorRow, SensingRule
from cityops.sensing.rules import Rule

CLOSED = "closed"


def _area_in_view(session: Session, *, viewer: Principal, code: str | None, field: str) -> Area:
    """The viewer's own area, or area ``code`` inside its jurisdiction (one outside is not found)."""
    try:
        area = geo_service.get_area(session, code=code or viewer.area_code)
    except NotFound:
        area = None
    if area is None or not viewer.covers(area.path):
        raise NotFound(f"no area with code {code!r}", code="unknown_area", field=field)
    return area


@dataclass(frozen=True)
class Summary:
    area: Area
    counts: dict[str, int]
    period_start: datetime
    period_end: datetime
    closure: dict[str, object]
    """``analytics`` figures of the cases opened in the period."""


def summary(session: Session, *, viewer: Principal, area_code: str | None, now: datetime, timezone: str,
            period_days: int) -> Summary:
    """The live counters of the area now, and the closure figures of the cases opened in its last
    ``period_days`` local days (today included) up to now."""
    area = _area_in_view(session, viewer=viewer, code=area_code, field="area")
    counts = stream.counters(session, area_path=area.path, timezone=timezone, now=now)
    _, bounds = figures.local_days(now=now, days=period_days, timezone=timezone)
    closure = analytics_service.overall(session, viewer=viewer, start=bounds[0], end=now, within_path=area.path)
    return Summary(area=area, counts=counts, period_start=bounds[0], period_end=now, closure=closure)


@dataclass(frozen=True)
class AreaMapView:
    parent: Area
    level: AreaLevel
    codes: dict[str, str]
    """Path → code of the shown areas."""
    folded: figures.AreaMap


def area_map(session: Session, *, viewer: Principal, parent_code: str | None, level: AreaLevel | None,
             now: datetime) -> AreaMapView:
    """Open cases, overdue cases and active warnings of each area of ``level`` under the parent (default:
    the viewer's area; level: the next one down)."""
    parent = _area_in_view(session, viewer=viewer, code=parent_code, field="parent")
    level = figures.check_level(AreaLevel(parent.level), level)
    shown = geo_service.area_keys(session, within_path=parent.path, level=level.value)
    folded = figures.area_map(
        [area.path for area in shown],
        open_cases=case_counts.open_per_area(session, statuses=OPEN_STATUSES, within_path=parent.path),
        # overdue as the live counters count it: a step's deadline passed unmet, whatever the status
        overdue_cases=case_counts.open_per_area(session, statuses=(), within_path=parent.path, overdue_at=now),
        active_warnings=alerting.active_per_area(session, within_path=parent.path))
    return AreaMapView(parent=parent, level=level, codes={area.path: area.code for area in shown}, folded=folded)


@dataclass(frozen=True)
class Trends:
    area: Area
    days: list[tuple[date, int]]
    period_start: datetime
    period_end: datetime
    categories: list[tuple[figures.CategoryShare, str | None]]
    """Each top-level category's share with its name."""


def trends(session: Session, *, viewer: Principal, area_code: str | None, days: int, now: datetime,
           timezone: str) -> Trends:
    """Reports per local day over the last ``days`` days (today included), and the cases opened in those
    days that are open or closed now, by top-level category."""
    area = _area_in_view(session, viewer=viewer, code=area_code, field="area")
    dates, bounds = figures.local_days(now=now, days=days, timezone=timezone)
    reported = case_counts.opened_per_period(session, bounds=bounds, within_path=area.path)
    records, _ = categories_service.list_categories(session, limit=None)
    codes = categories_service.category_ids(session, codes=[record.code for record in records])
    mix = figures.category_mix(
        case_counts.opened_per_category(session, since=bounds[0], until=bounds[-1], within_path=area.path,
                                        statuses=[*OPEN_STATUSES, CLOSED]),
        code_of_id={category_id: code for code, category_id in codes.items()},
        parent_of={record.code: record.parent_code for record in records}, open_statuses=OPEN_STATUSES)
    names = {record.code: record.name for record in records}
    return Trends(area=area, days=list(zip(dates, reported, strict=True)), period_start=bounds[0],
                  period_end=bounds[-1], categories=[(share, names.get(share.code)) for share in mix])


@dataclass(frozen=True)
class IndicatorRule:
    row: SensingRule
    rule: Rule


@dataclass(frozen=True)
class Panel:
    indicator: IndicatorRow
    class_code: str
    values: list[tuple[IndicatorLatest, list[str]]]
    """Each latest value with the codes of the rules watching its area."""
    rules: list[IndicatorRule]


def vital_signs(session: Session, *, viewer: Principal, area_code: str | None) -> tuple[Area, list[Panel]]:
    """Every active indicator the viewer sees, its latest values in the area (default: the viewer's) and the
    active threshold rules on it that watch the area or any of those values' areas."""
    area = _area_in_view(session, viewer=viewer, code=area_code, field="area")
    rows = [row for row in indicators.list_indicators(session, viewer=viewer) if row.active]
    latest: dict[int, list[IndicatorLatest]] = {}
    for value in indicators.latest_values(session, indicator_ids=[row.id for row in rows], within_path=area.path):
        latest.setdefault(value.indicator_id, []).append(value)
    watching: dict[str, list[IndicatorRule]] = {}
    for rule_row in alerting.list_rules(session, active=True):
        rule = alerting.rule_of(rule_row)
        if rule.scope.indicator is not None and figures.thresholds(rule):
            watching.setdefault(rule.scope.indicator, []).append(IndicatorRule(rule_row, rule))
    class_codes = indicators.class_codes(session)
    panels = []
    for row in rows:
        values = latest.get(row.id, [])
        rules = [item for item in watching.get(row.code, []) if figures.rule_covers(item.rule, area.path)
                 or any(figures.rule_covers(item.rule, value.area_path) for value in values)]
        panels.append(Panel(indicator=row, class_code=class_codes[row.class_id], rules=rules, values=[
            (value, [item.rule.code for item in rules if figures.rule_covers(item.rule, value.area_path)])
            for value in values]))
    return area, panels
