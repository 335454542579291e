"""Indicators' cost, in-process on one store: (1) readings ingest (``service.ingest``, one unit of work per
batch) of a metric an indicator watches — marking the minutes it changed — against batches of the same
size of a metric none watches, the two alternating in the same run so that the machine's load weighs on
both alike; (2) one round of the indicator job over a minute of readings from
every device (the highest water level per street, from the 1-minute rollups), against a bare
``GROUP BY`` of the same rollups per device.

Run as `python bench/indicators.py [--devices D] [--batches B] [--database-url URL]` (default: SQLite
in a temporary folder); the last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from shapely.geometry import box
from sqlalchemy import func, select

sys.path.insert(0, str(Path(__file__).resolve().parent))

from readings import drop_store, fresh_store  # noqa: E402

from cityops.db import make_engine, unit_of_work  # noqa: E402
from cityops.geo import service as geo_service  # noqa: E402
from cityops.geo.levels import AreaLevel  # noqa: E402
from cityops.org.access import Principal  # noqa: E402
from cityops.sensing import devices as registry  # noqa: E402
from cityops.sensing import indicators_service, service  # noqa: E402
from cityops.sensing.models import MinuteRollup  # noqa: E402

DISTRICTS, STREETS = 4, 8
START = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(hours=2)


def seed(store: str, devices: int) -> Principal:
    """A city of 4 districts × 8 streets with ``devices`` gauges spread over it; its administrator."""
    engine = make_engine(store)
    with unit_of_work(engine) as session:
        city = geo_service.create_area(session, code="990000", name="测试市", level=AreaLevel.city, parent=None,
                                       geometry=box(121.0, 31.0, 121.4, 31.2), origin="bench")
        width = 0.4 / DISTRICTS
        for d in range(DISTRICTS):
            district = geo_service.create_area(session, code=f"9901{d:02d}", name=f"区{d}", level=AreaLevel.district,
                                               parent=city, geometry=box(121.0 + d * width, 31.0,
                                                                         121.0 + (d + 1) * width, 31.2), origin="bench")
            for s in range(STREETS):
                left = 121.0 + d * width + s * width / STREETS
                geo_service.create_area(session, code=f"9901{d:02d}{s:02d}", name=f"街道{d}-{s}",
                                        level=AreaLevel.street, parent=district,
                                        geometry=box(left, 31.0, left + width / STREETS, 31.2), origin="bench")
        locator = geo_service.build_locator(session, boundary_distance_m=30)
        registry.create_device_type(session, code="wl", name="水位计", metrics={"water_level": "m", "battery": "V"})
        csv = "code,name,type,lon,lat\n" + "".join(
            f"D{i:06d},gauge {i},wl,{121.0 + 0.4 * (i + 0.5) / devices:.6f},31.1\n" for i in range(devices))
        registry.import_csv(session, data=csv, locator=locator, actor=None, origin="bench")
        admin = Principal(id=0, kind="client", name="bench", roles=("administrator",), area_id=city.id,
                          area_code=city.code, area_path=city.path, area_level="city")
    engine.dispose()
    return admin


def ingest(engine, admin: Principal, *, devices: int, minute: int, metric: str) -> tuple[int, float]:  # noqa: ANN001
    """One batch of one reading per device in one minute: (readings stored, seconds)."""
    at = (START + timedelta(minutes=minute, seconds=7)).isoformat()
    items = [{"device": f"D{i:06d}", "metric": metric, "ts": at, "value": 2.0 + (i % 97) / 100}
             for i in range(devices)]
    started = time.perf_counter()
    with unit_of_work(engine) as session:
        stored = service.ingest(session, items=items, caller=admin, now=datetime.now(UTC)).stored
    return stored, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=5_000)
    parser.add_argument("--batches", type=int, default=6)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        store = fresh_store(args.database_url, Path(folder), "indicators")
        try:
            admin = seed(store, args.devices)
            engine = make_engine(store)
            with unit_of_work(engine) as session:
                indicators_service.create_class(session, code="water", name="水务")
                indicators_service.create_indicator(
                    session, code="wl-max", name="街道最高水位", class_code="water", unit="m", level="street",
                    interval_s=60, author=admin, now=START,
                    source={"kind": "device_metric", "metric": "water_level", "aggregate": "max"})
            for metric in ("battery", "water_level"):  # warm-up: caches, first pages
                ingest(engine, admin, devices=args.devices, minute=0, metric=metric)
            totals = {"battery": [0, 0.0], "water_level": [0, 0.0]}
            for minute in range(1, args.batches + 1):
                for metric in ("battery", "water_level") if minute % 2 else ("water_level", "battery"):
                    stored, seconds = ingest(engine, admin, devices=args.devices, minute=minute, metric=metric)
                    totals[metric][0] += stored
                    totals[metric][1] += seconds
            bare_ingest = totals["battery"][0] / totals["battery"][1]
            watched_ingest = totals["water_level"][0] / totals["water_level"][1]
            minute = START + timedelta(minutes=args.batches)
            started = time.perf_counter()
            with unit_of_work(engine) as session:
                report = indicators_service.compute(session, now=minute + timedelta(seconds=59))
            job_s = (time.perf_counter() - started) / max(report.buckets, 1)
            started = time.perf_counter()
            with unit_of_work(engine) as session:
                rows = session.execute(select(MinuteRollup.device_id, func.max(MinuteRollup.max)).where(
                    MinuteRollup.metric == "water_level", MinuteRollup.bucket == minute)
                    .group_by(MinuteRollup.device_id)).all()
            bare_s = time.perf_counter() - started
            engine.dispose()
        finally:
            drop_store(args.database_url, store)
    result = {"store": "postgresql" if args.database_url else "sqlite", "devices": args.devices,
              "readings_per_batch": args.devices, "batches": args.batches,
              "ingest_readings_per_s": round(bare_ingest),
              "ingest_with_indicator_readings_per_s": round(watched_ingest),
              "ingest_ratio": round(watched_ingest / bare_ingest, 3), "buckets_computed": report.buckets,
              "values_changed": report.changed, "job_ms_per_bucket": round(job_s * 1000, 1),
              "bare_rollup_group_by_ms": round(bare_s * 1000, 1), "job_ratio_to_bare": round(job_s / bare_s, 2),
              "devices_grouped": len(rows)}
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
