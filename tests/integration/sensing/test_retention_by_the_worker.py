"""The background worker keeps readings for the configured days: it prunes at most once an hour
among all workers, the lease's expiry saying when the next prune is due."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine, func, select

from cityops import worker
from cityops.db import unit_of_work
from cityops.sensing import service
from cityops.sensing.models import Reading
from tests.integration.sensing.world import NOW, make_world, reading


def test_the_worker_prunes_old_readings_once_an_hour(scratch_store: Engine) -> None:
    with unit_of_work(scratch_store) as session:
        world = make_world(session)
        items = [reading("WL-1", ts, 1.0) for ts in ("2026-09-10T00:00:00Z", "2026-11-10T00:00:00Z")]
        assert service.ingest(session, items=items, caller=world.admin, now=NOW).stored == 2

    def prune(holder: str, at=NOW):  # noqa: ANN001, ANN202
        return service.run_prune(scratch_store, holder=holder, now=at, raw_days=30, rollup_days=90)

    def kept() -> int:
        with unit_of_work(scratch_store) as session:
            return session.scalar(select(func.count()).select_from(Reading))

    assert prune("worker-a") is not None
    assert kept() == 1  # September's reading is past 30 days
    assert prune("worker-a", NOW + timedelta(minutes=30)) is None  # not due again yet
    assert prune("worker-b", NOW + timedelta(minutes=30)) is None
    assert prune("worker-b", NOW + timedelta(hours=1, minutes=1)) is not None



def test_each_round_of_the_worker_includes_retention(scratch_store: Engine, settings) -> None:  # noqa: ANN001
    done = worker.run_all(scratch_store, settings, holder="worker-a", post=lambda outgoing: 200)
    assert set(done) == {"sweep", "fanned_out", "delivered", "indicators", "rule_clock", "pruned", "live_pruned"}
    assert done["pruned"] is not None  # the first round is due
    assert worker.run_all(scratch_store, settings, holder="worker-a", post=lambda outgoing: 200)["pruned"] is None
