"""HTTP API of warning rules and warnings.

Rules are managed by administrators: create (the definition is checked by ``rules.Rule``), list,
deactivate, and a dry run that replays a device metric's stored readings through a rule. Warnings are
read by anyone who reads records, in their jurisdiction only, with their history; people move them as
``warnings.TABLE`` says: operators and dispatchers acknowledge, close as a false alarm (with a reason)
or convert into a case, which is opened through the closed loop on the ``iot_warning`` channel.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from cityops.cases import service as cases_service
from cityops.deps import AppSettings, CurrentPrincipal, DbSession, Reader
from cityops.errors import PermissionDenied
from cityops.org import service as org_service
from cityops.org.access import Principal
from cityops.org.roles import Role
from cityops.problems import problem_responses
from cityops.sensing import alerting, authors
from cityops.sensing import devices as registry
from cityops.sensing.models import SensingRule, SilenceRow, WarningEntryRow, WarningRow
from cityops.sensing.rules import RuleEvent, WarningLevel
from cityops.sensing.warnings import WarningAction, WarningStatus
from cityops.times import zoned

router = APIRouter(prefix="/api/v1", tags=["warnings"])
READS = problem_responses(401, 403, 404, 422)
WRITES = problem_responses(401, 403, 404, 409, 422)


def _administrator(principal: CurrentPrincipal) -> Principal:
    if Role.administrator not in principal.roles:
        raise PermissionDenied("only administrators manage warning rules", code="role_not_allowed")
    return principal


Administrator = Annotated[Principal, Depends(_administrator)]
RuleId = Annotated[int, Path(ge=1, le=2**31 - 1)]
WarningId = Annotated[int, Path(ge=1, le=2**31 - 1)]


class RuleIn(BaseModel):
    code: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")
    name: str = Field(min_length=1, max_length=200)
    definition: dict[str, Any] = Field(description=(
        "kind (threshold, rate, no_data), metric, scope {device_type, area, indicator}, comparison (above, "
        "below), levels [{level, fire_at, clear_at}], silence_levels [{level, after_s}], for_s, clear_for_s, "
        "rate_window_s, rate_per_s, allowed_lateness_s, open_case_from, case_category"),
        examples=[{"kind": "threshold", "metric": "water_level", "scope": {"device_type": "wl", "area": "99010101"},
                   "levels": [{"level": "yellow", "fire_at": 3.0, "clear_at": 2.8}], "for_s": 120}])


class RuleOut(BaseModel):
    id: int
    code: str
    name: str
    kind: str
    metric: str | None
    definition: dict[str, Any]
    active: bool
    author: str = Field(description="as recorded: a user's login name, an API client's or a system's name")
    author_display_name: str = Field(description="the name to show: the current display name of the user who "
                                                 "wrote it, else the author")
    created_at: datetime
    deactivated_at: datetime | None


class DryRunIn(BaseModel):
    device: str = Field(min_length=1, max_length=64)
    metric: str | None = Field(None, max_length=64, description="default: the rule's metric")
    since: datetime
    until: datetime


class EventOut(BaseModel):
    kind: str
    at: datetime
    level: WarningLevel | None
    previous_level: WarningLevel | None
    value: float | None


class EpisodeOut(BaseModel):
    fired_at: datetime
    cleared_at: datetime | None
    first_level: WarningLevel
    peak_level: WarningLevel


class DryRunOut(BaseModel):
    rule: str
    device: str
    metric: str
    events: list[EventOut]
    episodes: list[EpisodeOut]


class EntryCauseOut(BaseModel):
    """Why a case was not opened, for a screen to say in its language (problem.* by ``code``, as a refused
    call); ``reason`` gives the same in the API's English."""

    code: str = Field(description="the refusal's problem code (internal for a fault of the platform's own)")
    values: dict[str, str | int | float] = Field(description="the members of the problem that its text names")
    failures: int = Field(description="failed openings in a row, this one included")
    next_attempt_at: datetime = Field(description="when the case is tried again")


class EntryOut(BaseModel):
    version: int
    action: str
    from_status: str | None
    to_status: str
    from_level: str | None
    to_level: str
    actor_role: str
    actor_name: str = Field(description="as recorded: a user's login name, or \"system\"")
    actor_display_name: str = Field(description="the name to show: a user's current display name, else actor_name")
    at: datetime
    reason: str | None
    cause: EntryCauseOut | None = Field(description="of a failed case opening (case_not_opened): its reason's parts; "
                                                    "null for other entries and those recorded before it was kept")
    value: float | None
    case_id: int | None


class WarningOut(BaseModel):
    id: int
    rule: str
    rule_name: str
    origin: str
    origin_name: str | None = Field(description="the device's name, or the area's for an indicator's warning")
    metric: str
    unit: str | None = Field(description="the unit of value: the device type's for its metric, or the indicator's")
    status: WarningStatus
    level: WarningLevel
    peak_level: WarningLevel
    value: float | None
    area_code: str
    area_name: str | None = Field(description="the name of that area: the board names a warning by it, its rule's "
                                              "name and level (外滩街道 河道水位超限黄色预警)")
    fired_at: datetime
    updated_at: datetime
    closed_at: datetime | None
    case_id: int | None = Field(description="the warning's case, opened by its rule (the warning keeps its status and "
                                            "goes on following its readings) or converted by a person (converted)")
    case_tracking_code: str | None = Field(description="that case's tracking code, the one queues and case pages "
                                                       "name it by")
    entries: list[EntryOut]


class WarningPage(BaseModel):
    items: list[WarningOut]
    total: int
    limit: int
    offset: int


class ReasonIn(BaseModel):
    reason: str = Field(min_length=1, max_length=2000)


class ConvertIn(BaseModel):
    category_code: str | None = Field(None, max_length=64, description="default: the rule's case category")


def _now() -> datetime:
    return datetime.now(UTC)


def _rule_out(row: SensingRule, author_shown: str) -> RuleOut:
    return RuleOut(id=row.id, code=row.code, name=row.name, kind=row.kind, metric=row.metric,
                   definition=row.definition, active=row.active, author=row.author,
                   author_display_name=author_shown, created_at=row.created_at, deactivated_at=row.deactivated_at)


def _rules_out(session: Session, rows: list[SensingRule]) -> list[RuleOut]:
    return [_rule_out(row, shown) for row, shown in zip(rows, authors.shown(session, rows), strict=True)]


def _user_of(entry: WarningEntryRow) -> tuple[int, str] | None:
    """The user who made a warning's entry, as (id, username): people act in their staff roles, the system
    and API clients in the system role."""
    if entry.actor_role == Role.system or entry.actor_id is None or not entry.actor_id.isdigit():
        return None
    return int(entry.actor_id), entry.actor_name


def _actors(session: Session, entries: list[WarningEntryRow]) -> dict[tuple[int, str], str]:
    """The current display names of the users who made ``entries``, looked up together."""
    return org_service.display_names(session, users={user for entry in entries if (user := _user_of(entry))})


def _actor_shown(entry: WarningEntryRow, actors: dict[tuple[int, str], str]) -> str:
    user = _user_of(entry)
    return actors.get(user, entry.actor_name) if user else entry.actor_name


def _warning_out(row: WarningRow, case_code: str | None, words: alerting.WarningWords,
                 entries: list[WarningEntryRow], actors: dict[tuple[int, str], str]) -> WarningOut:
    return WarningOut(id=row.id, rule=row.labels["rule"], rule_name=words.rule_name, origin=row.origin,
                      origin_name=words.origin_name, metric=row.metric, unit=words.unit,
                      status=WarningStatus(row.status), level=WarningLevel(row.level),
                      peak_level=WarningLevel(row.peak_level), value=row.value,
                      area_code=row.area_path.strip("/").split("/")[-1], area_name=words.area_name,
                      fired_at=row.fired_at, updated_at=row.updated_at, closed_at=row.closed_at, case_id=row.case_id,
                      case_tracking_code=case_code,
                      entries=[EntryOut(version=e.version, action=e.action, from_status=e.from_status,
                                        to_status=e.to_status, from_level=e.from_level, to_level=e.to_level,
                                        actor_role=e.actor_role, actor_name=e.actor_name,
                                        actor_display_name=_actor_shown(e, actors), at=e.at, reason=e.reason,
                                        cause=e.cause, value=e.value, case_id=e.case_id) for e in entries])


def _one(session: Session, row: WarningRow) -> WarningOut:
    entries = alerting.entries_of(session, warning_ids=[row.id])[row.id]
    return _warning_out(row, alerting.case_tracking_code(session, row=row), alerting.words_of(session, [row])[row.id],
                        entries, _actors(session, entries))


def _event_out(event: RuleEvent) -> EventOut:
    return EventOut(kind=event.kind.value, at=event.at, level=event.level, previous_level=event.previous_level,
                    value=event.value)


@router.post("/rules", response_model=RuleOut, status_code=201, summary="Add a warning rule", responses=WRITES)
def create_rule(session: DbSession, admin: Administrator, body: RuleIn) -> RuleOut:
    row = alerting.create_rule(session, code=body.code, name=body.name, definition=body.definition, author=admin)
    return _rules_out(session, [row])[0]


@router.get("/rules", response_model=list[RuleOut], summary="Warning rules", responses=READS)
def list_rules(session: DbSession, _: Administrator, active: bool | None = None) -> list[RuleOut]:
    return _rules_out(session, alerting.list_rules(session, active=active))


@router.post("/rules/{rule_id}/deactivate", response_model=RuleOut, summary="Stop evaluating a rule",
             responses=WRITES)
def deactivate_rule(session: DbSession, _: Administrator, rule_id: RuleId) -> RuleOut:
    row = alerting.get_rule(session, rule_id=rule_id)
    return _rules_out(session, [alerting.deactivate_rule(session, row=row, at=_now())])[0]


@router.post("/rules/{rule_id}/dry-run", response_model=DryRunOut,
             summary="Replay a device metric's stored readings through a rule", responses=WRITES)
def dry_run(session: DbSession, admin: Administrator, rule_id: RuleId, body: DryRunIn) -> DryRunOut:
    """When the rule would have fired, changed level and cleared over ``[since, until)``; nothing is stored."""
    row = alerting.get_rule(session, rule_id=rule_id)
    device = registry.get_device(session, code=body.device, viewer=admin)
    since, until = zoned(body.since, "since"), zoned(body.until, "until")
    metric = body.metric or row.metric
    replay = alerting.dry_run(session, row=row, device=device, metric=metric, since=since, until=until)
    return DryRunOut(rule=row.code, device=device.code, metric=metric,
                     events=[_event_out(event) for event in replay.events],
                     episodes=[EpisodeOut(**episode.__dict__) for episode in replay.episodes])


@router.get("/warnings", response_model=WarningPage, summary="Warnings in your jurisdiction, with their history",
            responses=READS)
def list_warnings(
    session: DbSession,
    viewer: Reader,
    status: WarningStatus | None = None,
    level: WarningLevel | None = None,
    rule: Annotated[str | None, Query(max_length=64, description="rule code")] = None,
    area: Annotated[str | None, Query(max_length=64, description="only warnings under this area")] = None,
    since: Annotated[datetime | None, Query(description="fired at or after")] = None,
    until: Annotated[datetime | None, Query(description="fired before")] = None,
    has_case: Annotated[bool | None, Query(description="with a case (opened by the rule or converted by a person, "
                                                       "alike) or without one")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> WarningPage:
    rows, total = alerting.list_warnings(session, viewer=viewer, status=status, level=level, rule_code=rule,
                                         area_code=area, since=zoned(since, "since"), until=zoned(until, "until"),
                                         has_case=has_case, limit=limit, offset=offset)
    entries = alerting.entries_of(session, warning_ids=[row.id for row, _ in rows])
    words = alerting.words_of(session, [row for row, _ in rows])
    actors = _actors(session, [entry for listed in entries.values() for entry in listed])
    return WarningPage(items=[_warning_out(row, code, words[row.id], entries[row.id], actors) for row, code in rows],
                       total=total, limit=limit, offset=offset)


@router.get("/warnings/{warning_id}", response_model=WarningOut, summary="One warning with its history",
            responses=READS)
def get_warning(session: DbSession, viewer: Reader, warning_id: WarningId) -> WarningOut:
    return _one(session, alerting.get_warning(session, warning_id=warning_id, viewer=viewer))


@router.post("/warnings/{warning_id}/acknowledge", response_model=WarningOut,
             summary="Acknowledge a warning (研判 begins)", responses=WRITES)
def acknowledge(session: DbSession, viewer: Reader, warning_id: WarningId) -> WarningOut:
    row = alerting.get_warning(session, warning_id=warning_id, viewer=viewer)
    return _one(session, alerting.act(session, row=row, action=WarningAction.acknowledge, viewer=viewer, at=_now()))


@router.post("/warnings/{warning_id}/false-alarm", response_model=WarningOut,
             summary="Close a warning as a false alarm, with the reason", responses=WRITES)
def close_false_alarm(session: DbSession, viewer: Reader, warning_id: WarningId, body: ReasonIn) -> WarningOut:
    row = alerting.get_warning(session, warning_id=warning_id, viewer=viewer)
    return _one(session, alerting.act(session, row=row, action=WarningAction.close_false_alarm, viewer=viewer,
                                      at=_now(), reason=body.reason))


@router.post("/warnings/{warning_id}/convert-to-case", response_model=WarningOut,
             summary="Open a case for the warning through the closed loop", responses=WRITES)
def convert_to_case(request: Request, session: DbSession, settings: AppSettings, viewer: Reader, warning_id: WarningId,
                    body: ConvertIn | None = None) -> WarningOut:
    row = alerting.get_warning(session, warning_id=warning_id, viewer=viewer)
    row = alerting.convert_to_case(session, row=row, viewer=viewer, at=_now(),
                                   locator=request.app.state.locators.get(session),
                                   calendar=request.app.state.calendars.get(session),
                                   policy=cases_service.IntakePolicy.from_settings(settings),
                                   category_code=body.category_code if body else None)
    return _one(session, row)


SilenceId = Annotated[int, Path(ge=1, le=2**31 - 1)]


class SilenceIn(BaseModel):
    matchers: dict[str, str] = Field(description="labels to match, all of them: rule, kind, origin (the device), "
                                                 "device_type, indicator, station, area (and everything in it); "
                                                 "without area: your own area",
                                     examples=[{"rule": "wl-high", "area": "99010101"}])
    starts_at: datetime | None = Field(None, description="default: now")
    ends_at: datetime
    reason: str = Field(min_length=1, max_length=2000)


class SilenceOut(BaseModel):
    id: int
    matchers: dict[str, str]
    starts_at: datetime
    ends_at: datetime
    author: str = Field(description="as recorded: a user's login name, or an API client's name")
    author_display_name: str = Field(description="the name to show: the current display name of the user who set "
                                                 "it, else the author")
    reason: str


def _silences(session: Session, rows: list[SilenceRow]) -> list[SilenceOut]:
    return [SilenceOut(id=row.id, matchers={label: value for label, value in row.matchers}, starts_at=row.starts_at,
                       ends_at=row.ends_at, author=row.author, author_display_name=shown, reason=row.reason)
            for row, shown in zip(rows, authors.shown(session, rows), strict=True)]


@router.post("/silences", response_model=SilenceOut, status_code=201, responses=WRITES,
             summary="Mute matching warnings' notifications for a time, with the reason")
def create_silence(session: DbSession, viewer: Reader, body: SilenceIn) -> SilenceOut:
    row = alerting.create_silence(session, matchers=list(body.matchers.items()), starts_at=body.starts_at or _now(),
                                  ends_at=body.ends_at, reason=body.reason, author=viewer)
    return _silences(session, [row])[0]


@router.get("/silences", response_model=list[SilenceOut], responses=READS,
            summary="Silences set in your jurisdiction (current ones, or all with current=false)")
def list_silences(session: DbSession, viewer: Reader, current: bool = True) -> list[SilenceOut]:
    return _silences(session, alerting.list_silences(session, viewer=viewer, at=_now(), current=current))


@router.post("/silences/{silence_id}/end", response_model=SilenceOut, responses=WRITES,
             summary="End a silence now")
def end_silence(session: DbSession, viewer: Reader, silence_id: SilenceId) -> SilenceOut:
    return _silences(session, [alerting.end_silence(session, silence_id=silence_id, viewer=viewer, at=_now())])[0]
