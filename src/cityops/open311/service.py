"""Open311 over the closed loop: services from the category tree, submissions through case intake, and
the public view of cases.

Decisions:

- **Services** are the active leaves of the category tree (any kind); ``group`` is the parent's
  name. None needs fields beyond the standard ones, so ``metadata`` is false and definitions are empty.
- **A submission** is a case on the ``open311`` channel. Its ``media_url`` is kept in the intake
  entry's data. ``service_request_id`` is the case id and ``token`` its tracking code.
- **The public view** shows cases that citizens submitted through public channels (Open311, the photo
  report page, public suggestions); hotline calls, patrols, devices and department systems stay inside.
  It never shows the reporter's name, phone or e-mail, staff names, nor the tracking code (which
  lets its holder rate the case).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, tzinfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from cityops.calendar.workcalendar import WorkCalendar
from cityops.cases import service as cases_service
from cityops.cases.channels import Channel
from cityops.cases.lifecycle import Action, CaseStatus
from cityops.cases.models import Case
from cityops.categories import service as categories_service
from cityops.categories.service import CategoryRecord, TreeNode
from cityops.errors import NotFound
from cityops.geo.locator import Locator
from cityops.open311 import mapping
from cityops.open311.mapping import RequestQuery, Submission
from cityops.open311.schemas import ServiceRequestOut
from cityops.org import service as org_service
from cityops.org.access import Principal

PUBLISHED_CHANNELS = frozenset({Channel.open311, Channel.citizen_photo, Channel.public_suggestion})
KIND_WORDS = {"component": "部件 component", "event": "事件 event", "message": "诉求 citizen message"}


@dataclass(frozen=True)
class Service:
    code: str
    name: str
    kind: str
    ancestors: tuple[str, ...]
    """Names of the categories above it, root first."""

    @property
    def group(self) -> str | None:
        return self.ancestors[-1] if self.ancestors else None

    @property
    def description(self) -> str:
        return f"{' › '.join([*self.ancestors, self.name])} ({KIND_WORDS.get(self.kind, self.kind)})"

    @property
    def keywords(self) -> str:
        return ", ".join([self.code, *self.ancestors, KIND_WORDS.get(self.kind, self.kind)])


def _service(record: CategoryRecord, ancestors: tuple[str, ...]) -> Service:
    return Service(code=record.code, name=record.name, kind=record.kind.value, ancestors=ancestors)


def services(session: Session) -> list[Service]:
    """The active leaf categories, in the tree's order."""
    found: list[Service] = []

    def walk(nodes: list[TreeNode], ancestors: tuple[str, ...]) -> None:
        for node in nodes:
            if node.children:
                walk(node.children, (*ancestors, node.category.name))
            else:
                found.append(_service(node.category, ancestors))

    walk(categories_service.category_tree(session, active_only=True), ())
    return found


def get_service(session: Session, *, code: str) -> Service:
    """An active leaf category; anything else is no service."""
    try:
        chain = categories_service.category_chain(session, code=code)
    except NotFound:
        chain = []
    if not chain or not chain[0].active or categories_service.list_categories(
            session, parent_code=code, active=True, limit=1)[1]:
        raise NotFound(f"no service {code!r}: see services.json", code="unknown_service", field="service_code")
    return _service(chain[0], tuple(c.name for c in reversed(chain[1:])))


def services_changed_at(session: Session) -> datetime | None:
    records, _ = categories_service.list_categories(session, limit=None)
    return max((r.updated_at for r in records), default=None)


def submit(session: Session, *, form: Submission, receiver: Principal | None, locator: Locator,
           calendar: WorkCalendar, policy: cases_service.IntakePolicy, at: datetime) -> Case:
    """Take in a submission as a case on the Open311 channel: from a trusted system (``receiver``,
    whose jurisdiction applies) or from a citizen (None: the location must lie in the city)."""
    service = get_service(session, code=form.service_code)
    report = cases_service.Report(channel=Channel.open311, title=mapping.title_for(form.description, service.name),
                                  description=form.description, category_code=service.code, lon=form.lon,
                                  lat=form.lat, input_crs="wgs84" if form.lat is not None else None,
                                  address=form.address, reporter_name=form.reporter_name,
                                  reporter_phone=form.phone,
                                  media_url=form.media_url)
    actor = cases_service.actor_for(receiver, Action.intake)
    return cases_service.intake(session, report=report, actor=actor, receiver=receiver, locator=locator,
                                calendar=calendar, at=at, policy=policy).case


def _published():  # noqa: ANN202
    return select(Case).where(Case.channel.in_([c.value for c in PUBLISHED_CHANNELS]))


def find_cases(session: Session, *, query: RequestQuery) -> list[Case]:
    """Published cases matching ``query``, newest first, at most the spec's 1000."""
    statement = _published()
    if query.ids is not None:
        statement = statement.where(Case.id.in_(query.ids))
    else:
        if query.service_codes is not None:
            ids = categories_service.category_ids(session, codes=query.service_codes)
            statement = statement.where(Case.category_id.in_(list(ids.values())))
        if query.start is not None:
            statement = statement.where(Case.opened_at >= query.start)
        if query.end is not None:
            statement = statement.where(Case.opened_at <= query.end)
        if query.statuses is not None:
            statement = statement.where(Case.status.in_([s.value for s in query.statuses]))
    return list(session.scalars(statement.order_by(Case.opened_at.desc(), Case.id.desc()).limit(mapping.MAX_RESULTS)))


def published_case(session: Session, *, case_id: int) -> Case:
    case = session.scalar(_published().where(Case.id == case_id))
    if case is None:
        raise NotFound(f"no service request {case_id}", code="unknown_request", field="service_request_id")
    return case


def case_for_token(session: Session, *, token: str) -> Case:
    try:
        case = cases_service.by_tracking_code(session, code=token)
    except NotFound:
        case = None
    if case is None or case.channel not in PUBLISHED_CHANNELS:
        raise NotFound("no service request has this token", code="unknown_token", field="token")
    return case


@dataclass
class PublicView:
    """Renders cases for the public, remembering the names it has looked up (one answer may hold up to
    1000 cases of a few dozen services and departments)."""

    session: Session
    tz: tzinfo
    _categories: dict[int, CategoryRecord] = field(default_factory=dict)
    _departments: dict[str, str] = field(default_factory=dict)

    def _category(self, category_id: int) -> CategoryRecord:
        if category_id not in self._categories:
            code = categories_service.code_of(self.session, category_id=category_id)
            self._categories[category_id] = categories_service.get_category(self.session, code=code)
        return self._categories[category_id]

    def _department(self, code: str) -> str:
        if code not in self._departments:
            self._departments[code] = org_service.get_department(self.session, code=code).name
        return self._departments[code]

    def _local(self, moment: datetime | None) -> datetime | None:
        """In the city's time zone, to the second (the w3 profile every client parses)."""
        return moment.astimezone(self.tz).replace(microsecond=0) if moment is not None else None

    def of(self, case: Case) -> ServiceRequestOut:
        timeline = cases_service.timeline(self.session, case=case)
        status = CaseStatus(case.status)
        last_move = next((e for e in reversed(timeline)
                          if e.to_status == case.status and e.from_status != e.to_status), timeline[-1])
        closed = mapping.public_status(status) == "closed"
        category = self._category(case.category_id) if case.category_id else None
        lead = next((a.department_code for a in cases_service.assignments(self.session, case=case)
                     if a.position == 0), None)
        due = next((d.due_at for d in cases_service.deadlines_of(self.session, case=case) if d.met_at is None), None)
        notices = (["deferred: the work waits for its turn"] if case.deferred else []) + (
            [f"reported by {case.report_count} people"] if case.report_count > 1 else [])
        return ServiceRequestOut(
            service_request_id=str(case.id), status=mapping.public_status(status),
            status_notes=mapping.status_notes(status, action=Action(last_move.action), reason=last_move.reason,
                                              duplicate_of=cases_service.final_primary(self.session, case=case).id
                                              if case.duplicate_of_id else None),
            service_name=category.name if category else None, service_code=category.code if category else None,
            description=case.description or case.title,
            agency_responsible=self._department(lead) if lead else None,
            service_notice="; ".join(notices) or None,
            requested_datetime=self._local(case.opened_at),
            updated_datetime=self._local(last_move.at if closed else timeline[-1].at),
            expected_datetime=None if closed else self._local(due),
            address=case.address, address_id=None, zipcode=None, lat=case.lat, long=case.lon,
            media_url=timeline[0].data.get("media_url"))
