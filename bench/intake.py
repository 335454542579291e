"""Intake throughput and latency over HTTP: the full pipeline (validate, locate, duplicate check,
register, route, dispatch, deadlines, outbox) against a bare validated POST of the same body, in the
same server and run. Run as `python bench/intake.py [--cases N]`; the last line is one JSON object.

Targets (issue 4): full pipeline ≥ 0.5 of the bare rate; p99 ≤ 25 ms at half the measured maximum.
"""

from __future__ import annotations

import argparse
import json
import random
import socket
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import uvicorn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cityops.cases.schemas import CaseIn  # noqa: E402
from cityops.categories import service as categories_service  # noqa: E402
from cityops.config import Settings  # noqa: E402
from cityops.db import make_engine, migrate, unit_of_work  # noqa: E402
from cityops.main import create_app  # noqa: E402
from cityops.org import responsibility  # noqa: E402
from cityops.org import service as org_service  # noqa: E402
from cityops.org.responsibility import CellSpec  # noqa: E402
from tests.factories import PASSWORD, make_city, make_user  # noqa: E402


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def seed(engine) -> None:  # noqa: ANN001
    with unit_of_work(engine) as session:
        make_city(session)
        categories_service.create_category(session, code="E01", name="市容环境", kind="event", origin="bench")
        categories_service.create_category(session, code="E0102", name="暴露垃圾", kind="event", parent_code="E01",
                                           origin="bench")
        org_service.create_department(session, code="D1", name="D1", level="district", area_code="990101",
                                      kind="x", origin="bench")
        responsibility.set_cell(session, spec=CellSpec(category_code="E0102", area_code="990101",
                                                       lead_department_code="D1"))
        make_user(session, username="bench", roles=["operator"], area_code="990000")


def timed(client: httpx.Client, url: str, bodies: list[dict], headers: dict) -> list[float]:
    latencies = []
    for body in bodies:
        started = time.perf_counter()
        response = client.post(url, json=body, headers=headers)
        latencies.append(time.perf_counter() - started)
        if response.status_code >= 300:
            raise SystemExit(f"{url}: {response.status_code} {response.text[:200]}")
    return latencies


def figures(latencies: list[float]) -> dict[str, float]:
    ordered = sorted(latencies)
    return {"per_s": round(len(ordered) / sum(ordered), 1),
            "p50_ms": round(statistics.median(ordered) * 1000, 2),
            "p99_ms": round(ordered[int(len(ordered) * 0.99) - 1] * 1000, 2)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=1000)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="cityops-bench-"))
    settings = Settings(environment="test", data_dir=folder, secret_key="b" * 40, sweep_interval_s=0)
    engine = make_engine(settings.sqlalchemy_url)
    migrate(engine)
    seed(engine)
    app = create_app(settings, engine)

    @app.post("/bench/bare", status_code=201)
    def bare(body: CaseIn) -> CaseIn:  # the baseline: the same body validated, nothing stored
        return body

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    base = f"http://127.0.0.1:{port}"
    rng = random.Random(7)
    # Spread over the test city, far enough apart and worded differently so few merge as duplicates.
    bodies = [{"channel": "grid_patrol", "title": f"暴露垃圾 {i} 号点", "category_code": "E0102",
               "lon": rng.uniform(121.001, 121.399), "lat": rng.uniform(31.001, 31.199)} for i in range(args.cases)]
    with httpx.Client(base_url=base, timeout=30) as client:
        token = client.post("/api/v1/auth/token", data={"username": "bench", "password": PASSWORD}).json()
        headers = {"Authorization": f"Bearer {token['access_token']}"}
        timed(client, "/bench/bare", bodies[:50], headers)  # warm up
        bare_figures = figures(timed(client, "/bench/bare", bodies, headers))
        pipeline_figures = figures(timed(client, "/api/v1/cases", bodies, headers))
    server.should_exit = True
    print(f"bare validated POST: {bare_figures}")
    print(f"full intake pipeline (SQLite): {pipeline_figures}")
    print(json.dumps({"cases": args.cases, "store": "sqlite", "bare": bare_figures, "pipeline": pipeline_figures,
                      "ratio": round(pipeline_figures["per_s"] / bare_figures["per_s"], 3)}))


if __name__ == "__main__":
    main()
