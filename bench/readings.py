"""Readings ingest throughput: batches POSTed to /api/v1/readings of a real server process (checked
reading by reading, stored, rolled up into 1-minute and 1-hour buckets, latest values moved), against
a raw ``executemany`` of the same rows into the readings table of an empty store of the same schema,
in the same run; on PostgreSQL also a raw binary COPY of them, the fastest way rows go in. Run as
`python bench/readings.py [--readings N] [--batch B] [--devices D] [--database-url URL]` (default:
SQLite in a temporary folder); the last line is one JSON object, with the server's resident memory
after the run (`--devices 100000` gives the figure for a large fleet).

Target (issue 5): ≥ 200,000 readings/s through HTTP batches on a 2-core machine, ≥ 0.2 of the raw insert.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import orjson
from shapely.geometry import box
from sqlalchemy import text
from sqlalchemy.orm import Session

from cityops.bulk import sqlite_utc
from cityops.db import make_engine, migrate, unit_of_work
from cityops.geo import service as geo_service
from cityops.geo.levels import AreaLevel
from cityops.geo.models import Area
from cityops.org import service as org_service
from cityops.sensing import devices as registry
from cityops.sensing import store as readings_store


def fresh_store(url: str | None, folder: Path, name: str) -> str:
    """A new, migrated store: a SQLite file in ``folder`` or a new database beside ``url``."""
    if url is None:
        store = f"sqlite:///{folder / f'{name}.db'}"
    else:
        admin = make_engine(url).execution_options(isolation_level="AUTOCOMMIT")
        database = f"cityops_bench_{name}_{os.getpid()}"
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{database}"')
            connection.exec_driver_sql(f'CREATE DATABASE "{database}"')
        admin.dispose()
        store = make_engine(url).url.set(database=database).render_as_string(hide_password=False)
    engine = make_engine(store)
    migrate(engine)
    engine.dispose()
    return store


def drop_store(url: str | None, store: str) -> None:
    if url is None:
        return
    admin = make_engine(url).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{make_engine(store).url.database}" WITH (FORCE)')
    admin.dispose()


def gauge_city(session: Session, devices: int, *, metrics: dict[str, str]) -> Area:
    """A one-area test city with ``devices`` gauges (D000000 …) of type ``wl`` along one line."""
    city = geo_service.create_area(session, code="990000", name="测试市", level=AreaLevel.city, parent=None,
                                   geometry=box(121.0, 31.0, 121.4, 31.2), origin="bench")
    locator = geo_service.build_locator(session, boundary_distance_m=30)
    registry.create_device_type(session, code="wl", name="水位计", metrics=metrics)
    csv = "code,name,type,lon,lat\n" + "".join(
        f"D{i:06d},gauge {i},wl,{121.0 + 0.4 * (i + 0.5) / devices:.6f},31.1\n" for i in range(devices))
    registry.import_csv(session, data=csv, locator=locator, actor=None, origin="bench")
    return city


def seed(store: str, devices: int) -> str:
    """A one-street city with ``devices`` gauges; returns a system client's token."""
    engine = make_engine(store)
    with unit_of_work(engine) as session:
        city = gauge_city(session, devices, metrics={"water_level": "m", "battery": "V"})
        _, token = org_service.create_api_client(session, name="bench", kind="system", area_code=city.code,
                                                 roles=["system"], origin="bench")
    engine.dispose()
    return token


def make_readings(count: int, devices: int, start: datetime) -> list[tuple[str, str, datetime, float]]:
    """``count`` readings: each device reports its two metrics every 10 s, in time order."""
    rows = []
    for i in range(count):
        device, step = (i // 2) % devices, i // (2 * devices)
        rows.append((f"D{device:06d}", ("water_level", "battery")[i % 2], start + timedelta(seconds=10 * step),
                     1.0 + (i * 7919 % 1000) / 1000))
    return rows


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def resident_mib(pid: int) -> dict[str, float]:
    """The process's resident memory now and at its peak, in MiB (Linux)."""
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return {name: round(int(fields[key].split()[0]) / 1024, 1) for name, key in (("now", "VmRSS"), ("peak", "VmHWM"))}


def through_http(store: str, token: str, bodies: list[bytes], count: int) -> tuple[float, dict[str, float]]:
    port = free_port()
    env = {**os.environ, "CITYOPS_DATABASE_URL": store, "CITYOPS_SWEEP_INTERVAL_S": "0",
           "CITYOPS_ENVIRONMENT": "dev"}
    server = subprocess.Popen([sys.executable, "-m", "uvicorn", "cityops.main:create_app", "--factory",
                               "--port", str(port), "--log-level", "warning"], env=env)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120,
                          headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"}) as http:
            for _ in range(100):
                try:
                    if http.get("/healthz").status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.1)
            started = time.perf_counter()
            stored = 0
            for body in bodies:
                answer = http.post("/api/v1/readings", content=body)
                answer.raise_for_status()
                stored += answer.json()["stored"]
            elapsed = time.perf_counter() - started
            memory = resident_mib(server.pid)
    finally:
        server.terminate()
        server.wait(timeout=30)
    if stored != count:
        raise SystemExit(f"the server stored {stored} readings of {count}")
    return elapsed, memory


def raw_executemany(store: str, rows: list[tuple[int, str, datetime, float, bool]], batch: int) -> float:
    """The same rows straight into ``readings``, batch by batch, one transaction per batch."""
    engine = make_engine(store)
    sqlite = engine.dialect.name == "sqlite"
    if not sqlite:
        with engine.begin() as connection:
            readings_store.ensure_partitions(connection, months={(r[2].year, r[2].month) for r in rows})
    sql = "INSERT INTO readings (device_id, metric, ts, value, maintenance) VALUES " + (
        "(?, ?, ?, ?, ?)" if sqlite else "(%s, %s, %s, %s, %s)")
    started = time.perf_counter()
    for first in range(0, len(rows), batch):
        with engine.begin() as connection:
            chunk = rows[first:first + batch]
            prepared = [(d, m, sqlite_utc(ts), v, int(x)) for d, m, ts, v, x in chunk] if sqlite else chunk
            connection.exec_driver_sql(sql, prepared)
    elapsed = time.perf_counter() - started
    with engine.connect() as connection:
        assert connection.scalar(text("SELECT count(*) FROM readings")) == len(rows)
    engine.dispose()
    return elapsed


def raw_copy(store: str, rows: list[tuple[int, str, datetime, float, bool]], batch: int) -> float:
    """PostgreSQL: the same rows straight into ``readings`` by binary COPY, batch by batch, one
    transaction per batch: the fastest way this store takes rows from a client."""
    engine = make_engine(store)
    with engine.begin() as connection:
        readings_store.ensure_partitions(connection, months={(r[2].year, r[2].month) for r in rows})
    started = time.perf_counter()
    for first in range(0, len(rows), batch):
        with engine.begin() as connection:
            cursor = connection.connection.driver_connection.cursor()
            with cursor.copy("COPY readings (device_id, metric, ts, value, maintenance) FROM STDIN "
                             "(FORMAT BINARY)") as copy:
                copy.set_types(["int4", "text", "timestamptz", "float8", "bool"])
                for row in rows[first:first + batch]:
                    copy.write_row(row)
    elapsed = time.perf_counter() - started
    with engine.connect() as connection:
        assert connection.scalar(text("SELECT count(*) FROM readings")) == len(rows)
    engine.dispose()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--readings", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=10_000)
    parser.add_argument("--devices", type=int, default=1_000)
    parser.add_argument("--database-url", default=None, help="a PostgreSQL URL; default: SQLite")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        served = fresh_store(args.database_url, Path(folder), "served")
        token = seed(served, args.devices)
        start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)
        readings = make_readings(args.readings, args.devices, start)
        bodies = [orjson.dumps([{"device": d, "metric": m, "ts": ts.isoformat(), "value": v}
                                for d, m, ts, v in readings[i:i + args.batch]])
                  for i in range(0, len(readings), args.batch)]
        http_s, server_memory = through_http(served, token, bodies, len(readings))
        raw = fresh_store(args.database_url, Path(folder), "raw")
        ids = {f"D{i:06d}": i + 1 for i in range(args.devices)}
        rows = [(ids[d], m, ts, v, False) for d, m, ts, v in readings]
        raw_s = raw_executemany(raw, rows, args.batch)
        stores = [served, raw]
        copy_s = None
        if args.database_url:
            stores.append(copied := fresh_store(args.database_url, Path(folder), "copy"))
            copy_s = raw_copy(copied, rows, args.batch)
        for store in stores:
            drop_store(args.database_url, store)
    result = {"bench": "readings", "backend": "postgresql" if args.database_url else "sqlite",
              "readings": len(readings), "batch": args.batch, "devices": args.devices,
              "http_readings_per_s": round(len(readings) / http_s), "raw_readings_per_s": round(len(readings) / raw_s),
              "ratio_to_raw": round(raw_s / http_s, 3),
              "raw_copy_readings_per_s": round(len(readings) / copy_s) if copy_s else None,
              "server_rss_mib": server_memory["now"],
              "server_peak_rss_mib": server_memory["peak"]}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
