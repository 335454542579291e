"""Timelines built once per path give, for every work order on the path, what the lifecycle gives
when each one is taken through ``open_case`` and ``apply``: the same entries (as stored), the same
state, and the same step deadlines started and met."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest

from cityops.cases import lifecycle
from cityops.cases.deadlines import STEP_OF_STATUS
from cityops.cases.lifecycle import Action, Actor, ActorKind
from cityops.cases.service import SYSTEM
from cityops.history.timelines import Move, Timelines

IMPORT = Actor(kind=ActorKind.client, id=None, role="system", name="Test311 (history import)")


def handler(department: str) -> Actor:
    return Actor(kind=ActorKind.client, id=None, role="handler", name=IMPORT.name, department=department)


def history(number: int, lead: str | None, closed: bool) -> list[Move]:
    """A work order's moves as the bulk import makes them, with this order's own times and words."""
    opened = datetime(2025, 3, 3, 9, tzinfo=UTC) + timedelta(hours=7 * number, seconds=number)
    done = opened + timedelta(days=1 + number % 3, minutes=number)
    moves = [Move(Action.intake, IMPORT, opened, data={"channel": "hotline_12345"} | (
                 {"located_by_address": {"named": ["X", "Y"], "ambiguous": []}} if number % 2 else {})),
             Move(Action.register, SYSTEM, opened, data={"why": "registered in Test311",
                                                         "history": {"source": "Test311", "row": number + 2}})]
    if lead is not None:
        moves.append(Move(Action.dispatch, SYSTEM, opened, f"  handled by {lead}  " if number % 2 else None,
                          {"lead": lead, "assisting": [], "mode": "parallel", "routed_lead": None,
                           "matched_area": None, "source_department": f"agency {number}"}))
    if closed:
        if lead is not None:
            moves += [Move(Action.acknowledge, handler(lead), opened),
                      Move(Action.report, handler(lead), done, f"fixed #{number}")]
        moves.append(Move(Action.close, SYSTEM, done, "imported", {"resolution": f"fixed #{number}"}
                          if number % 3 else {}))
    return moves


def by_the_lifecycle(case_id: int, moves: Sequence[Move]) -> tuple[Any, list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    first, *later = moves
    state, entry = lifecycle.open_case(actor=first.actor, at=first.at, reason=first.reason, data=first.data)
    entries = [entry]
    for move in later:
        state, entry = lifecycle.apply(state, move.action, actor=move.actor, at=move.at, reason=move.reason,
                                       data=move.data)
        entries.append(entry)
    events = [(case_id, e.version, e.action.value, e.from_status.value if e.from_status else None, e.to_status.value,
               e.actor.kind.value, e.actor.id, e.actor.role, e.actor.name, e.actor.department, e.at, e.reason,
               list(e.attachments), dict(e.data)) for e in entries]
    steps, started = [], None
    for e in entries:
        if e.from_status is not None and e.from_status == e.to_status:
            continue
        if started is not None:
            steps.append((*started, e.at))
        step = STEP_OF_STATUS.get(e.to_status)
        started = (step, e.at) if step is not None else None
    if started is not None:
        steps.append((*started, None))
    return state, events, steps


def stored(events: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    return [(*event[:12], orjson.dumps(event[12]), orjson.dumps(event[13])) for event in events]


@pytest.mark.parametrize(("lead", "closed"), [("D1", True), ("D1", False), (None, True), (None, False)])
def test_every_order_on_a_path_gets_what_the_lifecycle_gives_it(lead: str | None, closed: bool) -> None:
    timelines = Timelines()
    for number in range(6):
        moves = history(number, lead, closed)
        timeline = timelines.follow(number, (lead, closed), moves)
        state, events, steps = by_the_lifecycle(number, moves)
        assert timeline.state == state
        assert stored(timeline.events) == stored(events)
        assert timeline.steps == steps
    assert len(timelines.paths) == 1


def test_paths_to_different_departments_are_kept_apart() -> None:
    timelines = Timelines()
    for number, lead in enumerate(["D1", "S1", "D1", "S1"]):
        moves = history(number, lead, True)
        assert timelines.follow(number, (lead, True), moves).state == by_the_lifecycle(number, moves)[0]
    assert {a.department_code for path in timelines.paths.values() for a in path.state.assignments} == {"D1", "S1"}
