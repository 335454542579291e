"""Importing another system's work orders into the closed loop, or replaying them through it.

**Import** rebuilds each work order's history by the platform's own lifecycle rules, in time order:
intake at its opening time (located, and checked for duplicates among the cases open at that moment),
registration by the system, routing through the responsibility matrix, dispatch to the department
the source names (or, when the platform does not know it, to the one the matrix names),
acknowledgement, and — at its closing time — the department's handling report and closure by the
system with the reason ``imported``. Each step starts and meets its time limit, so the performance
figures computed from timelines work on imported history. Duplicates are flagged, never merged:
every historical work order was handled on its own. ``history.bulk`` builds each timeline in memory
and writes a batch with one statement per table; history is not announced in the outbox.

**Replay** (``ImportOptions.replay``) feeds the rows through the live pipeline instead, in time
order, with the settings' intake policy (trusted channels, auto-dispatch, auto-merge), the clock
shifted so that the last row arrives now and the spacing between rows is kept. Nothing is closed.
Every move goes through ``cases.service`` (intake, ``act``) and is announced like any other.

**Batches.** Rows go in batches of ``batch_size``, each in one transaction (``BatchScope``): a batch
is written whole or not at all. A row the platform refuses (a domain error: outside the history's
area, say) is rejected alone with the reason; any other failure rolls back its whole batch and stops
the import, whose summary then says where. Earlier batches stay: importing the same file again skips
what is there (``(channel, external id)`` identifies a case, as at intake) and carries on, also
closing cases whose closing the file now records.
"""

from __future__ import annotations

import csv
import io
import math
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from cityops.bulk import tune_for_bulk_load
from cityops.calendar import service as calendar_service
from cityops.cases import dedup
from cityops.cases import service as cases_service
from cityops.cases.lifecycle import Action, Actor, ActorKind, CaseStatus
from cityops.config import Settings
from cityops.db import unit_of_work
from cityops.errors import CityOpsError, InvalidFile
from cityops.history import catalogue, places
from cityops.history.bulk import BulkImport
from cityops.history.mapping import HistoryMapping
from cityops.history.rows import HistoryRow, Location, Reject, RowReader, records
from cityops.org import responsibility
from cityops.org.routing import RouteDecision, Unroutable

BatchScope = Callable[[], AbstractContextManager[Session]]
Progress = Callable[[int, int], None]
"""Called with (work done, work in all): rows read, then rows taken in and cases closed."""
CLOSING_REASON = "imported"


def units_of_work(engine: Engine) -> BatchScope:
    """Each batch in a transaction of its own (the command line), on a connection set up for
    writing in bulk."""
    @contextmanager
    def scope() -> Iterator[Session]:
        with unit_of_work(engine) as session:
            tune_for_bulk_load(session.connection())
            yield session
    return scope


def savepoints(session: Session) -> BatchScope:
    """Each batch in a savepoint of one session (tests, or a caller's own unit of work)."""
    @contextmanager
    def scope() -> Iterator[Session]:
        with session.begin_nested():
            yield session
    return scope


@dataclass(frozen=True)
class ImportOptions:
    replay: bool = False
    batch_size: int = 1000
    area_code: str | None = None
    """The area the history belongs to; default: the store's only city."""
    create_departments: bool = False
    now: datetime | None = None
    """The replay's clock: the last row arrives at this time (default: now)."""


@dataclass
class ImportSummary:
    rows: int = 0
    imported: int = 0
    already_imported: int = 0
    rejected: int = 0
    duplicates_flagged: int = 0
    merged: int = 0
    dispatched: int = 0
    closed: int = 0
    unlocated: Counter[str] = field(default_factory=Counter)
    categories_created: list[str] = field(default_factory=list)
    departments_created: list[str] = field(default_factory=list)
    unknown_departments: Counter[str] = field(default_factory=Counter)
    agreements: list[places.Agreement] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)
    seconds: float = 0.0
    replay_shift_days: float | None = None
    error: str | None = None
    stopped_at_row: int | None = None

    def line(self) -> dict[str, Any]:
        """The summary as one JSON object: the keys the issue names first, one per comparison."""
        line: dict[str, Any] = {"imported": self.imported, "rejected": self.rejected, "seconds": self.seconds,
                                "duplicates_flagged": self.duplicates_flagged}
        line |= {a.target: a.share for a in self.agreements}
        line |= {"rows": self.rows, "rows_per_second": round(self.rows / self.seconds, 1) if self.seconds else None,
                 "already_imported": self.already_imported, "dispatched": self.dispatched, "closed": self.closed,
                 "merged": self.merged, "unlocated": dict(sorted(self.unlocated.items())),
                 "categories_created": len(self.categories_created), "departments_created": self.departments_created,
                 "unknown_departments": dict(self.unknown_departments.most_common()),
                 "compare_counts": {a.target: a.counts() for a in self.agreements}}
        if self.replay_shift_days is not None:
            line["replay_shift_days"] = self.replay_shift_days
        if self.error is not None:
            line |= {"error": self.error, "stopped_at_row": self.stopped_at_row}
        return line


def open_source(source: Path | bytes, mapping: HistoryMapping) -> TextIO:
    if isinstance(source, bytes):
        try:
            return io.StringIO(source.decode(mapping.encoding), newline="")
        except UnicodeDecodeError as exc:
            raise InvalidFile(f"the file is not {mapping.encoding} text: {exc}", field="file") from exc
    return open(source, encoding=mapping.encoding, newline="")  # noqa: SIM115  (the caller closes it)


def read_rows(source: Path | bytes, mapping: HistoryMapping) -> tuple[list[HistoryRow], list[Reject]]:
    rows: list[HistoryRow] = []
    rejects: list[Reject] = []
    with open_source(source, mapping) as stream:
        try:
            for item in RowReader(stream, mapping):
                (rows if isinstance(item, HistoryRow) else rejects).append(item)
        except UnicodeDecodeError as exc:
            raise InvalidFile(f"the file is not {mapping.encoding} text after row {len(rows) + len(rejects) + 1}: "
                              f"{exc}; set [source] encoding", field="file") from exc
    return rows, rejects


@dataclass
class _Tally:
    """One batch's outcome, kept only once the batch is written."""

    counts: Counter[str] = field(default_factory=Counter)
    unlocated: Counter[str] = field(default_factory=Counter)
    rejects: list[Reject] = field(default_factory=list)
    placed: dict[int, places.Placed] = field(default_factory=dict)


class _Run:
    def __init__(self, *, mapping: HistoryMapping, settings: Settings, options: ImportOptions) -> None:
        self.mapping, self.settings, self.options = mapping, settings, options
        self.summary = ImportSummary()
        self.placed: dict[int, places.Placed] = {}
        self.bulk: BulkImport | None = None
        self.closing_reason = CLOSING_REASON
        self.routes: dict[tuple[str, int], RouteDecision | None] = {}
        self.handlers: dict[str, Actor] = {}
        label = "replay" if options.replay else "history import"
        self.actor = Actor(kind=ActorKind.client, id=None, role="system", name=f"{mapping.name} ({label})")
        self.shift = timedelta(0)
        self.policy = cases_service.IntakePolicy.from_settings(settings) if options.replay else \
            cases_service.IntakePolicy(trusted_channels=frozenset(), auto_dispatch=False,
                                       duplicate_rules=settings.duplicate_rules,
                                       duplicate_default=settings.duplicate_default, auto_merge_score=math.inf)

    def prepare(self, session: Session, rows: list[HistoryRow]) -> list[HistoryRow]:
        """Everything the rows need, found or created; returns the rows that can go in."""
        area = catalogue.history_area(session, area_code=self.options.area_code)
        self.receiver = catalogue.receiver_for(area, name=self.actor.name)
        self.level_locators = places.level_locators(session, specs=self.mapping.compare,
                                                    boundary_distance_m=self.settings.boundary_distance_m)
        self.locator = places.import_locator(session, mapping=self.mapping,
                                             boundary_distance_m=self.settings.boundary_distance_m,
                                             placeholder_radius_m=self.settings.placeholder_radius_m)
        self.calendar = calendar_service.load_calendar(session, settings=self.settings)
        categories = catalogue.resolve_categories(session, policy=self.mapping.categories,
                                                  names={r.category for r in rows})
        self.categories = categories.codes
        self.summary.categories_created = categories.created
        departments = catalogue.resolve_departments(session, mapping=self.mapping, area=area,
                                                    values={r.department for r in rows if r.department},
                                                    create=self.options.create_departments)
        self.departments = departments.codes
        self.summary.departments_created = departments.created
        self.matrix = responsibility.MatrixSnapshot(session)
        accepted = []
        for row in rows:
            if row.category in categories.unknown:
                self.summary.rejects.append(Reject(row.row, row.line, "category", f"no category for {row.category!r}: "
                                                   "list it in [categories.codes] or set create = true"))
                continue
            if row.department in departments.unknown:
                self.summary.unknown_departments[row.department] += 1
            accepted.append(row)
        if self.options.replay and accepted:
            now = self.options.now or datetime.now(UTC)
            self.shift = now - max(r.opened_at for r in accepted)
            self.summary.replay_shift_days = round(self.shift.total_seconds() / 86400, 3)
        return accepted

    def batch(self, session: Session, rows: list[HistoryRow]) -> _Tally:
        tally = _Tally()
        if not self.options.replay:
            if self.bulk is None:
                self.bulk = BulkImport(self, session, first_opened=rows[0].opened_at if rows else None)
            self.bulk.batch(session, rows, tally)
            return tally
        for row in rows:
            taken = _Tally()
            try:
                with session.begin_nested():
                    self._replay(session, row, taken)
            except CityOpsError as refused:
                tally.rejects.append(Reject(row.row, row.line, refused.field or "row", refused.detail))
                continue
            tally.counts.update(taken.counts)
            tally.unlocated.update(taken.unlocated)
            tally.placed.update(taken.placed)
        return tally

    def keep(self, tally: _Tally) -> None:
        """A written batch's outcome becomes the run's."""
        counts = tally.counts
        for name in ("imported", "already_imported", "duplicates_flagged", "merged", "dispatched", "closed"):
            setattr(self.summary, name, getattr(self.summary, name) + counts[name])
        self.summary.unlocated.update(tally.unlocated)
        self.summary.rejects.extend(tally.rejects)
        self.placed.update(tally.placed)

    def input_crs(self, row: HistoryRow) -> str | None:
        return self.mapping.crs.value if row.lon is not None else None

    def _report(self, row: HistoryRow) -> cases_service.Report:
        title = row.category if not row.address else f"{row.category} · {row.address}"
        return cases_service.Report(channel=row.channel, title=title[:200], description=row.description,
                                    category_code=self.categories[row.category], lon=row.lon, lat=row.lat,
                                    input_crs=self.input_crs(row),
                                    address=row.address, external_id=row.external_id)

    def _intake(self, session: Session, row: HistoryRow, tally: _Tally, at: datetime) -> cases_service.IntakeResult:
        result = cases_service.intake(session, report=self._report(row), actor=self.actor, receiver=self.receiver,
                                      locator=self.locator, calendar=self.calendar, at=at, policy=self.policy)
        case = result.case
        tally.counts["imported" if result.created else "already_imported"] += 1
        if result.created and dedup.suggestions(session, case=case):
            tally.counts["duplicates_flagged"] += 1
        if case.area_id is None:
            tally.unlocated["placeholder" if case.placeholder else
                            row.location if row.location != Location.given else "outside_areas"] += 1
        real = case.area_id is not None or (row.location == Location.given and not case.placeholder)
        tally.placed[row.row] = places.Placed(lon=row.lon if real else None, lat=row.lat if real else None,
                                              area_path=case.area_path if case.area_id else None,
                                              routed_lead=self.routed_lead(row, case.area_id),
                                              source=row.compare)
        return result

    def route(self, category_code: str, area_id: int | None) -> RouteDecision | None:
        """What the matrix decides for a category at an area (cached: the matrix does not change
        during an import); None without an area or when nobody owns it."""
        if area_id is None:
            return None
        key = (category_code, area_id)
        if key not in self.routes:
            try:
                self.routes[key] = self.matrix.route(category_code=category_code,
                                                     area_chain=self.locator.chain(area_id))
            except Unroutable:
                self.routes[key] = None
        return self.routes[key]

    def routed_lead(self, row: HistoryRow, area_id: int | None) -> str | None:
        decision = self.route(self.categories[row.category], area_id)
        return decision.lead if decision else None

    def already_there(self, session: Session, tally: _Tally, case_id: int, row: HistoryRow) -> None:
        """A row imported before: closed now if the file records its closing and it is still open."""
        tally.counts["already_imported"] += 1
        if row.closed_at is not None:
            self._close(session, tally, row.closed_at, case_id, row)

    def facts(self, row: HistoryRow) -> dict[str, Any]:
        facts = {"source": self.mapping.name, "row": row.row, "category": row.category, "department": row.department,
                 "department_code": self.mapping.department_code(row.department) if row.department else None,
                 "queue": row.queue, "channel": row.source_channel, "status": row.status,
                 "due_at": row.due_at.isoformat() if row.due_at else None,
                 "location": row.location if row.location != Location.given else None}
        return {k: v for k, v in facts.items() if v is not None}

    def handler(self, department: str) -> Actor:
        actor = self.handlers.get(department)
        if actor is None:
            actor = self.handlers[department] = Actor(kind=ActorKind.client, id=None, role="handler",
                                                      name=self.actor.name, department=department)
        return actor

    def _close(self, session: Session, tally: _Tally, closed_at: datetime, case_id: int, row: HistoryRow) -> None:
        """The end of a work order as the source records it: the department's handling report, then the
        system's closure. A case someone moved elsewhere since (returned, reopened) is left as it is."""
        case = cases_service.get_case(session, case_id=case_id, viewer=self.receiver)
        if case.status in {CaseStatus.dispatched, CaseStatus.in_progress}:
            lead = next(a.department_code for a in cases_service.assignments(session, case=case)
                                if a.position == 0)
            if case.status == CaseStatus.dispatched:
                cases_service.act(session, case=case, action=Action.acknowledge, actor=self.handler(lead),
                                  at=case.opened_at, calendar=self.calendar)
            cases_service.act(session, case=case, action=Action.report, actor=self.handler(lead), at=closed_at,
                              calendar=self.calendar, reason=row.resolution or f"handled, as {self.mapping.name} "
                                                                                 "records")
        if case.status in {CaseStatus.handled, CaseStatus.registered}:
            data = {k: v for k, v in (("source_status", row.status), ("resolution", row.resolution)) if v}
            cases_service.act(session, case=case, action=Action.close, actor=cases_service.SYSTEM, at=closed_at,
                              calendar=self.calendar, reason=CLOSING_REASON, data=data)
            tally.counts["closed"] += 1

    def _replay(self, session: Session, row: HistoryRow, tally: _Tally) -> None:
        result = self._intake(session, row, tally, row.opened_at + self.shift)
        if result.created:
            status = result.case.status
            tally.counts["merged"] += status == CaseStatus.merged
            tally.counts["dispatched"] += status == CaseStatus.dispatched


def import_history(*, scope: BatchScope, source: Path | bytes, mapping: HistoryMapping, settings: Settings,
                   options: ImportOptions = ImportOptions(), progress: Progress | None = None) -> ImportSummary:
    """Import (or replay) a file; see the module's docstring. A file or mapping that cannot be read,
    or a store that lacks what the comparisons need, raises before anything is written."""
    started = time.perf_counter()
    run = _Run(mapping=mapping, settings=settings, options=options)
    rows, run.summary.rejects = read_rows(source, mapping)
    run.summary.rows = len(rows) + len(run.summary.rejects)
    with scope() as session:
        rows = run.prepare(session, rows)
    rows.sort(key=lambda r: (r.opened_at, r.row))
    size = max(1, options.batch_size)
    work = len(rows)
    for start in range(0, len(rows), size):
        chunk = rows[start:start + size]
        if not _batch(run, scope, lambda s, chunk=chunk: run.batch(s, chunk), chunk[0].row):
            break
        if progress:
            progress(start + len(chunk), work)
    placed = [run.placed[r.row] for r in rows if r.row in run.placed]
    run.summary.agreements = places.agreements(placed, specs=mapping.compare, locators=run.level_locators)
    run.summary.rejects.sort(key=lambda r: r.row)
    run.summary.rejected = len(run.summary.rejects)
    run.summary.seconds = round(time.perf_counter() - started, 3)
    return run.summary


def _batch(run: _Run, scope: BatchScope, work: Callable[[Session], _Tally], first_row: int) -> bool:
    """Write one batch; or record why it was rolled back, and say to stop."""
    try:
        with scope() as session:
            tally = work(session)
    except Exception as failure:  # noqa: BLE001  (the batch is rolled back; the summary says why)
        run.summary.error = f"{type(failure).__name__}: {failure}"
        run.summary.stopped_at_row = first_row
        return False
    run.keep(tally)
    return True


REJECT_COLUMNS = ("reject_row", "reject_line", "reject_field", "reject_reason")


def write_rejects(source: Path | bytes, mapping: HistoryMapping, rejects: list[Reject], out: TextIO) -> int:
    """The rejected rows as CSV: why each was refused, then the row as the file has it — so the file
    can be corrected and imported again with the same mapping. Returns the rows written."""
    why = {r.row: r for r in rejects}
    writer = csv.writer(out, lineterminator="\n")
    written = 0
    with open_source(source, mapping) as stream:
        reader = csv.reader(stream, delimiter=mapping.delimiter)
        writer.writerow([*REJECT_COLUMNS, *next(reader, [])])
        for number, line, cells in records(reader):
            reject = why.get(number)
            if reject is not None:
                writer.writerow([reject.row, line, reject.field, reject.reason, *cells])
                written += 1
    return written
