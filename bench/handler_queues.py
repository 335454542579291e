"""A department handler's queue list (cases.service.queues_of: every queue it works, each counted, as
GET /cases/queues answers) and the first page of each of its queues in its own order, against the
first page of all cases in its view, newest first (the bare list), in the same store and run.

    .venv/bin/python bench/handler_queues.py [--cases N] [--repeat R] [--seed S] [--postgres [URL]]

Setup: a scratch SQLite store (and, with --postgres, a scratch database on PostgreSQL, dropped
afterwards) with the test city (two districts of two streets, a centre for each district and the city)
and N cases bulk-inserted with Core over the four streets, in the status mix of bench/queues.py. Each
case dispatched at least once holds assignments — a lead among its district's two bureaus and its
street office, one in five with an assisting department too — in the status its case implies; each
open step has its deadline (due from a day ago to ten days ahead) and each step met before its own;
one case in twenty summoned a department of its district, which has reported in to seven in ten; every
open overdue step is supervised by its district's centre. The viewers are a district bureau's handler
(greening-990101) and the district centre's dispatcher. Human lines first, one JSON object last.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
from sqlalchemy import Engine, insert, select, text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

# the same scratch stores and the same mix of cases as the dispatcher's queues bench
from bench.queues import STATUSES, STEP, STEPS_MET, STREETS, store  # noqa: E402

from cityops.cases import service  # noqa: E402
from cityops.cases.models import Case, CaseAssignment, CaseDeadline, Supervision  # noqa: E402
from cityops.cases.ordering import CaseOrder  # noqa: E402
from cityops.cases.queues import DEFAULT_ORDER  # noqa: E402
from cityops.db import unit_of_work  # noqa: E402
from cityops.models import Area  # noqa: E402
from cityops.org import service as org_service  # noqa: E402
from cityops.org.access import Principal  # noqa: E402
from tests.factories import make_city  # noqa: E402

POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"
PART = {"dispatched": ("dispatched", "dispatched"), "in_progress": ("in_progress", "in_progress"),
        "handled": ("reported", "reported"), "closed": ("reported", "reported"), "returned": ("returned", "withdrawn")}
"""The lead's and an assisting department's part in a case of each status that has been dispatched."""
HANDLER = "greening-990101"
CHUNK = 20_000
PAGE = 50


def load(engine: Engine, count: int, rng: np.random.Generator, now: datetime) -> dict[str, Area]:
    with unit_of_work(engine) as session:
        make_city(session)
        centres = {code: org_service.create_ops_centre(session, code=f"centre-{code}", name=code, level=level,
                                                       area_code=code, origin="bench").id
                   for code, level in (("990000", "city"), ("990101", "district"), ("990102", "district"))}
    with unit_of_work(engine) as session:
        areas = {a.code: a for a in session.scalars(select(Area))}
        for area in areas.values():
            session.expunge(area)
    names = list(STATUSES)
    status_at = rng.choice(len(names), size=count, p=list(STATUSES.values()))
    street_at = rng.integers(0, len(STREETS), count)
    lead_at, assisting_at = rng.integers(0, 3, count), rng.integers(0, 3, count)
    joint, summoned, reported_in = rng.random(count) < 0.2, rng.random(count) < 0.05, rng.random(count) < 0.7
    opened = now - timedelta(days=90)
    due_hours = rng.uniform(-24, 240, count)
    deadline_id = 0
    for start in range(0, count, CHUNK):
        stop = min(start + CHUNK, count)
        cases, deadlines, parts, supervisions = [], [], [], []
        for i in range(start, stop):
            status, street = names[status_at[i]], STREETS[street_at[i]]
            district = street[:6]
            departments = (f"greening-{district}", f"water-{district}", f"street-{street}")
            opened_at = opened + timedelta(seconds=int(i * 90 * 86400 / count))
            cases.append({"id": i + 1, "tracking_code": f"B{i + 1:09d}", "channel": "grid_patrol",
                          "status": status, "version": 1, "title": "暴露垃圾", "description": "",
                          "area_id": areas[street].id, "area_path": areas[street].path, "near_boundary": False,
                          "priority": 0, "report_count": 1, "rework_count": 0, "return_count": 0,
                          "deferred": False, "opened_at": opened_at, "closed_at": now if status == "closed" else None,
                          "origin": "bench", "created_at": now, "updated_at": now})
            if status in PART:
                lead = departments[lead_at[i]]
                parts.append({"case_id": i + 1, "department_code": lead, "role": "lead", "position": 0,
                              "status": PART[status][0]})
                if joint[i] and departments[assisting_at[i]] != lead:
                    parts.append({"case_id": i + 1, "department_code": departments[assisting_at[i]],
                                  "role": "assisting", "position": 1, "status": PART[status][1]})
            for _ in range(STEPS_MET[status]):
                deadline_id += 1
                deadlines.append({"id": deadline_id, "case_id": i + 1, "step": "register", "time_limit": "5wd",
                                  "started_at": opened_at, "due_at": opened_at + timedelta(days=1),
                                  "remind_at": opened_at, "met_at": opened_at, "ended": "met",
                                  "department_code": None})
            if status != "closed":
                deadline_id += 1
                due_at = now + timedelta(hours=float(due_hours[i]))
                deadlines.append({"id": deadline_id, "case_id": i + 1, "step": STEP[status], "time_limit": "5wd",
                                  "started_at": opened_at, "due_at": due_at, "remind_at": now, "met_at": None,
                                  "ended": None, "department_code": None})
                if due_at < now:
                    supervisions.append({"case_id": i + 1, "deadline_id": deadline_id, "ops_centre_id":
                                         centres[district], "level": "district", "opened_at": due_at,
                                         "due_at": now + timedelta(days=1)})
            if summoned[i]:
                deadline_id += 1
                met = opened_at + timedelta(hours=1) if reported_in[i] else None
                deadlines.append({"id": deadline_id, "case_id": i + 1, "step": "report_in", "time_limit": "2h",
                                  "department_code": departments[assisting_at[i]], "started_at": opened_at,
                                  "due_at": opened_at + timedelta(hours=2), "remind_at": opened_at, "met_at": met,
                                  "ended": "met" if met else None})
        with engine.begin() as connection:
            connection.execute(insert(Case), cases)
            connection.execute(insert(CaseDeadline), deadlines)
            connection.execute(insert(CaseAssignment), parts)
            if supervisions:
                connection.execute(insert(Supervision), supervisions)
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("ANALYZE"))
    return areas


def principal(area: Area, roles: tuple[str, ...], department: str | None = None) -> Principal:
    return Principal(id=1, kind="user", name="bench", roles=roles, area_id=area.id, area_code=area.code,
                     area_path=area.path, area_level=area.level, department_code=department)


def median_ms(engine: Engine, work: Callable, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        with unit_of_work(engine) as session:
            began = time.perf_counter()
            work(session)
            times.append((time.perf_counter() - began) * 1000)
    return statistics.median(times)


def run(engine: Engine, *, cases: int, repeat: int, seed: int) -> dict:
    now = datetime.now(UTC)
    began = time.perf_counter()
    areas = load(engine, cases, np.random.default_rng(seed), now)
    print(f"{engine.dialect.name}: {cases:,} cases loaded in {time.perf_counter() - began:.1f} s")
    figures = {}
    for label, who in (("handler", principal(areas["990101"], ("handler",), HANDLER)),
                       ("dispatcher", principal(areas["990101"], ("dispatcher",)))):
        baseline = median_ms(engine, lambda s, who=who: service.queue_page(s, viewer=who, limit=PAGE, now=now),
                             repeat)
        with unit_of_work(engine) as session:
            counts = {q.name: q.count for q in service.queues_of(session, viewer=who, now=now)}
        timed = {"queue list (counts)": lambda s, who=who: service.queues_of(s, viewer=who, now=now)}
        for name in counts:
            if name != "all":
                order = CaseOrder(DEFAULT_ORDER.get(name, "newest"))
                timed[f"{name} ({order.value})"] = (lambda s, who=who, name=name, order=order: service.queue_page(
                    s, viewer=who, queue=name, order=order, limit=PAGE, now=now))
        print(f"  {label}: all cases, newest first, first page {baseline:7.2f} ms (baseline); counts {counts}")
        for what, work in timed.items():
            ms = median_ms(engine, work, repeat)
            figures[f"{label}: {what}"] = {"ms": round(ms, 2), "ratio": round(ms / baseline, 2)}
            print(f"  {label:10} {what:28} {ms:8.2f} ms ({ms / baseline:6.2f}× baseline)")
        figures[f"{label}: baseline"] = {"ms": round(baseline, 2), "counts": counts}
    return figures


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=50_000)
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
