"""Finding duplicates of a new case among open cases nearby: candidates by a bounding box, a time
window and related categories in the store, scored by the pure rules of ``cases.duplicates``."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from datetime import timedelta

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from cityops.cases.duplicates import DuplicateRule, Match, Sighting, rank
from cityops.cases.lifecycle import CaseStatus
from cityops.cases.models import Case, DuplicateSuggestion
from cityops.categories import service as categories_service
from cityops.geo.locator import METRES_PER_DEGREE

OPEN_STATUSES = [s.value for s in (CaseStatus.reported, CaseStatus.registered, CaseStatus.dispatched,
                                   CaseStatus.in_progress, CaseStatus.returned, CaseStatus.handled)]


def rule_for(rules: Mapping[str, Mapping[str, float]], category_code: str | None,
             default: Mapping[str, float]) -> DuplicateRule:
    """The rule of the longest category-code prefix listed in ``rules`` (``{"E01": {"radius_m": 50,
    "window_h": 24}}``), else ``default``."""
    best = max((prefix for prefix in rules if category_code and category_code.startswith(prefix)), key=len,
               default=None)
    chosen = rules[best] if best else default
    return DuplicateRule(radius_m=float(chosen["radius_m"]), window=timedelta(hours=float(chosen["window_h"])))


def candidate_query(*, case: Case, rule: DuplicateRule, category_ids: Iterable[int]) -> Select:
    """Open cases of ``category_ids`` in the bounding box of ``rule``'s radius around ``case`` and
    within its time window (a superset of the matches: ``rank`` measures the real distance)."""
    reach_lat = rule.radius_m / METRES_PER_DEGREE
    reach_lon = reach_lat / max(0.01, math.cos(math.radians(case.lat)))
    return select(Case.id, Case.category_id, Case.lon, Case.lat, Case.opened_at, Case.title,
                  Case.description).where(
        Case.id != case.id, Case.status.in_(OPEN_STATUSES), Case.category_id.in_(list(category_ids)),
        Case.lat.between(case.lat - reach_lat, case.lat + reach_lat),
        Case.lon.between(case.lon - reach_lon, case.lon + reach_lon),
        Case.opened_at.between(case.opened_at - rule.window, case.opened_at + rule.window))


def find(session: Session, *, case: Case, rule: DuplicateRule, limit: int = 5) -> list[Match]:
    if case.lon is None or case.lat is None or case.category_id is None:
        return []
    code = categories_service.code_of(session, category_id=case.category_id)
    kin = categories_service.related_categories(session, code=code)
    rows = session.execute(candidate_query(case=case, rule=rule, category_ids=kin)).all()
    own_code, own_parent = kin.get(case.category_id, (code, None))
    new = Sighting(case_id=case.id, category_code=own_code, parent_code=own_parent, lon=case.lon, lat=case.lat,
                   at=case.opened_at, text=f"{case.title} {case.description}")
    candidates = [Sighting(case_id=row.id, category_code=kin[row.category_id][0],
                           parent_code=kin[row.category_id][1], lon=row.lon, lat=row.lat, at=row.opened_at,
                           text=f"{row.title} {row.description}") for row in rows]
    return rank(new, candidates, rule, limit=limit)


def record(session: Session, *, case: Case, matches: list[Match], merged_into: int | None) -> None:
    for match in matches:
        session.add(DuplicateSuggestion(case_id=case.id, candidate_id=match.case_id, score=match.score,
                                        distance_m=match.distance_m, minutes=match.minutes,
                                        text_similarity=match.text_similarity, same_category=match.same_category,
                                        merged=match.case_id == merged_into))
    session.flush()


def suggestions(session: Session, *, case: Case) -> list[DuplicateSuggestion]:
    return list(session.scalars(select(DuplicateSuggestion).where(DuplicateSuggestion.case_id == case.id)
                                .order_by(DuplicateSuggestion.score.desc())))
