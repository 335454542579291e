"""Cases built by real moves, for the lifecycle tests: a run keeps the state and its timeline."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from cityops.cases.lifecycle import Action, Actor, ActorKind, CaseState, CaseStatus, TimelineEntry, apply, open_case

T0 = datetime(2025, 5, 6, 1, 30, tzinfo=UTC)
LEAD, ASSISTING, SUMMONED, OTHER = "water-authority", "roads-bureau", "police-station", "fire-brigade"
ACTOR_KINDS = {"citizen": ActorKind.citizen, "system": ActorKind.system}


def who(role: str, department: str | None = None) -> Actor:
    kind = ACTOR_KINDS.get(role, ActorKind.user)
    return Actor(kind, None if kind in (ActorKind.citizen, ActorKind.system) else "7", role, f"{role} 7", department)


def iso(at: datetime) -> str:
    return at.isoformat()


class Run:
    """One case, moved one minute at a time."""

    def __init__(self) -> None:
        self.clock = T0
        self.case, entry = open_case(actor=who("citizen"), at=T0, data={"channel": "hotline_12345"})
        self.timeline: list[TimelineEntry] = [entry]

    def do(self, action: Action, role: str, *, department: str | None = None, reason: str | None = None,
           data: dict[str, Any] | None = None, attachments: tuple[str, ...] = ()) -> TimelineEntry:
        self.clock += timedelta(minutes=1)
        self.case, entry = apply(self.case, action, actor=who(role, department), at=self.clock, reason=reason,
                                 attachments=attachments, data=data)
        self.timeline.append(entry)
        return entry

    def later(self, hours: float) -> str:
        return iso(self.clock + timedelta(hours=hours))


ROSTER = {"lead": LEAD, "assisting": [ASSISTING], "mode": "parallel"}


def run_to(status: CaseStatus) -> Run:
    """A parallel joint case (lead and one assisting department) with a summoned department, brought to
    ``status`` by the shortest path; in ``in_progress`` only the lead has acknowledged."""
    run = Run()
    if status is CaseStatus.rejected:
        run.do(Action.reject, "operator", reason="not a matter for the city")
    elif status is CaseStatus.merged:
        run.do(Action.merge, "operator", reason="same pothole", data={"primary": 41})
    elif status is not CaseStatus.reported:
        run.do(Action.register, "operator")
        run.do(Action.summon, "operator", reason="three departments share this pipe",
               data={"departments": {SUMMONED: run.later(24)}})
        if status is not CaseStatus.registered:
            run.do(Action.dispatch, "dispatcher", data=ROSTER)
        if status in (CaseStatus.in_progress, CaseStatus.returned, CaseStatus.handled, CaseStatus.closed):
            run.do(Action.acknowledge, "handler", department=LEAD)
        if status is CaseStatus.returned:
            run.do(Action.return_, "handler", department=LEAD, reason="the pipe is the water company's")
        if status in (CaseStatus.handled, CaseStatus.closed):
            run.do(Action.acknowledge, "handler", department=ASSISTING)
            run.do(Action.report, "handler", department=LEAD, reason="pipe repaired", attachments=("sha256:aa",))
            run.do(Action.report, "handler", department=ASSISTING, reason="road resurfaced")
        if status is CaseStatus.closed:
            run.do(Action.verify, "inspector", data={"passed": True})
    assert run.case.status is status
    return run


def prepare(action: Action, run: Run) -> None:
    """Put a run into the one state an action needs besides its status (a deferral to resume, an
    extension request to decide)."""
    if action is Action.resume:
        run.do(Action.defer, "dispatcher", reason="waiting for the district's budget")
    elif action in (Action.approve_extension, Action.deny_extension):
        run.do(Action.request_extension, "handler", department=LEAD, reason="parts on order",
               data={"until": run.later(72)})


def valid_input(action: Action, run: Run) -> dict[str, Any]:
    """Arguments that make ``action`` succeed on a run from ``run_to`` (after ``prepare``)."""
    case: CaseState = run.case
    department = {Action.acknowledge: ASSISTING if case.status is CaseStatus.in_progress else LEAD,
                  Action.report_in: SUMMONED}.get(action, LEAD)
    data: dict[str, Any] = {
        Action.merge: {"primary": 41},
        Action.dispatch: ROSTER,
        Action.reassign: {"lead": ASSISTING, "mode": "serial", "assisting": [LEAD]},
        Action.verify: {"passed": True},
        Action.rate: {"score": 4, "comment": "fixed within a day"},
        Action.request_extension: {"until": run.later(48)},
        Action.summon: {"departments": {OTHER: run.later(4)}},
    }.get(action, {})
    return {"department": department, "reason": "the note for this move", "data": data}
