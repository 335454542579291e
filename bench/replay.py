"""NAB replay throughput: the labelled NAB series (../shared/data/sensors/nab) replayed as fast as the
store takes them, in time order, through ingest in-process (each reading checked, stored, rolled up,
and fed to the rules) — once with each series' two calibrated rules, once without rules — against a
raw ``executemany`` of the same rows into the readings table of an empty store, in the same run, in
batches of the same size. Run as `python bench/replay.py [--batch B] [--database-url URL]` (default:
SQLite in a temporary folder); the last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from readings import drop_store, fresh_store, raw_executemany
from shapely.geometry import box

from cityops.config import get_settings
from cityops.db import make_engine, unit_of_work
from cityops.geo import service as geo_service
from cityops.geo.levels import AreaLevel
from cityops.sensing import replay, replay_run, service
from cityops.sensing.models import Device
from cityops.sensing.simulate_fleet import IngestSender


def seed(store: str, tracks: list[replay.Track], *, with_rules: bool) -> None:
    """A one-street city with a device per series (and its rules)."""
    engine = make_engine(store)
    with unit_of_work(engine) as session:
        city = geo_service.create_area(session, code="990000", name="测试市", level=AreaLevel.city, parent=None,
                                       geometry=box(121.0, 31.0, 121.4, 31.2), origin="bench")
        district = geo_service.create_area(session, code="990001", name="测试区", level=AreaLevel.district,
                                           parent=city, geometry=box(121.0, 31.0, 121.4, 31.2), origin="bench")
        geo_service.create_area(session, code="990001001", name="测试街道", level=AreaLevel.street, parent=district,
                                geometry=box(121.0, 31.0, 121.4, 31.2), origin="bench")
        locator = geo_service.build_locator(session, boundary_distance_m=30)
        replay_run.ensure_devices(session, replay.nab_devices(tracks), locator=locator)
        if with_rules:
            replay_run.ensure_rules(session, [rule for track in tracks for rule in replay.calibrated_rules(track)],
                                    name="bench")
    engine.dispose()


def through_ingest(store: str, tracks: list[replay.Track], clock: replay.ReplayClock, batch: int) -> float:
    engine = make_engine(store)
    started = time.perf_counter()
    stats = replay_run.send_in_time(replay.timeline(tracks, clock=clock), IngestSender(engine, cases=None),
                                    stop=threading.Event(), batch_size=batch)
    elapsed = time.perf_counter() - started
    engine.dispose()
    total = sum(len(track.points) for track in tracks)
    if stats.accepted != total:
        raise SystemExit(f"ingest accepted {stats.accepted} readings of {total}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--batch", type=int, default=5_000)
    parser.add_argument("--database-url", default=None, help="a PostgreSQL URL; default: SQLite")
    args = parser.parse_args()
    root = get_settings().shared_data_dir / "sensors" / "nab"
    if not root.is_dir():
        sys.exit(f"no NAB data at {root}: this benchmark replays the shared data")
    tracks = replay.read_nab(root)
    total = sum(len(track.points) for track in tracks)
    clock = replay.replay_clock(tracks, now=datetime.now(UTC), speed=0, max_age=service.MAX_LATENESS)
    with tempfile.TemporaryDirectory() as folder:
        timings, stores = {}, []
        for name, with_rules in (("rules", True), ("no_rules", False)):
            store = fresh_store(args.database_url, Path(folder), name)
            stores.append(store)
            seed(store, tracks, with_rules=with_rules)
            timings[name] = through_ingest(store, tracks, clock, args.batch)
        raw = fresh_store(args.database_url, Path(folder), "raw")
        stores.append(raw)
        engine = make_engine(stores[0])
        with unit_of_work(engine, read_only=True) as session:
            ids = dict(session.query(Device.code, Device.id).all())
        engine.dispose()
        unique: dict[tuple[int, str, datetime], float] = {}
        for item in replay.timeline(tracks, clock=clock):  # a series may repeat a time; storage keeps the first
            key = (ids[item.reading["device"]], item.reading["metric"], datetime.fromisoformat(item.reading["ts"]))
            unique.setdefault(key, item.reading["value"])
        rows = [(*key, value, False) for key, value in unique.items()]
        timings["raw"] = raw_executemany(raw, rows, args.batch)
        for store in stores:
            drop_store(args.database_url, store)
    print(json.dumps({
        "bench": "replay", "backend": "postgresql" if args.database_url else "sqlite", "series": len(tracks),
        "readings": total, "rules": 2 * len(tracks), "batch": args.batch,
        "ingest_with_rules_readings_per_s": round(total / timings["rules"]),
        "ingest_without_rules_readings_per_s": round(total / timings["no_rules"]),
        "raw_readings_per_s": round(total / timings["raw"]),
        "ratio_to_raw": round(timings["raw"] / timings["rules"], 3),
        "ratio_rules_to_no_rules": round(timings["no_rules"] / timings["rules"], 3)}))


if __name__ == "__main__":
    main()
