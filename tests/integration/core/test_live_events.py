"""Live events on both stores: published in the unit of work of the change, so a rolled-back unit of
work publishes nothing; kept a day for clients that resume, pruned by the worker at most once an hour
among all workers; ids never reused after pruning, so an old Last-Event-ID never skips a new event."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, func, select, update

from cityops import live
from cityops.db import unit_of_work
from cityops.live import LiveEvent

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
