"""HTTP API of the closed loop: intake, queues, case detail and every lifecycle action; and the
citizen's side (report, follow, rate) by tracking code, without an account."""

from __future__ import annotations

from dataclasses import asdict, replace
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Header, Path, Query, Request, Response
from sqlalchemy.orm import Session

from cityops import ratelimit
from cityops.cases import deadlines as step_deadlines
from cityops.cases import dedup, public, queues, service
from cityops.cases.channels import Channel
from cityops.cases.lifecycle import Action, CaseStatus
from cityops.cases.models import Case, CaseAssignment, CaseDeadline, CaseEvent, DuplicateSuggestion
from cityops.cases.ordering import CaseOrder
from cityops.cases.schemas import (
    ActionIn,
    AssignmentOut,
    CaseDetail,
    CaseIn,
    CaseInQueue,
    CaseOut,
    CasePage,
    CaseRefOut,
    CitizenCaseIn,
    CitizenCaseOut,
    CitizenStepOut,
    DeadlineOut,
    DuplicateOut,
    EventOut,
    MergedReportOut,
    QueueOut,
    RatingIn,
)
from cityops.cases.states import ActorKind
from cityops.categories import service as categories_service
from cityops.classify.api import configured_model
from cityops.config import Settings
from cityops.deps import AppSettings, CurrentPrincipal, DbSession, Reader
from cityops.errors import NotFound, ServiceUnavailable
from cityops.geo import service as geo_service
from cityops.geo.coords import Crs, convert
from cityops.media import service as media
from cityops.org import service as org_service
from cityops.org.access import Principal

router = APIRouter(prefix="/api/v1", tags=["cases"])
QUEUE_PATTERN = "^(" + "|".join(name for name in queues.QUEUES if name != "all") + ")$"
CaseId = Annotated[int, Path(ge=1, le=2**31 - 1)]
TrackingCode = Annotated[str, Path(min_length=6, max_length=16, pattern=r"^[A-Za-z0-9]+$")]


def _now() -> datetime:
    return datetime.now(UTC)


def _out(session: Session, case: Case) -> CaseOut:
    return CaseOut(id=case.id, tracking_code=case.tracking_code, channel=case.channel, status=case.status,
                   version=case.version, title=case.title,
                   category_code=categories_service.code_of(session, category_id=case.category_id)
                   if case.category_id else None,
                   area_code=geo_service.area_key(session, area_id=case.area_id).code if case.area_id else None,
                   lon=case.lon, lat=case.lat, near_boundary=case.near_boundary, placeholder=case.placeholder,
                   priority=case.priority, report_count=case.report_count, rework_count=case.rework_count,
                   return_count=case.return_count, deferred=case.deferred, opened_at=case.opened_at,
                   closed_at=case.closed_at)


def _duplicates(session: Session, case: Case, viewer: Principal | None,
                suggestions: list[DuplicateSuggestion] | None = None) -> list[DuplicateOut]:
    shown = []
    for suggestion in dedup.suggestions(session, case=case) if suggestions is None else suggestions:
        candidate = session.get(Case, suggestion.candidate_id)
        if viewer is not None and not viewer.covers(candidate.area_path):
            continue
        shown.append(DuplicateOut(candidate_id=candidate.id, tracking_code=candidate.tracking_code,
                                  title=candidate.title, status=candidate.status,
                                  score=suggestion.score, distance_m=suggestion.distance_m,
                                  minutes=suggestion.minutes, text_similarity=suggestion.text_similarity,
                                  same_category=suggestion.same_category, merged=suggestion.merged))
    return shown


def _detail(session: Session, case: Case, viewer: Principal,
            taken_in: service.IntakeResult | None = None) -> CaseDetail:
    """The case with its assignments, deadlines, duplicate suggestions and timeline; for a case just
    taken in, from what was written (``taken_in``) rather than read back."""
    if taken_in is not None and taken_in.created:
        assignments = sorted(taken_in.rows(CaseAssignment), key=lambda a: a.position)
        steps = taken_in.rows(CaseDeadline)
        suggestions = sorted(taken_in.rows(DuplicateSuggestion), key=lambda d: -d.score)
        events = sorted(taken_in.rows(CaseEvent), key=lambda e: e.version)
        # a new case has no reports merged into it, and only ever merges into an open case
        merged, follows, state = [], case.duplicate_of_id, taken_in.state
    else:
        assignments, steps = service.assignments(session, case=case), service.deadlines_of(session, case=case)
        suggestions, events = None, service.timeline(session, case=case)
        merged, state = service.merged_reports(session, case=case), service.state_from(events)
        follows = service.final_primary(session, case=case).id if case.duplicate_of_id is not None else None
    partners = _merge_partners(events)
    # the other cases the page names, by tracking code: those it follows and the timeline's merges, in one query
    codes = service.tracking_codes(session, case_ids={*partners.values(), *(
        other for other in (case.duplicate_of_id, follows) if other is not None)})
    return CaseDetail(**_out(session, case).model_dump(), description=case.description, address=case.address,
                      reporter_name=case.reporter_name, reporter_phone=case.reporter_phone,
                      assignments=[AssignmentOut(department_code=a.department_code, role=a.role, position=a.position,
                                                 status=a.status) for a in assignments],
                      deadlines=[DeadlineOut(**row) for row in step_deadlines.shown(steps, events)],
                      duplicates=_duplicates(session, case, viewer, suggestions), duplicate_of=case.duplicate_of_id,
                      duplicate_of_tracking_code=codes.get(case.duplicate_of_id) if case.duplicate_of_id else None,
                      follows=follows, follows_tracking_code=codes.get(follows) if follows is not None else None,
                      merged_reports=[MergedReportOut(id=m.id, tracking_code=m.tracking_code, channel=m.channel,
                                                      title=m.title, reporter_name=m.reporter_name,
                                                      reporter_phone=m.reporter_phone, opened_at=m.opened_at,
                                                      merged_into=m.duplicate_of_id)
                                      for m in merged if viewer is None or viewer.covers(m.area_path)],
                      timeline=_timeline(session, events, partners, codes),
                      available_actions=list(service.available_actions(viewer, state=state,
                                                                       at=_now())))


def _user_of(event: CaseEvent) -> tuple[int, str] | None:
    """The user who made an entry, as (id, username), if a user made it."""
    if event.actor_kind != ActorKind.user.value or event.actor_id is None or not event.actor_id.isdigit():
        return None
    return int(event.actor_id), event.actor_name


def _merge_partners(events: list[CaseEvent]) -> dict[int, int]:
    """The case each merge and unmerge entry is about, by the entry's version: a merge's primary; for an
    unmerge, the primary of the merge it undid."""
    partners: dict[int, int] = {}
    merged_into: int | None = None
    for event in events:
        if event.action == Action.merge.value and isinstance(event.data.get("primary"), int):
            merged_into = partners[event.version] = event.data["primary"]
        elif event.action == Action.unmerge.value and merged_into is not None:
            partners[event.version], merged_into = merged_into, None
    return partners


def _timeline(session: Session, events: list[CaseEvent], partners: dict[int, int],
              codes: dict[int, str]) -> list[EventOut]:
    """The entries as recorded, each with the name to show for its actor (users by their current display
    names, looked up together) and, for a merge or an unmerge, the other case with its tracking code
    (``partners`` and ``codes``: read with the page's other cases)."""
    by_user = [(event, _user_of(event)) for event in events]
    shown = org_service.display_names(session, users={user for _, user in by_user if user is not None})

    def primary_case(event: CaseEvent) -> CaseRefOut | None:
        other = partners.get(event.version)
        return CaseRefOut(id=other, tracking_code=codes[other]) if other in codes else None

    return [EventOut(version=e.version, action=e.action, from_status=e.from_status, to_status=e.to_status,
                     actor_kind=e.actor_kind, actor_role=e.actor_role, actor_name=e.actor_name,
                     actor_display_name=shown.get(user, e.actor_name) if user else e.actor_name,
                     actor_department=e.actor_department, at=e.at, reason=e.reason, attachments=e.attachments,
                     data=e.data, primary_case=primary_case(e))
            for e, user in by_user]


def _policy(request: Request, settings: Settings) -> service.IntakePolicy:
    """Intake policy from settings, with the category classifier loaded once per process. A model
    that cannot be read costs the report its suggested category, never the report itself: the
    problem is logged (by ``configured_model``) and the operator picks the category."""
    policy = service.IntakePolicy.from_settings(settings)
    try:
        loaded = configured_model(request, settings)
    except ServiceUnavailable:
        return policy
    if loaded is None:
        return policy
    return replace(policy, suggester=lambda text: [(s.label, s.score) for s in loaded.suggest(text)])


def _wgs84(lon: float | None, lat: float | None, crs: Crs) -> tuple[float | None, float | None]:
    if lon is None or lat is None:
        return lon, lat
    return convert(lon, lat, source=crs, target=Crs.wgs84)


@router.post("/cases", response_model=CaseDetail, status_code=201, summary="Take in a report",
             responses={200: {"model": CaseDetail, "description": "a retried report: its first case"}})
def create_case(request: Request, session: DbSession, settings: AppSettings, principal: CurrentPrincipal,
                body: CaseIn, idempotency_key: Annotated[str | None, Header(max_length=128)] = None) -> Response:
    """Register a report from any channel. Retrying with the same `Idempotency-Key`, or the same
    channel and `external_id`, returns the first case (200) and never creates a second."""
    lon, lat = _wgs84(body.lon, body.lat, body.crs)
    report = service.Report(channel=body.channel, title=body.title, description=body.description,
                            category_code=body.category_code, lon=lon, lat=lat, input_crs=body.crs.value,
                            address=body.address, reporter_name=body.reporter_name,
                            reporter_phone=body.reporter_phone, external_id=body.external_id,
                            idempotency_key=idempotency_key,
                            attachments=tuple(media.require_all(session, body.attachments)))
    result = service.intake(session, report=report, actor=service.actor_for(principal, Action.intake),
                            receiver=principal, locator=request.app.state.locators.get(session),
                            calendar=request.app.state.calendars.get(session), at=_now(),
                            policy=_policy(request, settings))
    # answered as JSON here: returned as a model, the answer would be validated again, on a second
    # trip through the thread pool, though it was made from checked values a line above
    return Response(_detail(session, result.case, principal, result).model_dump_json(by_alias=True),
                    status_code=201 if result.created else 200, media_type="application/json")


@router.get("/cases", response_model=CasePage, summary="Cases in your jurisdiction, by work queue")
def list_cases(session: DbSession, viewer: Reader,
               queue: Annotated[str | None, Query(pattern=QUEUE_PATTERN)] = None,
               status: CaseStatus | None = None, channel: Channel | None = None,
               q: Annotated[str | None, Query(min_length=1, max_length=200,
                                              description="words in the title or description (中文 works)")] = None,
               sort: Annotated[CaseOrder, Query(description=(
                   "newest or oldest opened first; deadline: the current step's deadline soonest first (cases "
                   "without a running one last); priority or reports: highest first. Ties go by case id, "
                   "oldest first (newest first for newest)"))] = CaseOrder.newest,
               cursor: Annotated[str | None, Query(min_length=1, max_length=200,
                                                   description="a page's `next_cursor`, for the same sort")] = None,
               limit: Annotated[int, Query(ge=1, le=200)] = 50) -> CasePage:
    now = _now()
    page = service.queue_page(session, viewer=viewer, queue=queue, status=status,
                              channel=channel.value if channel else None, order=sort, cursor=cursor, limit=limit,
                              now=now, text_query=q)
    steps = service.queue_steps(session, viewer=viewer, queue=queue, case_ids=[case.id for case in page.cases],
                                now=now)
    items = []
    for case in page.cases:
        step = steps.get(case.id)
        items.append(CaseInQueue(**_out(session, case).model_dump(), step=step.step if step else None,
                                 step_due_at=step.due_at if step else None,
                                 overdue=step is not None and (step.overdue_at is not None or step.due_at <= now)))
    return CasePage(items=items, next_cursor=page.next_cursor)


@router.get("/cases/queues", response_model=list[QueueOut], summary="Your work queues, with the cases in each")
def list_queues(session: DbSession, viewer: Reader) -> list[QueueOut]:
    """The queues your roles work, your own work first: those whose next step one of your roles may
    take (the transition table's roles: an operator registers, a dispatcher dispatches, a handler
    acknowledges, handles and reports in to summonses, an inspector verifies), then your department's
    (`summoned`: summonses it has still to report in to, its deadline soonest first; `department`:
    every case it holds or was summoned to), then the shared ones (`overdue`, `supervised`, `all`).
    Each counts the cases `GET /cases?queue=…` lists (`all`: not counted)."""
    return [QueueOut(name=q.name, count=q.count, sort=q.order)
            for q in service.queues_of(session, viewer=viewer, now=_now())]


@router.get("/cases/{case_id}", response_model=CaseDetail, summary="A case with its timeline")
def get_case(session: DbSession, viewer: Reader, case_id: CaseId) -> CaseDetail:
    return _detail(session, service.get_case(session, case_id=case_id, viewer=viewer), viewer)


@router.post("/cases/{case_id}/actions/{action}", response_model=CaseDetail,
             summary="Take a lifecycle action (register, dispatch, acknowledge, return, report, verify …)")
def take_action(request: Request, session: DbSession, principal: CurrentPrincipal, case_id: CaseId,
                action: Action, body: ActionIn) -> CaseDetail:
    """Each action is allowed only to the roles of the transition table, in the case's jurisdiction
    (a handler: for a department the case is assigned to). Illegal moves answer 409
    `illegal_transition`; a missing reason 422 with `field: reason`."""
    case = service.get_case(session, case_id=case_id, viewer=principal)
    service.act(session, case=case, action=action, actor=service.actor_for(
        principal, action, department=body.department_code), at=_now(),
        calendar=request.app.state.calendars.get(session), reason=body.reason,
        attachments=media.require_all(session, body.attachments), data=body.data, viewer=principal)
    return _detail(session, case, principal)


def _citizen_view(session: Session, case: Case) -> CitizenCaseOut:
    """What a reporter sees (``cases.public``); a report merged into another case follows that case from then
    on (and, when that case is merged in turn, the case at the end of the chain)."""
    names: dict[str, str | None] = {}

    def department_name(code: str) -> str | None:
        if code not in names:
            try:
                names[code] = org_service.get_department(session, code=code).name
            except NotFound:
                names[code] = None
        return names[code]

    entries = service.timeline(session, case=case)
    followed = service.final_primary(session, case=case)
    if followed is not case:
        entries += [e for e in service.timeline(session, case=followed)
                    if e.action != "intake" and e.at >= case.opened_at]
    steps = public.citizen_steps(entries, department_name=department_name)
    progress = [CitizenStepOut(**asdict(step)) for step in steps]
    return CitizenCaseOut(tracking_code=case.tracking_code, status=followed.status, title=case.title,
                          opened_at=case.opened_at, closed_at=followed.closed_at, rating=case.rating,
                          progress=progress)


@router.post("/public/cases", response_model=CitizenCaseOut, status_code=201, tags=["citizens"],
             summary="A citizen reports a problem (no account needed)",
             responses={200: {"model": CitizenCaseOut, "description": "a retried report: its first case"}})
def citizen_report(request: Request, response: Response, session: DbSession, settings: AppSettings,
                   body: CitizenCaseIn,
                   idempotency_key: Annotated[str | None, Header(max_length=128)] = None) -> CitizenCaseOut:
    """Rate-limited per client address (429 with Retry-After); a retry with the same Idempotency-Key
    returns the first case."""
    ratelimit.take(request.app.state, "citizen_reports", ratelimit.client_address(request))
    lon, lat = _wgs84(body.lon, body.lat, body.crs)
    report = service.Report(channel=Channel.citizen_photo, title=body.title, description=body.description,
                            category_code=body.category_code, lon=lon, lat=lat, input_crs=body.crs.value,
                            address=body.address, reporter_phone=body.reporter_phone,
                            idempotency_key=idempotency_key,
                            attachments=tuple(media.require_all(session, body.attachments)))
    result = service.intake(session, report=report, actor=service.actor_for(None, Action.intake), receiver=None,
                            locator=request.app.state.locators.get(session),
                            calendar=request.app.state.calendars.get(session), at=_now(),
                            policy=_policy(request, settings))
    if not result.created:
        response.status_code = 200
    return _citizen_view(session, result.case)


@router.get("/public/cases/{tracking_code}", response_model=CitizenCaseOut, tags=["citizens"],
            summary="Follow a case by its tracking code")
def citizen_follow(session: DbSession, tracking_code: TrackingCode) -> CitizenCaseOut:
    return _citizen_view(session, service.by_tracking_code(session, code=tracking_code))


@router.get("/public/cases/{tracking_code}/photos/{sha256}", tags=["citizens"],
            summary="A photo of the handling result shown on a case's page",
            responses={200: {"content": {"image/jpeg": {}, "image/png": {}}, "description": "the photo"}})
def citizen_photo(request: Request, session: DbSession, tracking_code: TrackingCode,
                  sha256: Annotated[str, Path(pattern=r"^[0-9a-fA-F]{64}$")]) -> Response:
    """Only the photos the case's page shows (404 `unknown_attachment` for any other file)."""
    shown = {photo for step in _citizen_view(session, service.by_tracking_code(session, code=tracking_code)).progress
             for photo in step.photos}
    if sha256.lower() not in shown:
        raise NotFound("no such photo on this case", code="unknown_attachment", field="sha256")
    attachment = media.get(session, sha256=sha256)
    return request.app.state.blobs.response(attachment.sha256, attachment.media_type)


@router.post("/public/cases/{tracking_code}/rating", response_model=CitizenCaseOut, tags=["citizens"],
             summary="Rate a closed case (1–5)")
def citizen_rate(request: Request, session: DbSession, tracking_code: TrackingCode,
                 body: RatingIn) -> CitizenCaseOut:
    ratelimit.take(request.app.state, "citizen_ratings", ratelimit.client_address(request))
    case = service.by_tracking_code(session, code=tracking_code)
    data = {"score": body.score} | ({"comment": body.comment} if body.comment else {})
    service.act(session, case=case, action=Action.rate, actor=service.actor_for(None, Action.rate), at=_now(),
                calendar=request.app.state.calendars.get(session), data=data)
    return _citizen_view(session, case)

