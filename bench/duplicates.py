"""The duplicate check at intake (cases.dedup.find) among many open cases, against a single-row
primary-key lookup (session.get(Case, id)) in the same store and run.

    .venv/bin/python bench/duplicates.py [--cases N] [--probes M] [--seed S] [--postgres [URL]]

Setup: a scratch SQLite store (and, with --postgres, a scratch schema on PostgreSQL, dropped
afterwards) with the test city (121.0–121.4 E, 31.0–31.2 N, about 38 × 22 km), the shipped
city-management categories, and N open cases bulk-inserted with Core: 70 % of them clustered
around hot spots (markets, stations, old neighbourhoods), the rest uniform; a skewed category mix
led by the usual street problems (暴露垃圾, 乱堆物堆料, 乱停放 …); opened over the last 90 days,
mostly in daytime. Then M new reports at points and of categories drawn the same way, opened now,
are checked with the default rule (100 m, 72 h) on one session, as the engine is configured for use
(on PostgreSQL, psycopg prepares a statement after five runs, so most checks run on generic plans).
The store's plan for the first check is printed. Human lines first, one JSON object on the last line.

Target (issue 4): p99 ≤ 5 ms with 1,000,000 open cases.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
from shapely.geometry import box
from sqlalchemy import Engine, insert, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cityops.cases import dedup  # noqa: E402
from cityops.cases.channels import Channel  # noqa: E402
from cityops.cases.models import Case  # noqa: E402
from cityops.categories import service as categories_service  # noqa: E402
from cityops.categories.models import Category  # noqa: E402
from cityops.config import Settings  # noqa: E402
from cityops.db import make_engine, migrate, unit_of_work  # noqa: E402
from cityops.geo.locator import METRES_PER_DEGREE, AreaShape, Locator  # noqa: E402
from tests.factories import make_city  # noqa: E402

POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"
CITY = (121.0, 31.0, 121.4, 31.2)
DAYS = 90
CHUNK = 20_000
LOAD_CACHE_KIB = 512 * 1024
"""SQLite's page cache while loading (setup only)."""
WARM_UP = 50
TARGET_P99_MS = 5.0
# Relative frequencies of the common problems; every other leaf category weighs 0.5 (events) or
# 0.2 (components).
COMMON = {"E0102": 12, "E0507": 10, "E0506": 9, "E0505": 8, "E0504": 7, "E0201": 6, "E0501": 5,
          "E0104": 5, "E0103": 4, "E0602": 3, "E0306": 3, "E0111": 2, "C0118": 2, "C0101": 1.5}
STATUSES = {"reported": 0.10, "registered": 0.10, "dispatched": 0.25, "in_progress": 0.35, "returned": 0.05,
            "handled": 0.15}
VERSIONS = {"reported": 1, "registered": 2, "dispatched": 3, "in_progress": 4, "returned": 4, "handled": 5}
CHANNELS = {Channel.grid_patrol: 0.45, Channel.hotline_12345: 0.30, Channel.citizen_photo: 0.12,
            Channel.video_ai: 0.06, Channel.iot_warning: 0.03, Channel.department_system: 0.02,
            Channel.open311: 0.02}
ROADS = ["人民路", "解放路", "中山路", "建设路", "和平路", "新华路", "长江路", "黄河路", "淮海路", "延安路",
         "文化路", "胜利路", "青年路", "光明路", "朝阳路", "东风路", "幸福路", "友谊路", "迎宾路", "滨江路"]
SPOTS = ["小区门口", "菜场旁", "公交站边", "学校门口", "地铁口", "路口", "绿化带", "沿街商铺前", "桥下", "弄堂口"]
PHRASES = ["好几天了", "没人处理", "影响通行", "居民反映强烈", "请尽快处理", "", "", ""]


@dataclass(frozen=True)
class World:
    """The generated open cases (column arrays) and what is needed to make more like them."""

    lons: np.ndarray
    lats: np.ndarray
    category_at: np.ndarray
    opened_s: np.ndarray
    category_ids: np.ndarray
    category_names: list[str]
    weights: np.ndarray
    hot_centres: np.ndarray
    hot_sigmas_m: np.ndarray
    hot_weights: np.ndarray
    lat_order: np.ndarray
    """Indexes of the cases by latitude, for counting what a bounding box holds."""
    sorted_lats: np.ndarray


def make_points(rng: np.random.Generator, count: int, centres: np.ndarray, sigmas_m: np.ndarray,
                weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``count`` points in the city: 70 % around hot spots (Gaussian), 30 % uniform."""
    lon0, lat0, lon1, lat1 = CITY
    lons, lats = np.empty(0), np.empty(0)
    while len(lons) < count:
        n = count - len(lons)
        hot = rng.random(n) < 0.7
        spot = rng.choice(len(centres), size=n, p=weights)
        sigma_deg = sigmas_m[spot] / METRES_PER_DEGREE
        x = np.where(hot, centres[spot, 0] + rng.normal(size=n) * sigma_deg / np.cos(np.radians(31.1)),
                     rng.uniform(lon0, lon1, n))
        y = np.where(hot, centres[spot, 1] + rng.normal(size=n) * sigma_deg, rng.uniform(lat0, lat1, n))
        inside = (x > lon0) & (x < lon1) & (y > lat0) & (y < lat1)
        lons, lats = np.concatenate([lons, x[inside]]), np.concatenate([lats, y[inside]])
    return lons[:count], lats[:count]


def make_world(rng: np.random.Generator, count: int, categories: list[tuple[int, str, str, str]],
               now: datetime) -> World:
    leaves = [c for c in categories if c[3] is not None]
    weights = np.array([COMMON.get(code, 0.5 if code.startswith("E") else 0.2) for _, code, _, _ in leaves])
    weights /= weights.sum()
    lon0, lat0, lon1, lat1 = CITY
    spots = 300
    centres = rng.uniform((lon0, lat0), (lon1, lat1), size=(spots, 2))
    sigmas_m = rng.uniform(150, 1500, spots)
    hot_weights = rng.pareto(1.2, spots) + 1
    hot_weights /= hot_weights.sum()
    lons, lats = make_points(rng, count, centres, sigmas_m, hot_weights)
    category_at = rng.choice(len(leaves), size=count, p=weights)
    return World(lons=lons, lats=lats, category_at=category_at, opened_s=opened_seconds(rng, count, now),
                 category_ids=np.array([c[0] for c in leaves]), category_names=[c[2] for c in leaves],
                 weights=weights, hot_centres=centres, hot_sigmas_m=sigmas_m, hot_weights=hot_weights,
                 lat_order=np.argsort(lats), sorted_lats=np.sort(lats))


def opened_seconds(rng: np.random.Generator, count: int, now: datetime) -> np.ndarray:
    """Seconds since the epoch over the last ``DAYS`` days, mostly between 07:00 and 21:00 local time."""
    start = now.timestamp() - DAYS * 86400
    days = rng.integers(0, DAYS, count)
    local_hour = np.clip(rng.normal(13.5, 3.5, count), 0, 23.99)
    seconds = start - start % 86400 + days * 86400 + (local_hour - 8) * 3600 + rng.integers(0, 60, count)
    return np.minimum(seconds, now.timestamp() - 60)


def title_of(rng: np.random.Generator, name: str) -> tuple[str, str]:
    road, spot, phrase = ROADS[rng.integers(len(ROADS))], SPOTS[rng.integers(len(SPOTS))], \
        PHRASES[rng.integers(len(PHRASES))]
    return f"{road}{rng.integers(1, 999)}号{spot}{name}", f"{spot}{name}{phrase}"


def seed_city(engine: Engine) -> tuple[Locator, dict[int, str], list[tuple[int, str, str, str]]]:
    """The test city and the shipped categories; the city's locator, area paths by id, and the
    categories as (id, code, name, parent code or None)."""
    with unit_of_work(engine) as session:
        city = make_city(session)
        categories_service.seed_city_management(session)
        locator = Locator([AreaShape(a.id, a.code, a.name, a.level, a.parent_id,
                                     box(a.min_lon, a.min_lat, a.max_lon, a.max_lat)) for a in city.areas.values()])
        paths = {a.id: a.path for a in city.areas.values()}
        rows = session.execute(select(Category.id, Category.code, Category.name, Category.parent_id)).all()
    code_by_id = {row.id: row.code for row in rows}
    return locator, paths, [(row.id, row.code, row.name, code_by_id.get(row.parent_id)) for row in rows]


def rows_of(world: World, rng: np.random.Generator, start: int, stop: int, locator: Locator,
            paths: dict[int, str]) -> Iterator[dict]:
    located = locator.locate_many(world.lons[start:stop], world.lats[start:stop])
    statuses = rng.choice(list(STATUSES), size=stop - start, p=list(STATUSES.values()))
    channels = rng.choice([c.value for c in CHANNELS], size=stop - start, p=list(CHANNELS.values()))
    for k, i in enumerate(range(start, stop)):
        opened = datetime.fromtimestamp(float(world.opened_s[i]), UTC)
        status = str(statuses[k])
        title, description = title_of(rng, world.category_names[world.category_at[i]])
        area_id = int(located.area_ids[k])
        yield {"tracking_code": f"B{i:09d}", "channel": str(channels[k]), "status": status,
               "version": VERSIONS[status], "title": title, "description": description,
               "category_id": int(world.category_ids[world.category_at[i]]), "category_source": "reporter",
               "lon": float(world.lons[i]), "lat": float(world.lats[i]), "input_crs": "wgs84",
               "area_id": area_id, "area_path": paths[area_id], "near_boundary": bool(located.near_boundary[k]),
               "priority": 0, "report_count": 1, "rework_count": 0, "return_count": 0, "deferred": False,
               "opened_at": opened, "registered_at": None if status == "reported" else opened + timedelta(minutes=20),
               "origin": "bench", "created_at": opened, "updated_at": opened}


def bulk_insert(engine: Engine, world: World, rng: np.random.Generator, locator: Locator,
                paths: dict[int, str]) -> float:
    started = time.perf_counter()
    count = len(world.lons)
    statement = insert(Case.__table__)
    for start in range(0, count, CHUNK):
        stop = min(start + CHUNK, count)
        with engine.begin() as connection:
            if engine.dialect.name == "sqlite":
                connection.exec_driver_sql(f"PRAGMA cache_size={-LOAD_CACHE_KIB}")
            connection.execute(statement, list(rows_of(world, rng, start, stop, locator, paths)))
        if stop % 200_000 == 0 or stop == count:
            print(f"  … {stop:,} cases in {time.perf_counter() - started:.0f} s", flush=True)
    engine.dispose()  # the checks run on new connections, with the store's default page cache
    return time.perf_counter() - started


def probes(world: World, rng: np.random.Generator, count: int, now: datetime, first_id: int) -> list[Case]:
    """New reports drawn like the stored cases, opened within the next hour. They are not stored, but
    carry ids past the stored ones, so the check runs the query intake runs for a flushed case."""
    lons, lats = make_points(rng, count, world.hot_centres, world.hot_sigmas_m, world.hot_weights)
    kinds = rng.choice(len(world.category_ids), size=count, p=world.weights)
    made = []
    for i in range(count):
        title, description = title_of(rng, world.category_names[kinds[i]])
        made.append(Case(id=first_id + i, title=title, description=description,
                         category_id=int(world.category_ids[kinds[i]]), lon=float(lons[i]), lat=float(lats[i]),
                         opened_at=now + timedelta(seconds=float(rng.uniform(0, 3600)))))
    return made


def candidates_in_box(world: World, case: Case, rule: dedup.DuplicateRule, kin: set[int]) -> int:
    """How many stored cases the bounding box, window and related categories let through."""
    reach_lat = rule.radius_m / METRES_PER_DEGREE
    reach_lon = reach_lat / np.cos(np.radians(case.lat))
    lo, hi = np.searchsorted(world.sorted_lats, [case.lat - reach_lat, case.lat + reach_lat])
    band = world.lat_order[lo:hi]
    near = band[np.abs(world.lons[band] - case.lon) <= reach_lon]
    opened = case.opened_at.timestamp()
    recent = near[np.abs(world.opened_s[near] - opened) <= rule.window.total_seconds()]
    return int(np.isin(world.category_ids[world.category_at[recent]], list(kin)).sum())


def latencies(work: Callable[[object], object], items: list) -> list[float]:
    times = []
    for item in items:
        started = time.perf_counter()
        work(item)
        times.append(time.perf_counter() - started)
    return times


def figures(times: list[float]) -> dict[str, float]:
    ordered = sorted(times)
    return {"p50_ms": round(statistics.median(ordered) * 1000, 3),
            "p99_ms": round(ordered[max(0, int(len(ordered) * 0.99) - 1)] * 1000, 3),
            "max_ms": round(ordered[-1] * 1000, 3), "mean_ms": round(statistics.fmean(ordered) * 1000, 3)}


def plan(session: Session, case: Case, rule: dedup.DuplicateRule, kin: set[int]) -> list[str]:
    """The store's plan for the candidate query of ``case``, with the values the check binds."""
    dialect = session.get_bind().dialect
    statement, values = dedup.candidate_query(case=case, rule=rule, category_ids=kin, dialect=dialect.name)
    compiled = statement.compile(dialect=dialect)
    state = compiled.construct_expanded_state(values)
    bound = {name: state.processors[name](value) if name in state.processors else value
             for name, value in state.parameters.items()}
    parameters = tuple(bound[name] for name in state.positiontup) if compiled.positional else bound
    prefix = "EXPLAIN QUERY PLAN " if dialect.name == "sqlite" else "EXPLAIN "
    rows = session.connection().exec_driver_sql(prefix + state.statement, parameters)
    return [" ".join(str(v) for v in row) for row in rows]


def run(engine: Engine, store: str, args: argparse.Namespace) -> dict:
    rng = np.random.default_rng(args.seed)
    now = datetime.now(UTC).replace(microsecond=0)
    locator, paths, categories = seed_city(engine)
    world = make_world(rng, args.cases, categories, now)
    print(f"[{store}] inserting {args.cases:,} open cases (Core executemany, {CHUNK:,} a transaction) …", flush=True)
    setup_s = bulk_insert(engine, world, rng, locator, paths)
    if store == "postgresql":
        with engine.begin() as connection:  # what autovacuum does soon after a bulk load
            connection.execute(text("ANALYZE cases"))
    print(f"[{store}] setup: {args.cases:,} cases in {setup_s:.1f} s ({args.cases / setup_s:,.0f} rows/s)")

    settings = Settings(environment="test")
    codes = {cid: code for cid, code, _, _ in categories}
    news = probes(world, rng, WARM_UP + args.probes, now, args.cases + 1)
    with Session(engine) as session:
        rules = [dedup.rule_for(settings.duplicate_rules, codes[c.category_id], settings.duplicate_default)
                 for c in news]
        kin = {c.category_id: set(categories_service.related_categories(session, code=codes[c.category_id]))
               for c in news}
        for line in plan(session, news[0], rules[0], kin[news[0].category_id]):
            print(f"[{store}] plan: {line}")
        pairs = list(zip(news, rules, strict=True))
        found: list[int] = []
        latencies(lambda pair: dedup.find(session, case=pair[0], rule=pair[1]), pairs[:WARM_UP])
        find_times = latencies(lambda pair: found.append(len(dedup.find(session, case=pair[0], rule=pair[1]))),
                               pairs[WARM_UP:])
    ids = [int(i) for i in rng.choice(args.cases, size=WARM_UP + args.probes, replace=False) + 1]
    with Session(engine) as session:
        latencies(lambda i: session.get(Case, i), ids[:WARM_UP])
        get_times = latencies(lambda i: session.get(Case, i), ids[WARM_UP:])
    boxed = [candidates_in_box(world, c, r, kin[c.category_id]) for c, r in pairs[WARM_UP:]]
    find_figures, get_figures = figures(find_times), figures(get_times)
    ratio = find_figures["p99_ms"] / get_figures["p99_ms"]
    print(f"[{store}] candidates per check (box × window × related categories): mean {statistics.fmean(boxed):.1f}, "
          f"p99 {sorted(boxed)[int(len(boxed) * 0.99) - 1]}, max {max(boxed)}; "
          f"{sum(1 for n in found if n) / len(found):.1%} of checks found a match")
    print(f"[{store}] dedup.find over {args.probes:,} new reports: {find_figures}")
    print(f"[{store}] baseline session.get(Case, id): {get_figures}")
    verdict = "meets" if find_figures["p99_ms"] <= TARGET_P99_MS else "misses"
    print(f"[{store}] dedup.find p99 is {ratio:.1f}× the baseline's p99; {verdict} the target of "
          f"{TARGET_P99_MS:g} ms")
    return {"setup_s": round(setup_s, 1), "find": find_figures, "baseline_get": get_figures,
            "p99_ratio": round(ratio, 2), "candidates_mean": round(statistics.fmean(boxed), 2),
            "candidates_max": max(boxed)}


@contextmanager
def postgres_schema(url: str) -> Iterator[Engine]:
    """An engine whose tables live in a scratch schema of ``url``'s database, dropped afterwards."""
    schema = f"bench_duplicates_{uuid.uuid4().hex[:8]}"
    base = make_url(url).set(drivername="postgresql+psycopg")
    admin = make_engine(base.render_as_string(hide_password=False))
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = make_engine(base.update_query_dict({"options": f"-csearch_path={schema}"})
                         .render_as_string(hide_password=False))
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--probes", type=int, default=2_000)
    parser.add_argument("--seed", type=int, default=20240601)
    parser.add_argument("--postgres", nargs="?", const=POSTGRES_URL, default=None, metavar="URL",
                        help=f"also run on PostgreSQL, in a scratch schema (default URL {POSTGRES_URL})")
    args = parser.parse_args()
    results = {"cases": args.cases, "probes": args.probes}
    with tempfile.TemporaryDirectory(prefix="cityops-bench-") as folder:
        engine = make_engine(f"sqlite:///{Path(folder) / 'cityops.db'}")
        migrate(engine)
        results["sqlite"] = run(engine, "sqlite", args)
        engine.dispose()
    if args.postgres:
        with postgres_schema(args.postgres) as engine:
            migrate(engine)
            results["postgresql"] = run(engine, "postgresql", args)
    print(f"load average over the last minute: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
