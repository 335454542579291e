"""History import throughput: `cityops cases import` of synthetic work orders over the Shanghai demo
city, and of the LA 311 sample, against a raw ``executemany`` of the same case and timeline rows into
an empty store of the same schema, in the same run; and, as the bound SQLite sets, a bare write of
every row the import wrote, batched as the import batches it. Run as
`python bench/import.py [--cases N] [--batch B] [--skip-la]`; the last line is one JSON object.

Target (issue 4): ≥ 20,000 cases/s importing 1,000,000 synthetic cases on SQLite.
"""

from __future__ import annotations

import argparse
import bisect
import csv
import json
import os
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from operator import itemgetter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CITYOPS = str(Path(sys.executable).with_name("cityops"))
LA = ROOT.parent / "shared" / "data" / "us311" / "la"
TYPES = ["暴露垃圾", "积存垃圾渣土", "道路破损", "井盖缺失", "违法停车", "占道经营", "噪声扰民", "乱张贴", "绿化破坏",
         "路灯不亮", "违章搭建", "油烟污染", "共享单车乱停", "下水道堵塞", "积水", "施工扰民"]
AGENCIES = ["绿化市容局", "城管执法局", "交警支队", "住建委", "生态环境局", "水务局"]
WORDS = ["小区门口", "路口", "人行道上", "河道边", "菜场旁", "学校附近", "地铁站出口", "公交站", "商场后门", "桥下"]
MAPPING = """
[source]
name = "Synthetic"
timezone = "Asia/Shanghai"
datetime_formats = ["%Y-%m-%d %H:%M:%S"]
[fields]
external_id = "id"
opened_at = "opened"
closed_at = "closed"
category = "type"
department = "agency"
lat = "lat"
lon = "lon"
address = "address"
description = "text"
[categories]
parent = "SYN"
parent_name = "Synthetic work orders"
"""


def cityops(data_dir: Path, *args: str) -> str:
    """Run the command as a user would; its standard output."""
    env = {"CITYOPS_SHARED_DATA_DIR": str(ROOT.parent / "shared" / "data"), **os.environ,
           "CITYOPS_DATA_DIR": str(data_dir)}
    done = subprocess.run([CITYOPS, *args], env=env, check=True, capture_output=True, text=True)
    return done.stdout


def last_json(output: str) -> dict:
    return json.loads(output.strip().splitlines()[-1])


def synthetic_file(path: Path, cases: int, seed: int = 7) -> None:
    """Work orders over central Shanghai through one year: 90 % closed after 1 h to 10 days."""
    rng = random.Random(seed)
    start = datetime(2025, 1, 1, tzinfo=UTC)
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["id", "opened", "closed", "type", "agency", "lat", "lon", "address", "text"])
        step = 365 * 86400 / cases
        for number in range(cases):
            opened = start + timedelta(seconds=number * step + rng.random() * step)
            closed = opened + timedelta(hours=rng.uniform(1, 240)) if rng.random() < 0.9 else None
            place = rng.choice(WORDS)
            kind = rng.choice(TYPES)
            writer.writerow([f"S{number:08d}", opened.strftime("%Y-%m-%d %H:%M:%S"),
                             closed.strftime("%Y-%m-%d %H:%M:%S") if closed else "", kind, rng.choice(AGENCIES),
                             f"{rng.uniform(31.05, 31.35):.6f}", f"{rng.uniform(121.25, 121.65):.6f}",
                             f"{place}{rng.randint(1, 999)}号", f"{place}{kind}，请尽快处理"])


def import_file(data_dir: Path, source: Path, mapping: str, batch: int) -> dict:
    return last_json(cityops(data_dir, "cases", "import", str(source), "--mapping", mapping, "--batch", str(batch),
                             "--create-departments", "--rejects", str(data_dir / f"{source.stem}.rejects.csv")))


def raw_insert_rate(imported_store: Path, empty_store: Path) -> tuple[float, int]:
    """Cases/s for a bare executemany of the rows the import wrote (cases and their timelines) into
    an empty store of the same schema (same indexes and search triggers)."""
    source = sqlite3.connect(imported_store)
    tables = {}
    for table in ("cases", "case_events"):
        columns = [row[1] for row in source.execute(f"PRAGMA table_info({table})")]
        tables[table] = (columns, source.execute(f"SELECT {', '.join(columns)} FROM {table}").fetchall())
    source.close()
    target = sqlite3.connect(empty_store)
    target.execute("PRAGMA journal_mode=WAL")
    target.execute("PRAGMA synchronous=NORMAL")
    started = time.perf_counter()
    for table, (columns, rows) in tables.items():
        target.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
                           rows)
    target.commit()
    seconds = time.perf_counter() - started
    target.close()
    cases = len(tables["cases"][1])
    return cases / seconds, cases


def raw_write_rate(imported_store: Path, empty_store: Path, batch: int) -> float:
    """Cases/s for writing every row the import wrote (cases, timelines, assignments, step deadlines,
    duplicate suggestions) with bare executemany in transactions of ``batch`` cases, the cases through
    a staging table as the import writes them (one INSERT … SELECT, so the search trigger's FTS5
    flushes once per batch): what SQLite alone costs the import, with every index and trigger. As in
    ``raw_insert_rate``, foreign keys are not checked (the empty store has no areas or categories)."""
    tables = ("cases", "case_events", "case_assignments", "case_deadlines", "duplicate_suggestions")
    source = sqlite3.connect(imported_store)
    rows = {}
    for table in tables:
        columns = [row[1] for row in source.execute(f"PRAGMA table_info({table})")]
        order = "id" if table == "cases" else "case_id"
        rows[table] = (columns, source.execute(f"SELECT {', '.join(columns)} FROM {table} ORDER BY {order}").fetchall())
    source.close()
    target = sqlite3.connect(empty_store, isolation_level=None)
    for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "cache_size=-1048576", "wal_autocheckpoint=10000"):
        target.execute(f"PRAGMA {pragma}")
    columns = rows["cases"][0]
    names = ", ".join(f'"{c}"' for c in columns)
    target.execute(f"CREATE TEMP TABLE staging ({names})")
    cases = rows["cases"][1]
    started = time.perf_counter()
    taken = {table: 0 for table in tables}
    for start in range(0, len(cases), batch):
        last_id = cases[min(start + batch, len(cases)) - 1][0]
        target.execute("BEGIN IMMEDIATE")
        target.executemany(f"INSERT INTO staging VALUES ({', '.join('?' * len(columns))})", cases[start:start + batch])
        target.execute(f"INSERT INTO cases ({names}) SELECT {names} FROM staging")
        target.execute("DELETE FROM staging")
        for table in tables[1:]:
            table_columns, table_rows = rows[table]
            case_id = table_columns.index("case_id")
            end = bisect.bisect_right(table_rows, last_id, lo=taken[table], key=itemgetter(case_id))
            target.executemany(f"INSERT INTO {table} ({', '.join(table_columns)}) VALUES "
                               f"({', '.join('?' * len(table_columns))})", table_rows[taken[table]:end])
            taken[table] = end
        target.execute("COMMIT")
    seconds = time.perf_counter() - started
    target.close()
    return len(cases) / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=5000)
    parser.add_argument("--skip-la", action="store_true")
    args = parser.parse_args()
    result: dict = {"cases": args.cases, "batch": args.batch, "target_cases_per_s": 20_000}
    with tempfile.TemporaryDirectory() as scratch:
        base = Path(scratch)
        city, empty = base / "city", base / "empty"
        cityops(city, "demo")  # Shanghai: 4,032 areas, departments, matrix
        cityops(empty, "db", "upgrade")
        source = base / "synthetic.csv"
        started = time.perf_counter()
        synthetic_file(source, args.cases)
        print(f"wrote {args.cases:,} synthetic work orders in {time.perf_counter() - started:.1f} s", file=sys.stderr)
        (base / "synthetic.toml").write_text(MAPPING, encoding="utf-8")
        summary = import_file(city, source, str(base / "synthetic.toml"), args.batch)
        rate = summary["imported"] / summary["seconds"]
        print(f"import: {summary['imported']:,} cases in {summary['seconds']:.1f} s = {rate:,.0f} cases/s "
              f"({summary['duplicates_flagged']:,} flagged as duplicates, {summary['rejected']} rejected)",
              file=sys.stderr)
        raw, copied = raw_insert_rate(city / "cityops.db", empty / "cityops.db")
        print(f"raw executemany of the same {copied:,} cases and their timelines: {raw:,.0f} cases/s",
              file=sys.stderr)
        bound = base / "bound"
        cityops(bound, "db", "upgrade")
        floor = raw_write_rate(city / "cityops.db", bound / "cityops.db", args.batch)
        print(f"every row the import wrote, in batches of {args.batch:,}, search index flushed per batch: "
              f"{floor:,.0f} cases/s", file=sys.stderr)
        result |= {"imported": summary["imported"], "seconds": summary["seconds"],
                   "cases_per_s": round(rate), "raw_insert_cases_per_s": round(raw),
                   "ratio_to_raw_insert": round(rate / raw, 3), "raw_write_all_cases_per_s": round(floor),
                   "duplicates_flagged": summary["duplicates_flagged"]}
        if not args.skip_la and LA.is_dir():
            la = base / "la"
            cityops(la, "areas", "import", str(LA / "boundaries" / "la-city-council-districts-2012.json"),
                    "--level", "district", "--city", "Los Angeles", "--code-field", "slug", "--name-field", "name")
            cityops(la, "areas", "import", str(LA / "boundaries" / "nc-boundary-2019-modified.json"), "--level",
                    "street", "--code-field", "nc_id", "--name-field", "name")
            la_summary = import_file(la, LA / "myla311_2017_subset_10k.csv", "la_myla311", args.batch)
            la_rate = la_summary["imported"] / la_summary["seconds"]
            print(f"LA: {la_summary['imported']:,} cases in {la_summary['seconds']:.1f} s = {la_rate:,.0f} cases/s; "
                  f"agreement district {la_summary['area.district']}, street {la_summary['area.street']}",
                  file=sys.stderr)
            result |= {"la_imported": la_summary["imported"], "la_cases_per_s": round(la_rate),
                       "la_area_district": la_summary["area.district"], "la_area_street": la_summary["area.street"]}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
