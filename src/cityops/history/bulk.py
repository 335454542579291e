"""Importing history in bulk: each new work order's whole timeline built in memory by the lifecycle's
own rules, then written with one ``executemany`` per table for the batch.

Taking each row through ``cases.service`` (as replay does) costs about a hundred statements per
case; here a batch costs a handful. What stays the same as the live pipeline:

- **The rules.** Each timeline comes from ``lifecycle.open_case`` / ``apply``, taken once per path
  (``history.timelines``); the case row and its assignment are the state those produce, and
  ``replay`` of the stored timeline gives it back.
- **Deadlines.** Every step gets its deadline from the category's limits on the work calendar, met
  when the case leaves the step, as ``cases.deadlines.track`` writes them (each distinct question
  asked once: ``history.deadlines``).
- **Duplicates.** Each case is compared with the cases open when it was opened (the store's and
  the import's own, closed or not yet closed at that moment) by the pure ``duplicates.rank``, over a
  grid of cells the size of the widest rule's radius; matches are kept as suggestions, never merged.

What differs, on purpose: history is not announced in the outbox (webhooks would otherwise hear of
a million closures from years ago), and a case whose closing is known is written once, closed.
"""

from __future__ import annotations

import math
import secrets
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from cityops.bulk import BulkInsert, reserve_ids
from cityops.cases import dedup
from cityops.cases.duplicates import DuplicateRule, Sighting, rank
from cityops.cases.lifecycle import Action, CaseStatus
from cityops.cases.models import Case, CaseAssignment, CaseDeadline, CaseEvent, DuplicateSuggestion
from cityops.cases.service import SYSTEM, TRACKING_ALPHABET, new_tracking_code
from cityops.cases.states import OPEN_STATUSES
from cityops.categories import service as categories_service
from cityops.categories.models import Category
from cityops.categories.time_limits import Step, TimeLimit, format_limit
from cityops.db import utcnow
from cityops.errors import CityOpsError, InvalidInput
from cityops.geo.locator import METRES_PER_DEGREE
from cityops.geo.models import Area
from cityops.history import places
from cityops.history.deadlines import StepDeadlines
from cityops.history.rows import HistoryRow, Location, Reject
from cityops.history.timelines import Move, Timeline, Timelines
from cityops.org.models import Department

if TYPE_CHECKING:
    from cityops.history.importer import _Run, _Tally

CASE_COLUMNS = ("id", "tracking_code", "channel", "external_id", "status", "version", "title", "description",
                "category_id", "category_source", "address", "lon", "lat", "input_crs", "area_id", "area_path",
                "near_boundary", "placeholder", "priority", "report_count", "rework_count", "return_count",
                "deferred", "lead_department_id", "opened_at", "registered_at", "closed_at", "origin", "created_at",
                "updated_at")
EVENT_COLUMNS = ("case_id", "version", "action", "from_status", "to_status", "actor_kind", "actor_id", "actor_role",
                 "actor_name", "actor_department", "at", "reason", "attachments", "data")
ASSIGNMENT_COLUMNS = ("case_id", "department_code", "role", "position", "status")
DEADLINE_COLUMNS = ("case_id", "step", "time_limit", "started_at", "due_at", "remind_at", "met_at")
SUGGESTION_COLUMNS = ("case_id", "candidate_id", "score", "distance_m", "minutes", "text_similarity",
                      "same_category", "merged", "created_at")
ORIGIN = "import"
TRACKING_CODE_LENGTH = len(new_tracking_code())
LOOKUP_CHUNK = 5000


@dataclass(frozen=True, slots=True)
class _Kin:
    code: str
    parent: str | None

    @property
    def family(self) -> str:
        """Related categories share a parent; a category without one is related only to itself."""
        return self.parent or self.code


class OpenCases:
    """The cases open at the moment being imported, in grid cells by category family, for the
    duplicate check. A case stays in its cell after closing; ``near`` skips it from then on, and
    drops what has fallen out of every window."""

    def __init__(self, cell_m: float, longest_window: timedelta) -> None:
        self.cell = max(cell_m, 1.0) / METRES_PER_DEGREE
        self.longest_window = longest_window
        self.cells: dict[tuple[str, int, int], list[tuple[Sighting, datetime | None]]] = defaultdict(list)

    def _key(self, family: str, lon: float, lat: float) -> tuple[str, int, int]:
        return family, math.floor(lon / self.cell), math.floor(lat / self.cell)

    def add(self, family: str, sighting: Sighting, closed_at: datetime | None) -> None:
        self.cells[self._key(family, sighting.lon, sighting.lat)].append((sighting, closed_at))

    def near(self, family: str, new: Sighting, rule: DuplicateRule) -> list[Sighting]:
        # a cell is as wide as the widest radius in latitude; in longitude it narrows with cos(lat)
        reach_lon = math.ceil(1 / max(0.01, math.cos(math.radians(new.lat))))
        _, x, y = self._key(family, new.lon, new.lat)
        found = []
        for dx in range(-reach_lon, reach_lon + 1):
            for dy in (-1, 0, 1):
                cell = self.cells.get((family, x + dx, y + dy))
                if not cell:
                    continue
                _forget_before(cell, new.at - self.longest_window)
                found += [s for s, closed_at in cell
                          if s.at >= new.at - rule.window and (closed_at is None or closed_at > new.at)]
        return found


def _forget_before(cell: list[tuple[Sighting, datetime | None]], cutoff: datetime) -> None:
    """Drop the cases at the head of the cell opened before ``cutoff``. Imported cases join in time
    order, so that is nearly all of them; any left (the store's own, out of order) fall outside every
    window, and ``near`` skips them."""
    stale = 0
    for sighting, _ in cell:
        if sighting.at >= cutoff:
            break
        stale += 1
    if stale:
        del cell[:stale]


@dataclass(frozen=True)
class _Place:
    area_id: int | None = None
    near_boundary: bool = False
    placeholder: str | None = None
    by_address: dict[str, Any] | None = None


@dataclass
class _Case:
    """One new case as it will be written."""

    id: int
    row: HistoryRow
    category_id: int
    kin: _Kin
    area_id: int | None
    area_path: str
    near_boundary: bool
    placeholder: str | None
    timeline: Timeline
    lead: str | None


class BulkImport:
    """What one import run keeps between batches: the store's categories, departments, area paths
    and time limits, and the open cases for the duplicate check."""

    def __init__(self, run: _Run, session: Session, first_opened: datetime | None) -> None:
        self.run = run
        settings = run.settings
        codes = set(run.categories.values())
        self.category_ids = {code: id_ for code, id_ in session.execute(
            select(Category.code, Category.id).where(Category.code.in_(codes)))}
        self.kin: dict[int, _Kin] = {}
        for code in codes:
            for category_id, (kin_code, parent) in categories_service.related_categories(session, code=code).items():
                self.kin[category_id] = _Kin(kin_code, parent)
        self.area_paths = {id_: path for id_, path in session.execute(select(Area.id, Area.path))}
        self.department_ids = {code: id_ for code, id_ in session.execute(select(Department.code, Department.id))}
        self.limits: dict[str, Mapping[Step, tuple[TimeLimit, str]]] = {}
        self.deadlines = StepDeadlines(run.calendar)
        self.timelines = Timelines()
        self.rules = {code: dedup.rule_for(settings.duplicate_rules, code, settings.duplicate_default)
                      for code in codes}
        widest = max([r.radius_m for r in self.rules.values()], default=100.0)
        longest = max([r.window for r in self.rules.values()], default=timedelta(hours=24))
        self.open_cases = OpenCases(widest, longest)
        if first_opened is not None:
            self._seed(session, since=first_opened - longest)

    def _seed(self, session: Session, *, since: datetime) -> None:
        """The store's own open cases that the first rows could duplicate."""
        rows = session.execute(select(Case.id, Case.category_id, Case.lon, Case.lat, Case.opened_at, Case.title,
                                      Case.description).where(
            Case.status.in_(OPEN_STATUSES), Case.category_id.in_(list(self.kin)), Case.lon.is_not(None),
            Case.lat.is_not(None), Case.opened_at >= since))
        for row in rows:
            kin = self.kin[row.category_id]
            self.open_cases.add(kin.family, Sighting(case_id=row.id, category_code=kin.code, parent_code=kin.parent,
                                                     lon=row.lon, lat=row.lat, at=row.opened_at,
                                                     text=f"{row.title} {row.description}"), None)

    def limits_of(self, session: Session, code: str) -> Mapping[Step, tuple[TimeLimit, str]]:
        """The category's limit for each step, with the limit as the store writes it."""
        if code not in self.limits:
            self.limits[code] = {step: (resolved.limit, format_limit(resolved.limit)) for step, resolved in
                                 categories_service.category_limits(session, code=code).items()}
        return self.limits[code]

    def batch(self, session: Session, rows: list[HistoryRow], tally: _Tally) -> None:
        """Write the batch's new cases; rows already in the store go to ``run``'s own closing."""
        known = _known(session, rows)
        fresh: list[HistoryRow] = []
        seen: dict[tuple[str, str], int] = {}
        for row in rows:
            key = (row.channel.value, row.external_id)
            if key in seen:
                tally.rejects.append(Reject(row.row, row.line, "external_id",
                                            f"{row.external_id} repeats row {seen[key]} of this file"))
                continue
            seen[key] = row.row
            if key in known:
                case_id, area_id, area_path, placeholder = known[key]
                self.run.already_there(session, tally, case_id, row)
                tally.placed[row.row] = self._placed(session, row, area_id, area_path, placeholder)
            else:
                fresh.append(row)
        located = self._locate(fresh, tally)
        ids = iter(reserve_ids(session.connection(), Case.__table__, len(located)))
        cases = []
        for row, place in located:
            try:
                cases.append(self._build(session, next(ids), row, place))
            except CityOpsError as refused:
                tally.rejects.append(Reject(row.row, row.line, refused.field or "row", refused.detail))
        suggestions = self._duplicates(cases, tally)
        self._write(session, cases, suggestions)
        for case in cases:
            tally.counts["imported"] += 1
            tally.counts["dispatched"] += case.lead is not None
            tally.counts["closed"] += case.timeline.state.status is CaseStatus.closed
            if case.area_id is None:
                tally.unlocated["placeholder" if case.placeholder else case.row.location
                                if case.row.location != Location.given else "outside_areas"] += 1
            tally.placed[case.row.row] = self._placed(session, case.row, case.area_id, case.area_path,
                                                      case.placeholder)

    def _placed(self, session: Session, row: HistoryRow, area_id: int | None, area_path: str,
                placeholder: str | None) -> places.Placed:
        """What the platform made of the row, for the agreement with the source's columns."""
        real = area_id is not None or (row.location == Location.given and not placeholder)
        return places.Placed(lon=row.lon if real else None, lat=row.lat if real else None,
                             area_path=area_path if area_id else None,
                             routed_lead=self.run.routed_lead(row, area_id), source=row.compare)

    def _locate(self, rows: list[HistoryRow], tally: _Tally
                ) -> list[tuple[HistoryRow, _Place]]:
        """Each row's place, all points in one pass; a row with an address and no point is placed
        by the area names in its address, as at intake."""
        locator = self.run.locator
        given = [r for r in rows if r.lon is not None and r.lat is not None]
        found: dict[int, _Place | None] = {}
        if given:
            batch = locator.locate_many(np.array([r.lon for r in given]), np.array([r.lat for r in given]))
            for i, row in enumerate(given):
                if batch.placeholder[i] or not (-180 <= row.lon <= 180 and -90 <= row.lat <= 90):
                    try:  # the rare case: the placeholder's name, or the locator's own refusal
                        one = locator.locate(row.lon, row.lat)
                    except CityOpsError as refused:
                        tally.rejects.append(Reject(row.row, row.line, refused.field or "lon", refused.detail))
                        found[row.row] = None
                        continue
                    found[row.row] = _Place(None, one.near_boundary, one.placeholder)
                else:
                    area_id = int(batch.area_ids[i])
                    found[row.row] = _Place(area_id if area_id >= 0 else None, bool(batch.near_boundary[i]))
        for row in rows:
            if row.row not in found and row.address and (match := locator.by_address(row.address)) is not None:
                found[row.row] = _Place(match.chain[-1].id, by_address={"named": list(match.named),
                                                                        "ambiguous": match.ambiguous})
        return [(r, found.get(r.row, _Place())) for r in rows if r.row not in found or found[r.row] is not None]

    def _build(self, session: Session, case_id: int, row: HistoryRow, place: _Place) -> _Case:
        run = self.run
        area_id, near_boundary, placeholder = place.area_id, place.near_boundary, place.placeholder
        area_path = self.area_paths[area_id] if area_id is not None else run.receiver.area_path
        if area_id is not None and not run.receiver.covers(area_path):
            raise InvalidInput("the reported location lies outside the history's area", field="lon")
        category_id = self.category_ids[run.categories[row.category]]
        decision = run.route(run.categories[row.category], area_id)
        recorded = run.departments.get(row.department or "")
        lead = recorded or (decision.lead if decision else None)
        opening: dict[str, Any] = {"channel": row.channel.value}
        if place.by_address is not None:
            opening["located_by_address"] = place.by_address
        opened_at, closed_at = row.opened_at, row.closed_at
        moves = [Move(Action.intake, run.actor, opened_at, data=opening),
                 Move(Action.register, SYSTEM, opened_at, data={"why": f"registered in {run.mapping.name}",
                                                                 "history": run.facts(row)})]
        if lead is not None:
            moves.append(Move(Action.dispatch, SYSTEM, opened_at,
                              f"handled by {lead} in {run.mapping.name}" if recorded else decision.reason,
                              {"lead": lead, "assisting": [], "mode": "parallel",
                               "routed_lead": decision.lead if decision else None,
                               "matched_area": decision.matched_area if decision else None,
                               "source_department": row.department}))
        if closed_at is not None:
            if lead is not None:
                handler = run.handler(lead)
                moves.append(Move(Action.acknowledge, handler, opened_at))
                moves.append(Move(Action.report, handler, closed_at,
                                  row.resolution or f"handled, as {run.mapping.name} records"))
            moves.append(Move(Action.close, SYSTEM, closed_at, run.closing_reason,
                              {k: v for k, v in (("source_status", row.status), ("resolution", row.resolution))
                               if v}))
        # the actors and the roster follow from the lead, so the lead and the closing name the path
        timeline = self.timelines.follow(case_id, (lead, closed_at is not None), moves)
        return _Case(id=case_id, row=row, category_id=category_id, kin=self.kin[category_id], area_id=area_id,
                     area_path=area_path, near_boundary=near_boundary, placeholder=placeholder,
                     timeline=timeline, lead=lead)

    def _duplicates(self, cases: list[_Case], tally: _Tally) -> list[tuple[Any, ...]]:
        suggestions = []
        now = utcnow()
        for case in cases:
            row = case.row
            if row.lon is None or row.lat is None:
                continue
            sighting = Sighting(case_id=case.id, category_code=case.kin.code, parent_code=case.kin.parent,
                                lon=row.lon, lat=row.lat, at=row.opened_at, text=f"{_title(row)} {row.description}")
            rule = self.rules[case.kin.code]
            matches = rank(sighting, self.open_cases.near(case.kin.family, sighting, rule), rule)
            if matches:
                tally.counts["duplicates_flagged"] += 1
            suggestions += [(case.id, m.case_id, m.score, m.distance_m, m.minutes, m.text_similarity,
                             m.same_category, False, now) for m in matches]
            self.open_cases.add(case.kin.family, sighting, row.closed_at)
        return suggestions

    def _write(self, session: Session, cases: list[_Case], suggestions: list[tuple[Any, ...]]) -> None:
        connection = session.connection()
        now = utcnow()
        case_rows, event_rows, assignment_rows, deadline_rows = [], [], [], []
        codes = iter(_tracking_codes(len(cases)))
        deadlines = self.deadlines
        for case in cases:
            row, state, timeline = case.row, case.timeline.state, case.timeline
            closed = row.closed_at if state.status is CaseStatus.closed else None
            lead_id = self.department_ids.get(case.lead) if case.lead else None
            case_rows.append((case.id, next(codes), row.channel.value, row.external_id, state.status.value,
                              state.version, _title(row)[:200], row.description, case.category_id, "reporter",
                              row.address, row.lon, row.lat, self.run.input_crs(row), case.area_id,
                              case.area_path, case.near_boundary, case.placeholder, 0, 1, state.rework_count,
                              state.return_count, state.deferred, lead_id, row.opened_at, row.opened_at, closed,
                              ORIGIN, now, now))
            event_rows += timeline.events
            assignment_rows += [(case.id, a.department_code, a.role.value, a.position, a.status.value)
                                for a in state.assignments]
            limits = self.limits_of(session, case.kin.code)
            for step, started_at, met_at in timeline.steps:
                limit, written = limits[step]
                due, remind = deadlines.due_and_reminder(started_at, limit)
                deadline_rows.append((case.id, step.value, written, started_at, due, remind, met_at))
        BulkInsert(connection, Case.__table__, CASE_COLUMNS).write(case_rows)
        BulkInsert(connection, CaseEvent.__table__, EVENT_COLUMNS).write(event_rows)
        BulkInsert(connection, CaseAssignment.__table__, ASSIGNMENT_COLUMNS).write(assignment_rows)
        BulkInsert(connection, CaseDeadline.__table__, DEADLINE_COLUMNS).write(deadline_rows)
        BulkInsert(connection, DuplicateSuggestion.__table__, SUGGESTION_COLUMNS).write(suggestions)


def _tracking_codes(count: int) -> list[str]:
    """``count`` tracking codes as ``cases.service.new_tracking_code`` makes them — each character
    drawn uniformly from its alphabet — from one read of the system's random source rather than
    one per character. Bytes beyond the largest multiple of the alphabet's size are skipped, so that
    every character stays equally likely."""
    size, length = len(TRACKING_ALPHABET), TRACKING_CODE_LENGTH
    usable = 256 - 256 % size
    chars: list[str] = []
    while len(chars) < count * length:
        chars += [TRACKING_ALPHABET[b % size] for b in secrets.token_bytes(count * length + 16) if b < usable]
    return ["".join(chars[i:i + length]) for i in range(0, count * length, length)]


def _title(row: HistoryRow) -> str:
    return row.category if not row.address else f"{row.category} · {row.address}"


def _known(session: Session, rows: Iterable[HistoryRow]) -> dict[tuple[str, str], tuple[Any, ...]]:
    """The cases already in the store for these rows, by (channel, external id): their id, area id,
    area path and placeholder. One channel at a time, so that the lookup is a search of the unique
    index (SQLite scans the whole index for a list of (channel, external id) pairs)."""
    by_channel: dict[str, set[str]] = defaultdict(set)
    for r in rows:
        by_channel[r.channel.value].add(r.external_id)
    known: dict[tuple[str, str], tuple[Any, ...]] = {}
    for channel, external_ids in by_channel.items():
        ids = sorted(external_ids)
        for start in range(0, len(ids), LOOKUP_CHUNK):
            known |= {(row.channel, row.external_id): (row.id, row.area_id, row.area_path, row.placeholder)
                      for row in session.execute(select(Case.id, Case.channel, Case.external_id, Case.area_id,
                                                        Case.area_path, Case.placeholder).where(
                          Case.channel == channel, Case.external_id.in_(ids[start:start + LOOKUP_CHUNK])))}
    return known
