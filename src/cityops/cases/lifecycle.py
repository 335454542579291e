"""The case lifecycle (闭环处置): one transition table, small handlers, and a timeline that rebuilds the
state. Pure: no database, no web. The service loads a case, calls ``apply`` and stores the new state
and its timeline entry in one unit of work, guarded by ``version`` so that two concurrent moves (two
dispatches, say) cannot both succeed.

``TABLE`` says, for every action, the statuses it may start from, the statuses it may lead to (none:
the status stays), the roles that may take it and whether it needs a reason. ``apply`` checks the
role (and that a department's action names the department), then the status, then the input, and
hands over to the action's handler (``HANDLERS``; a plain move just takes the table's one target).
The handlers of the centre's own decisions (merge, verify, reopen) and the citizen's rating are
here; those of joint handling and summons are in ``cases.handling``, those of extensions and
deferral in ``cases.clock``, and the data they share (statuses, actions, state, entry) in
``cases.states``, all re-exported from here.

Decisions:

- **Deferral (缓办/挂账) is a flag, not a status.** It happens at the centre (a registered case nobody
  can handle yet) and at a department (a case in progress that must wait for budget or works), and a
  deferred case must come back to exactly where it was; as a status it would need a memory of that
  place and a copy of every move out of it. It only stops the clock: ``defer``/``resume`` write their
  own entries, and any move that changes the status ends it (the case is moving again). A pending
  extension request lapses the same way.
- **Reopen** goes back to the lead department (``in_progress``, its assignment reopened, like rework)
  when departments handled the case, and to ``registered`` when it was closed at the centre
  (直接办结) and there is nobody to send it back to. The previous rating no longer stands.
- **Close** without a verification is allowed from ``handled`` (an unverified case closed by the
  centre or by the sweeper when the verification window ends) and from ``registered`` (a question
  answered on the hotline, a problem fixed on the spot); it always needs a reason.
- **Joint handling** lives on the case (``assignments``) so that each department's acknowledgement,
  report and return is a timeline entry and ``replay`` rebuilds it. Any department's return sends the
  whole case back to the centre (the roster was the centre's decision), and ``reassign`` dispatches a
  fresh roster. The case is ``in_progress`` from the first acknowledgement to the last report, while
  the assignments say who is on it. See ``cityops.cases.joint``.
- **The timeline opens with ``intake``** (``open_case``), so ``replay`` needs nothing but the entries,
  and an entry's data is kept as it will read back from JSON storage.
- **Attachments are never required here**: whether a report needs a photo depends on the category
  (a broken manhole cover, not a noise complaint) and the channel (imported history has none), so the
  service decides. Reasons are required where a person overrides or ends something.
- **Rating** is the citizen's alone, once per closure, 1–5 with an optional comment.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cityops.cases import clock, handling, joint
from cityops.cases.states import Action, Actor, ActorKind, CaseState, CaseStatus, Effect, Move, TimelineEntry, evolve
from cityops.errors import Conflict, InvalidInput, PermissionDenied
from cityops.org.roles import Role
from cityops.times import as_utc

__all__ = ["ACTIONS", "ACTOR_ROLES", "CITIZEN", "DEPARTMENT_ACTIONS", "DERIVED_KEYS", "HANDLERS", "TABLE", "Action",
           "Actor", "ActorKind", "CaseState", "CaseStatus", "Rule", "TimelineEntry", "apply", "available", "open_case",
           "replay"]


CITIZEN = "citizen"
ACTOR_ROLES = frozenset({*Role, CITIZEN})
# Actions a department takes for itself: the actor must name its department.
DEPARTMENT_ACTIONS = frozenset({Action.acknowledge, Action.return_, Action.report, Action.request_extension,
                                Action.report_in})
DERIVED_KEYS = frozenset({"next_department", "withdrawn"})


@dataclass(frozen=True)
class Rule:
    sources: frozenset[CaseStatus]
    targets: frozenset[CaseStatus]
    """Where the action may lead; empty when it leaves the status as it is."""
    roles: frozenset[str]
    requires_reason: bool


def _rule(sources: str, targets: str, roles: str, *, reason: bool = False) -> Rule:
    unknown = set(roles.split()) - ACTOR_ROLES
    if unknown:
        raise ValueError(f"unknown roles in the transition table: {sorted(unknown)}")
    return Rule(frozenset(map(CaseStatus, sources.split())), frozenset(map(CaseStatus, targets.split())),
                frozenset(roles.split()), reason)


CENTRE = "operator dispatcher administrator"
TABLE: dict[Action, Rule] = {
    # intake opens a case (``open_case``); it never applies to an existing one. Devices report through
    # the sensing rules, which act as the system.
    Action.intake: _rule("", "reported", f"citizen system {CENTRE} inspector handler leader"),
    Action.register: _rule("reported", "registered", f"{CENTRE} system"),
    Action.reject: _rule("reported", "rejected", CENTRE, reason=True),
    Action.merge: _rule("reported registered", "merged", f"{CENTRE} system", reason=True),
    Action.unmerge: _rule("merged", "reported registered", CENTRE, reason=True),
    Action.dispatch: _rule("registered", "dispatched", "dispatcher administrator system"),
    Action.acknowledge: _rule("dispatched in_progress", "in_progress", "handler"),
    Action.return_: _rule("dispatched in_progress", "returned", "handler", reason=True),
    Action.reassign: _rule("returned", "dispatched", "dispatcher administrator system", reason=True),
    Action.report: _rule("in_progress", "in_progress handled", "handler", reason=True),
    # verify needs a reason when it fails (see ``_verify``).
    Action.verify: _rule("handled", "closed in_progress", "inspector operator dispatcher"),
    Action.close: _rule("registered handled", "closed", "operator dispatcher system", reason=True),
    Action.reopen: _rule("closed", "in_progress registered", CENTRE, reason=True),
    # A merged report is rated by its reporter once the case it follows is closed (the service checks).
    Action.rate: _rule("closed merged", "", CITIZEN),
    Action.request_extension: _rule("in_progress", "", "handler", reason=True),
    Action.approve_extension: _rule("in_progress", "", "dispatcher administrator"),
    Action.deny_extension: _rule("in_progress", "", "dispatcher administrator", reason=True),
    Action.defer: _rule("registered in_progress", "", "dispatcher administrator", reason=True),
    Action.resume: _rule("registered in_progress", "", "dispatcher administrator system"),
    Action.summon: _rule("registered dispatched in_progress returned", "", CENTRE, reason=True),
    Action.report_in: _rule("registered dispatched in_progress returned handled", "", "handler"),
}


def _single_target(case: CaseState, move: Move) -> Effect:
    targets = TABLE[move.action].targets
    return (evolve(case, status=next(iter(targets))) if targets else case), {}


def _flag(data: Mapping[str, Any], key: str) -> bool:
    value = data.get(key)
    if not isinstance(value, bool):
        raise InvalidInput(f"{key} must be true or false", field=key)
    return value


def _verify(case: CaseState, move: Move) -> Effect:
    if _flag(move.data, "passed"):
        return evolve(case, status=CaseStatus.closed), {}
    if not move.reason:
        raise InvalidInput("a failed verification needs a reason: what is still wrong", code="value_required",
                           field="reason")
    return evolve(case, status=CaseStatus.in_progress, rework_count=case.rework_count + 1,
                  assignments=joint.rework(case.assignments)), {}


def _merge(case: CaseState, move: Move) -> Effect:
    primary = move.data.get("primary")
    if not isinstance(primary, int) or isinstance(primary, bool) or primary < 1:
        raise InvalidInput("primary must be the id of the case this one duplicates", field="primary")
    return evolve(case, status=CaseStatus.merged, duplicate_of=primary, status_before_merge=case.status), {}


def _unmerge(case: CaseState, move: Move) -> Effect:
    # a rating given for the case it followed does not stay with it
    return evolve(case, status=case.status_before_merge or CaseStatus.reported, duplicate_of=None,
                  status_before_merge=None, rating=None), {}


def _reopen(case: CaseState, move: Move) -> Effect:
    reopened = evolve(case, reopen_count=case.reopen_count + 1, rating=None)
    if case.assignments:
        return evolve(reopened, status=CaseStatus.in_progress, assignments=joint.rework(case.assignments)), {}
    return evolve(reopened, status=CaseStatus.registered), {}


def _rate(case: CaseState, move: Move) -> Effect:
    if case.rating is not None:
        raise Conflict("this closure has already been rated", code="already_rated")
    score = move.data.get("score")
    if not isinstance(score, int) or isinstance(score, bool) or not 1 <= score <= 5:
        raise InvalidInput("score must be a whole number from 1 to 5", field="score")
    if not isinstance(move.data.get("comment", ""), str):
        raise InvalidInput("comment must be text", field="comment")
    return evolve(case, rating=score), {}


HANDLERS: dict[Action, Callable[[CaseState, Move], Effect]] = {
    Action.merge: _merge,
    Action.unmerge: _unmerge,
    Action.verify: _verify,
    Action.reopen: _reopen,
    Action.rate: _rate,
    **handling.HANDLERS,
    **clock.HANDLERS,
}
"""Each action's handler; an action without one just takes the table's one target."""


def _check_actor(action: Action, rule: Rule, actor: Actor) -> None:
    if actor.role not in rule.roles:
        raise PermissionDenied(f"role {actor.role} may not {action}; allowed: {', '.join(sorted(rule.roles))}",
                               code="role_not_allowed",
                               extra={"action": str(action), "role": actor.role, "allowed_roles": sorted(rule.roles)})
    if action in DEPARTMENT_ACTIONS and not actor.department:
        raise PermissionDenied(f"{action} is taken by a department, and the actor names none", code="not_assigned")


def _check_input(action: Action, rule: Rule, at: datetime, reason: str | None, attachments: Sequence[str],
                 data: Mapping[str, Any] | None) -> tuple[datetime, str | None, tuple[str, ...], dict[str, Any]]:
    at = as_utc(at, field="at")
    if reason is not None and not isinstance(reason, str):
        raise InvalidInput("reason must be text", field="reason")
    reason = (reason or "").strip() or None
    if rule.requires_reason and reason is None:
        raise InvalidInput(f"{action} needs a reason", code="value_required", field="reason")
    if isinstance(attachments, str) or not all(isinstance(a, str) and a.strip() for a in attachments):
        raise InvalidInput("attachments must be a list of stored attachment references", field="attachments")
    return at, reason, tuple(attachments), _json_object(data)


def _json_object(data: Mapping[str, Any] | None) -> dict[str, Any]:
    """The entry's data as it will read back from storage (JSON), so that replay compares like with like.
    Keys the handlers derive are recomputed, never taken from the caller (nor from a replayed entry)."""
    if data is not None and not isinstance(data, Mapping):
        raise InvalidInput("data must be an object", field="data")
    if not data:
        return {}
    try:
        stored = json.loads(json.dumps(dict(data), allow_nan=False))
    except (TypeError, ValueError) as error:
        raise InvalidInput(f"data must hold JSON values only: {error}", field="data") from None
    return {key: value for key, value in stored.items() if key not in DERIVED_KEYS}


def open_case(*, actor: Actor, at: datetime, reason: str | None = None, attachments: Sequence[str] = (),
              data: Mapping[str, Any] | None = None) -> tuple[CaseState, TimelineEntry]:
    """A new case in ``reported``, with the entry that opens its timeline."""
    rule = TABLE[Action.intake]
    _check_actor(Action.intake, rule, actor)
    at, reason, attachments, data = _check_input(Action.intake, rule, at, reason, attachments, data)
    case = CaseState()
    return case, TimelineEntry(Action.intake, None, case.status, actor, at, reason, attachments, data, case.version)


ACTIONS = frozenset(Action)
_LEAVING = {"deferred": False, "extension_pending": False}
"""What leaving a status clears."""


def apply(case: CaseState, action: Action, *, actor: Actor, at: datetime, reason: str | None = None,
          attachments: Sequence[str] = (), data: Mapping[str, Any] | None = None
          ) -> tuple[CaseState, TimelineEntry]:
    """Take ``action`` on ``case``: the new state and the timeline entry that records it.

    Raises ``PermissionDenied`` (``role_not_allowed``, ``not_assigned``) for the wrong actor,
    ``Conflict`` (``illegal_transition`` and the guards' codes) when the case's state forbids the move,
    and ``InvalidInput`` (with the field) for a missing reason or bad data. The case is never changed
    in place.
    """
    if not isinstance(action, str) or action not in ACTIONS:
        raise InvalidInput(f"unknown action {action!r}", field="action")
    action = Action(action)
    rule = TABLE[action]
    _check_actor(action, rule, actor)
    if case.status not in rule.sources:
        allowed = sorted(rule.sources)
        raise Conflict(f"cannot {action} a case that is {case.status}; {action} is allowed from "
                       f"{', '.join(allowed) or 'no status (it opens a case)'}", code="illegal_transition",
                       extra={"action": str(action), "case_status": str(case.status), "allowed": allowed})
    at, reason, attachments, data = _check_input(action, rule, at, reason, attachments, data)
    new, extra = HANDLERS.get(action, _single_target)(case, Move(action, actor, at, reason, data))
    if new.status not in (rule.targets or {case.status}):
        raise AssertionError(f"handler for {action} led to {new.status}, outside the table")
    new = evolve(new, version=case.version + 1, **(_LEAVING if new.status != case.status else {}))
    return new, TimelineEntry(action, case.status, new.status, actor, at, reason, attachments, data | extra,
                              new.version)


# What a person may do to a case; intake opens one and rating is the citizen's.
STAFF_ACTIONS = tuple(action for action in Action if action not in (Action.intake, Action.rate))


def available(case: CaseState, actor_for: Callable[[Action], Actor], *, at: datetime) -> tuple[Action, ...]:
    """The actions an actor may take on ``case`` now, in the table's order: those ``apply`` would
    accept given the right input. Each is tried with a reason and a later deadline but no other
    input: one refused for the actor (``PermissionDenied``) or for the case's state (``Conflict``) is
    not available; one refused only for its missing input (a department, a verdict, a primary case)
    is. So the answer follows the same checks as the move itself, guards of joint handling, summons
    and extensions included."""
    probe = {"until": (at + timedelta(days=365)).isoformat()}
    allowed = []
    for action in STAFF_ACTIONS:
        if case.status not in TABLE[action].sources:
            continue  # refused by ``apply`` in any case, for the actor or for the status: no need to try
        try:
            apply(case, action, actor=actor_for(action), at=at, reason="?", data=probe)
        except (PermissionDenied, Conflict):
            continue
        except InvalidInput:
            pass
        allowed.append(action)
    return tuple(allowed)


def replay(entries: Sequence[TimelineEntry]) -> CaseState:
    """Rebuild a case from its timeline, re-checking every entry against the rules.

    Raises ``Conflict`` (``timeline_mismatch``) when the timeline does not start by opening the case or
    an entry is not what the rules make of it (out of order, edited, or written under other rules), and
    the errors of ``apply`` for an entry that breaks the rules outright.
    """
    if not entries or entries[0].action != Action.intake:
        raise Conflict("a timeline starts with the intake of the case", code="timeline_mismatch")
    case = None
    for entry in entries:
        kwargs = {"actor": entry.actor, "at": entry.at, "reason": entry.reason, "attachments": entry.attachments,
                  "data": entry.data}
        case, produced = open_case(**kwargs) if case is None else apply(case, entry.action, **kwargs)
        if produced != entry:
            raise Conflict(f"timeline entry {entry.version} ({entry.action}) does not follow from the entries "
                           f"before it", code="timeline_mismatch", extra={"version": entry.version})
    return case
