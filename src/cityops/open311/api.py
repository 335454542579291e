"""Open311 GeoReport v2 at ``/open311/v2/``: discovery, services, service definitions, POST and GET
requests and tokens, each as ``.json`` and ``.xml``.

Each operation is written once, returning the JSON shape of its answer; a loop mounts it twice, one
route per format, so the OpenAPI document declares the exact media type (``application/json`` or
``text/xml``) of every answer. Errors take the spec's shape in the route's format (``[{"code",
"description"}]`` / ``<errors><error>``) with the spec's statuses: 404 for an unknown service, request
or token, 403 for a wrong ``api_key``, 400 for any other bad request, and 429 when an anonymous client
submits too fast.

``POST requests`` with an ``api_key`` (an API client token, ``cot_…``, of a system) is a trusted
system's submission: it may report by address alone and its jurisdiction applies. Without one it is a
citizen's, which needs a point inside the city and is rate-limited per client address
(``cityops.ratelimit``, kind ``open311_requests``, set by ``CITYOPS_LIMIT_OPEN311_REQUESTS``; behind a
reverse proxy run ``cityops serve --forwarded-allow-ips`` so the address is the client's, not the proxy's).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from cityops import ratelimit
from cityops.cases import service as cases_service
from cityops.cases.lifecycle import CaseStatus
from cityops.config import Settings
from cityops.deps import AppSettings, DbSession
from cityops.errors import CityOpsError, NotAuthenticated, NotFound, PermissionDenied
from cityops.open311 import mapping, service
from cityops.open311 import xml as open311_xml
from cityops.open311.schemas import (
    CreatedOut,
    DiscoveryOut,
    EndpointOut,
    ErrorOut,
    ServiceDefinitionOut,
    ServiceOut,
    ServiceRequestOut,
    TokenOut,
)
from cityops.org import service as org_service
from cityops.org.access import Principal
from cityops.org.roles import Role
from cityops.org.security import is_api_token
from cityops.ratelimit import RateLimiter

router = APIRouter(prefix="/open311/v2", tags=["open311"])
SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
CONTACT = "The city's operations centre (城运中心) answers questions about this endpoint."
KEY_SERVICE = ("Systems ask the city's administrators for an API client token (cot_…); citizens submit "
               "without one, a few reports a minute.")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class Format(StrEnum):
    json = "json"
    xml = "xml"


MEDIA_TYPES = {Format.json: "application/json", Format.xml: open311_xml.MEDIA_TYPE}


class XMLResponse(Response):
    media_type = open311_xml.MEDIA_TYPE


class Open311Error(Exception):
    def __init__(self, status: int, description: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(description)
        self.status, self.description, self.headers = status, description, headers


@dataclass(frozen=True)
class Answer:
    body: BaseModel | list[BaseModel]
    xml_root: str
    status: int = 200


def _status_of(error: CityOpsError) -> int:
    """The spec's status for a domain error: 404 unknown, 403 credentials, 400 the rest."""
    if isinstance(error, NotFound):
        return 404
    if isinstance(error, NotAuthenticated | PermissionDenied):
        return 403
    if error.status >= 500:
        raise error
    return 400


def _render(fmt: Format, answer: Answer, headers: dict[str, str] | None = None) -> Response:
    data = ([item.model_dump(mode="json") for item in answer.body] if isinstance(answer.body, list)
            else answer.body.model_dump(mode="json"))
    if fmt is Format.json:
        return JSONResponse(data, status_code=answer.status, headers=headers)
    return XMLResponse(open311_xml.render(answer.xml_root, data), status_code=answer.status, headers=headers)


def _error(fmt: Format, status: int, description: str, headers: dict[str, str] | None = None) -> Response:
    return _render(fmt, Answer([ErrorOut(code=status, description=description)], "errors", status), headers)


def _answer(fmt: Format, session: Session, produce: Callable[[], Answer], *, writes: bool = False) -> Response:
    """Run one operation; a refusal answers in the spec's error shape and, for a write, undoes its work."""
    savepoint = session.begin_nested() if writes else None
    try:
        answer = produce()
    except Open311Error as error:
        if savepoint is not None:
            savepoint.rollback()
        return _error(fmt, error.status, error.description, error.headers)
    except CityOpsError as error:
        if savepoint is not None:
            savepoint.rollback()
        return _error(fmt, _status_of(error), error.detail)
    if savepoint is not None:
        savepoint.commit()
    return _render(fmt, answer)


def _now() -> datetime:
    return datetime.now(UTC)


def _service_out(item: service.Service) -> ServiceOut:
    return ServiceOut(service_code=item.code, service_name=item.name, description=item.description,
                      metadata=False, type="realtime", keywords=item.keywords, group=item.group)


def _view(session: Session, settings: Settings) -> service.PublicView:
    return service.PublicView(session=session, tz=ZoneInfo(settings.timezone))


class SubmissionForm(BaseModel):
    """POST requests, form-encoded. Empty fields count as absent."""

    service_code: str | None = Field(None, description="from services.json (required)")
    lat: str | None = Field(None, description="WGS84 latitude; with long, or give address_string")
    long: str | None = Field(None, description="WGS84 longitude")
    address_string: str | None = Field(None, description="where, in words")
    address_id: str | None = Field(None, description="not resolvable here: give lat/long or address_string")
    description: str | None = Field(None, description="up to 4000 characters; its first line is the title")
    email: str | None = Field(None, description="checked, not kept: cases have no e-mail field yet")
    first_name: str | None = Field(None, description="kept as the reporter's name, never shown publicly")
    last_name: str | None = None
    phone: str | None = Field(None, description="kept as the reporter's phone, never shown publicly")
    media_url: str | None = Field(None, description="an http(s) link to a photo")
    device_id: str | None = Field(None, description="accepted and not kept")
    account_id: str | None = Field(None, description="echoed in the answer")
    api_key: str | None = Field(None, description="a system's API client token (cot_…); none for a citizen")
    jurisdiction_id: str | None = Field(None, description="ignored: this endpoint serves one city")


class RequestFilters(BaseModel):
    service_request_id: str | None = Field(None, description="comma-separated ids; overrides the other filters")
    service_code: str | None = Field(None, description="comma-separated service codes")
    start_date: str | None = Field(None, description="ISO 8601 with offset, e.g. 2024-01-01T00:00:00Z")
    end_date: str | None = Field(None, description="ISO 8601 with offset; at most 90 days after start_date")
    status: str | None = Field(None, description="open, closed or open,closed")
    jurisdiction_id: str | None = Field(None, description="ignored: this endpoint serves one city")


def _system_for(session: Session, settings: Settings, api_key: str) -> Principal:
    """The system an api_key belongs to; 403 for anything else."""
    if not is_api_token(api_key):
        raise Open311Error(403, "invalid api_key: give a system's API client token (cot_…), or none")
    try:
        principal = org_service.principal_for_token(session, token=api_key, secret=settings.secret_key)
    except NotAuthenticated:
        raise Open311Error(403, "invalid api_key: unknown or revoked") from None
    if Role.system not in principal.roles:
        raise Open311Error(403, "invalid api_key: it belongs to a device, not a system")
    return principal


def _limiter_of(request: Request) -> RateLimiter:
    """The app's limiter of anonymous submissions: ``app.state.open311_limiter`` when one was put there
    (tests do), else the process's ``open311_requests`` limiter, made from the settings."""
    limiter = getattr(request.app.state, "open311_limiter", None)
    return limiter if limiter is not None else ratelimit.limiter_for(request.app.state, "open311_requests")


def _submit(request: Request, session: Session, settings: Settings, form: SubmissionForm) -> Answer:
    receiver = _system_for(session, settings, form.api_key.strip()) if (form.api_key or "").strip() else None
    if receiver is None:
        decision = _limiter_of(request).take(ratelimit.client_address(request))
        if not decision.allowed:
            wait = max(1, round(decision.retry_after_s))
            raise Open311Error(429, f"too many reports from your address: try again in {wait} s, or "
                                    "submit through a system with an api_key", {"Retry-After": str(wait)})
    checked = mapping.submission(form.model_dump())
    case = service.submit(session, form=checked, receiver=receiver,
                          locator=request.app.state.locators.get(session),
                          calendar=request.app.state.calendars.get(session), at=_now(),
                          policy=cases_service.IntakePolicy.from_settings(settings))
    notice = (f"reported already as request {case.duplicate_of_id}; this report follows it"
              if case.status == CaseStatus.merged and case.duplicate_of_id else None)
    return Answer([CreatedOut(service_request_id=str(case.id), token=case.tracking_code, service_notice=notice,
                              account_id=checked.account_id)], "service_requests", 201)


def _request_id(text: str) -> int:
    if not text.isascii() or not text.isdigit() or len(text) > 10:
        raise NotFound(f"no service request {text!r}", code="unknown_request")
    return int(text)


ServiceCode = Annotated[str, Path(description="a code from services.json")]
RequestId = Annotated[str, Path(description="a service_request_id")]
Token = Annotated[str, Path(description="the token POST requests returned")]


def _operations(fmt: Format) -> dict[str, Callable[..., Response]]:
    """The endpoints of one format, by route name."""

    def discovery(request: Request, session: DbSession, settings: AppSettings) -> Response:
        def produce() -> Answer:
            changed = (service.services_changed_at(session) or EPOCH).replace(microsecond=0)
            url = str(request.url.replace(query="")).rsplit("/", 1)[0]
            endpoint = EndpointOut(specification=SPECIFICATION, url=url, changeset=changed,
                                   type="production" if settings.environment == "production" else "test",
                                   formats=[MEDIA_TYPES[Format.xml], MEDIA_TYPES[Format.json]])
            return Answer(DiscoveryOut(changeset=changed, contact=CONTACT, key_service=KEY_SERVICE,
                                       endpoints=[endpoint]), "discovery")
        return _answer(fmt, session, produce)

    def services(session: DbSession) -> Response:
        return _answer(fmt, session, lambda: Answer([_service_out(s) for s in service.services(session)],
                                                    "services"))

    def service_definition(session: DbSession, service_code: ServiceCode) -> Response:
        def produce() -> Answer:
            found = service.get_service(session, code=service_code)
            return Answer(ServiceDefinitionOut(service_code=found.code, attributes=[]), "service_definition")
        return _answer(fmt, session, produce)

    def create_request(request: Request, session: DbSession, settings: AppSettings,
                       form: Annotated[SubmissionForm, Form()]) -> Response:
        return _answer(fmt, session, lambda: _submit(request, session, settings, form), writes=True)

    def list_requests(session: DbSession, settings: AppSettings,
                      filters: Annotated[RequestFilters, Query()]) -> Response:
        def produce() -> Answer:
            query = mapping.request_query(service_request_id=filters.service_request_id,
                                          service_code=filters.service_code, start_date=filters.start_date,
                                          end_date=filters.end_date, status=filters.status, now=_now())
            view = _view(session, settings)
            return Answer([view.of(c) for c in service.find_cases(session, query=query)], "service_requests")
        return _answer(fmt, session, produce)

    def get_request(session: DbSession, settings: AppSettings, service_request_id: RequestId) -> Response:
        def produce() -> Answer:
            case = service.published_case(session, case_id=_request_id(service_request_id))
            return Answer([_view(session, settings).of(case)], "service_requests")
        return _answer(fmt, session, produce)

    def token(session: DbSession, token: Token) -> Response:
        def produce() -> Answer:
            case = service.case_for_token(session, token=token)
            return Answer([TokenOut(service_request_id=str(case.id), token=case.tracking_code)], "service_requests")
        return _answer(fmt, session, produce)

    return {"discovery": discovery, "services": services, "service_definition": service_definition,
            "create_request": create_request, "list_requests": list_requests, "get_request": get_request,
            "token": token}


@dataclass(frozen=True)
class Route:
    name: str
    path: str
    method: str
    summary: str
    model: Any
    errors: tuple[int, ...]
    status: int = 200


ROUTES = (
    Route("discovery", "/discovery", "GET", "Service discovery", DiscoveryOut, (400,)),
    Route("services", "/services", "GET", "Services: the active leaf categories", list[ServiceOut], (400,)),
    Route("service_definition", "/services/{service_code}", "GET", "A service's definition",
          ServiceDefinitionOut, (400, 404)),
    Route("create_request", "/requests", "POST", "Submit a service request (form-encoded)", list[CreatedOut],
          (400, 403, 404, 429), 201),
    Route("list_requests", "/requests", "GET", "Service requests, filtered (last 90 days by default)",
          list[ServiceRequestOut], (400,)),
    Route("get_request", "/requests/{service_request_id}", "GET", "One service request",
          list[ServiceRequestOut], (400, 404)),
    Route("token", "/tokens/{token}", "GET", "The service request of a token", list[TokenOut], (400, 404)),
)
ERROR_WORDS = {400: "bad request", 403: "missing or wrong api_key", 404: "no such service, request or token",
               429: "too many anonymous submissions from this address (see Retry-After)"}


def _responses(fmt: Format, route: Route) -> dict[int | str, dict[str, Any]]:
    if fmt is Format.json:
        answers: dict[int | str, dict[str, Any]] = {route.status: {"model": route.model, "description": "OK"}}
        answers.update({status: {"model": list[ErrorOut], "description": f"{ERROR_WORDS[status]} (Open311 errors)"}
                        for status in route.errors})
        return answers
    xml_body = {"content": {open311_xml.MEDIA_TYPE: {"schema": {"type": "string"}}}}
    answers = {route.status: {**xml_body, "description": "OK: the JSON answer's fields as XML"}}
    answers.update({status: {**xml_body, "description": f"{ERROR_WORDS[status]} (<errors><error>)"}
                    for status in route.errors})
    return answers


def _mount() -> None:
    for fmt in Format:
        endpoints = _operations(fmt)
        for route in ROUTES:
            router.add_api_route(f"{route.path}.{fmt.value}", endpoints[route.name], methods=[route.method],
                                 name=f"open311_{route.name}_{fmt.value}", summary=f"{route.summary} ({fmt.value})",
                                 status_code=route.status, response_model=None,
                                 response_class=JSONResponse if fmt is Format.json else XMLResponse,
                                 responses=_responses(fmt, route))


_mount()
