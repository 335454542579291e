"""What the lifecycle speaks of: a case's statuses and actions, who acts, the state a timeline
rebuilds, and the timeline entry. Plain data, shared by the transition table (``lifecycle``) and the
handlers of its moves (``lifecycle``, ``handling``, ``clock``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import datetime
from enum import StrEnum
from typing import Any

from cityops.cases import joint
from cityops.org.routing import JointMode


class CaseStatus(StrEnum):
    reported = "reported"
    registered = "registered"
    rejected = "rejected"
    merged = "merged"
    dispatched = "dispatched"
    in_progress = "in_progress"
    returned = "returned"
    handled = "handled"
    closed = "closed"


FINISHED_STATUSES = frozenset({CaseStatus.closed, CaseStatus.rejected, CaseStatus.merged})
"""Nothing is left to do on a case in these (until a reopen or an unmerge takes it back)."""
OPEN_STATUSES = tuple(status.value for status in CaseStatus if status not in FINISHED_STATUSES)
"""Someone still has to act on a case in these: the duplicate check's candidates, the screen's open
cases, the open-case indicators."""


class Action(StrEnum):
    intake = "intake"
    register = "register"
    reject = "reject"
    merge = "merge"
    unmerge = "unmerge"
    dispatch = "dispatch"
    acknowledge = "acknowledge"
    return_ = "return"
    reassign = "reassign"
    report = "report"
    verify = "verify"
    close = "close"
    reopen = "reopen"
    rate = "rate"
    request_extension = "request_extension"
    approve_extension = "approve_extension"
    deny_extension = "deny_extension"
    defer = "defer"
    resume = "resume"
    summon = "summon"
    report_in = "report_in"


class ActorKind(StrEnum):
    user = "user"
    client = "client"
    """An API client: a department's system, a trusted channel."""
    citizen = "citizen"
    system = "system"
    """The platform itself: auto-registration, routing, the sweeper."""


@dataclass(frozen=True)
class Actor:
    kind: ActorKind
    id: str | None
    """The user's or client's id as text; None for the system and for a citizen without an account."""
    role: str
    name: str
    department: str | None = None
    """The code of the department a handler acts for."""


@dataclass(frozen=True)
class CaseState:
    status: CaseStatus = CaseStatus.reported
    version: int = 1
    """How many timeline entries the case has."""
    rework_count: int = 0
    return_count: int = 0
    reopen_count: int = 0
    rating: int | None = None
    duplicate_of: int | None = None
    status_before_merge: CaseStatus | None = None
    deferred: bool = False
    extension_pending: bool = False
    joint_mode: JointMode | None = None
    assignments: tuple[joint.Assignment, ...] = ()
    summons: tuple[joint.SummonsCall, ...] = ()


STATE_FIELDS = frozenset(f.name for f in fields(CaseState))


def evolve(state: CaseState, /, **changes: Any) -> CaseState:
    """``dataclasses.replace`` for the state without its per-call introspection, which was most of
    the cost of replaying and importing timelines. The state has no __post_init__ to skip."""
    unknown = changes.keys() - STATE_FIELDS
    if unknown:
        raise TypeError(f"CaseState has no field {', '.join(sorted(unknown))}")
    new = object.__new__(CaseState)
    new.__dict__.update(state.__dict__)
    new.__dict__.update(changes)
    return new


@dataclass(frozen=True)
class TimelineEntry:
    action: Action
    from_status: CaseStatus | None
    """None for the entry that opens the case."""
    to_status: CaseStatus
    actor: Actor
    at: datetime
    """Aware, in UTC."""
    reason: str | None
    attachments: tuple[str, ...]
    data: Mapping[str, Any]
    version: int
    """The case's version after this entry: 1, 2, 3 … in the order of the timeline."""


@dataclass(frozen=True)
class Move:
    """What a handler gets besides the case."""

    action: Action
    actor: Actor
    at: datetime
    reason: str | None
    data: Mapping[str, Any]


Effect = tuple[CaseState, dict[str, Any]]
"""A handler's result: the new state, and anything to add to the entry's data."""
