"""Use cases of the closed loop: intake, the pipeline (locate, register, route, dispatch) and every
action of the lifecycle, each recorded on the case's timeline.

The timeline is the source of truth: to act on a case its events are replayed, the pure
``lifecycle.apply`` decides, and the new event is inserted with the next version. The unique
(case, version) pair makes a concurrent second move fail instead of landing twice.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy import ColumnElement, CompoundSelect, Select, and_, false, func, insert, or_, select, text, union_all
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, aliased, make_transient_to_detached

from cityops import live, outbox
from cityops.bulk import collecting_rows, insert_values, new_row, with_defaults
from cityops.calendar.workcalendar import WorkCalendar
from cityops.cases import deadlines, dedup, duplicates, lifecycle, ordering, queues
from cityops.cases.channels import Channel
from cityops.cases.duplicates import Match
from cityops.cases.lifecycle import Action, Actor, ActorKind, CaseState, CaseStatus, TimelineEntry
from cityops.cases.models import Case, CaseAssignment, CaseDeadline, CaseEvent, Supervision
from cityops.categories import service as categories_service
from cityops.categories.models import Category
from cityops.config import Settings
from cityops.errors import CityOpsError, Conflict, InvalidInput, NotFound, OutsideJurisdiction, PermissionDenied
from cityops.geo import service as geo_service
from cityops.geo.locator import Locator
from cityops.org import responsibility
from cityops.org import service as org_service
from cityops.org.access import Principal
from cityops.org.routing import RouteDecision, Unroutable

TRACKING_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L: read out over the phone
SYSTEM = Actor(kind=ActorKind.system, id=None, role="system", name="CityOps")


def new_tracking_code() -> str:
    return "".join(secrets.choice(TRACKING_ALPHABET) for _ in range(10))


def actor_for(principal: Principal | None, action: Action, *, department: str | None = None) -> Actor:
    """The timeline actor for a caller: anonymous callers are citizens; a caller with several roles
    acts in the first one the action allows. A caller of a department acts for that department only;
    one without (operations-centre staff, a city-wide system) may name the department it acts for."""
    if principal is None:
        return Actor(kind=ActorKind.citizen, id=None, role=lifecycle.CITIZEN, name="citizen")
    if department and principal.department_code and department != principal.department_code:
        raise PermissionDenied(f"you act for {principal.department_code}, not for {department}",
                               code="not_assigned", field="department_code")
    allowed = lifecycle.TABLE[action].roles
    role = next((r for r in principal.roles if r in allowed), principal.roles[0] if principal.roles else "")
    kind = ActorKind.user if principal.kind == "user" else ActorKind.client
    return Actor(kind=kind, id=str(principal.id), role=role, name=principal.name,
                 department=department or principal.department_code)


@dataclass(frozen=True)
class IntakePolicy:
    """How intake treats a new report (from settings): which channels are trusted, whether routed
    cases are dispatched at once, and when a near-identical open case absorbs the report."""

    trusted_channels: frozenset[str] = frozenset()
    auto_dispatch: bool = True
    duplicate_rules: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    duplicate_default: Mapping[str, float] = field(default_factory=lambda: {"radius_m": 100, "window_h": 72})
    auto_merge_score: float = 0.75
    suggester: Callable[[str], list[tuple[str, float]]] | None = None
    """Ranks category labels for a report's text (a trained classifier), for reports without one."""

    @classmethod
    def from_settings(cls, settings: Settings) -> IntakePolicy:
        return cls(trusted_channels=frozenset(settings.trusted_channels), auto_dispatch=settings.auto_dispatch,
                   duplicate_rules=settings.duplicate_rules, duplicate_default=settings.duplicate_default,
                   auto_merge_score=settings.duplicate_auto_merge_score)


@dataclass(frozen=True)
class IntakeResult:
    case: Case
    created: bool
    written: Mapping[type, Sequence[Mapping[str, Any]]] = field(default_factory=dict)
    """The rows written with a new case, by model, so its record can be shown without reading it back."""
    state: CaseState | None = None
    """A new case's state after its intake moves."""

    def rows(self, model: type) -> list[SimpleNamespace]:
        """The rows written to ``model``'s table, with its columns as attributes, None where unset
        (no ORM instances: they are only read)."""
        unset = dict.fromkeys(model.__table__.columns.keys())
        return [SimpleNamespace(**{**unset, **values}) for values in self.written.get(model, ())]


@dataclass(frozen=True)
class Report:
    """What a channel tells us about a problem."""

    channel: Channel
    title: str
    description: str = ""
    category_code: str | None = None
    lon: float | None = None   # WGS84, already converted at the edge
    lat: float | None = None
    input_crs: str | None = None
    address: str | None = None
    reporter_name: str | None = None
    reporter_phone: str | None = None
    external_id: str | None = None
    idempotency_key: str | None = None
    attachments: tuple[str, ...] = ()
    media_url: str | None = None
    """A link to a photo kept elsewhere (Open311's ``media_url``), as opposed to uploaded attachments."""
    origin: str = "api"
    """Where the case's record comes from (``demo`` for the demo city's history), as for areas and users."""


def _existing(session: Session, report: Report) -> Case | None:
    if report.idempotency_key:
        found = session.scalar(select(Case).where(Case.idempotency_key == report.idempotency_key))
        if found is not None:
            return found
    if report.external_id:
        return session.scalar(select(Case).where(Case.channel == report.channel.value,
                                                 Case.external_id == report.external_id))
    return None


def _entry_values(case_id: int, entry: TimelineEntry) -> dict[str, Any]:
    return {"case_id": case_id, "version": entry.version, "action": entry.action.value,
            "from_status": entry.from_status.value if entry.from_status else None,
            "to_status": entry.to_status.value, "actor_kind": entry.actor.kind.value, "actor_id": entry.actor.id,
            "actor_role": entry.actor.role, "actor_name": entry.actor.name,
            "actor_department": entry.actor.department, "at": entry.at, "reason": entry.reason,
            "attachments": list(entry.attachments), "data": dict(entry.data)}


def _entry_of(row: CaseEvent) -> TimelineEntry:
    actor = Actor(kind=ActorKind(row.actor_kind), id=row.actor_id, role=row.actor_role, name=row.actor_name,
                  department=row.actor_department)
    return TimelineEntry(Action(row.action), CaseStatus(row.from_status) if row.from_status else None,
                         CaseStatus(row.to_status), actor, row.at, row.reason, tuple(row.attachments),
                         row.data, row.version)


def timeline(session: Session, *, case: Case) -> list[CaseEvent]:
    return list(session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id)
                                .order_by(CaseEvent.version)))


def assignments(session: Session, *, case: Case) -> list[CaseAssignment]:
    return list(session.scalars(select(CaseAssignment).where(CaseAssignment.case_id == case.id)
                                .order_by(CaseAssignment.position)))


def running_steps(session: Session, *, case_ids: Sequence[int], summoned: Principal | None = None
                  ) -> dict[int, CaseDeadline]:
    """The open deadline of each case's current step, for a page of cases, in one query; with
    ``summoned``, that viewer's department's deadline to report in instead (the step it must take)."""
    if not case_ids:
        return {}
    running = _awaiting_report_in(summoned) if summoned is not None else CaseDeadline.department_code.is_(None)
    return {deadline.case_id: deadline for deadline in session.scalars(select(CaseDeadline).where(
        CaseDeadline.case_id.in_(case_ids), CaseDeadline.met_at.is_(None), running))}


def deadlines_of(session: Session, *, case: Case) -> list[CaseDeadline]:
    return list(session.scalars(select(CaseDeadline).where(CaseDeadline.case_id == case.id)
                                .order_by(CaseDeadline.id)))


def state_of(session: Session, *, case: Case) -> CaseState:
    """The case's state, rebuilt from its timeline."""
    return state_from(timeline(session, case=case))


def state_from(rows: Sequence[CaseEvent]) -> CaseState:
    """A case's state, rebuilt from its timeline rows (in order)."""
    return lifecycle.replay([_entry_of(row) for row in rows])


def available_actions(principal: Principal, *, state: CaseState, at: datetime) -> tuple[Action, ...]:
    """What ``principal`` may do to a case in ``state`` now, by the same checks as the moves (the
    caller has already been shown the case, so it lies in their jurisdiction)."""
    return lifecycle.available(state, lambda action: actor_for(principal, action), at=at)


@dataclass
class _Held:
    """What this transaction holds of one case while it records moves on it: its state, assignment
    rows, open deadline and reporter, so a move reads none of them back. ``fresh`` marks a case
    created in this transaction: nobody else can move it, so its moves need no savepoint and are
    written together at the end."""

    state: CaseState
    assignments: dict[str, CaseAssignment]
    deadline: CaseDeadline | None
    reporter_user_id: int | None
    fresh: bool = False


def _hold(session: Session, case: Case) -> _Held:
    rows = timeline(session, case=case)
    opener = rows[0] if rows else None
    held = {a.department_code: a for a in session.scalars(
        select(CaseAssignment).where(CaseAssignment.case_id == case.id))}
    return _Held(state=lifecycle.replay([_entry_of(row) for row in rows]), assignments=held,
                 deadline=deadlines.open_deadline(session, case=case),
                 reporter_user_id=opener.actor_id if opener is not None and opener.actor_kind == ActorKind.user.value
                 else None)


def _project(session: Session, case: Case, held: _Held, state: CaseState, entry: TimelineEntry) -> None:
    """Bring the query projections (the case row, its assignments) up to ``state``."""
    case.status, case.version = state.status.value, state.version
    case.rework_count, case.return_count = state.rework_count, state.return_count
    case.deferred, case.rating, case.duplicate_of_id = state.deferred, state.rating, state.duplicate_of
    if entry.action is Action.register:
        case.registered_at = entry.at
    if state.status is CaseStatus.closed and entry.from_status is not CaseStatus.closed:
        case.closed_at = entry.at
    elif state.status is not CaseStatus.closed:
        case.closed_at = None
    stale = dict(held.assignments)
    current = {}
    for assignment in state.assignments:
        row = stale.pop(assignment.department_code, None)
        if row is None:
            row = new_row(session, CaseAssignment, case_id=case.id, department_code=assignment.department_code)
        row.role, row.position, row.status = assignment.role.value, assignment.position, assignment.status.value
        current[assignment.department_code] = row
    for row in stale.values():  # a reassignment replaced the roster; the timeline keeps the old one
        session.delete(row)
    held.assignments = current
    lead = next((a.department_code for a in state.assignments if a.position == 0), None)
    case.lead_department_id = org_service.department_id(session, code=lead) if lead else None


def _record(session: Session, case: Case, held: _Held, state: CaseState, entry: TimelineEntry,
            calendar: WorkCalendar) -> None:
    if held.fresh:
        new_row(session, CaseEvent, **_entry_values(case.id, entry))
    else:
        try:
            with session.begin_nested():
                session.add(CaseEvent(**_entry_values(case.id, entry)))
                session.flush()
        except (IntegrityError, OperationalError) as error:
            # PostgreSQL: another move took this version first. SQLite: another writer committed after
            # this transaction read the case, so its snapshot is stale. Either way the move must not land.
            if isinstance(error, OperationalError) and "locked" not in str(error.orig):
                raise
            raise Conflict("the case changed while you were acting on it; reload it and try again",
                           code="concurrent_change") from error
    _project(session, case, held, state, entry)
    held.deadline = deadlines.track(session, case=case, entry=entry, calendar=calendar, current=held.deadline)
    if state.summons != held.state.summons:
        deadlines.track_summons(session, case=case, before=held.state.summons, after=state.summons, calendar=calendar)
    _announce(session, case, held.state, state, entry, reporter_user_id=held.reporter_user_id)
    held.state = state
    if not held.fresh:
        session.flush()


def _topic(entry: TimelineEntry) -> str | None:
    if entry.action is Action.verify:
        return "case.closed" if entry.to_status is CaseStatus.closed else "case.rework"
    return {Action.intake: "case.reported", Action.dispatch: "case.dispatched", Action.reassign: "case.dispatched",
            Action.return_: "case.returned", Action.close: "case.closed", Action.reject: "case.rejected",
            Action.merge: "case.merged", Action.summon: "case.summoned"}.get(entry.action)


def _announce(session: Session, case: Case, before: CaseState, state: CaseState, entry: TimelineEntry, *,
              reporter_user_id: int | None) -> None:
    """Put the domain event of a notable move in the outbox, in this same transaction. ``departments``
    names who must act now: those handling the case; the newly summoned ones for a summons; the next
    department when a report in series hands the case over. A return also names the department that
    returned it (``returned_by``) and the departments whose parts it ``withdrawn``, so they stop work."""
    topic = _topic(entry)
    departments = [a.department_code for a in state.assignments if a.status.value in ("dispatched", "in_progress")]
    if entry.action is Action.summon:
        departments = [call.department_code for call in state.summons if call not in before.summons]
    elif topic is None and entry.action is Action.report:
        waiting_before = {a.department_code for a in before.assignments if a.status.value != "dispatched"}
        departments = [a.department_code for a in state.assignments
                       if a.status.value == "dispatched" and a.department_code in waiting_before]
        topic = "case.dispatched" if departments else None
    if topic is None:
        return
    payload = {"title": case.title, "status": state.status.value, "action": entry.action.value,
               "departments": departments, "reporter_user_id": reporter_user_id, "reason": entry.reason}
    if entry.action is Action.return_:
        payload |= {"returned_by": entry.actor.department, "withdrawn": list(entry.data.get("withdrawn", ()))}
    outbox.emit(session, topic=topic, area_path=case.area_path, case_id=case.id, at=entry.at, payload=payload)


def _go_live(session: Session, case: Case, *, action: str, at: datetime) -> None:
    """Tell live screens (``cityops.live``) where the case stands after this unit of work's last move
    on it: one event per intake or action, not one per step of the intake pipeline."""
    live.publish(session, kind="case", area_path=case.area_path, payload={
        "case_id": case.id, "tracking_code": case.tracking_code, "version": case.version, "title": case.title,
        "status": case.status, "action": action, "channel": case.channel, "priority": case.priority,
        "report_count": case.report_count, "area_code": case.area_path.strip("/").split("/")[-1],
        "lon": case.lon, "lat": case.lat, "opened_at": case.opened_at.isoformat(), "at": at.isoformat()})


def act(session: Session, *, case: Case, action: Action, actor: Actor, at: datetime, calendar: WorkCalendar,
        reason: str | None = None, attachments: Sequence[str] = (), data: dict[str, Any] | None = None,
        viewer: Principal | None = None) -> Case:
    """Take one lifecycle action on ``case`` and record it. A merge's primary must be another case
    ``viewer`` (when given) can see, not itself merged; the primary counts the merged report (and
    stops counting it on an unmerge)."""
    held = _hold(session, case)
    following = held.state.duplicate_of
    if action is Action.rate and following is not None:
        followed = final_primary(session, case=case)
        if followed.status != CaseStatus.closed.value:
            raise Conflict("the case this report follows is not closed yet; rate it once it is",
                           code="illegal_transition")
    if action is Action.merge and data is not None and isinstance(data.get("primary"), str):
        data = {**data, "primary": _case_id_of_code(session, data["primary"])}
    try:
        new_state, entry = lifecycle.apply(held.state, action, actor=actor, at=at, reason=reason,
                                           attachments=attachments, data=data)
    except CityOpsError as refusal:
        _name_department(session, refusal)
        raise
    deadlines.check_moved_later(session, case=case, entry=entry, current=held.deadline)
    if action is Action.approve_extension and held.deadline is not None:
        entry = replace(entry, data={**entry.data, "replaced_deadline": deadlines.replaced(held.deadline)})
    primary = _merge_primary(session, case=case, primary_id=new_state.duplicate_of,
                             viewer=viewer) if action is Action.merge else None
    named_before = {a.department_code for a in held.state.assignments}
    for assignment in new_state.assignments:
        if assignment.department_code not in named_before:
            _check_department(session, case=case, code=assignment.department_code,
                              field="lead" if assignment.position == 0 else "assisting")
    for call in new_state.summons:
        if call not in held.state.summons:
            _check_department(session, case=case, code=call.department_code, field="departments")
    if action is Action.register and "category" in entry.data:
        # the operator files the case under its category as they register it (立案定类): the steps
        # from here on take that category's time limits, and the matrix routes by it
        filed = _category_in_service(session, entry.data["category"], field="category")
        if case.category_id is not None and case.category_id != filed:
            entry = replace(entry, data={**entry.data, "replaced_category": categories_service.code_of(
                session, category_id=case.category_id)})
        case.category_id = filed
    _record(session, case, held, new_state, entry, calendar)
    if primary is not None:
        _count_reports(session, primary, case.report_count)
    elif action is Action.unmerge and following is not None:
        _count_reports(session, session.get(Case, following), -case.report_count)
    _go_live(session, case, action=entry.action.value, at=entry.at)
    session.flush()
    return case


def _name_department(session: Session, refusal: CityOpsError) -> None:
    """A refusal of the pure rules that names a department by its code (a summons' deadline already past, a
    department summoned already …) names it by its name too (``department_name``), as the screens show it:
    staff know departments by name. A code no department has stands for itself."""
    code = refusal.extra.get("department")
    if not isinstance(code, str) or not code:
        return
    try:
        refusal.extra["department_name"] = org_service.get_department(session, code=code).name
    except NotFound:
        refusal.extra["department_name"] = code


def _category_in_service(session: Session, code: object, *, field: str) -> int:
    """The id of the category ``code`` names, which must exist and be in service."""
    if not isinstance(code, str) or not code.strip():
        raise InvalidInput("a category is named by its code", field=field)
    try:
        category = categories_service.get_category(session, code=code)
    except NotFound as error:
        raise NotFound(error.detail, code=error.code, field=field) from error
    if not category.active:
        raise InvalidInput(f"category {category.code} is out of service; choose one in service",
                           code="inactive_category", field=field)
    return categories_service.category_ids(session, codes=[category.code])[category.code]


def _check_department(session: Session, *, case: Case, code: str, field: str) -> None:
    """A department given a case must exist, be active and serve the place the case lies in."""
    try:
        department = org_service.get_department(session, code=code)
    except NotFound as error:
        raise NotFound(error.detail, code=error.code, field=field) from error
    if not department.active:
        raise Conflict(f"department {code} is inactive", code="department_inactive", field=field)
    serves = geo_service.area_key(session, area_id=department.area_id)
    if not case.area_path.startswith(serves.path):
        raise Conflict(f"department {code} serves {serves.code}, and the case lies outside it",
                       code="department_elsewhere", field=field)


def _case_id_of_code(session: Session, code: str) -> int:
    """The id of the case whose tracking code staff typed to name a merge's primary (the number they
    see on the case page); the timeline keeps the id, as it does for every case it names."""
    case_id = session.scalar(select(Case.id).where(Case.tracking_code == code.strip().upper()))
    if case_id is None:
        raise NotFound(f"no case with tracking code {code.strip()!r}", code="unknown_case", field="primary")
    return case_id


def _merge_primary(session: Session, *, case: Case, primary_id: int | None, viewer: Principal | None) -> Case:
    if primary_id == case.id:
        raise InvalidInput("a case cannot be merged into itself", code="merge_into_itself", field="primary")
    primary = session.get(Case, primary_id) if primary_id is not None else None
    if primary is None or (viewer is not None and not _visible(session, primary, viewer)):
        raise NotFound(f"no case {primary_id}", code="unknown_case", field="primary")
    if primary.duplicate_of_id is not None:
        raise Conflict(f"case {primary.id} is itself merged into case {primary.duplicate_of_id}; merge into that one",
                       code="primary_merged", field="primary")
    return primary


def _count_reports(session: Session, primary: Case, reports: int) -> None:
    """The reports a case stands for set its priority: each merged report raises it. A primary that
    is itself merged passes them on up to the case its reporters now follow, so a report counts
    once on every case it stands behind and leaves them all again on an unmerge."""
    while primary is not None:
        primary.report_count = max(1, primary.report_count + reports)
        primary.priority = duplicates.priority_for(primary.report_count)
        primary = session.get(Case, primary.duplicate_of_id) if primary.duplicate_of_id is not None else None


def final_primary(session: Session, *, case: Case) -> Case:
    """The case a report follows: the case it was merged into or, when that was merged in turn, the
    one at the end of the chain (the case itself when it is not merged). Merges never form a loop:
    a merged case cannot become a primary."""
    while case.duplicate_of_id is not None:
        case = session.get(Case, case.duplicate_of_id)
    return case


def tracking_codes(session: Session, *, case_ids: Collection[int]) -> dict[int, str]:
    """The tracking codes of these cases by id, in one query (none for no ids): how other cases are
    named to people, never by their ids."""
    if not case_ids:
        return {}
    return dict(session.execute(select(Case.id, Case.tracking_code).where(Case.id.in_(case_ids))).all())


def merged_reports(session: Session, *, case: Case) -> list[Case]:
    """The reports merged into ``case``, directly or through a case merged into it, oldest first:
    their reporters follow it."""
    merged = select(Case.id).where(Case.duplicate_of_id == case.id).cte("merged", recursive=True)
    merged = merged.union_all(select(Case.id).join(merged, Case.duplicate_of_id == merged.c.id))
    return list(session.scalars(select(Case).where(Case.id.in_(select(merged.c.id))).order_by(Case.id)))


def _act(session: Session, case: Case, held: _Held, action: Action, *, actor: Actor, at: datetime,
         calendar: WorkCalendar, reason: str | None = None, attachments: Sequence[str] = (),
         data: dict[str, Any] | None = None) -> None:
    new_state, entry = lifecycle.apply(held.state, action, actor=actor, at=at, reason=reason,
                                       attachments=attachments, data=data)
    _record(session, case, held, new_state, entry, calendar)


def _locate(locator: Locator, report: Report) -> tuple[Any, str | None]:
    if report.lon is None or report.lat is None:
        return None, None
    location = locator.locate(report.lon, report.lat)
    return location, location.placeholder


def intake(session: Session, *, report: Report, actor: Actor, receiver: Principal | None, locator: Locator,
           calendar: WorkCalendar, at: datetime, policy: IntakePolicy) -> IntakeResult:
    """Take in a report: the same report retried (same idempotency key, or same channel and external
    id) returns the first case. A new case is located, registered when its channel is trusted, then
    routed and dispatched when it has a category and a real location; every step is on the timeline.

    ``receiver`` is the staff member or system taking the report (None for a citizen): a located case
    must lie in its jurisdiction, and a case without a location belongs to the receiver's area."""
    existing = _existing(session, report)
    if existing is not None:
        return IntakeResult(existing, created=False)
    if (report.lon is None) != (report.lat is None):
        raise InvalidInput("give both lon and lat, or neither", field="lat" if report.lat is None else "lon")
    location, placeholder = _locate(locator, report)
    area = None
    if location is not None and location.leaf is not None and not placeholder:
        area = geo_service.area_key(session, area_id=location.leaf.id)
    by_address = locator.by_address(report.address) if location is None and report.address else None
    if by_address is not None:
        area = geo_service.area_key(session, area_id=by_address.chain[-1].id)
    if area is not None:
        area_path = area.path
        if receiver is not None and not receiver.covers(area_path):
            raise OutsideJurisdiction("the reported location lies outside your jurisdiction", field="lon")
    elif receiver is not None:
        area_path = receiver.area_path
    else:
        raise InvalidInput("a citizen's report needs a location inside the city", code="location_required",
                           field="lon")
    category_id = _category_in_service(session, report.category_code, field="category_code") \
        if report.category_code else None
    intake_data: dict[str, Any] = {"channel": report.channel.value}
    if by_address is not None:
        intake_data["located_by_address"] = {"named": list(by_address.named), "ambiguous": by_address.ambiguous}
    if report.media_url:
        intake_data["media_url"] = report.media_url
    if category_id is None and policy.suggester is not None:
        intake_data["suggested_categories"] = suggest_categories(session, policy.suggester,
                                                                 f"{report.title}\n{report.description}")
    state, entry = lifecycle.open_case(actor=actor, at=at, attachments=report.attachments, data=intake_data)
    case = Case(tracking_code=new_tracking_code(), channel=report.channel.value, external_id=report.external_id,
                idempotency_key=report.idempotency_key, status=state.status.value, version=state.version,
                title=report.title, description=report.description,
                category_id=category_id, category_source="reporter" if category_id else None,
                address=report.address, lon=report.lon, lat=report.lat, input_crs=report.input_crs,
                area_id=area.id if area else None,
                area_path=area_path, near_boundary=bool(location and location.near_boundary),
                placeholder=placeholder, reporter_name=report.reporter_name,
                reporter_phone=report.reporter_phone, opened_at=at, report_count=1, origin=report.origin)
    # The pipeline reads everything first, decides each move in memory, then writes the case with its
    # final state and all its rows at once.
    rule = dedup.rule_for(policy.duplicate_rules, categories_service.code_of(session, category_id=category_id)
                          if category_id else None, policy.duplicate_default)
    matches = dedup.find(session, case=case, rule=rule)
    primary = matches[0] if matches and matches[0].score >= policy.auto_merge_score else None
    trusted = report.channel.value in policy.trusted_channels
    route = (_route(session, case=case, area_code=area.code)
             if primary is None and trusted and policy.auto_dispatch and area is not None else None)
    held = _Held(state=state, assignments={}, deadline=None, fresh=True,
                 reporter_user_id=actor.id if actor.kind is ActorKind.user else None)
    with session.no_autoflush, collecting_rows(session) as collected:
        _record(session, case, held, state, entry, calendar)
        dedup.record(session, case=case, matches=matches, merged_into=primary.case_id if primary else None)
        if primary is not None:
            _merge_into(session, case, held, primary, at=at, calendar=calendar)
        elif trusted:
            _act(session, case, held, Action.register, actor=SYSTEM, at=at, calendar=calendar,
                 data={"why": f"{report.channel.value} is a trusted channel"})
            if route is not None:
                _act(session, case, held, Action.dispatch, actor=SYSTEM, at=at, calendar=calendar, reason=route.reason,
                     data={"lead": route.lead, "assisting": list(route.assisting), "mode": route.joint_mode.value,
                           "matched_area": route.matched_area, "fallback": route.fallback})
    rows = _take_new_rows(session, collected)
    try:  # no savepoint of its own: a failed intake fails its whole unit of work (or the caller's savepoint)
        _insert_case(session, case)
    except IntegrityError as error:  # the same report arrived twice at once: the other one won
        raise Conflict("this report is being taken in already; retry to get its case",
                       code="concurrent_intake") from error
    _insert_rows(session, rows, case_id=case.id)
    last = max(rows[CaseEvent], key=lambda entry: entry["version"])
    _go_live(session, case, action=last["action"], at=last["at"])
    return IntakeResult(case, created=True, written=rows, state=held.state)


def _take_new_rows(session: Session, collected: Mapping[type, list[SimpleNamespace]]
                   ) -> dict[type, list[dict[str, Any]]]:
    """The rows a new case's moves made (timeline, deadlines, assignments, outbox, duplicate
    suggestions), as values by model with every column: those ``collecting_rows`` gathered, and any
    ORM object added meanwhile, taken out of the session. The case is written with its final state
    first, then they are written with one executemany per table, as nothing reads their ids."""
    by_model = {model: [vars(row) for row in rows] for model, rows in collected.items()}
    for row in list(session.new):
        session.expunge(row)
        by_model.setdefault(type(row), []).append(with_defaults(type(row).__table__, {
            key: value for key, value in vars(row).items() if not key.startswith("_sa_")}))
    return by_model


def _insert_case(session: Session, case: Case) -> None:
    """Write a new case with one INSERT and keep it in the session as if it had been read: the ORM's
    flush of one new object cost three times the statement in bookkeeping."""
    values = with_defaults(Case.__table__, {key: value for key, value in vars(case).items()
                                            if not key.startswith("_sa_")})
    for key, value in values.items():
        if key not in case.__dict__:
            setattr(case, key, value)
    case.id = session.connection().execute(insert(Case), values).inserted_primary_key[0]
    make_transient_to_detached(case)
    session.add(case)


def _insert_rows(session: Session, rows: dict[type, list[dict[str, Any]]], *, case_id: int) -> None:
    """The driver's executemany per table (``cityops.bulk``): Core's insert spent more on each
    statement's parameters than the store took to write these few rows."""
    connection = session.connection()
    for model, values in rows.items():
        for row in values:
            row["case_id"] = case_id
        insert_values(connection, model.__table__, values)


def suggest_categories(session: Session, suggester: Callable[[str], list[tuple[str, float]]],
                       text: str) -> list[dict[str, Any]]:
    """The classifier's top categories for ``text`` that exist here, for the operator to confirm."""
    suggestions = []
    for label, score in suggester(text):
        code = categories_service.resolve_label(session, label=label)
        if code is not None:
            suggestions.append({"code": code, "label": label, "score": round(float(score), 4)})
    return suggestions


def training_examples(session: Session) -> tuple[list[str], list[str]]:
    """Texts and category codes of closed cases, for training the category classifier on the
    platform's own history."""
    rows = session.execute(select(Case.title, Case.description, Category.code).join(
        Category, Case.category_id == Category.id).where(Case.status == CaseStatus.closed.value)).all()
    return [f"{row.title}\n{row.description}" for row in rows], [row.code for row in rows]


def _merge_into(session: Session, case: Case, held: _Held, primary: Match, *, at: datetime,
                calendar: WorkCalendar) -> None:
    """Merge a new case into the open case it duplicates above the policy's score: its reporter then
    follows that case, whose priority rises with each report. (Below that score the candidates are
    kept as suggestions for the operator.) The reason names that case as staff know it, by its
    tracking code."""
    followed = session.get(Case, primary.case_id)
    _act(session, case, held, Action.merge, actor=SYSTEM, at=at, calendar=calendar,
         reason=f"与案件 {followed.tracking_code} 重复：相距 {primary.distance_m:.0f} 米、{primary.minutes:.0f} 分钟，"
                f"文字相似度 {primary.text_similarity:.0%}",
         data={"primary": primary.case_id, "score": primary.score})
    _count_reports(session, followed, case.report_count)


def _route(session: Session, *, case: Case, area_code: str) -> RouteDecision | None:
    """Who the responsibility matrix names for a case with a category and a real location. Cases
    without, or that nobody owns, stay registered for a dispatcher (the route preview endpoint shows
    why)."""
    if case.category_id is None or case.area_id is None:
        return None
    try:
        return responsibility.route_case(session, category_code=categories_service.code_of(
            session, category_id=case.category_id), area_code=area_code)
    except Unroutable:
        return None


def get_case(session: Session, *, case_id: int, viewer: Principal) -> Case:
    """A case the viewer may see: in its jurisdiction (a handler also sees what its department holds)."""
    case = session.get(Case, case_id)
    if case is None or not _visible(session, case, viewer):
        raise NotFound(f"no case {case_id}", code="unknown_case", field="case_id")
    return case


def _visible(session: Session, case: Case, viewer: Principal) -> bool:
    if viewer.covers(case.area_path):
        return True
    return viewer.department_code is not None and session.get(
        CaseAssignment, (case.id, viewer.department_code)) is not None


def by_tracking_code(session: Session, *, code: str) -> Case:
    case = session.scalar(select(Case).where(Case.tracking_code == code.strip().upper()))
    if case is None:
        raise NotFound("no case with this tracking code", code="unknown_tracking_code", field="tracking_code")
    return case


@dataclass(frozen=True)
class QueuePage:
    cases: list[Case]
    next_cursor: str | None
    """Where the next page starts; None on the last page."""


def queue_page(session: Session, *, viewer: Principal, queue: str | None = None, status: CaseStatus | None = None,
               channel: str | None = None, order: ordering.CaseOrder = ordering.CaseOrder.newest,
               cursor: str | None = None, limit: int = 50, now: datetime | None = None,
               text_query: str | None = None) -> QueuePage:
    """A page of the cases in the viewer's jurisdiction (or held by its department), in ``order``;
    pass the page's ``next_cursor`` as ``cursor`` for the next one. A cursor made for another order
    is bad input. In the ``summoned`` queue the deadline is the department's own to report in."""
    after = ordering.decode(cursor, order=order) if cursor is not None else None
    query = _cases_in_view(session, viewer=viewer, queue=queue, status=status, channel=channel, now=now,
                           text_query=text_query)
    if order is ordering.CaseOrder.deadline:
        running = _awaiting_report_in(viewer) if queue == "summoned" else CaseDeadline.department_code.is_(None)
        rows = _by_deadline(session, query, after=after, limit=limit, running=running)
    else:
        key = {ordering.CaseOrder.priority: Case.priority, ordering.CaseOrder.reports: Case.report_count}.get(order)
        if after is not None:
            query = query.where(ordering.after(after, case_id=Case.id, key=key))
        query = query.order_by(*ordering.order_by(order, case_id=Case.id, key=key)).limit(limit)
        rows = [(case, getattr(case, key.key) if key is not None else None) for case in session.scalars(query)]
    cases = [case for case, _ in rows]
    if len(rows) < limit:
        return QueuePage(cases, None)
    last, last_key = rows[-1]
    return QueuePage(cases, ordering.encode(ordering.Cursor(order, last_key, last.id)))


def queue_steps(session: Session, *, viewer: Principal, queue: str | None, case_ids: Sequence[int],
                now: datetime) -> dict[int, CaseDeadline]:
    """The step each case of a page of ``queue`` shows (``running_steps``): in the summoned queue, the
    viewer's department's to report in; in a department's overdue and supervised queues, its own late or
    supervised report-in where that, and not the case's step, is what put the case there."""
    steps = running_steps(session, case_ids=case_ids, summoned=viewer if queue == "summoned" else None)
    if queue not in {"overdue", "supervised"} or viewer.department_code is None or not case_ids:
        return steps
    if queue == "overdue":
        queued_by = select(CaseDeadline.id).where(CaseDeadline.case_id.in_(case_ids), CaseDeadline.met_at.is_(None),
                                                  CaseDeadline.due_at < now)
    else:
        queued_by = select(CaseDeadline.id).join(Supervision, Supervision.deadline_id == CaseDeadline.id).where(
            CaseDeadline.case_id.in_(case_ids), Supervision.closed_at.is_(None))
    queuing = session.scalars(select(CaseDeadline).where(CaseDeadline.id.in_(_of_department(
        viewer, queued_by, case_id=CaseDeadline.case_id))).order_by(CaseDeadline.due_at, CaseDeadline.id))
    own: dict[int, CaseDeadline] = {}
    at_case_step = set()
    for step in queuing:
        if step.department_code is None:
            at_case_step.add(step.case_id)
        else:
            own.setdefault(step.case_id, step)
    return steps | {case_id: step for case_id, step in own.items() if case_id not in at_case_step}


def _awaiting_report_in(viewer: Principal) -> ColumnElement[bool]:
    """The open deadlines of summonses of the viewer's department (none without a department)."""
    if viewer.department_code is None:
        return false()
    return and_(CaseDeadline.step == deadlines.REPORT_IN, CaseDeadline.department_code == viewer.department_code)


def _by_deadline(session: Session, query: Select, *, after: ordering.Cursor | None, limit: int,
                 running: ColumnElement[bool]) -> list[tuple[Case, datetime | None]]:
    """Cases with a ``running`` deadline open (the current step's, or a summoned department's to
    report in), soonest first, then those without one (closed, rejected, merged, deferred) by id: each
    part walks an index in order and stops at the page's end, where one sort over both would read
    every case in view."""
    open_step = and_(CaseDeadline.case_id == Case.id, CaseDeadline.met_at.is_(None), running)
    rows: list[tuple[Case, datetime | None]] = []
    if after is None or after.key is not None:
        due = query.join(CaseDeadline, open_step).add_columns(CaseDeadline.due_at)
        if after is not None:
            due = due.where(ordering.after(after, case_id=Case.id, key=CaseDeadline.due_at))
        order = ordering.order_by(ordering.CaseOrder.deadline, case_id=Case.id, key=CaseDeadline.due_at)
        rows = [(case, at) for case, at in session.execute(due.order_by(*order).limit(limit))]
    if len(rows) < limit:
        # from case_deadlines by name: with a condition that is false outright (a viewer without a department)
        # a bare EXISTS has no table to select from, which PostgreSQL refuses
        idle = query.where(~select(CaseDeadline.case_id).where(open_step).exists())
        if after is not None and after.key is None:
            idle = idle.where(ordering.after(after, case_id=Case.id, key=None))
        rows += [(case, None) for case in session.scalars(idle.order_by(Case.id).limit(limit - len(rows)))]
    return rows


def list_cases(session: Session, *, viewer: Principal, queue: str | None = None, status: CaseStatus | None = None,
               channel: str | None = None, limit: int = 50, now: datetime | None = None,
               text_query: str | None = None) -> list[Case]:
    """The first page of cases in the viewer's jurisdiction (or held by its department), newest first."""
    return queue_page(session, viewer=viewer, queue=queue, status=status, channel=channel, limit=limit, now=now,
                      text_query=text_query).cases


def _cases_in_view(session: Session, *, viewer: Principal, queue: str | None, status: CaseStatus | None,
                   channel: str | None, now: datetime | None, text_query: str | None) -> Select:
    if queue is not None and queue not in queues.QUEUES:
        raise InvalidInput(f"queue must be one of {', '.join(q for q in queues.QUEUES if q != 'all')}",
                           field="queue")
    # what a department holds is in its view wherever it lies: its own queues need no view of their own
    own = viewer.department_code is not None and queue in {"to_acknowledge", "to_handle", "department"}
    query = select(Case) if own else _in_view(viewer)
    if queue == "overdue":
        query = query.where(Case.id.in_(_of_department(viewer, select(CaseDeadline.case_id).where(
            CaseDeadline.met_at.is_(None), CaseDeadline.due_at < now), case_id=CaseDeadline.case_id)))
    elif queue == "supervised":
        query = query.where(Case.id.in_(_of_department(viewer, select(Supervision.case_id).join(
            CaseDeadline, CaseDeadline.id == Supervision.deadline_id).where(Supervision.closed_at.is_(None)),
            case_id=Supervision.case_id)))
    elif queue == "summoned":
        # the statuses a department may still report in from: a finished case chases nobody. Checked
        # inside the subquery, so the summonses (a few) lead rather than every case in those statuses.
        summoned = aliased(Case)
        query = query.where(Case.id.in_(select(CaseDeadline.case_id).join(summoned, summoned.id == CaseDeadline.case_id)
                                        .where(CaseDeadline.met_at.is_(None), _awaiting_report_in(viewer),
                                               summoned.status.in_([s.value for s in lifecycle.TABLE[
                                                   Action.report_in].sources]))))
    elif queue == "department":
        query = query.where(_held_or_summoned(viewer))
    elif queue in {"to_acknowledge", "to_handle"} and viewer.department_code is not None:
        # A department's own part decides: in joint handling one department may still have to
        # acknowledge while another has started (parallel) or just handed over to it (in series).
        wanted = "dispatched" if queue == "to_acknowledge" else "in_progress"
        query = query.where(Case.status.in_([CaseStatus.dispatched.value, CaseStatus.in_progress.value]),
                            Case.id.in_(select(CaseAssignment.case_id).where(
                                CaseAssignment.department_code == viewer.department_code,
                                CaseAssignment.status == wanted)))
    elif queue in queues.BY_STATUS:
        query = query.where(Case.status.in_([s.value for s in queues.BY_STATUS[queue]]))
    if status is not None:
        query = query.where(Case.status == status.value)
    if text_query:
        query = query.where(_text_filter(session, text_query))
    if channel is not None:
        query = query.where(Case.channel == channel)
    return query


def _of_department(viewer: Principal, steps: Select, *, case_id: ColumnElement[int]) -> Select | CompoundSelect:
    """``steps`` (a selection over ``case_deadlines``, whose case is ``case_id``) as the viewer sees them in
    its overdue and supervised queues: every one for operations-centre staff; for a member of a department,
    those its department has to take (``cases.queues``): its own (a summons' report-in), and the case's
    step while its part of the case is dispatched or in progress. Two parts, each looked up by the
    department (an OR of the two reads every step of the condition and misleads PostgreSQL's estimates);
    the part is joined on ``case_id`` so that a selection led by another table (the supervisions) can
    meet the department's parts before it reads the steps."""
    if viewer.department_code is None:
        return steps
    acting = and_(CaseAssignment.case_id == case_id,
                  CaseAssignment.department_code == viewer.department_code,
                  CaseAssignment.status.in_(queues.ACTING_PARTS))
    return union_all(steps.where(CaseDeadline.department_code == viewer.department_code),
                     steps.join(CaseAssignment, acting).where(CaseDeadline.department_code.is_(None)))


def _held_or_summoned(viewer: Principal) -> ColumnElement[bool]:
    """The cases in view that the viewer's department holds (dispatched to it, whatever its part's
    status) or was ever summoned to; none without a department."""
    if viewer.department_code is None:
        return false()
    return or_(Case.id.in_(select(CaseAssignment.case_id).where(
        CaseAssignment.department_code == viewer.department_code)), and_(Case.id.in_(select(CaseDeadline.case_id).where(
            CaseDeadline.step == deadlines.REPORT_IN, CaseDeadline.department_code == viewer.department_code)),
            Case.area_path.startswith(viewer.area_path, autoescape=True)))


def _in_view(viewer: Principal) -> Select:
    """The cases in the viewer's area, or held by its department. The department's hold is joined on its
    key (one row a case at most), not asked of a subquery beside the area: PostgreSQL cannot join
    through an OR of a subquery, so it read every assignment of the department and scanned the cases
    for each queue; joined, the queue's own condition leads and the hold is one index probe a case."""
    in_area = Case.area_path.startswith(viewer.area_path, autoescape=True)
    if viewer.department_code is None:
        return select(Case).where(in_area)
    held = aliased(CaseAssignment, name="held")
    return (select(Case).outerjoin(held, and_(held.case_id == Case.id, held.department_code == viewer.department_code))
            .where(in_area | held.case_id.is_not(None)))


TRIGRAM = 3


def _text_filter(session: Session, query: str):  # noqa: ANN202
    """Cases whose title or description contains every term of ``query``. Terms of three or more
    characters use the trigram index (FTS5 on SQLite, pg_trgm on PostgreSQL); shorter ones — common
    in Chinese, like 井盖 — fall back to a substring match within what the longer terms selected."""
    terms = [t for t in query.split() if t]
    if not terms:
        raise InvalidInput("give at least one search term", code="value_required", field="q")
    conditions = []
    long_terms = [t for t in terms if len(t) >= TRIGRAM]
    if long_terms and session.get_bind().dialect.name == "sqlite":
        phrase = " AND ".join('"' + t.replace('"', '""') + '"' for t in long_terms)
        conditions.append(Case.id.in_(select(text("rowid")).select_from(text("case_search")).where(
            text("case_search MATCH :phrase")).params(phrase=phrase)))
    text_of = Case.title + " " + Case.description
    for term in terms if session.get_bind().dialect.name != "sqlite" else [t for t in terms if len(t) < TRIGRAM]:
        conditions.append(text_of.icontains(term, autoescape=True))
    return and_(*conditions)


def count_cases(session: Session, *, viewer: Principal) -> dict[str, int]:
    rows = session.execute(select(Case.status, func.count()).where(
        Case.area_path.startswith(viewer.area_path, autoescape=True)).group_by(Case.status)).all()
    return {status: count for status, count in rows}


@dataclass(frozen=True)
class Queue:
    name: str
    count: int | None
    """How many cases it holds; None for ``all``, which is no piece of work to count down."""
    order: ordering.CaseOrder
    """The order to read it in unless the reader asks for another."""


def queues_of(session: Session, *, viewer: Principal, now: datetime) -> list[Queue]:
    """The queues the viewer works (``cases.queues.worked_by`` its roles), its own work first, each
    with the number of cases in it as ``queue_page`` would list them."""
    found = []
    for name in queues.worked_by(viewer.roles, in_department=viewer.department_code is not None):
        count = None
        if name != "all":
            query = _cases_in_view(session, viewer=viewer, queue=name, status=None, channel=None, now=now,
                                   text_query=None)
            count = session.scalar(select(func.count()).select_from(query.with_only_columns(Case.id).subquery()))
        found.append(Queue(name, count, ordering.CaseOrder(queues.DEFAULT_ORDER.get(name, "newest"))))
    return found


def statuses_of(session: Session, *, case_ids: Collection[int]) -> dict[int, str]:
    """The current status of each of ``case_ids`` that exists (for records linked to cases, such as
    warnings converted into cases)."""
    found: dict[int, str] = {}
    ids = sorted(set(case_ids))
    for first in range(0, len(ids), 500):
        found.update(session.execute(select(Case.id, Case.status).where(Case.id.in_(ids[first:first + 500]))).all())
    return found
