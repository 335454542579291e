"""Finding duplicates of a new case among open cases nearby: candidates by a bounding box, a time
window and related categories in the store, scored by the pure rules of ``cases.duplicates``.

The candidates come off one index (migration 0010) keyed by category, latitude strip of 1/1000°
(111 m), longitude and opening time (and, on SQLite, status). A check seeks each related category
× strip the box touches and reads one short longitude range in each — about the box, not a band
of latitude across the whole city — and tests the time window in the index before reading a row.
Three choices keep both planners on that index, with or without statistics and for prepared
(generic) plans alike (bench/duplicates.py shows the plans with a million open cases):

- the latitude is bounded by the strips only, not by a range of its own, which the location
  index (lat, lon) would otherwise bid for; ``rank`` measures the real distance anyway;
- the open statuses are written into the statement, so PostgreSQL's index, which holds open
  cases only, always applies;
- on SQLite the status is part of the key: without statistics SQLite takes ``status IN (…)`` on
  the status index for the most selective condition there is.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from datetime import timedelta

from sqlalchemy import ColumnElement, Integer, Select, bindparam, cast, literal_column, select
from sqlalchemy.orm import Session

from cityops.bulk import new_row
from cityops.cases.duplicates import DuplicateRule, Match, Sighting, rank
from cityops.cases.models import Case, DuplicateSuggestion
from cityops.cases.states import OPEN_STATUSES
from cityops.categories import service as categories_service
from cityops.geo.locator import METRES_PER_DEGREE

LAT_STRIPS_PER_DEGREE = 1000
# The indexed expression of migration 0010, character for character, so the planners match it.
LAT_STRIP = cast(Case.lat * literal_column(str(LAT_STRIPS_PER_DEGREE)), Integer)
# How each store casts a REAL to INTEGER: SQLite truncates, PostgreSQL rounds half to even (as round).
_INTEGER_OF = {"sqlite": math.trunc, "postgresql": round}
MAX_STRIP_SEEKS = 12
"""More strips than this (a radius over about 650 m) are read as one range of strips."""


def rule_for(rules: Mapping[str, Mapping[str, float]], category_code: str | None,
             default: Mapping[str, float]) -> DuplicateRule:
    """The rule of the longest category-code prefix listed in ``rules`` (``{"E01": {"radius_m": 50,
    "window_h": 24}}``), else ``default``."""
    best = max((prefix for prefix in rules if category_code and category_code.startswith(prefix)), key=len,
               default=None)
    chosen = rules[best] if best else default
    return DuplicateRule(radius_m=float(chosen["radius_m"]), window=timedelta(hours=float(chosen["window_h"])))


def lat_strips(low: float, high: float, *, dialect: str) -> list[int]:
    """The strips (``LAT_STRIP`` as the store computes it) that latitudes from ``low`` to ``high`` fall in."""
    integer_of = _INTEGER_OF.get(dialect)
    if integer_of is None:  # any cast lies between floor and floor + 1
        return list(range(math.floor(low * LAT_STRIPS_PER_DEGREE), math.floor(high * LAT_STRIPS_PER_DEGREE) + 2))
    return list(range(integer_of(low * LAT_STRIPS_PER_DEGREE), integer_of(high * LAT_STRIPS_PER_DEGREE) + 1))


def _candidates(strips: ColumnElement[bool]) -> Select:
    return select(Case.id, Case.category_id, Case.lon, Case.lat, Case.opened_at, Case.title,
                  Case.description).where(
        Case.id.is_distinct_from(bindparam("case_id")),
        Case.status.in_(bindparam("open_statuses", OPEN_STATUSES, expanding=True, literal_execute=True)),
        Case.category_id.in_(bindparam("category_ids", expanding=True)), strips,
        Case.lon.between(bindparam("lon_low"), bindparam("lon_high")),
        Case.opened_at.between(bindparam("opened_from"), bindparam("opened_to")))


# Built once: a check then only binds its values (building the statement cost more than running it).
_IN_STRIPS = _candidates(LAT_STRIP.in_(bindparam("strips", expanding=True)))
_IN_STRIP_RANGE = _candidates(LAT_STRIP.between(bindparam("strip_low"), bindparam("strip_high")))


def candidate_query(*, case: Case, rule: DuplicateRule, category_ids: Iterable[int],
                    dialect: str) -> tuple[Select, dict[str, object]]:
    """The statement and its values that find the open cases of ``category_ids`` in the bounding box
    of ``rule``'s radius around ``case`` (to the strip) and within its time window: a superset of
    the matches, as ``rank`` measures the real distance."""
    reach_lat = rule.radius_m / METRES_PER_DEGREE
    reach_lon = reach_lat / max(0.01, math.cos(math.radians(case.lat)))
    values: dict[str, object] = {
        "case_id": case.id, "category_ids": list(category_ids),
        "lon_low": case.lon - reach_lon, "lon_high": case.lon + reach_lon,
        "opened_from": case.opened_at - rule.window, "opened_to": case.opened_at + rule.window}
    strips = lat_strips(case.lat - reach_lat, case.lat + reach_lat, dialect=dialect)
    if len(strips) <= MAX_STRIP_SEEKS:
        return _IN_STRIPS, {**values, "strips": strips}
    return _IN_STRIP_RANGE, {**values, "strip_low": strips[0], "strip_high": strips[-1]}


def find(session: Session, *, case: Case, rule: DuplicateRule, limit: int = 5) -> list[Match]:
    if case.lon is None or case.lat is None or case.category_id is None:
        return []
    code = categories_service.code_of(session, category_id=case.category_id)
    kin = categories_service.related_categories(session, code=code)
    statement, values = candidate_query(case=case, rule=rule, category_ids=kin,
                                        dialect=session.get_bind().dialect.name)
    rows = session.connection().execute(statement, values).all()  # columns only: no ORM work needed
    own_code, own_parent = kin.get(case.category_id, (code, None))
    new = Sighting(case_id=case.id, category_code=own_code, parent_code=own_parent, lon=case.lon, lat=case.lat,
                   at=case.opened_at, text=f"{case.title} {case.description}")
    candidates = [Sighting(case_id=row.id, category_code=kin[row.category_id][0],
                           parent_code=kin[row.category_id][1], lon=row.lon, lat=row.lat, at=row.opened_at,
                           text=f"{row.title} {row.description}") for row in rows]
    return rank(new, candidates, rule, limit=limit)


def record(session: Session, *, case: Case, matches: list[Match], merged_into: int | None) -> None:
    for match in matches:
        new_row(session, DuplicateSuggestion, case_id=case.id, candidate_id=match.case_id, score=match.score,
                distance_m=match.distance_m, minutes=match.minutes, text_similarity=match.text_similarity,
                same_category=match.same_category, merged=match.case_id == merged_into)


def suggestions(session: Session, *, case: Case) -> list[DuplicateSuggestion]:
    return list(session.scalars(select(DuplicateSuggestion).where(DuplicateSuggestion.case_id == case.id)
                                .order_by(DuplicateSuggestion.score.desc())))
