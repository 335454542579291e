"""Performance figures for a period and a jurisdiction, read from the stored timelines."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cityops.analytics import rates
from cityops.analytics.rates import CaseFacts, StepDeadline, facts_from, tabulate
from cityops.cases.models import Case, CaseDeadline, CaseEvent
from cityops.cases.states import FINISHED_STATUSES
from cityops.categories.models import Category
from cityops.errors import OutsideJurisdiction
from cityops.geo.levels import AreaLevel
from cityops.geo.models import Area
from cityops.org.access import Principal
from cityops.org.models import Department


def _area_at(path: str, level: AreaLevel) -> str | None:
    codes = path.strip("/").split("/")
    return codes[level.rank] if len(codes) > level.rank else None


def case_facts(session: Session, *, viewer: Principal, start: datetime, end: datetime,
               area_level: AreaLevel = AreaLevel.district, within_path: str | None = None,
               now: datetime | None = None) -> list[CaseFacts]:
    """Facts of the cases opened in [start, end) in the viewer's jurisdiction, or under ``within_path`` (an
    area inside it), merged ones excluded: their primary case counts. Their steps' deadlines are judged
    as they stand at ``now`` (default: the clock)."""
    now = now or datetime.now(UTC)
    within_path = within_path or viewer.area_path
    if not viewer.covers(within_path):
        raise OutsideJurisdiction(f"this area lies outside your jurisdiction ({viewer.area_code})")
    cases = session.execute(select(Case.id, Case.opened_at, Case.area_path, Category.code).outerjoin(
        Category, Case.category_id == Category.id).where(
        Case.area_path.startswith(within_path, autoescape=True), Case.opened_at >= start,
        Case.opened_at < end, Case.status != "merged")).all()
    ids = [row.id for row in cases]
    events: dict[int, list] = defaultdict(list)
    deadlines: dict[int, list[StepDeadline]] = defaultdict(list)
    for chunk in range(0, len(ids), 500):
        part = ids[chunk:chunk + 500]
        for row in session.execute(select(CaseEvent.case_id, CaseEvent.action, CaseEvent.to_status, CaseEvent.at,
                                          CaseEvent.data, CaseEvent.actor_department)
                                   .where(CaseEvent.case_id.in_(part)).order_by(CaseEvent.case_id, CaseEvent.version)):
            events[row.case_id].append((row.action, row.to_status, row.at, row.data or {}, row.actor_department))
        for row in session.execute(select(CaseDeadline.case_id, CaseDeadline.due_at, CaseDeadline.met_at,
                                          CaseDeadline.ended).where(CaseDeadline.case_id.in_(part))):
            deadlines[row.case_id].append(StepDeadline(due_at=row.due_at, met_at=row.met_at, ended=row.ended))
    return [facts_from(row.id, row.opened_at, events[row.id], category=row.code,
                       area=_area_at(row.area_path, area_level), now=now, deadlines=deadlines[row.id],
                       period_end=end) for row in cases]


@dataclass(frozen=True)
class Report:
    """A performance report: its period and filters, a row per group, and the totals, all read off the
    same cases' timelines (the totals as one group, never summed from the rows' rates)."""

    by: str
    start: datetime
    end: datetime
    area_level: AreaLevel
    scope: str
    """The jurisdiction reported on, by its name (or code when it has none)."""
    rows: list[dict[str, object]]
    total: dict[str, object]


def performance(session: Session, *, viewer: Principal, by: str, start: datetime, end: datetime,
                area_level: AreaLevel = AreaLevel.district, now: datetime | None = None) -> Report:
    facts = case_facts(session, viewer=viewer, start=start, end=end, area_level=area_level, now=now)
    rows = tabulate(facts, by=by)
    names = group_names(session, by=by, codes=[str(row["group"]) for row in rows])
    scope = session.scalar(select(Area.name).where(Area.code == viewer.area_code)) if viewer.area_code else None
    return Report(by=by, start=start, end=end, area_level=area_level, scope=scope or viewer.area_code,
                  rows=[{**row, "name": names.get(str(row["group"]))} for row in rows],
                  total={**rates.overall(facts), "name": None})


NAMED_GROUPS = {"department": Department, "area": Area, "category": Category}


def group_names(session: Session, *, by: str, codes: Iterable[str]) -> dict[str, str]:
    """The names of the departments, areas or categories a report groups by, by code (none for months
    and weeks): a report is read by people, who know a department by its name."""
    model = NAMED_GROUPS.get(by)
    if model is None:
        return {}
    wanted = sorted(set(codes))
    names: dict[str, str] = {}
    for first in range(0, len(wanted), 500):
        names.update(session.execute(select(model.code, model.name).where(
            model.code.in_(wanted[first:first + 500]))).all())
    return names


def overall(session: Session, *, viewer: Principal, start: datetime, end: datetime,
            within_path: str | None = None) -> dict[str, object]:
    """The figures of all the cases opened in [start, end) in the viewer's jurisdiction (or under
    ``within_path``) as one group, as ``performance`` defines them."""
    return rates.overall(case_facts(session, viewer=viewer, start=start, end=end, within_path=within_path))


def screen_counts(session: Session, *, area_path: str, day_start: datetime, now: datetime) -> dict[str, int]:
    """The case counters of an operations-centre screen for the cases under ``area_path``: reported
    since ``day_start`` (the start of the local day, merged reports included: each is a report), and
    now dispatched (waiting to be acknowledged), in progress, and overdue (open, with a step's deadline
    passed unmet)."""
    under = Case.area_path.startswith(area_path, autoescape=True)
    by_status = dict(session.execute(select(Case.status, func.count()).where(
        under, Case.status.in_(("dispatched", "in_progress"))).group_by(Case.status)).all())
    reported = session.scalar(select(func.count()).select_from(Case).where(under, Case.opened_at >= day_start))
    overdue = session.scalar(select(func.count(func.distinct(CaseDeadline.case_id))).join(
        Case, Case.id == CaseDeadline.case_id).where(under, CaseDeadline.met_at.is_(None), CaseDeadline.due_at < now,
                                                     Case.status.not_in([s.value for s in FINISHED_STATUSES])))
    return {"reported_today": reported or 0, "dispatched": by_status.get("dispatched", 0),
            "in_progress": by_status.get("in_progress", 0), "overdue": overdue or 0}
