"""A page of a work queue in each sort (cases.service.queue_page), against the newest-first order
that was the only one before, in the same store and run.

    .venv/bin/python bench/queues.py [--cases N] [--repeat R] [--seed S] [--postgres [URL]]

Setup: a scratch SQLite store (and, with --postgres, a scratch database on PostgreSQL, dropped
afterwards) with the test city (two districts of two streets) and N cases bulk-inserted with Core,
spread over the four streets: 40 % closed, the rest open in the usual mix of statuses, each open case
with the open deadline of its step (due from a day ago to ten days ahead) and a met deadline for each
step it has been through, priority and report count skewed (most cases reported once). Then, for two
viewers — the city (every case, no queue) and one district's handle queue (``to_handle``) — the
first page of 50 and the page after nine more (following the cursor) are read R times in each sort;
the median of each is printed with its ratio to the newest-first page of the same viewer and depth.
Human lines first, one JSON object last.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
from sqlalchemy import Engine, insert, select, text
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cityops.cases import service  # noqa: E402
from cityops.cases.models import Case, CaseDeadline  # noqa: E402
from cityops.cases.ordering import CaseOrder  # noqa: E402
from cityops.db import make_engine, migrate, unit_of_work  # noqa: E402
from cityops.models import Area  # noqa: E402
from cityops.org.access import Principal  # noqa: E402
from tests.factories import make_city  # noqa: E402

POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"
STREETS = ("99010101", "99010102", "99010201", "99010202")
STATUSES = {"closed": 0.40, "reported": 0.06, "registered": 0.06, "dispatched": 0.15, "in_progress": 0.21,
            "returned": 0.03, "handled": 0.09}
STEP = {"reported": "register", "registered": "dispatch", "returned": "dispatch", "dispatched": "acknowledge",
        "in_progress": "handle", "handled": "verify"}
STEPS_MET = {"reported": 0, "registered": 1, "dispatched": 2, "in_progress": 3, "returned": 3, "handled": 4,
             "closed": 5}
"""How many steps a case in each status has met already, each a deadline row of its own."""
CHUNK = 20_000
PAGE = 50
DEPTH = 10


@contextmanager
def store(backend: str, folder: Path, postgres_url: str) -> Iterator[Engine]:
    if backend == "sqlite":
        engine = make_engine(f"sqlite:///{folder / 'queues.db'}")
        migrate(engine)
        yield engine
        engine.dispose()
        return
    url = make_url(postgres_url).set(drivername="postgresql+psycopg")
    name = f"cityops_bench_{uuid.uuid4().hex[:10]}"
    admin = make_engine(url.render_as_string(hide_password=False))
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    engine = make_engine(url.set(database=name).render_as_string(hide_password=False))
    try:
        migrate(engine)
        yield engine
    finally:
        engine.dispose()
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def load(engine: Engine, count: int, rng: np.random.Generator, now: datetime) -> dict[str, Area]:
    with unit_of_work(engine) as session:
        make_city(session)
    with unit_of_work(engine) as session:
        areas = {a.code: a for a in session.scalars(select(Area))}
        for area in areas.values():
            session.expunge(area)
    names = list(STATUSES)
    status_at = rng.choice(len(names), size=count, p=list(STATUSES.values()))
    street_at = rng.integers(0, len(STREETS), count)
    reports = np.minimum(rng.geometric(0.7, count), 40)
    opened = now - timedelta(days=90)
    due_hours = rng.uniform(-24, 240, count)
    for start in range(0, count, CHUNK):
        stop = min(start + CHUNK, count)
        cases, deadlines = [], []
        for i in range(start, stop):
            status, street = names[status_at[i]], areas[STREETS[street_at[i]]]
            opened_at = opened + timedelta(seconds=int(i * 90 * 86400 / count))
            cases.append({"id": i + 1, "tracking_code": f"B{i + 1:09d}", "channel": "grid_patrol",
                          "status": status, "version": 1, "title": "暴露垃圾", "description": "",
                          "area_id": street.id, "area_path": street.path, "near_boundary": False,
                          "priority": min(5, int(np.log2(reports[i]))), "report_count": int(reports[i]),
                          "rework_count": 0, "return_count": 0, "deferred": False, "opened_at": opened_at,
                          "closed_at": now if status == "closed" else None, "origin": "bench",
                          "created_at": now, "updated_at": now})
            deadlines.extend({"case_id": i + 1, "step": "register", "time_limit": "5wd", "started_at": opened_at,
                              "due_at": opened_at + timedelta(days=1), "remind_at": opened_at, "met_at": opened_at}
                             for _ in range(STEPS_MET[status]))
            if status != "closed":
                deadlines.append({"case_id": i + 1, "step": STEP[status], "time_limit": "5wd",
                                  "started_at": opened_at, "due_at": now + timedelta(hours=float(due_hours[i])),
                                  "remind_at": now, "met_at": None})
        with engine.begin() as connection:
            connection.execute(insert(Case), cases)
            connection.execute(insert(CaseDeadline), deadlines)
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("ANALYZE"))
    return areas


def viewer(area: Area) -> Principal:
    return Principal(id=1, kind="user", name="bench", roles=("leader",), area_id=area.id, area_code=area.code,
                     area_path=area.path, area_level=area.level)


def timed_pages(engine: Engine, who: Principal, queue: str | None, order: CaseOrder, repeat: int,
                now: datetime) -> tuple[float, float]:
    """Median milliseconds of the first page and of page ``DEPTH`` (reached by following cursors)."""
    with unit_of_work(engine) as session:
        cursor = None
        for _ in range(DEPTH - 1):
            cursor = service.queue_page(session, viewer=who, queue=queue, order=order, cursor=cursor, limit=PAGE,
                                        now=now).next_cursor
    first, deep = [], []
    for _ in range(repeat):
        for start, into in ((None, first), (cursor, deep)):
            with unit_of_work(engine) as session:
                began = time.perf_counter()
                page = service.queue_page(session, viewer=who, queue=queue, order=order, cursor=start,
                                          limit=PAGE, now=now)
                into.append((time.perf_counter() - began) * 1000)
                assert len(page.cases) == PAGE
    return statistics.median(first), statistics.median(deep)


def run(engine: Engine, *, cases: int, repeat: int, seed: int) -> dict:
    now = datetime.now(UTC)
    began = time.perf_counter()
    areas = load(engine, cases, np.random.default_rng(seed), now)
    print(f"{engine.dialect.name}: {cases:,} cases loaded in {time.perf_counter() - began:.1f} s")
    figures = {}
    for label, who, queue in (("city, all cases", viewer(areas["990000"]), None),
                              ("district, to_handle", viewer(areas["990101"]), "to_handle")):
        baseline = timed_pages(engine, who, queue, CaseOrder.newest, repeat, now)
        for order in CaseOrder:
            first, deep = baseline if order is CaseOrder.newest else timed_pages(engine, who, queue, order, repeat,
                                                                                  now)
            figures[f"{label}: {order.value}"] = {
                "first_page_ms": round(first, 2), "page_10_ms": round(deep, 2),
                "first_page_ratio": round(first / baseline[0], 2), "page_10_ratio": round(deep / baseline[1], 2)}
            print(f"  {label:22} {order.value:9} first page {first:7.2f} ms ({first / baseline[0]:5.2f}× newest)"
                  f"   page {DEPTH} {deep:7.2f} ms ({deep / baseline[1]:5.2f}× newest)")
    return figures


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--seed", type=int, default=4)
    parser.add_argument("--postgres", nargs="?", const=POSTGRES_URL)
    args = parser.parse_args()
    result: dict = {"cases": args.cases, "page": PAGE}
    with tempfile.TemporaryDirectory() as folder, store("sqlite", Path(folder), "") as engine:
        result["sqlite"] = run(engine, cases=args.cases, repeat=args.repeat, seed=args.seed)
    if args.postgres:
        with store("postgresql", Path("."), args.postgres) as engine:
            result["postgresql"] = run(engine, cases=args.cases, repeat=args.repeat, seed=args.seed)
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
