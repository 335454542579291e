"""Routing a case to a category and place not routed before (``responsibility.route_case``) on the
Shanghai demo's matrix, against the pure decision (``MatrixSnapshot.route`` on chains already in
memory) for the same pairs, in the same run.

    .venv/bin/python bench/route.py [--pairs N] [--seed S]

Each pair is a category with a parent and a community, drawn at random; every pair is asked once in
a fresh unit of work, so each is a miss of the decision memo, as the first case of its kind at a
place is. The first ask after the reference data changed also reads the whole matrix: that cost is
printed on its own. Human lines first, one JSON object on the last line.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import select

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import contextlib

from cityops.categories.models import Category  # noqa: E402
from cityops.config import Settings  # noqa: E402
from cityops.db import make_engine, unit_of_work  # noqa: E402
from cityops.geo import service as geo_service  # noqa: E402
from cityops.geo.models import Area  # noqa: E402
from cityops.org import responsibility  # noqa: E402
from cityops.org.routing import Unroutable  # noqa: E402

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=500)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        env = {"CITYOPS_SHARED_DATA_DIR": str(SHARED_DATA), **os.environ, "CITYOPS_DATA_DIR": folder}
        subprocess.run([str(Path(sys.executable).with_name("cityops")), "demo", "--cases", "0"], env=env,
                       check=True, capture_output=True)
        engine = make_engine(Settings(data_dir=Path(folder)).sqlalchemy_url)
        with unit_of_work(engine) as session:
            communities = list(session.scalars(select(Area.code).where(Area.level == "community")))
            categories = list(session.scalars(select(Category.code).where(Category.parent_id.is_not(None))))
            rng = random.Random(args.seed)
            pairs = sorted({(rng.choice(categories), rng.choice(communities)) for _ in range(args.pairs)})
        missed = []  # first, while nothing is kept: each pair's area chain and decision are read afresh
        with unit_of_work(engine) as session:
            started = time.perf_counter()
            responsibility.route_case(session, category_code=pairs[0][0], area_code=pairs[0][1])
            first_ms = (time.perf_counter() - started) * 1000
            for category, area in pairs[1:]:
                started = time.perf_counter()
                with contextlib.suppress(Unroutable):
                    responsibility.route_case(session, category_code=category, area_code=area)
                missed.append(time.perf_counter() - started)
        with unit_of_work(engine) as session:
            started = time.perf_counter()
            snapshot = responsibility.MatrixSnapshot(session)
            read_matrix_ms = (time.perf_counter() - started) * 1000
            chains = {area: geo_service.chain_keys(session, code=area) for _, area in pairs}
        pure = []
        for category, area in pairs[1:]:
            started = time.perf_counter()
            with contextlib.suppress(Unroutable):
                snapshot.route(category_code=category, area_chain=chains[area])
            pure.append(time.perf_counter() - started)
        engine.dispose()
    miss_ms, pure_ms = statistics.median(missed) * 1000, statistics.median(pure) * 1000
    print(f"the first pair, reading the whole matrix (once per change of reference data): {first_ms:.1f} ms; "
          f"the matrix alone {read_matrix_ms:.1f} ms")
    print(f"route_case, a pair not routed before: median {miss_ms:.3f} ms over {len(missed)} pairs")
    print(f"the pure decision on chains in memory: median {pure_ms:.4f} ms")
    print(json.dumps({"pairs": len(missed), "first_pair_ms": round(first_ms, 1),
                      "read_matrix_ms": round(read_matrix_ms, 1),
                      "route_case_miss_ms": round(miss_ms, 3), "pure_decision_ms": round(pure_ms, 4),
                      "ratio": round(miss_ms / pure_ms, 1)}))


if __name__ == "__main__":
    main()
