"""Warnings (预警): the lifecycle of what a rule raises, and who hears of it. Pure: no database, no web.
The service keeps at most one active warning per (rule, origin), feeds it the rule's events with
``follow`` and people's moves with ``apply``, and stores the warning with its entry in one unit of work
(a partial unique index on active warnings makes "one per rule and origin" hold under concurrency)::

    (fired) ──▶ firing ──acknowledge──▶ acknowledged
                  │  └──────────┬──────────┘
                  │             ├──resolve (the rule cleared; system)──▶ resolved
                  │             ├──close_false_alarm (reason)──────────▶ false_alarm
                  │             └──convert_to_case (case id)───────────▶ converted
                  ├── change_level: firing and acknowledged keep their status, the level moves
                  ├── open_case (case id; system; also once resolved): the status stays, the warning
                  │   names its case
                  └── case_not_opened (reason; system; also once resolved): the status stays, the
                      history says why the rule's case could not be opened and when it is tried again

``TABLE`` says, for every action, where it may start, where it leads (none: the status stays), who may
take it and whether it needs a reason; ``apply`` checks role, then status, then input, then hands over
to the action's handler. Every move is a ``WarningEntry``, level changes included, so the history says
when a warning went yellow → orange → red and back.

Decisions:

- **A rule's events drive the warning** (``follow``): ``fired`` opens one, or updates the active one
  (never a duplicate); ``level_changed`` updates it; ``cleared`` resolves it. A warning a person has
  closed (false alarm, converted) stays closed: the rule's later moves down or its clear change nothing,
  but a move *up* opens a new warning, because a rising danger must not be hidden by an earlier judgement.
- **Only the system resolves and changes levels**: they follow the readings. People acknowledge (研判
  begins), close as a false alarm (with a reason: it feeds the device's false-alarm rate) or convert the
  warning into a case (naming it), which ends the warning: the case carries the problem from then on.
- **Opening a case is the rule's choice** (``Rule.open_case_from``): from that level up the system
  opens a case (``should_open_case``) and links it to the warning (``open_case``) without closing it:
  the warning goes on following the readings, so a later rise is a level change of the same warning
  (never a second case) and the clear resolves it while the case runs its course. A warning has one
  case at most: converting one that has a case is refused. Below that level, or without it, an
  operator judges.
- **A case that cannot be opened backs off** (``case_not_opened``, ``case_retry_delay``): each failure
  is an entry with the reason, and the next attempt waits a delay that doubles with each failure in a
  row (1 min, 2, 4 … at most 1 h), so a lasting fault neither floods the log nor slows every ingest.
  The link that finally succeeds ends the waiting: a warning with its case is never due again.
- **Silences and inhibition do not change the warning**: they only decide whether it is notified
  (``suppression``), so the history stays whole and a silence can end without losing anything.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, fields, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from cityops.errors import Conflict, InvalidInput, PermissionDenied
from cityops.org.roles import Role
from cityops.sensing.rules import EventKind, Rule, RuleEvent, RuleKind, WarningLevel, as_level
from cityops.times import as_utc


class WarningStatus(StrEnum):
    firing = "firing"
    acknowledged = "acknowledged"
    resolved = "resolved"
    false_alarm = "false_alarm"
    converted = "converted"


ACTIVE = frozenset({WarningStatus.firing, WarningStatus.acknowledged})
CASE_DUE = ACTIVE | {WarningStatus.resolved}
"""Where a rule's case may still be opened: not where a person closed the warning."""


class WarningAction(StrEnum):
    fire = "fire"
    change_level = "change_level"
    acknowledge = "acknowledge"
    resolve = "resolve"
    close_false_alarm = "close_false_alarm"
    convert_to_case = "convert_to_case"
    open_case = "open_case"
    case_not_opened = "case_not_opened"


@dataclass(frozen=True)
class Transition:
    sources: frozenset[WarningStatus]
    targets: frozenset[WarningStatus]
    """Where the action may lead; empty when the status stays."""
    roles: frozenset[str]
    requires_reason: bool


def _transition(sources: str, targets: str, roles: str, *, reason: bool = False) -> Transition:
    return Transition(frozenset(map(WarningStatus, sources.split())), frozenset(map(WarningStatus, targets.split())),
                      frozenset(map(Role, roles.split())), reason)


CENTRE = "operator dispatcher"
TABLE: dict[WarningAction, Transition] = {
    WarningAction.fire: _transition("", "firing", "system"),
    WarningAction.change_level: _transition("firing acknowledged", "", "system"),
    WarningAction.acknowledge: _transition("firing", "acknowledged", CENTRE),
    WarningAction.resolve: _transition("firing acknowledged", "resolved", "system"),
    WarningAction.close_false_alarm: _transition("firing acknowledged", "false_alarm", CENTRE, reason=True),
    WarningAction.convert_to_case: _transition("firing acknowledged", "converted", f"{CENTRE} system"),
    WarningAction.open_case: _transition("firing acknowledged resolved", "", "system"),
    WarningAction.case_not_opened: _transition("firing acknowledged resolved", "", "system", reason=True),
}


@dataclass(frozen=True)
class Actor:
    role: str
    name: str
    id: str | None = None
    """The user's id as text; None for the system."""


SYSTEM = Actor(Role.system, "system")


@dataclass(frozen=True)
class Labels:
    """What a warning is about, as plain values: what silences match and notifications group by."""

    rule: str
    kind: RuleKind
    origin: str
    """The device code, or the area code of an indicator series."""
    area_path: tuple[str, ...]
    """The origin's area codes from the city down."""
    device_type: str | None = None
    indicator: str | None = None
    station: str | None = None
    """The device (station, gateway) the origin's sensor reports through, if any."""

    def __post_init__(self) -> None:
        for name in ("rule", "origin"):
            if not isinstance(getattr(self, name), str) or not getattr(self, name).strip():
                raise InvalidInput(f"labels.{name} must be a code", field=f"labels.{name}")
        if self.kind not in set(RuleKind):
            raise InvalidInput(f"labels.kind must be one of {', '.join(RuleKind)}", field="labels.kind")
        object.__setattr__(self, "kind", RuleKind(self.kind))
        object.__setattr__(self, "area_path", tuple(self.area_path))
        if not self.area_path:
            raise InvalidInput("labels.area_path names the origin's areas", field="labels.area_path")


MATCHER_LABELS = frozenset(f.name for f in fields(Labels)) - {"area_path"} | {"area"}


@dataclass(frozen=True)
class Warning:
    """The glossary's name (it shadows the builtin, which this domain never needs)."""

    rule: str
    origin: str
    labels: Labels
    status: WarningStatus
    level: WarningLevel
    peak_level: WarningLevel
    fired_at: datetime
    updated_at: datetime
    value: float | None
    """The watched signal at the last change (None for a silence)."""
    case_id: int | None = None
    version: int = 1
    """How many entries the warning has."""

    @property
    def active(self) -> bool:
        return self.status in ACTIVE


@dataclass(frozen=True)
class WarningEntry:
    action: WarningAction
    from_status: WarningStatus | None
    """None for the entry that opens the warning."""
    to_status: WarningStatus
    from_level: WarningLevel | None
    to_level: WarningLevel
    actor: Actor
    at: datetime
    reason: str | None
    value: float | None
    case_id: int | None
    version: int


@dataclass(frozen=True)
class Move:
    """What a handler gets besides the warning."""

    action: WarningAction
    actor: Actor
    at: datetime
    reason: str | None
    level: WarningLevel | None
    value: float | None
    case_id: int | None


def _keep_status(warning: Warning, move: Move) -> Warning:
    targets = TABLE[move.action].targets
    return replace(warning, status=next(iter(targets))) if targets else warning


def _change_level(warning: Warning, move: Move) -> Warning:
    if move.level is None:
        raise InvalidInput("change_level names the new level", field="level")
    if move.level is warning.level:
        raise Conflict(f"the warning is already {warning.level}", code="same_level")
    peak = max(warning.peak_level, move.level, key=lambda level: level.rank)
    return replace(warning, level=move.level, peak_level=peak, value=move.value)


def _case_id(warning: Warning, move: Move) -> int:
    if not isinstance(move.case_id, int) or isinstance(move.case_id, bool) or move.case_id < 1:
        raise InvalidInput("case_id must be the id of the warning's case", field="case_id")
    if warning.case_id is not None:
        raise Conflict(f"the warning has case {warning.case_id} already", code="has_case",
                       extra={"case_id": warning.case_id})
    return move.case_id


def _convert(warning: Warning, move: Move) -> Warning:
    return replace(warning, status=WarningStatus.converted, case_id=_case_id(warning, move))


def _link_case(warning: Warning, move: Move) -> Warning:
    return replace(warning, case_id=_case_id(warning, move))


HANDLERS: dict[WarningAction, Callable[[Warning, Move], Warning]] = {
    WarningAction.change_level: _change_level,
    WarningAction.convert_to_case: _convert,
    WarningAction.open_case: _link_case,
}


def _check_actor(action: WarningAction, transition: Transition, actor: Actor) -> None:
    if not isinstance(actor, Actor):
        raise InvalidInput("actor must be an Actor", field="actor")
    if actor.role not in transition.roles:
        allowed = sorted(transition.roles)
        raise PermissionDenied(f"role {actor.role} may not {action} a warning; allowed: {', '.join(allowed)}",
                               code="role_not_allowed",
                               extra={"action": str(action), "role": str(actor.role), "allowed_roles": allowed})


def _reason(action: WarningAction, transition: Transition, reason: Any) -> str | None:
    if reason is not None and not isinstance(reason, str):
        raise InvalidInput("reason must be text", field="reason")
    reason = (reason or "").strip() or None
    if transition.requires_reason and reason is None:
        raise InvalidInput(f"{action} needs a reason", code="value_required", field="reason")
    return reason


def _value(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidInput("value must be a finite number", field="value")
    return float(value)


def open_warning(event: RuleEvent, *, labels: Labels) -> tuple[Warning, WarningEntry]:
    """A new firing warning from the rule event that raised it (a ``fired``, or a rise in level)."""
    if not isinstance(labels, Labels):
        raise InvalidInput("labels must be Labels", field="labels")
    if event.level is None or event.rule != labels.rule:
        raise InvalidInput("a warning opens on a rule event with a level, for the labels' rule", field="event")
    transition = TABLE[WarningAction.fire]
    _check_actor(WarningAction.fire, transition, SYSTEM)
    at = as_utc(event.at, field="at")
    warning = Warning(labels.rule, labels.origin, labels, WarningStatus.firing, event.level, event.level, at, at,
                      _value(event.value))
    return warning, WarningEntry(WarningAction.fire, None, warning.status, None, warning.level, SYSTEM, at, None,
                                 warning.value, None, warning.version)


def apply(warning: Warning, action: WarningAction | str, *, actor: Actor, at: datetime, reason: str | None = None,
          level: WarningLevel | None = None, value: float | None = None, case_id: int | None = None
          ) -> tuple[Warning, WarningEntry]:
    """Take ``action`` on ``warning``: the new warning and the entry that records it.

    Raises ``PermissionDenied`` (``role_not_allowed``) for the wrong role, ``Conflict``
    (``illegal_transition``, ``same_level``, ``has_case``) when the warning's state forbids the move, and
    ``InvalidInput`` (with the field) for a missing reason, a bad case id or a time before the last move.
    """
    if not isinstance(action, str) or action not in set(WarningAction):
        raise InvalidInput(f"unknown action {action!r}", field="action")
    action = WarningAction(action)
    transition = TABLE[action]
    _check_actor(action, transition, actor)
    if warning.status not in transition.sources:
        allowed = sorted(transition.sources)
        raise Conflict(f"cannot {action} a warning that is {warning.status}; allowed from "
                       f"{', '.join(allowed) or 'no status (it opens a warning)'}", code="illegal_transition",
                       extra={"action": str(action), "warning_status": str(warning.status), "allowed": allowed})
    at = as_utc(at, field="at")
    if at < warning.updated_at:
        raise InvalidInput("at must not be before the warning's last change", field="at")
    reason = _reason(action, transition, reason)
    level = None if level is None else as_level(level, field="level")
    move = Move(action, actor, at, reason, level, _value(value), case_id)
    new = HANDLERS.get(action, _keep_status)(warning, move)
    new = replace(new, updated_at=at, version=warning.version + 1)
    return new, WarningEntry(action, warning.status, new.status, warning.level, new.level, actor, at, reason,
                             move.value, new.case_id, new.version)


def follow(active: Warning | None, event: RuleEvent, *, labels: Labels) -> tuple[Warning, WarningEntry] | None:
    """The system's answer to a rule event for one (rule, origin): open, update or resolve its active
    warning, or nothing (see the module's decisions). ``active`` is the (rule, origin)'s active warning,
    if any; a closed one counts as none."""
    if event.rule != labels.rule:
        raise InvalidInput("the event comes from another rule than the labels'", field="event")
    if active is not None and (active.rule, active.origin) != (labels.rule, labels.origin):
        raise InvalidInput("the active warning belongs to another rule or origin", field="active")
    if active is not None and not active.active:
        active = None
    # A person's move carries the clock's time, and a reading taken a little before it may arrive
    # after it: the system's move then carries the person's time, never an earlier one.
    at = event.at if active is None else max(as_utc(event.at, field="at"), active.updated_at)
    if event.kind is EventKind.cleared:
        return None if active is None else apply(active, WarningAction.resolve, actor=SYSTEM, at=at,
                                                 value=event.value)
    if active is None:
        rising = event.previous_level is None or event.level.rank > event.previous_level.rank
        return open_warning(event, labels=labels) if rising else None
    if event.level is active.level:
        return None
    return apply(active, WarningAction.change_level, actor=SYSTEM, at=at, level=event.level, value=event.value)


def should_open_case(warning: Warning, rule: Rule) -> bool:
    """Whether the platform opens a case for this warning itself: the rule says so from a level the
    warning has reached (its peak: one that cleared before its case could be opened, within the same
    batch, still gets it), no person has closed it (false alarm, converted), and it has no case yet. The
    service opens the case (in the rule's category, routed by the closed loop) and then links it with
    ``open_case``."""
    if rule.code != warning.rule:
        raise InvalidInput("the warning comes from another rule", field="rule")
    return (rule.open_case_from is not None and warning.status in CASE_DUE and warning.case_id is None
            and warning.peak_level.rank >= rule.open_case_from.rank)


CASE_RETRY_FIRST = timedelta(minutes=1)
CASE_RETRY_LONGEST = timedelta(hours=1)


def case_retry_delay(failures: int) -> timedelta:
    """How long after its ``failures``-th failure in a row a rule's case is tried again: the first
    delay, doubled per further failure, never longer than ``CASE_RETRY_LONGEST``."""
    if isinstance(failures, bool) or not isinstance(failures, int) or failures < 1:
        raise InvalidInput("failures must be a whole number from 1", field="failures")
    # past the cap the doubling stops, so a long run of failures cannot overflow the delay
    doublings = min(failures - 1, (CASE_RETRY_LONGEST // CASE_RETRY_FIRST).bit_length())
    return min(CASE_RETRY_FIRST * 2**doublings, CASE_RETRY_LONGEST)


def next_case_attempt(*, failures: int, last_failed_at: datetime) -> datetime:
    """When a case that failed ``failures`` times in a row, the last at ``last_failed_at``, is tried again."""
    return as_utc(last_failed_at, field="last_failed_at") + case_retry_delay(failures)


@dataclass(frozen=True)
class Matcher:
    """Matches a label exactly; ``area`` matches the area and everything within it."""

    label: str
    value: str

    def __post_init__(self) -> None:
        if self.label not in MATCHER_LABELS:
            raise InvalidInput(f"unknown label {self.label!r}; silences match on {', '.join(sorted(MATCHER_LABELS))}",
                               field="matchers")
        if not isinstance(self.value, str) or not self.value.strip():
            raise InvalidInput(f"the matcher on {self.label} needs a value", code="value_required", field="matchers")

    def matches(self, labels: Labels) -> bool:
        if self.label == "area":
            return self.value in labels.area_path
        return getattr(labels, self.label) == self.value


@dataclass(frozen=True)
class Silence:
    """A time-boxed mute, by matcher (all must match), with who set it and why."""

    matchers: tuple[Matcher, ...]
    starts_at: datetime
    ends_at: datetime
    author: str
    reason: str
    id: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "matchers", tuple(self.matchers))
        if not self.matchers or not all(isinstance(matcher, Matcher) for matcher in self.matchers):
            raise InvalidInput("a silence needs at least one matcher", code="value_required", field="matchers")
        object.__setattr__(self, "starts_at", as_utc(self.starts_at, field="starts_at"))
        object.__setattr__(self, "ends_at", as_utc(self.ends_at, field="ends_at"))
        if self.ends_at <= self.starts_at:
            raise InvalidInput("a silence ends after it starts", code="end_before_start", field="ends_at")
        for name in ("author", "reason"):
            if not isinstance(getattr(self, name), str) or not getattr(self, name).strip():
                raise InvalidInput(f"a silence needs its {name}", code="value_required", field=name)

    def mutes(self, labels: Labels, *, at: datetime) -> bool:
        return self.starts_at <= at < self.ends_at and all(matcher.matches(labels) for matcher in self.matchers)


def inhibiting_station(labels: Labels, *, offline_stations: Collection[str]) -> str | None:
    """The offline station that explains this warning: a sensor's no-data warning is the station's
    silence, not the sensor's, so it is not told again. The station's own warnings are never inhibited."""
    station = labels.station
    if labels.kind is RuleKind.no_data and station and station != labels.origin and station in offline_stations:
        return station
    return None


@dataclass(frozen=True)
class Suppression:
    silences: tuple[Silence, ...]
    inhibited_by: str | None
    """The offline station, if one explains the warning."""

    @property
    def suppressed(self) -> bool:
        return bool(self.silences) or self.inhibited_by is not None


def suppression(labels: Labels, *, silences: Iterable[Silence], offline_stations: Collection[str],
                at: datetime) -> Suppression:
    """Whether a warning with these labels is notified at ``at``, and if not, why."""
    at = as_utc(at, field="at")
    return Suppression(tuple(silence for silence in silences if silence.mutes(labels, at=at)),
                       inhibiting_station(labels, offline_stations=offline_stations))


@dataclass(frozen=True)
class NotificationGroup:
    area: str
    subject: str
    """The device type, else the indicator, else the rule."""
    level: WarningLevel
    """The highest level in the group."""
    warnings: tuple[Warning, ...]
    """Highest level first, then the earliest."""


def notification_key(labels: Labels, *, area_depth: int | None = None) -> tuple[str, str]:
    """(area, subject) for grouping: the area at ``area_depth`` in the origin's chain (0 the city; None
    or deeper than the chain: the origin's own area), and what kind of thing warned."""
    if area_depth is not None and (isinstance(area_depth, bool) or not isinstance(area_depth, int) or area_depth < 0):
        raise InvalidInput("area_depth must be a non-negative whole number", field="area_depth")
    path = labels.area_path
    area = path[-1] if area_depth is None or area_depth >= len(path) else path[area_depth]
    return area, labels.device_type or labels.indicator or labels.rule


def group_for_notification(warnings: Iterable[Warning], *, area_depth: int | None = None
                           ) -> tuple[NotificationGroup, ...]:
    """One notification per area and subject, most severe group first."""
    groups: dict[tuple[str, str], list[Warning]] = {}
    for warning in warnings:
        groups.setdefault(notification_key(warning.labels, area_depth=area_depth), []).append(warning)
    result = []
    for (area, subject), members in groups.items():
        members.sort(key=lambda warning: (-warning.level.rank, warning.fired_at, warning.origin))
        result.append(NotificationGroup(area, subject, members[0].level, tuple(members)))
    result.sort(key=lambda group: (-group.level.rank, group.area, group.subject))
    return tuple(result)
