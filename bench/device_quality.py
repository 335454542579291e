"""Device quality over a week: ``sensing.quality_service.device_quality`` for a city's devices (their
1-hour rollups, warnings and the cases those became, judged and ranked), against the one query it
cannot do without, run bare in the same run: the distinct hours each device reported in.

Run as `python bench/device_quality.py [--devices N] [--days D] [--database-url URL]` (default: 2,000
devices, 7 days, SQLite in a temporary folder); the last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from readings import drop_store, fresh_store, gauge_city
from sqlalchemy import distinct, func, insert, select

from cityops.db import make_engine, unit_of_work
from cityops.org import service as org_service
from cityops.org.access import Principal
from cityops.sensing import alerting, quality_service
from cityops.sensing.models import Device, HourRollup, WarningRow

RULE = {"kind": "threshold", "metric": "water_level", "scope": {"device_type": "wl"},
        "levels": [{"level": "yellow", "fire_at": 3.0, "clear_at": 2.8}]}


def seed(store: str, devices: int, start: datetime, days: int) -> Principal:
    """Gauges reporting in most hours (every tenth misses every third hour), four warnings a day on
    every fifth gauge, half of them closed as false alarms; returns a city administrator."""
    engine = make_engine(store)
    with unit_of_work(engine) as session:
        city = gauge_city(session, devices, metrics={"water_level": "m"})
        admin = org_service.principal_of_user(session, org_service.create_user(
            session, username="admin", display_name="admin", password="bench-password-1", area_code=city.code,
            roles=["administrator"], origin="bench"))
        rule = alerting.create_rule(session, code="wl-high", name="水位超限", definition=RULE, author=admin)
        session.execute(Device.__table__.update().values(created_at=start - timedelta(days=1)))
        ids = list(session.scalars(select(Device.id).order_by(Device.id)))
    hours = [start + timedelta(hours=h) for h in range(24 * days)]
    for first in range(0, len(ids), 100):
        with unit_of_work(engine) as session:
            rows = [{"device_id": device_id, "metric": "water_level", "bucket": hour, "min": 1.0, "max": 2.0,
                     "sum": 9.0, "count": 6} for device_id in ids[first:first + 100] for n, hour in enumerate(hours)
                    if device_id % 10 or n % 3]
            session.execute(insert(HourRollup), rows)
            warnings = [{"rule_id": rule.id, "device_id": device_id, "metric": "water_level", "origin": f"D{device_id}",
                         "status": "false_alarm" if n % 2 else "resolved", "level": "yellow", "peak_level": "yellow",
                         "value": 3.5, "labels": {}, "area_path": city.path, "fired_at": hour, "updated_at": hour,
                         "closed_at": hour, "version": 2}
                        for device_id in ids[first:first + 100] if device_id % 5 == 0
                        for n, hour in enumerate(hours[::6])]
            if warnings:
                session.execute(insert(WarningRow), warnings)
    engine.dispose()
    return admin


def timed(action, repeat: int) -> float:  # noqa: ANN001
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        runs.append(time.perf_counter() - started)
    return statistics.median(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--devices", type=int, default=2000)
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--database-url", default=None, help="a PostgreSQL URL; default: SQLite")
    args = parser.parse_args()
    end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    start = end - timedelta(days=args.days)
    with tempfile.TemporaryDirectory() as folder:
        store = fresh_store(args.database_url, Path(folder), "quality")
        viewer = seed(store, args.devices, start, args.days)
        engine = make_engine(store)
        judged: list = []

        def rank() -> None:
            with unit_of_work(engine, read_only=True) as session:
                judged[:] = quality_service.device_quality(session, viewer=viewer, start=start, end=end, now=end,
                                                           limit=args.devices)[0]

        def bare() -> None:
            with unit_of_work(engine, read_only=True) as session:
                session.execute(select(HourRollup.device_id, func.count(distinct(HourRollup.bucket))).where(
                    HourRollup.bucket >= start, HourRollup.bucket < end).group_by(HourRollup.device_id)).all()

        rank_s, bare_s = timed(rank, args.repeat), timed(bare, args.repeat)
        engine.dispose()
        drop_store(args.database_url, store)
    noisy = sum("noisy" in item.flags for item in judged)
    offline = sum("often_offline" in item.flags for item in judged)
    print(f"{args.devices:,} devices over {args.days} days: ranked in {rank_s * 1000:.0f} ms "
          f"({noisy} noisy, {offline} often offline); bare count of their reporting hours {bare_s * 1000:.0f} ms")
    print(json.dumps({"bench": "device_quality", "backend": "postgresql" if args.database_url else "sqlite",
                      "devices": args.devices, "days": args.days, "rank_ms": round(rank_s * 1000, 1),
                      "bare_hours_count_ms": round(bare_s * 1000, 1), "ratio_to_bare": round(rank_s / bare_s, 2)}))


if __name__ == "__main__":
    main()
