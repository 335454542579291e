"""Intake throughput and latency over HTTP: the full pipeline (validate, locate, duplicate check,
register, route, dispatch, deadlines, outbox) against a bare validated POST of the same body, in the
same server (a process of its own) and run. Run as `python bench/intake.py [--cases N]`; the last
line is one JSON object.

Three measurements: one client after another (rate and latency of each path, and of the bare POST
signed in and in a unit of work with nothing stored: what any write call pays before its own work);
the pipeline's maximum rate with several concurrent clients; and its latency when requests arrive on
a fixed schedule at half that maximum (measured from each request's scheduled time, so a slow answer
delays the ones behind it and shows in their latency too).

Targets (issue 4): full pipeline ≥ 0.5 of the bare rate; p99 ≤ 25 ms at half the measured maximum.
"""

from __future__ import annotations

import argparse
import json
import queue
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import uvicorn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cityops.cases.schemas import CaseIn  # noqa: E402
from cityops.categories import service as categories_service  # noqa: E402
from cityops.config import Settings  # noqa: E402
from cityops.db import make_engine, migrate, unit_of_work  # noqa: E402
from cityops.deps import CurrentPrincipal, DbSession  # noqa: E402
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


def concurrent(base: str, url: str, bodies: list[dict], headers: dict, clients: int) -> float:
    """Requests per second with ``clients`` sending at once, each as fast as answers come."""
    share = [bodies[i::clients] for i in range(clients)]

    def run(part: list[dict]) -> None:
        with httpx.Client(base_url=base, timeout=30) as client:
            timed(client, url, part, headers)

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(run, share))
    return len(bodies) / (time.perf_counter() - started)


def paced(base: str, url: str, bodies: list[dict], headers: dict, rate: float) -> list[float]:
    """Latencies (from each request's scheduled time) when requests are due every 1/rate s. The
    clients are made and connected before the schedule starts: making one (its TLS context) takes
    tens of milliseconds, which would otherwise land on the first requests."""
    senders = 16
    idle: queue.Queue[httpx.Client] = queue.Queue()
    for _ in range(senders):
        client = httpx.Client(base_url=base, timeout=30)
        client.get("/healthz")
        idle.put(client)
    start = time.perf_counter() + 0.2

    def send(item: tuple[int, dict]) -> float:
        number, body = item
        due = start + number / rate
        time.sleep(max(0.0, due - time.perf_counter()))
        client = idle.get()
        try:
            response = client.post(url, json=body, headers=headers)
        finally:
            idle.put(client)
        if response.status_code >= 300:
            raise SystemExit(f"{url}: {response.status_code} {response.text[:200]}")
        return time.perf_counter() - due

    try:
        with ThreadPoolExecutor(senders) as pool:
            return list(pool.map(send, enumerate(bodies)))
    finally:
        while not idle.empty():
            idle.get().close()


def serve(folder: Path, port: int) -> None:
    """The server process: the application with the bare route added."""
    settings = Settings(environment="test", data_dir=folder, secret_key="b" * 40, sweep_interval_s=0,
                        settle_at_startup=True)  # as `cityops serve` runs
    app = create_app(settings, make_engine(settings.sqlalchemy_url))

    @app.post("/bench/bare", status_code=201)
    def bare(body: CaseIn) -> CaseIn:  # the baseline: the same body validated, nothing stored
        return body

    @app.post("/bench/signed-in", status_code=201)
    def signed_in(session: DbSession, principal: CurrentPrincipal, body: CaseIn) -> CaseIn:
        # what every write call pays before its own work: the caller's token and a unit of work
        return body

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--serve", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.port)
        return
    folder = Path(tempfile.mkdtemp(prefix="cityops-bench-"))
    settings = Settings(environment="test", data_dir=folder, secret_key="b" * 40, sweep_interval_s=0)
    engine = make_engine(settings.sqlalchemy_url)
    migrate(engine)
    seed(engine)
    engine.dispose()
    port = free_port()
    server = subprocess.Popen([sys.executable, __file__, "--serve", str(folder), "--port", str(port)])
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        rng = random.Random(7)
        # Spread over the test city, far enough apart and worded differently so few merge as duplicates.
        bodies = [{"channel": "grid_patrol", "title": f"暴露垃圾 {i} 号点", "category_code": "E0102",
                   "lon": rng.uniform(121.001, 121.399), "lat": rng.uniform(31.001, 31.199)}
                  for i in range(args.cases * 3)]
        one, many, half = bodies[:args.cases], bodies[args.cases:2 * args.cases], bodies[2 * args.cases:]
        with httpx.Client(base_url=base, timeout=30) as client:
            token = client.post("/api/v1/auth/token", data={"username": "bench", "password": PASSWORD}).json()
            headers = {"Authorization": f"Bearer {token['access_token']}"}
            timed(client, "/bench/bare", one[:50], headers)  # warm up
            bare_figures = figures(timed(client, "/bench/bare", one, headers))
            signed_in_figures = figures(timed(client, "/bench/signed-in", one, headers))
            pipeline_figures = figures(timed(client, "/api/v1/cases", one, headers))
        maximum = concurrent(base, "/api/v1/cases", many, headers, args.clients)
        at_half = figures(paced(base, "/api/v1/cases", half, headers, maximum / 2))
    finally:
        server.terminate()
        server.wait(timeout=30)
    print(f"bare validated POST, one client: {bare_figures}")
    print(f"the same, signed in and in a unit of work (nothing stored), one client: {signed_in_figures}")
    print(f"full intake pipeline (SQLite), one client: {pipeline_figures}")
    print(f"full pipeline, {args.clients} clients at once: {maximum:.1f} cases/s")
    print(f"full pipeline, requests due at {maximum / 2:.1f}/s: p50 {at_half['p50_ms']} ms, p99 {at_half['p99_ms']} ms")
    print(json.dumps({"cases": args.cases, "store": "sqlite", "bare": bare_figures, "pipeline": pipeline_figures,
                      "ratio": round(pipeline_figures["per_s"] / bare_figures["per_s"], 3),
                      "signed_in": signed_in_figures,
                      "signed_in_ratio": round(signed_in_figures["per_s"] / bare_figures["per_s"], 3),
                      "pipeline_max_per_s": round(maximum, 1),
                      "at_half_max": {"per_s": round(maximum / 2, 1), "p50_ms": at_half["p50_ms"],
                                      "p99_ms": at_half["p99_ms"]}}))


if __name__ == "__main__":
    main()
