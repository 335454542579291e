"""The crash test of issue 4: while a client streams new cases, the real server process is killed
with SIGKILL and restarted, twice. Afterwards every case whose creation was acknowledged is
in the store, whole (its timeline complete and matching the case), and no retried case exists twice.

The client behaves as a real one should: each case has its own Idempotency-Key and external_id, and a
request that gets no answer (connection refused or reset because the server is dead) or a retryable
one (409 while the same report is being taken in, 5xx) is sent again, unchanged, until it is answered.
The store is checked directly with SQLAlchemy after the server is dead, so nothing the server says
about itself is trusted.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import httpx
from sqlalchemy import Engine, func, select

from cityops.cases.models import Case, CaseEvent
from cityops.categories import service as categories_service
from cityops.db import unit_of_work
from cityops.org import responsibility
from cityops.org import service as org_service
from cityops.org.responsibility import CellSpec
from tests.factories import make_city

CITYOPS = Path(sys.executable).with_name("cityops")
CASES = 120
CLIENTS = 3  # concurrent streams: more requests in flight, at different stages, when the server dies
KILL_AT_ACKNOWLEDGED = (40, 80)
# A kill rarely lands between a commit and its response, so the retry of a case that exists but was
# never acknowledged is also provoked on purpose: every tenth case is first sent by a client that gives
# up after 1 ms, too soon for an answer but not for the server to take the report in.
IMPATIENT_EVERY = 10
IMPATIENT_TIMEOUT = httpx.Timeout(5.0, connect=1.0, read=0.001)
CHANNEL = "department_system"  # trusted: intake, registration and dispatch happen in one unit of work
CATEGORY, DISTRICT, DEPARTMENT = "E0102", "990101", "greening-990101"
EXPECTED_TIMELINE = ["intake", "register", "dispatch"]
# Explicit limits so the test can never hang: per backend, the whole stream; one server start; one request.
STREAM_DEADLINE_S = 90.0
START_DEADLINE_S = 30.0
REQUEST_TIMEOUT = httpx.Timeout(5.0, connect=1.0)
RETRY_PAUSE_S = 0.05


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def location_of(number: int) -> dict[str, float]:
    """Points ~600 m apart inside district 990101, so no two reports are duplicates of each other
    (default radius 100 m) and the duplicate merge never changes a timeline."""
    return {"lon": 121.01 + (number % 30) * 0.006, "lat": 31.01 + (number // 30) * 0.006}


def prepare_store(store: Engine) -> str:
    """The test city, a routable category and an API client; returns the client's bearer token."""
    with unit_of_work(store) as session:
        make_city(session)
        categories_service.create_category(session, code="E01", name="市容环境", kind="event", origin="test")
        categories_service.create_category(session, code=CATEGORY, name="暴露垃圾", kind="event",
                                           parent_code="E01", origin="test")
        org_service.create_department(session, code=DEPARTMENT, name=DEPARTMENT, level="district",
                                      area_code=DISTRICT, kind="greening", origin="test")
        responsibility.set_cell(session, spec=CellSpec(category_code=CATEGORY, area_code=DISTRICT,
                                                       lead_department_code=DEPARTMENT))
        _, token = org_service.create_api_client(session, name="crash-client", kind="system", area_code=DISTRICT,
                                                 roles=["system"], origin="test")
    return token


class Server:
    """`cityops serve` as its own process group, so SIGKILL takes uvicorn and anything it spawned."""

    def __init__(self, port: int, env: dict[str, str], folder: Path, log: IO[bytes]) -> None:
        self.port, self.env, self.folder, self.log = port, env, folder, log
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> None:
        self.process = subprocess.Popen([str(CITYOPS), "serve", "--port", str(self.port)], env=self.env,
                                        cwd=self.folder, stdout=self.log, stderr=subprocess.STDOUT,
                                        start_new_session=True)
        self.starts += 1

    def wait_until_healthy(self) -> None:
        deadline = time.monotonic() + START_DEADLINE_S
        while time.monotonic() < deadline:
            assert self.process is not None and self.process.poll() is None, "the server exited while starting"
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/healthz", timeout=1.0).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"the server was not healthy within {START_DEADLINE_S} s")

    def kill(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)


@dataclass
class Stream:
    """What the client sent and what it was told."""

    acknowledged: dict[str, int] = field(default_factory=dict)  # idempotency key → case id
    external_ids: dict[str, str] = field(default_factory=dict)  # idempotency key → external_id
    answers: Counter[str] = field(default_factory=Counter)      # e.g. "201", "200 on retry", "no answer"
    failures: list[BaseException] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self, answer: str) -> None:
        with self.lock:
            self.answers[answer] += 1


def stream_cases(base_url: str, token: str, numbers: range, stream: Stream, stop: threading.Event,
                 deadline: float) -> None:
    run = uuid.uuid4().hex[:8]
    try:
        with httpx.Client(base_url=base_url, timeout=REQUEST_TIMEOUT) as http:
            for number in numbers:
                key, external_id = f"crash-{run}-{number}", f"ext-{run}-{number}"
                stream.external_ids[key] = external_id
                body = {"channel": CHANNEL, "title": f"暴露垃圾 第{number}号", "category_code": CATEGORY,
                        "external_id": external_id, **location_of(number)}
                headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": key}
                impatient = number % IMPATIENT_EVERY == 0
                stream.acknowledged[key] = create_until_answered(http, headers, body, stream, stop, deadline,
                                                                 impatient=impatient)
    except BaseException as exc:  # noqa: BLE001  (handed to the test thread, which fails with it)
        stream.failures.append(exc)


def create_until_answered(http: httpx.Client, headers: dict[str, str], body: dict[str, object], stream: Stream,
                          stop: threading.Event, deadline: float, *, impatient: bool) -> int:
    """Send the same request until the server answers it; the case id it acknowledges."""
    retried = False
    while not stop.is_set():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{headers['Idempotency-Key']} was not acknowledged before the deadline")
        timeout = IMPATIENT_TIMEOUT if impatient and not retried else REQUEST_TIMEOUT
        try:
            response = http.post("/api/v1/cases", headers=headers, json=body, timeout=timeout)
        except httpx.TransportError as error:  # the server is dead or restarting: a real client retries
            stream.count(f"no answer ({type(error).__name__})")
            retried = True
            time.sleep(RETRY_PAUSE_S)
            continue
        stream.count(f"{response.status_code}{' on retry' if retried else ''}")
        if response.status_code in (200, 201):
            return response.json()["id"]
        if response.status_code == 409 or response.status_code >= 500:
            retried = True
            time.sleep(RETRY_PAUSE_S)
            continue
        raise AssertionError(f"case {headers['Idempotency-Key']} refused: {response.status_code} {response.text}")
    raise InterruptedError("stopped")


def server_environment(store: Engine, data_dir: Path) -> dict[str, str]:
    # A developer's own CITYOPS_* settings must not point the server at another store.
    env = {name: value for name, value in os.environ.items() if not name.startswith("CITYOPS_") and name != "PORT"}
    env.update(CITYOPS_ENVIRONMENT="test", CITYOPS_DATA_DIR=str(data_dir))
    if store.dialect.name != "sqlite":
        env["CITYOPS_DATABASE_URL"] = store.url.render_as_string(hide_password=False)
    return env


def wait_for_acknowledged(stream: Stream, count: int, deadline: float) -> None:
    while len(stream.acknowledged) < count:
        if stream.failures:
            raise AssertionError(f"a client failed: {stream.failures[0]!r}")
        if time.monotonic() > deadline:
            raise AssertionError(f"only {len(stream.acknowledged)} of {count} cases acknowledged in time")
        time.sleep(0.01)


def stream_through_kills(server: Server, token: str, log_path: Path) -> tuple[Stream, list[float]]:
    """Stream CASES cases from CLIENTS threads, killing and restarting the server at each threshold;
    what the clients were told, and how long the server was down each time."""
    stream, stop = Stream(), threading.Event()
    downtimes: list[float] = []
    deadline = time.monotonic() + STREAM_DEADLINE_S
    clients = [threading.Thread(target=stream_cases, daemon=True,
                                args=(f"http://127.0.0.1:{server.port}", token, range(first, CASES, CLIENTS),
                                      stream, stop, deadline)) for first in range(CLIENTS)]
    try:
        server.start()
        server.wait_until_healthy()
        for client in clients:
            client.start()
        for threshold in KILL_AT_ACKNOWLEDGED:
            wait_for_acknowledged(stream, threshold, deadline)
            server.kill()
            killed = time.monotonic()
            time.sleep(0.2)
            server.start()
            server.wait_until_healthy()
            downtimes.append(time.monotonic() - killed)
        for client in clients:
            client.join(timeout=max(0.0, deadline - time.monotonic()))
        assert not stream.failures, f"a client failed: {stream.failures[0]!r}"
        assert not any(client.is_alive() for client in clients), "the stream did not finish in time"
    except BaseException:
        print(log_path.read_text(errors="replace")[-4000:])
        raise
    finally:
        stop.set()
        server.kill()  # the last kill too: the store is checked as a crash left it
        for client in clients:
            client.join(timeout=10)
    return stream, downtimes


def test_acknowledged_cases_survive_server_kills_and_retries_never_duplicate(scratch_store: Engine,
                                                                             tmp_path: Path) -> None:
    assert CITYOPS.exists(), f"no `cityops` script next to {sys.executable}"
    token = prepare_store(scratch_store)
    log_path = tmp_path / "server.log"
    started = time.monotonic()
    with log_path.open("wb") as log:
        server = Server(free_port(), server_environment(scratch_store, tmp_path), tmp_path, log)
        stream, downtimes = stream_through_kills(server, token, log_path)
    print(f"{scratch_store.dialect.name}: {len(stream.acknowledged)} cases acknowledged, {server.starts - 1} kills, "
          f"{time.monotonic() - started:.1f} s, down for {', '.join(f'{d:.1f}' for d in downtimes)} s; "
          f"answers: {dict(stream.answers)}")
    assert server.starts - 1 == len(KILL_AT_ACKNOWLEDGED)
    assert len(stream.acknowledged) == CASES

    scratch_store.dispose()  # read through new connections, as a restarted process would
    with unit_of_work(scratch_store) as session:
        cases = {case.id: case for case in session.scalars(select(Case))}
        timelines: dict[int, list[tuple[int, str]]] = {}
        for event in session.scalars(select(CaseEvent).order_by(CaseEvent.case_id, CaseEvent.version)):
            timelines.setdefault(event.case_id, []).append((event.version, event.action))
        repeated_external_ids = session.execute(
            select(Case.channel, Case.external_id, func.count()).group_by(Case.channel, Case.external_id)
            .having(func.count() > 1)).all()

    lost = {key: case_id for key, case_id in stream.acknowledged.items() if case_id not in cases}
    assert not lost, f"acknowledged cases missing from the store: {lost}"
    assert len(cases) == len(stream.external_ids), (
        f"{len(cases)} cases stored for {len(stream.external_ids)} idempotency keys: a retry made a second case")
    assert repeated_external_ids == [], "a (channel, external_id) is stored more than once"
    # A lost row's id can be handed to the next case (SQLite reuses the highest rowid), so a loss may also
    # show as an acknowledged id that now holds another report.
    mismatched = {key: (cases[case_id].idempotency_key, cases[case_id].external_id)
                  for key, case_id in stream.acknowledged.items()
                  if (cases[case_id].idempotency_key, cases[case_id].external_id) != (key, stream.external_ids[key])}
    assert not mismatched, f"acknowledged ids that hold another report: {mismatched}"
    for case_id in stream.acknowledged.values():
        case, timeline = cases[case_id], timelines.get(case_id, [])
        # Intake, registration and dispatch are one unit of work: a crash keeps all of it or none.
        assert [version for version, _ in timeline] == list(range(1, case.version + 1)), f"case {case_id}"
        assert [action for _, action in timeline] == EXPECTED_TIMELINE, f"case {case_id}"
        assert case.status == "dispatched", f"case {case_id}"
