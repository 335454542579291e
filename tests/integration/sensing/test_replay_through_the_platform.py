"""A NAB series replayed onto a demo device through ingest, on SQLite and PostgreSQL: the device and its
calibrated rules are registered once, every reading lands in time order, and the warnings the platform
raises, taken back to the series' own time, score exactly as the dry run does."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, func, select

from cityops.db import unit_of_work
from cityops.geo import service as geo_service
from cityops.sensing import replay, replay_run, service
from cityops.sensing.models import Device, Reading, SensingRule
from cityops.sensing.simulate_fleet import IngestSender
from tests.factories import make_city
from tests.unit.sensing.test_replay import WINDOWS, spiky_series, write_nab


def test_the_platforms_warnings_score_as_the_dry_run(scratch_store: Engine, tmp_path: Path) -> None:
    write_nab(tmp_path, spiky_series(), WINDOWS)
    tracks = replay.read_nab(tmp_path / "nab")
    series_rules = replay.calibrated_rules(tracks[0])
    with unit_of_work(scratch_store) as session:
        make_city(session)
        locator = geo_service.build_locator(session, boundary_distance_m=30)
        assert replay_run.ensure_devices(session, replay.nab_devices(tracks), locator=locator) == 1
        assert replay_run.ensure_devices(session, replay.nab_devices(tracks), locator=locator) == 0
        assert len(replay_run.ensure_rules(session, series_rules, name="NAB")) == 2
        assert replay_run.ensure_rules(session, series_rules, name="NAB") == []
    clock = replay.replay_clock(tracks, now=datetime.now(UTC), speed=0, max_age=service.MAX_LATENESS)
    stats = replay_run.send_in_time(replay.timeline(tracks, clock=clock), IngestSender(scratch_store, cases=None),
                                    stop=threading.Event(), batch_size=128)
    assert (stats.readings, stats.accepted, stats.rejected, stats.batches) == (600, 600, 0, 5)
    shift = clock.shifts["NAB-speed_1"]
    with unit_of_work(scratch_store) as session:
        device = session.scalar(select(Device).where(Device.code == "NAB-speed_1"))
        assert device.area_path.startswith("/990000/")
        assert session.scalar(select(func.count()).select_from(Reading)) == 600
        assert session.scalar(select(func.min(Reading.ts))).replace(tzinfo=UTC) == tracks[0].points[0][0] + shift
        assert session.scalar(select(func.count()).select_from(SensingRule)) == 2
        fired = replay_run.fired_since(session, rule_codes=[rule.code for rule in series_rules],
                                       since=tracks[0].points[0][0] + shift)
    moments = sorted(moment.replace(tzinfo=UTC) - shift for times in fired.values() for moment in times)
    dry = replay.score_nab(tracks)[0]
    assert tuple(moments) == dry.fired
    assert replay.score_windows(moments, tracks[0].windows) == dry.score == replay.WindowScore(2, 1, 2, 1)


def test_a_replay_can_be_stopped_between_batches(scratch_store: Engine, tmp_path: Path) -> None:
    write_nab(tmp_path, spiky_series(), WINDOWS)
    tracks = replay.read_nab(tmp_path / "nab")
    with unit_of_work(scratch_store) as session:
        make_city(session)
        replay_run.ensure_devices(session, replay.nab_devices(tracks),
                                  locator=geo_service.build_locator(session, boundary_distance_m=30))
    stop = threading.Event()
    clock = replay.replay_clock(tracks, now=datetime.now(UTC), speed=3600, max_age=service.MAX_LATENESS)
    stats = replay_run.send_in_time(replay.timeline(tracks, clock=clock), IngestSender(scratch_store, cases=None),
                                    stop=stop, on_batch=lambda _: stop.set())
    assert stats.batches == 1 and 0 < stats.readings < 600
    assert timedelta(0) <= clock.due(tracks[0].points[1][0] + clock.shifts["NAB-speed_1"]) <= timedelta(seconds=1)
