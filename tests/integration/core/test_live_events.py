"""Live events on both stores: published in the unit of work of the change, so a rolled-back unit of
work publishes nothing; kept a day for clients that resume, pruned by the worker at most once an hour
among all workers; ids never reused after pruning, so an old Last-Event-ID never skips a new event;
a hub delivers events committed out of id order, with cursors that never skip one."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import anyio
import pytest
from sqlalchemy import Engine, func, insert, select, update

from cityops import live
from cityops.db import unit_of_work
from cityops.live import LiveEvent, LiveHub

NOW = datetime(2026, 11, 15, 12, 0, tzinfo=UTC)
AREA = "/990000/990101/99010101/"


def stored(engine: Engine) -> list[tuple[int, str]]:
    with unit_of_work(engine) as session:
        return [tuple(row) for row in session.execute(select(LiveEvent.id, LiveEvent.kind).order_by(LiveEvent.id))]


def test_only_committed_units_of_work_publish(scratch_store: Engine) -> None:
    with unit_of_work(scratch_store) as session:
        live.publish(session, kind="warning", area_path=AREA, payload={"warning_id": 1})
    with pytest.raises(RuntimeError), unit_of_work(scratch_store) as session:
        live.publish(session, kind="warning", area_path=AREA, payload={"warning_id": 2})
        session.flush()
        raise RuntimeError("the change fails after publishing")
    assert [kind for _, kind in stored(scratch_store)] == ["warning"]
    with unit_of_work(scratch_store) as session:
        assert session.scalar(select(LiveEvent.payload)) == {"warning_id": 1}


def test_the_worker_prunes_old_events_once_an_hour_and_ids_are_never_reused(scratch_store: Engine) -> None:
    with unit_of_work(scratch_store) as session:
        for kind in ("old", "recent"):
            live.publish(session, kind=kind, area_path=AREA, payload={})
        session.flush()
        session.execute(update(LiveEvent).where(LiveEvent.kind == "old").values(created_at=NOW - timedelta(days=2)))
        session.execute(update(LiveEvent).where(LiveEvent.kind == "recent").values(created_at=NOW))
    (old_id, _), (recent_id, _) = stored(scratch_store)
    assert live.run_prune(scratch_store, holder="worker-a", now=NOW) == 1
    assert stored(scratch_store) == [(recent_id, "recent")]
    assert live.run_prune(scratch_store, holder="worker-b", now=NOW + timedelta(minutes=30)) is None  # not due yet
    assert live.run_prune(scratch_store, holder="worker-b", now=NOW + timedelta(days=2)) == 1
    with unit_of_work(scratch_store) as session:
        assert session.scalar(select(func.count()).select_from(LiveEvent)) == 0
        live.publish(session, kind="after", area_path=AREA, payload={})
    assert stored(scratch_store)[0][0] > recent_id > old_id


def test_an_event_committed_after_a_later_one_is_still_delivered(scratch_store: Engine) -> None:
    """PostgreSQL may commit id 2 before id 1: the hub hands out 2, keeps looking for 1, and the cursors
    never let a resuming client skip 1."""

    def commit(event_id: int, area_path: str = AREA) -> None:
        with unit_of_work(scratch_store) as session:
            session.execute(insert(LiveEvent).values(id=event_id, kind="indicator", area_path=area_path,
                                                     payload={"n": event_id}, created_at=NOW))

    async def scenario() -> list[tuple[int, int]]:
        hub = LiveHub(scratch_store, poll_s=0.02)
        subscription = await hub.subscribe(AREA)
        delivered = []
        for event_id in (2, 3, 1):
            commit(event_id)
            item = await asyncio.wait_for(subscription.queue.get(), 10)
            delivered.append((item.id, item.cursor))
        commit(4, area_path="/990000/990102/")  # elsewhere: moves the cursor on, reaches no one here
        commit(5)
        item = await asyncio.wait_for(subscription.queue.get(), 10)
        delivered.append((item.id, item.cursor))
        await hub.close()
        assert await subscription.queue.get() is None  # closing ends the subscription
        return delivered

    assert anyio.run(scenario) == [(2, 0), (3, 0), (1, 3), (5, 5)]


def test_a_publishing_commit_wakes_the_hubs_once_and_other_commits_do_not(scratch_store: Engine) -> None:
    hub = LiveHub(scratch_store)
    woken: list[int] = []
    hub.wake = lambda: woken.append(1)  # type: ignore[method-assign]
    with unit_of_work(scratch_store) as session:
        live.publish(session, kind="warning", area_path=AREA, payload={"warning_id": 1})
        live.publish(session, kind="warning", area_path=AREA, payload={"warning_id": 2})
    assert len(woken) == 1
    with unit_of_work(scratch_store) as session:
        session.execute(select(func.count()).select_from(LiveEvent))
    assert len(woken) == 1
    with unit_of_work(scratch_store) as session:
        live.publish(session, kind="case", area_path=AREA, payload={"case_id": 1})
    assert len(woken) == 2
