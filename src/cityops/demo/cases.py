"""The demo city's recent history: a month of cases taken through the live closed loop, so that every
screen of a fresh demo shows the loop at work (queues, the dashboard, the performance report).

Nothing here writes a case's rows: every report goes through ``cases.service.intake`` with the
settings' intake policy (trusted channels registered and dispatched, near-identical reports merged),
every later move through ``cases.service.act``, taken by the demo's own logins — the most local one
of the role whose area covers the case — or, for a department without a demo login, by that
department's own system. The time limits, assignments, duplicates and projections are what the
product makes of those moves.

The moves of all the cases are played in time order, with the time-limit sweeper and the notifications'
fan-out run every three hours of that month and once at the end, so that a case only meets the cases open
when it was reported, steps that ran late were marked and supervised as they would have been, staff were
told as it happened, and the store is consistent
right after ``cityops demo``. Fates, channels, categories, places and words come from
``cityops.demo.case_plan``, deterministic from a seed (tracking codes stay random, as the product
makes them).
"""

from __future__ import annotations

import heapq
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import shapely
from sqlalchemy.orm import Session

from cityops.calendar import service as calendar_service
from cityops.cases import service as cases_service
from cityops.cases import sweeper
from cityops.cases.channels import Channel
from cityops.cases.lifecycle import Action, Actor, ActorKind, CaseStatus
from cityops.cases.models import Case
from cityops.categories.time_limits import parse_limit
from cityops.config import Settings
from cityops.demo import case_plan, catalogue
from cityops.demo import classifier as demo_classifier
from cityops.demo.case_plan import CasePlan, Fate, Where
from cityops.demo.catalogue import ORIGIN, UNIT_LEVELS, CityPlan
from cityops.demo.subdivide import sample_inside
from cityops.errors import InvalidInput
from cityops.geo import service as geo_service
from cityops.geo.levels import AreaLevel
from cityops.geo.models import Area
from cityops.notify import service as notify_service
from cityops.org import responsibility
from cityops.org import service as org_service
from cityops.org.access import Principal
from cityops.org.roles import Role

DEFAULT_CASES = 600
MAX_CASES = 5_000
SEED = 12345
SWEEP_EVERY = timedelta(hours=3)
MACHINES = {Channel.iot_warning: "物联感知平台", Channel.video_ai: "视频AI智能识别",
            Channel.department_system: "部门业务系统"}
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高"
Progress = Callable[[str, int, int], None]


@dataclass
class CaseHistory:
    made: int
    by_status: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0


def check_count(count: int) -> int:
    if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= MAX_CASES:
        raise InvalidInput(f"the number of demo cases must be a whole number from 0 to {MAX_CASES}", field="cases")
    return count


@dataclass(frozen=True)
class _Place:
    street: Area
    communities: list[tuple[Area, Any]]
    """Each community with its polygon."""


@dataclass
class _Move:
    action: Action
    actor: Actor
    reason: str | None = None
    data: dict[str, Any] | None = None
    late: bool = False


class _Demo:
    """What every case's run shares: the clock, the logins, the places and the pipeline's parts."""

    def __init__(self, session: Session, *, plan: CityPlan, settings: Settings, now: datetime, seed: int) -> None:
        self.session, self.now, self.rng = session, now, random.Random(seed)
        self.np_rng = np.random.default_rng(seed)
        self.calendar = calendar_service.load_calendar(session, settings=settings)
        self.policy = cases_service.IntakePolicy.from_settings(settings)
        self.locator = geo_service.build_locator(session, boundary_distance_m=settings.boundary_distance_m)
        self.supervision_limit = parse_limit(settings.supervision_limit)
        # the dispatcher follows the matrix as the route preview shows it; nobody edits it meanwhile
        self.matrix = responsibility.MatrixSnapshot(session)
        city = geo_service.get_area(session, code=plan.code)
        self.admin = Principal(id=0, kind="client", name="demo", roles=("administrator",), area_id=city.id,
                               area_code=city.code, area_path=city.path, area_level=city.level)
        self.logins = self._logins(plan)
        self.phrases = {c.code: c.phrases for c in demo_classifier.read_phrases()}
        self.names: dict[str, str] = {}
        self.places, self.first_street, self.first_district = self._places(city)

    def _logins(self, plan: CityPlan) -> dict[str, list[Principal]]:
        """Role → the demo's principals of that role, most local first."""
        found: dict[str, list[Principal]] = {}
        for level in reversed(UNIT_LEVELS):
            for role, (short, _) in catalogue.ROLE_LABELS.items():
                user = org_service.get_user(self.session, username=f"{plan.username_prefix}{short}.{level.value}",
                                            viewer=self.admin)
                found.setdefault(role.value, []).append(org_service.principal_of_user(self.session, user))
        return found

    def _places(self, city: Area) -> tuple[dict[str, _Place], str, str]:
        streets, _ = geo_service.list_areas(self.session, within_path=city.path, level=AreaLevel.street,
                                            limit=100_000)
        communities, _ = geo_service.list_areas(self.session, within_path=city.path, level=AreaLevel.community,
                                                limit=100_000)
        places = {s.path: _Place(s, []) for s in streets}
        for community in communities:
            street_path = "/".join(community.path.split("/")[:4]) + "/"
            places[street_path].communities.append((community, shapely.from_wkb(community.geometry_wkb)))
        where = {p.area_level: p.area_path for p in self.logins[Role.operator.value]}
        return places, where[AreaLevel.street.value], where[AreaLevel.district.value]

    def login(self, role: Role, area_path: str) -> Principal:
        """The most local demo login of ``role`` whose area covers ``area_path``."""
        return next(p for p in self.logins[role.value] if p.covers(area_path))

    def staff(self, role: Role, area_path: str, action: Action) -> Actor:
        return cases_service.actor_for(self.login(role, area_path), action)

    def department(self, code: str, action: Action) -> Actor:
        """A department's handler: the demo's login of that department, else the department's own system."""
        handler = next((p for p in self.logins[Role.handler.value] if p.department_code == code), None)
        if handler is not None:
            return cases_service.actor_for(handler, action)
        return Actor(kind=ActorKind.client, id=None, role=Role.handler.value,
                     name=f"{self.department_name(code)}（部门系统）", department=code)

    def department_name(self, code: str) -> str:
        if code not in self.names:
            self.names[code] = org_service.get_department(self.session, code=code).name
        return self.names[code]

    def street_for(self, plan: CasePlan) -> _Place:
        prefix = {Where.first_street: self.first_street, Where.first_district: self.first_district,
                  Where.anywhere: "/"}[plan.where]
        return self.rng.choice([p for path, p in self.places.items() if path.startswith(prefix) and p.communities])

    def step_due(self, case: Case) -> datetime | None:
        step = cases_service.running_steps(self.session, case_ids=[case.id]).get(case.id)
        return step.due_at if step is not None else None


class _Run:
    """One case: its intake, then each move its fate calls for, one at a time."""

    def __init__(self, demo: _Demo, plan: CasePlan, primary: _Run | None) -> None:
        self.demo, self.plan, self.primary = demo, plan, primary
        self.case: Case | None = None
        self.returned = self.reworked = self.extension_asked = self.summoned = False
        self.extension_pending = False
        self.to_report_in: list[str] = []
        self.summons_deadline: datetime | None = None
        self.next_move: _Move | None = None
        self.parts: list[Any] = []
        """The case's assignments as its last move left them."""
        if primary is not None and primary.point is not None:
            self.place, self.community = primary.place, primary.community
            self.point = self._near(primary.point)
        else:
            self.place = demo.street_for(plan)
            self.community, polygon = demo.rng.choice(self.place.communities)
            self.point = tuple(sample_inside(polygon, 1, demo.np_rng)[0])

    def _near(self, point: tuple[float, float]) -> tuple[float, float]:
        """A few metres away (a second caller stands elsewhere on the same corner)."""
        metres = 1 / 111_000
        return (point[0] + self.demo.rng.uniform(-8, 8) * metres, point[1] + self.demo.rng.uniform(-8, 8) * metres)

    # ---- intake --------------------------------------------------------------------------------

    def intake(self, at: datetime) -> None:
        demo, plan = self.demo, self.plan
        phrases = demo.phrases[plan.category_code]
        phrase = phrases[plan.phrase_index % len(phrases)]
        street, community = self.place.street.name, self.community.name
        report = cases_service.Report(
            channel=plan.channel, category_code=plan.category_code, lon=float(self.point[0]),
            lat=float(self.point[1]), input_crs="wgs84", origin=ORIGIN,
            title=case_plan.title_of(phrase=phrase, place=plan.place, street_name=street),
            description=case_plan.description_of(phrase=phrase, place=plan.place, community_name=community,
                                                 ask=plan.ask),
            address=f"{community}{plan.place}",
            reporter_name=(f"{demo.rng.choice(SURNAMES)}{demo.rng.choice(('先生', '女士'))}"
                           if plan.channel is Channel.hotline_12345 else None))
        actor, receiver = self._reporter(at)
        self.case = cases_service.intake(demo.session, report=report, actor=actor, receiver=receiver,
                                         locator=demo.locator, calendar=demo.calendar, at=at,
                                         policy=demo.policy).case

    def _reporter(self, at: datetime) -> tuple[Actor, Principal | None]:
        demo, channel, path = self.demo, self.plan.channel, self.place.street.path
        if channel is Channel.hotline_12345:
            operator = demo.login(Role.operator, path)
            return cases_service.actor_for(operator, Action.intake), operator
        if channel is Channel.grid_patrol:
            inspector = demo.login(Role.inspector, path)
            return cases_service.actor_for(inspector, Action.intake), inspector
        if channel in MACHINES:
            name = MACHINES[channel]
            receiver = Principal(id=0, kind="client", name=name, roles=("system",), area_id=demo.admin.area_id,
                                 area_code=demo.admin.area_code, area_path=demo.admin.area_path,
                                 area_level=demo.admin.area_level)
            kind = ActorKind.client if channel is Channel.department_system else ActorKind.system
            return Actor(kind=kind, id=None, role="system", name=name), receiver
        return cases_service.actor_for(None, Action.intake), None

    # ---- the moves -----------------------------------------------------------------------------

    def decide(self) -> _Move | None:
        """The case's next move, or None when its history ends here."""
        case, plan, demo = self.case, self.plan, self.demo
        status, path, rng = CaseStatus(case.status), case.area_path, demo.rng
        self.parts = cases_service.assignments(demo.session, case=case) if case.lead_department_id else []
        if status is case_plan.STOPS_AT.get(plan.fate) and not self._acknowledging():
            return None
        if status is CaseStatus.reported:
            if plan.fate is Fate.rejected:
                return _Move(Action.reject, demo.staff(Role.operator, path, Action.reject),
                             reason=rng.choice(case_plan.REJECT_REASONS))
            return _Move(Action.register, demo.staff(Role.operator, path, Action.register))
        if status is CaseStatus.registered:
            if plan.fate is Fate.closed_at_centre:
                return _Move(Action.close, demo.staff(Role.operator, path, Action.close),
                             reason=rng.choice(case_plan.CENTRE_CLOSING_REASONS))
            return self._dispatch()
        if status is CaseStatus.returned:
            return self._reassign()
        if status is CaseStatus.dispatched and plan.fate is Fate.returned and not self.returned:
            self.returned = True
            return _Move(Action.return_, demo.department(self._lead(), Action.return_),
                         reason=rng.choice(case_plan.RETURN_REASONS))
        if status in (CaseStatus.dispatched, CaseStatus.in_progress):
            return self._handling()
        if status is CaseStatus.handled:
            verifier = demo.staff(Role.inspector, path, Action.verify)
            if plan.fate is Fate.reworked and not self.reworked:
                self.reworked = True
                return _Move(Action.verify, verifier, reason=rng.choice(case_plan.REWORK_REASONS),
                             data={"passed": False})
            return _Move(Action.verify, verifier, data={"passed": True})
        if status is CaseStatus.closed and plan.rating is not None and case.rating is None:
            score = plan.rating
            comment = case_plan.rating_comment(score, rng)
            return _Move(Action.rate, cases_service.actor_for(None, Action.rate),
                         data={"score": score} | ({"comment": comment} if comment else {}))
        return None

    def _lead(self) -> str:
        return next(a.department_code for a in self.parts if a.position == 0)

    def _acknowledging(self) -> bool:
        """Departments of a case left in progress still acknowledge their parts first."""
        return self.case.status == CaseStatus.in_progress.value and any(
            a.status == "dispatched" for a in self.parts)

    def _dispatch(self) -> _Move:
        demo, case = self.demo, self.case
        route = demo.matrix.route(category_code=self.plan.category_code, area_chain=demo.locator.chain(case.area_id))
        return _Move(Action.dispatch, demo.staff(Role.dispatcher, case.area_path, Action.dispatch), reason=route.reason,
                     data={"lead": route.lead, "assisting": list(route.assisting), "mode": route.joint_mode.value,
                           "matched_area": route.matched_area, "fallback": route.fallback})

    def _reassign(self) -> _Move:
        """To the street's own office (属地兜底), or from it to the district's enforcement."""
        demo, codes = self.demo, self.case.area_path.strip("/").split("/")
        office = catalogue.department_code(codes[2], "street_office")
        target = office if self._lead() != office else catalogue.department_code(codes[1], "enforcement")
        return _Move(Action.reassign, demo.staff(Role.dispatcher, self.case.area_path, Action.reassign),
                     reason=f"退回理由属实，改派{demo.department_name(target)}处置。",
                     data={"lead": target, "assisting": [], "mode": "parallel"})

    def _handling(self) -> _Move | None:
        demo, plan, rng, path = self.demo, self.plan, self.demo.rng, self.case.area_path
        parts = self.parts
        waiting = [a.department_code for a in parts if a.status == "dispatched"]
        if waiting:
            return _Move(Action.acknowledge, demo.department(waiting[0], Action.acknowledge))
        if plan.fate is Fate.summoned and not self.summoned:
            self.summoned = True
            district = path.strip("/").split("/")[1]
            self.to_report_in = [catalogue.department_code(district, kind) for kind in ("construction", "housing")]
            return _Move(Action.summon, demo.staff(Role.dispatcher, path, Action.summon),
                         reason=case_plan.SUMMONS_REASON)
        if self.to_report_in:
            return _Move(Action.report_in, demo.department(self.to_report_in.pop(0), Action.report_in))
        if self.case.status == case_plan.STOPS_AT.get(plan.fate):
            return None
        lead = self._lead()
        if plan.fate is Fate.extended and not self.extension_asked:
            self.extension_asked = self.extension_pending = True
            return _Move(Action.request_extension, demo.department(lead, Action.request_extension),
                         reason=rng.choice(case_plan.EXTENSION_REASONS))
        if self.extension_pending:
            self.extension_pending = False
            return _Move(Action.approve_extension, demo.staff(Role.dispatcher, path, Action.approve_extension))
        handling = next(a.department_code for a in parts if a.status == "in_progress")
        return _Move(Action.report, demo.department(handling, Action.report),
                     reason=rng.choice(case_plan.HANDLING_REPORTS), late=plan.fate is Fate.closed_late)

    def when(self, at: datetime, move: _Move) -> datetime:
        """When ``move`` follows a move made at ``at``: well within the step's deadline (after it for a
        late one), never after now; open cases reach their stage in the last hours."""
        demo, rng = self.demo, self.demo.rng
        cap = demo.now - timedelta(minutes=1)
        if self.plan.fate in case_plan.RECENT:
            return at + rng.uniform(0.2, 0.6) * (cap - at)
        due = self.summons_deadline if move.action is Action.report_in else demo.step_due(self.case)
        if move.action is Action.rate:
            planned = self.case.closed_at + timedelta(hours=rng.uniform(1, 30))
        elif due is None or due <= at:
            planned = at + timedelta(minutes=rng.uniform(10, 180))
        elif move.late:
            planned = due + timedelta(hours=rng.uniform(1, 20))
        else:
            planned = at + rng.uniform(0.1, 0.7) * (due - at)
        return planned if planned < cap else at + rng.uniform(0.2, 0.8) * (cap - at)

    def take(self, move: _Move, at: datetime) -> None:
        data = move.data
        if move.action is Action.summon:
            self.summons_deadline = at + timedelta(days=1)
            data = {"departments": dict.fromkeys(self.to_report_in, self.summons_deadline.isoformat())}
        elif move.action is Action.request_extension:
            due = self.demo.step_due(self.case) or at
            data = {"until": (max(due, at) + timedelta(days=self.demo.rng.randint(2, 4))).isoformat()}
        cases_service.act(self.demo.session, case=self.case, action=move.action, actor=move.actor, at=at,
                          calendar=self.demo.calendar, reason=move.reason, data=data)

    def advance(self, at: datetime) -> datetime | None:
        """Make the move due at ``at`` (the intake first); returns when the next one is due, if any."""
        if self.case is None:
            self.intake(at)
        else:
            self.take(self.next_move, at)
        self.next_move = self.decide()
        return self.when(at, self.next_move) if self.next_move is not None else None


def make_cases(session: Session, *, plan: CityPlan, count: int, settings: Settings, now: datetime | None = None,
               seed: int = SEED, progress: Progress | None = None) -> CaseHistory:
    """Take ``count`` planned cases through the pipeline and lifecycle over the month before ``now``."""
    check_count(count)
    started = time.perf_counter()
    if count == 0:
        return CaseHistory(made=0)
    now = now or datetime.now(UTC)
    demo = _Demo(session, plan=plan, settings=settings, now=now, seed=seed)
    plans = case_plan.plan_cases(count, seed=seed, now=now, trusted_channels=settings.trusted_channels)
    runs: dict[int, _Run] = {}
    queue: list[tuple[datetime, int, _Run]] = []
    for number, planned in enumerate(plans):
        # a duplicate is placed beside its case, which opened before it
        run = runs[planned.number] = _Run(demo, planned, runs.get(planned.repeats) if planned.repeats else None)
        heapq.heappush(queue, (planned.opened_at, number, run))
    next_sweep = plans[0].opened_at + SWEEP_EVERY
    done = 0
    while queue:
        at, number, run = heapq.heappop(queue)
        while next_sweep <= at:
            _sweep(demo, next_sweep)
            next_sweep += SWEEP_EVERY
        following = run.advance(at)
        if following is not None:
            heapq.heappush(queue, (following, number, run))
        else:
            done += 1
            if progress is not None:
                progress("cases", done, count)
    _sweep(demo, now)
    by_status = Counter(run.case.status for run in runs.values())
    return CaseHistory(made=len(runs), by_status=by_status, seconds=round(time.perf_counter() - started, 2))


def _sweep(demo: _Demo, at: datetime) -> None:
    """What the worker does at ``at``: mark and supervise late steps, then tell the staff, so that their
    inboxes hold the month as it happened rather than a month of news all dated the day the server starts."""
    sweeper.sweep(demo.session, now=at, calendar=demo.calendar, supervision_limit=demo.supervision_limit)
    while notify_service.fan_out(demo.session, now=at):
        pass
