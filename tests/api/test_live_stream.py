"""The live stream (GET /api/v1/stream) over a store whose units of work really commit, on SQLite and
PostgreSQL: a warning raised by a readings POST reaches the operators whose jurisdiction covers the
device and no one else, and so does a case taken in or moved; the counters follow; a client resumes
after its Last-Event-ID; an event written by another process is found by polling; anonymous callers
get 401; a bad Last-Event-ID is refused; a client that goes away leaves nothing subscribed; without
text/event-stream the answer is one JSON page."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, insert

from cityops.config import Settings
from cityops.db import make_engine, unit_of_work
from cityops.geo import service as geo_service
from cityops.live import LiveEvent, publish
from cityops.main import create_app
from cityops.sensing import devices as registry
from cityops.sensing import stream, stream_api
from cityops.sensing.devices import DeviceSpec
from cityops.sensing.stream import StreamTiming
from tests.factories import login, make_city, make_user

STREET, OTHER_STREET = "99010101", "99010102"
SSE = {"Accept": "text/event-stream"}
RULE = {"code": "wl-high", "name": "水位超限", "definition": {
    "kind": "threshold", "metric": "water_level", "scope": {"device_type": "wl"},
    "levels": [{"level": "yellow", "fire_at": 3.0, "clear_at": 2.8}]}}


@pytest.fixture
def live(scratch_store: Engine, tmp_path: Path) -> Iterator[dict[str, Any]]:
    """A city with gauges WL-1 in the street and WL-2 in the next one, a city-wide rule, operators of
    each street, and an application serving the store with quick heartbeats and counters."""
    with unit_of_work(scratch_store) as session:
        make_city(session)
        locator = geo_service.build_locator(session, boundary_distance_m=30)
        registry.create_device_type(session, code="wl", name="水位计", metrics={"water_level": "m"})
        for code, lon in (("WL-1", 121.02), ("WL-2", 121.15)):
            registry.create_device(session, spec=DeviceSpec(code=code, name=code, type_code="wl", lon=lon, lat=31.05),
                                   locator=locator, actor=None, origin="test")
        make_user(session, username="op", roles=["operator"], area_code=STREET)
        make_user(session, username="other.op", roles=["operator"], area_code=OTHER_STREET)
        make_user(session, username="city.admin", roles=["administrator"], area_code="990000")
    settings = Settings(environment="test", data_dir=tmp_path, secret_key="test-secret-" + "x" * 32,
                        demo_password="demo-pass-123", sweep_interval_s=0)
    app = create_app(settings, scratch_store)
    stream_api.install(app, timing=StreamTiming(heartbeat_s=0.2, counts_s=0.2, lifetime_s=120))
    app.state.live.poll_s = 0.05
    with TestClient(app, raise_server_exceptions=False) as client:
        people = {name: login(client, name) for name in ("op", "other.op", "city.admin")}
        assert client.post("/api/v1/rules", headers=people["city.admin"], json=RULE).status_code == 201
        yield {"client": client, "app": app, "engine": scratch_store, **people}


def send(live: dict[str, Any], device: str, *values: float) -> None:
    start = datetime.now(UTC) - timedelta(minutes=len(values))
    items = [{"device": device, "metric": "water_level", "ts": (start + timedelta(minutes=i)).isoformat(),
              "value": value} for i, value in enumerate(values)]
    response = live["client"].post("/api/v1/readings", headers=live["city.admin"], json=items)
    assert response.status_code == 200 and response.json()["accepted"] == len(items), response.text


class Stream:
    """The events of an open stream, read as they come; heartbeats keep the reader's clock going.
    ``next`` looks first among the events earlier calls passed over, in order."""

    def __init__(self, lines: Iterator[str]) -> None:
        self.lines = lines
        self.heartbeats = 0
        self.passed_over: list[dict[str, Any]] = []

    def next(self, wanted: Callable[[dict[str, Any]], bool], *, within: float = 20.0) -> dict[str, Any]:
        for index, event in enumerate(self.passed_over):
            if wanted(event):
                return self.passed_over.pop(index)
        deadline = time.monotonic() + within
        event = {}
        for line in self.lines:
            if line.startswith(": heartbeat"):
                self.heartbeats += 1
            elif line.startswith(("event:", "id:", "data:")):
                field, _, value = line.partition(":")
                event[field] = orjson.loads(value) if field == "data" else value.strip()
            elif not line and event:
                if wanted(event):
                    return event
                self.passed_over.append(event)
                event = {}
            if time.monotonic() > deadline:
                break
        raise AssertionError(f"no such event within {within} s")


def kind(name: str, **data: Any) -> Callable[[dict[str, Any]], bool]:
    return lambda event: event.get("event") == name and all(event["data"].get(k) == v for k, v in data.items())


@contextmanager
def opened(live: dict[str, Any], who: str, **headers: str) -> Iterator[Stream]:
    with live["client"].stream("GET", "/api/v1/stream", headers={**live[who], **SSE, **headers}) as response:
        assert response.status_code == 200, response.read()
        assert response.headers["content-type"].startswith("text/event-stream")
        stream = Stream(response.iter_lines())
        stream.next(kind("counts"))  # subscribed: from here on nothing is missed
        yield stream


def test_a_warning_reaches_the_operators_of_its_area_only(live: dict[str, Any]) -> None:
    with opened(live, "op") as mine, opened(live, "other.op") as theirs:
        send(live, "WL-1", 3.5)
        send(live, "WL-2", 3.6)
        fired = mine.next(kind("warning"))
        assert (fired["data"]["origin"], fired["data"]["status"], fired["data"]["level"]) == ("WL-1", "firing",
                                                                                               "yellow")
        assert fired["data"]["area_code"].startswith(STREET) and int(fired["id"]) <= fired["data"]["event_id"]
        # WL-1's warning was published first: had it been sent to the other street, it would come first
        assert theirs.next(kind("warning"))["data"]["origin"] == "WL-2"
        assert mine.next(kind("counts", warnings_active=1))["data"]["reported_today"] == 0
        send(live, "WL-2", 2.0)
        send(live, "WL-1", 2.0)
        assert mine.next(kind("warning"))["data"]["origin"] == "WL-1"  # not WL-2's resolution


def test_a_case_taken_in_and_moved_reaches_the_operators_of_its_area_only(live: dict[str, Any]) -> None:
    with opened(live, "op") as mine, opened(live, "other.op") as theirs:
        theirs_case = live["client"].post("/api/v1/cases", headers=live["other.op"], json={
            "channel": "hotline_12345", "title": "隔壁街道的积水", "lon": 121.15, "lat": 31.05})
        taken = live["client"].post("/api/v1/cases", headers=live["op"], json={
            "channel": "hotline_12345", "title": "人行道上暴露垃圾", "lon": 121.02, "lat": 31.05})
        assert taken.status_code == 201 and theirs_case.status_code == 201, (taken.text, theirs_case.text)
        case = taken.json()
        # one event for the whole intake, however many steps it took
        reported = mine.next(kind("case"))["data"]
        assert (reported["case_id"], reported["tracking_code"], reported["status"], reported["version"]) == (
            case["id"], case["tracking_code"], case["status"], case["version"])
        assert reported["action"] == case["timeline"][-1]["action"] and reported["area_code"] == case["area_code"]
        assert theirs.next(kind("case"))["data"]["case_id"] == theirs_case.json()["id"]

        registered = live["client"].post(f"/api/v1/cases/{case['id']}/actions/register", headers=live["op"], json={})
        assert registered.status_code == 200, registered.text
        moved = mine.next(kind("case"))["data"]
        assert (moved["case_id"], moved["action"], moved["status"], moved["version"]) == (
            case["id"], "register", "registered", case["version"] + 1)
        # a refused move announces nothing: the next case event is the rejection of a new report
        refused = live["client"].post(f"/api/v1/cases/{case['id']}/actions/reject", headers=live["op"], json={})
        assert refused.status_code == 409, refused.text
        second = live["client"].post("/api/v1/cases", headers=live["op"], json={
            "channel": "hotline_12345", "title": "路灯不亮", "lon": 121.03, "lat": 31.06}).json()
        assert mine.next(kind("case"))["data"]["case_id"] == second["id"]


def test_heartbeats_keep_an_idle_stream_alive(live: dict[str, Any]) -> None:
    with opened(live, "op") as stream:
        send(live, "WL-2", 3.5)
        send(live, "WL-1", 3.5)
        fired = stream.next(kind("warning"))["data"]
        # told in words for the screens: the rule's name, the device's name and the unit of the value
        assert (fired["origin"], fired["origin_name"], fired["rule_name"], fired["value"], fired["unit"]) == (
            "WL-1", "WL-1", RULE["name"], 3.5, "m")
        started = stream.heartbeats
        with pytest.raises(AssertionError):
            stream.next(kind("warning"), within=1.0)
        assert stream.heartbeats > started


def test_a_client_resumes_after_its_last_event_id(live: dict[str, Any]) -> None:
    with opened(live, "op") as stream:
        send(live, "WL-1", 3.5)
        fired = stream.next(kind("warning", status="firing"))
    send(live, "WL-1", 2.0)  # resolved while the client was away
    send(live, "WL-2", 3.5)  # elsewhere
    with live["client"].stream("GET", "/api/v1/stream",
                               headers={**live["op"], **SSE, "Last-Event-ID": fired["id"]}) as response:
        resumed = Stream(response.iter_lines()).next(lambda event: event.get("event") in ("warning", "counts"))
    assert (resumed["event"], resumed["data"]["status"], resumed["data"]["warning_id"]) == (
        "warning", "resolved", fired["data"]["warning_id"])
    page = live["client"].get("/api/v1/stream", headers={**live["op"], "Last-Event-ID": fired["id"]}).json()
    assert [(e["kind"], e["data"]["status"]) for e in page["events"]] == [("warning", "resolved")]
    assert page["last_event_id"] == page["events"][0]["cursor"] and not page["resync"]
    assert page["counts"]["warnings_active"] == 0
    again = live["client"].get("/api/v1/stream", headers=live["op"], params={"after": page["last_event_id"]}).json()
    assert again["events"] == []


def test_events_written_by_another_process_are_found(live: dict[str, Any], tmp_path: Path) -> None:
    other_process = make_engine(live["engine"].url.render_as_string(hide_password=False))
    area = f"/990000/990101/{STREET}/"
    with opened(live, "op") as stream:
        with other_process.begin() as connection:  # no commit hook of this process wakes the hub
            connection.execute(insert(LiveEvent).values(kind="indicator", area_path=area, created_at=datetime.now(UTC),
                                                        payload={"indicator": "wl_max", "value": 3.2}))
        assert stream.next(kind("indicator"))["data"]["indicator"] == "wl_max"
    other_process.dispose()


def test_refused_without_a_token_or_with_a_bad_event_id(live: dict[str, Any]) -> None:
    client = live["client"]
    for headers in (SSE, {}):
        response = client.get("/api/v1/stream", headers=headers)
        assert (response.status_code, response.headers["content-type"]) == (401, "application/problem+json")
    bad = client.get("/api/v1/stream", headers={**live["op"], **SSE, "Last-Event-ID": "seven"})
    assert (bad.status_code, bad.json()["field"]) == (422, "Last-Event-ID")


def test_a_client_that_goes_away_leaves_nothing_subscribed(live: dict[str, Any]) -> None:
    hub = live["app"].state.live
    with opened(live, "op"), opened(live, "other.op"):
        assert len(hub.subscriptions) == 2
    deadline = time.monotonic() + 10
    while hub.subscriptions and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not hub.subscriptions


def commit_indicators(live: dict[str, Any], count: int) -> None:
    with unit_of_work(live["engine"]) as session:
        for n in range(count):
            publish(session, kind="indicator", area_path=f"/990000/990101/{STREET}/", payload={"n": n})


def test_a_client_too_far_behind_is_told_to_resync(live: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stream, "BACKLOG_LIMIT", 3)
    commit_indicators(live, 5)
    with live["client"].stream("GET", "/api/v1/stream",
                               headers={**live["op"], **SSE, "Last-Event-ID": "0"}) as response:
        events = Stream(response.iter_lines())
        resync = events.next(lambda event: event.get("event") in ("indicator", "resync"))
        assert (resync["event"], resync["data"]) == ("resync", {"reason": "too_far_behind"})
        commit_indicators(live, 1)
        assert events.next(kind("indicator"))["data"]["n"] == 0  # the new one; the five are not replayed
    within_reach = live["client"].get("/api/v1/stream", headers={**live["op"], "Last-Event-ID": resync["id"]}).json()
    assert [event["data"]["n"] for event in within_reach["events"]] == [0]


def test_a_client_that_stops_reading_is_let_go_and_resumes_from_the_store(live: dict[str, Any]) -> None:
    live["app"].state.live.max_queued = 2
    with live["client"].stream("GET", "/api/v1/stream", headers={**live["op"], **SSE}) as response:
        lines = response.iter_lines()
        Stream(lines).next(kind("counts"))
        commit_indicators(live, 20)  # the client reads none of them while they come
        hub = live["app"].state.live
        deadline = time.monotonic() + 10
        while hub.subscriptions and not next(iter(hub.subscriptions)).overflowed and time.monotonic() < deadline:
            time.sleep(0.05)
        received, last_id = [], None
        for line in lines:  # the stream hands out what it held, then ends
            if line.startswith("data:") and '"n"' in line:
                received.append(orjson.loads(line[5:])["n"])
            elif line.startswith("id:"):
                last_id = line[3:].strip()
    assert 0 < len(received) < 20 and received == list(range(len(received)))
    rest = live["client"].get("/api/v1/stream", headers={**live["op"], "Last-Event-ID": last_id}).json()["events"]
    assert [event["data"]["n"] for event in rest] == list(range(len(received), 20))
