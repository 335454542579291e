"""Timelines of imported work orders, built by the lifecycle's rules once per shape.

An imported work order takes one of a few paths: opened and registered; dispatched to a department
or not; acknowledged, reported and closed or still open. Which moves the lifecycle allows, the
statuses they lead to, the state they leave and what its handlers add to an entry depend only on
that path: the actions, their actors (the import itself, the system, the lead department's handler)
and the dispatch's roster — never on the times, reasons or the rest of the data. So ``Timelines``
takes the first work order of each path through ``lifecycle.open_case`` / ``apply`` and keeps what
the rules made of it; every later one on that path gets the same statuses and state, with its own
times, reasons and data, normalised as ``apply`` normalises them (a blank reason is none; the data
are plain JSON values already). The module's tests hold the two ways side by side.

Each timeline comes out as the rows ``case_events`` keeps (without the case id) and, for the step
deadlines, which entries start and meet a step, as ``cases.deadlines.track`` would record them.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from cityops.cases import lifecycle
from cityops.cases.deadlines import STEP_OF_STATUS
from cityops.cases.lifecycle import Action, Actor, CaseState, TimelineEntry
from cityops.categories.time_limits import Step


class Move(NamedTuple):
    """One move of a work order's history: the first opens the case, the others are applied."""

    action: Action
    actor: Actor
    at: datetime
    reason: str | None = None
    data: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class _Path:
    state: CaseState
    """The state the path ends in."""
    entries: tuple[tuple[tuple[Any, ...], Mapping[str, Any]], ...]
    """Per move: the event's columns from version to the actor's department (the same for every
    order on the path), and what the handler added to the data."""
    steps: tuple[tuple[Step, int, int | None], ...]
    """Per step deadline: the step, the move that starts it, the move that meets it (None: still open)."""


@dataclass(frozen=True, slots=True)
class Timeline:
    state: CaseState
    events: list[tuple[Any, ...]]
    """``case_events`` rows: case id, version, action, from and to status, the actor's kind, id,
    role, name and department, at, reason, attachments, data."""
    steps: list[tuple[Step, datetime, datetime | None]]
    """Each step the timeline went through: the step, when it started, when it was met."""


class Timelines:
    def __init__(self) -> None:
        self.paths: dict[Hashable, _Path] = {}

    def follow(self, case_id: int, path: Hashable, moves: Sequence[Move]) -> Timeline:
        """The timeline of case ``case_id`` made by ``moves``; ``path`` names their path (see the
        module's docstring): the same path must mean the same actions, actors and roster."""
        known = self.paths.get(path)
        if known is None:
            known = self.paths[path] = _trace(moves)
        case = (case_id,)
        events = []
        for (_, _, at, reason, data), (same, extra) in zip(moves, known.entries, strict=True):
            data = data or {}
            events.append(case + same + (at, reason.strip() or None if reason else None, [],
                                         {**data, **extra} if extra else data))
        steps = [(step, moves[start].at, moves[met].at if met is not None else None)
                 for step, start, met in known.steps]
        return Timeline(known.state, events, steps)


def _trace(moves: Sequence[Move]) -> _Path:
    """The path the rules make of ``moves``: ``open_case``, then ``apply`` for each later move."""
    first, *later = moves
    state, entry = lifecycle.open_case(actor=first.actor, at=first.at, reason=first.reason, data=first.data)
    entries = [entry]
    for move in later:
        state, entry = lifecycle.apply(state, move.action, actor=move.actor, at=move.at, reason=move.reason,
                                       data=move.data)
        entries.append(entry)
    given = [dict(m.data or {}) for m in moves]
    return _Path(state=state,
                 entries=tuple(((e.version, e.action.value, e.from_status.value if e.from_status else None,
                                 e.to_status.value, e.actor.kind.value, e.actor.id, e.actor.role, e.actor.name,
                                 e.actor.department),
                                {k: v for k, v in e.data.items() if k not in data or data[k] != v})
                               for e, data in zip(entries, given, strict=True)),
                 steps=tuple(_steps(entries)))


def _steps(entries: Sequence[TimelineEntry]) -> list[tuple[Step, int, int | None]]:
    """Which entries start and meet each step: a change of status meets the open step and starts
    the new status's step (``cases.deadlines.track`` for a timeline without deferral or extension)."""
    steps: list[tuple[Step, int, int | None]] = []
    started: tuple[Step, int] | None = None
    for index, entry in enumerate(entries):
        if entry.from_status is not None and entry.from_status == entry.to_status:
            continue
        if started is not None:
            steps.append((*started, index))
        step = STEP_OF_STATUS.get(entry.to_status)
        started = (step, index) if step is not None else None
    if started is not None:
        steps.append((*started, None))
    return steps
