"""The dashboard's figures from the domains' counts — pure: counts per area path folded into the areas a
map shows, local days of the city, categories folded into their top-level class, the thresholds a panel
draws. Every figure is a sum of the domains' own counts, so a parent's figure equals its parts'."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from cityops.errors import InvalidInput
from cityops.geo.levels import AreaLevel
from cityops.sensing.rules import Rule, RuleKind, WarningLevel

ELSEWHERE = ""
"""Where the figures of records filed under the parent but in none of the shown areas go (filed at the
parent itself, or at a level between)."""


@dataclass
class AreaFigures:
    open: int = 0
    overdue: int = 0
    warnings_active: int = 0
    highest_warning: WarningLevel | None = None

    def add_warnings(self, level: WarningLevel, count: int) -> None:
        self.warnings_active += count
        if self.highest_warning is None or level.rank > self.highest_warning.rank:
            self.highest_warning = level


@dataclass
class AreaMap:
    areas: dict[str, AreaFigures]
    """Per shown area's path, in the order given."""
    elsewhere: AreaFigures = field(default_factory=AreaFigures)
    total: AreaFigures = field(default_factory=AreaFigures)


def check_level(parent_level: AreaLevel, level: AreaLevel | None) -> AreaLevel:
    """The level whose areas a map under a ``parent_level`` area shows: ``level`` when it lies below, by
    default the next one down."""
    if level is None:
        level = parent_level.child()
        if level is None:
            raise InvalidInput(f"a {parent_level} holds no smaller areas", field="parent")
    if level.rank <= parent_level.rank:
        raise InvalidInput(f"{level} areas do not lie inside a {parent_level}: ask for a level below it",
                           field="level")
    return level


def _shown_area(path: str, shown: Mapping[str, AreaFigures]) -> AreaFigures | None:
    """The shown area holding ``path`` (itself or an ancestor), if any."""
    end = path.find("/", 1)
    while end != -1:
        found = shown.get(path[:end + 1])
        if found is not None:
            return found
        end = path.find("/", end + 1)
    return None


def area_map(area_paths: Sequence[str], *, open_cases: Iterable[tuple[str, int]],
             overdue_cases: Iterable[tuple[str, int]],
             active_warnings: Iterable[tuple[str, WarningLevel, int]]) -> AreaMap:
    """Fold (path, count) rows into the shown areas (zeros for areas without any), the rest into
    ``elsewhere``, and everything into ``total``."""
    folded = AreaMap(areas={path: AreaFigures() for path in area_paths})

    def targets(path: str) -> tuple[AreaFigures, AreaFigures]:
        return _shown_area(path, folded.areas) or folded.elsewhere, folded.total

    for path, count in open_cases:
        for figures in targets(path):
            figures.open += count
    for path, count in overdue_cases:
        for figures in targets(path):
            figures.overdue += count
    for path, level, count in active_warnings:
        for figures in targets(path):
            figures.add_warnings(level, count)
    return folded


def local_days(*, now: datetime, days: int, timezone: str) -> tuple[list[date], list[datetime]]:
    """The last ``days`` days of the city up to today, and their bounds in UTC (one more than days: each
    day from its local midnight to the next, whatever the zone's offset that day)."""
    zone = ZoneInfo(timezone)
    today = now.astimezone(zone).date()
    dates = [today - timedelta(days=back) for back in range(days - 1, -1, -1)]
    bounds = [datetime.combine(day, time(), tzinfo=zone).astimezone(UTC)
              for day in (*dates, today + timedelta(days=1))]
    return dates, bounds


@dataclass(frozen=True)
class CategoryShare:
    code: str | None
    """The top-level category; None for cases without a category."""
    open: int
    closed: int


def category_mix(counts: Iterable[tuple[int | None, str, int]], *, code_of_id: Mapping[int, str],
                 parent_of: Mapping[str, str | None], open_statuses: Iterable[str]) -> list[CategoryShare]:
    """(category id, status, count) rows folded into their top-level categories: open (``open_statuses``)
    and closed (the rest), most cases first."""
    open_ = set(open_statuses)
    totals: dict[str | None, list[int]] = {}
    for category_id, status, count in counts:
        code = code_of_id.get(category_id) if category_id is not None else None
        while code is not None and parent_of.get(code) is not None:
            code = parent_of[code]
        share = totals.setdefault(code, [0, 0])
        share[0 if status in open_ else 1] += count
    return sorted((CategoryShare(code, opened, closed) for code, (opened, closed) in totals.items()),
                  key=lambda share: (-(share.open + share.closed), share.code or "~"))


@dataclass(frozen=True)
class Threshold:
    level: WarningLevel
    fire_at: float
    clear_at: float


def thresholds(rule: Rule) -> list[Threshold]:
    """Where a threshold rule's levels fire and clear, lowest level first; none for rules of other kinds
    (their levels are rates or silences, not values a panel can draw beside the indicator's)."""
    if rule.kind is not RuleKind.threshold:
        return []
    return [Threshold(level.level, level.fire_at, level.clear_at) for level in rule.levels]


def rule_covers(rule: Rule, area_path: str) -> bool:
    """Whether the rule watches the area at ``area_path``: no area in its scope, or one on the path."""
    return rule.scope.area is None or f"/{rule.scope.area}/" in area_path
