"""Open311 GeoReport v2 over a live server, driven by the ``georeport`` client from PyPI for every call
it has (services, a service's definition, requests, one request) in JSON and XML, and by plain HTTP for
the calls it lacks (discovery, POST requests, tokens).

The server is uvicorn on a free local port in a background thread, serving the app with the Open311
router on a SQLite file store; each test gets a fresh copy of a store seeded once with the test city,
its categories, departments and API clients, and a fresh rate limiter.
"""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import httpx
import pytest
import requests
import uvicorn
from fastapi import FastAPI
from georeport import GeoReport
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from cityops.calendar import service as calendar_service
from cityops.cases import service as cases_service
from cityops.cases.channels import Channel
from cityops.cases.lifecycle import Action, Actor, ActorKind
from cityops.cases.models import Case
from cityops.categories import service as categories_service
from cityops.config import Settings
from cityops.db import make_engine, migrate, unit_of_work
from cityops.geo import service as geo_service
from cityops.main import create_app
from cityops.open311.api import router as open311_router
from cityops.org import responsibility
from cityops.org import service as org_service
from cityops.org.responsibility import CellSpec
from cityops.ratelimit import RateLimiter
from tests.factories import make_city

STREET, OTHER_STREET = "99010101", "99010102"
IN_STREET = {"lat": "31.05", "long": "121.02"}
IN_OTHER_STREET = {"lat": "31.05", "long": "121.15"}
OUTSIDE_THE_CITY = {"lat": "10.0", "long": "100.0"}
FORMATS = ("json", "xml")
CONTACT = {"first_name": "Lei", "last_name": "Wang", "phone": "13800138000", "email": "wang.lei@example.cn"}


def _settings(folder: Path, **overrides: Any) -> Settings:
    # No duplicate merging unless a test asks for it: tests report several problems at one spot.
    values = {"environment": "test", "data_dir": folder, "secret_key": "test-secret-" + "x" * 32,
              "demo_password": "demo-pass-123", "sweep_interval_s": 0, "duplicate_auto_merge_score": 1.01,
              "timezone": "Asia/Shanghai"}
    return Settings(**(values | overrides))


def _seed(session: Session) -> dict[str, str]:
    make_city(session)
    for code, name, kind, parent, active in (
            ("C01", "公用设施", "component", None, True), ("C0101", "井盖", "component", "C01", True),
            ("E01", "市容环境", "event", None, True), ("E0102", "暴露垃圾", "event", "E01", True),
            ("E0103", "乱堆物料", "event", "E01", True), ("E0199", "已停用事项", "event", "E01", False)):
        categories_service.create_category(session, code=code, name=name, kind=kind, parent_code=parent,
                                           active=active, origin="test")
    org_service.create_department(session, code="greening-990101", name="测试1区绿化市容局", level="district",
                                  area_code="990101", kind="greening", origin="test")
    for street in (STREET, OTHER_STREET):
        org_service.create_department(session, code=f"street-{street}", name=f"{street}街道办", level="street",
                                      area_code=street, kind="street_office", is_area_fallback=True, origin="test")
    responsibility.set_cell(session, spec=CellSpec(category_code="E0102", area_code="990101",
                                                   lead_department_code="greening-990101"))
    keys = {}
    for name, kind, area in (("city", "system", "990000"), ("street", "system", STREET),
                             ("device", "device", "990000")):
        _, keys[name] = org_service.create_api_client(session, name=f"{name} app", kind=kind, area_code=area,
                                                      roles=[kind], origin="test")
    return keys


@dataclass
class Seed:
    path: Path
    keys: dict[str, str]


@pytest.fixture(scope="module")
def seed(tmp_path_factory: pytest.TempPathFactory) -> Seed:
    path = tmp_path_factory.mktemp("open311-seed") / "cityops.db"
    engine = make_engine(f"sqlite:///{path}")
    migrate(engine)
    with unit_of_work(engine) as session:
        keys = _seed(session)
    raw = engine.raw_connection()  # outside any transaction: everything into the main file, so a copy is complete
    try:
        raw.cursor().execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        raw.close()
    engine.dispose()
    return Seed(path, keys)


@dataclass
class LiveServer:
    app: FastAPI
    url: str


@pytest.fixture(scope="module")
def live(seed: Seed, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    folder = tmp_path_factory.mktemp("open311-server")
    engine = make_engine(f"sqlite:///{seed.path}")
    app = create_app(_settings(folder), engine)
    app.include_router(open311_router)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the Open311 test server did not start"
        time.sleep(0.02)
    yield LiveServer(app, f"http://127.0.0.1:{listener.getsockname()[1]}/open311/v2")
    server.should_exit = True
    thread.join(timeout=20)
    engine.dispose()


@dataclass
class City:
    """One test's view of the server: its store, its settings and helpers to call and inspect it."""

    url: str
    app: FastAPI
    engine: Engine
    keys: dict[str, str]
    http: httpx.Client

    @property
    def settings(self) -> Settings:
        return self.app.state.settings

    def client(self, fmt: str) -> GeoReport:
        return GeoReport(self.url, output_format=fmt)

    def post(self, fmt: str, **form: str) -> httpx.Response:
        return self.http.post(f"{self.url}/requests.{fmt}", data=form)

    def get(self, path: str, **params: str) -> httpx.Response:
        return self.http.get(f"{self.url}/{path}", params=params)

    def created(self, fmt: str = "json", **form: str) -> tuple[int, str]:
        """Submit and return (service_request_id, token) of the new request."""
        response = self.post(fmt, **form)
        assert response.status_code == 201, response.text
        if fmt == "json":
            body = response.json()[0]
            return int(body["service_request_id"]), body["token"]
        request = ElementTree.fromstring(response.content).find("request")
        return int(request.findtext("service_request_id")), request.findtext("token")

    @contextmanager
    def session(self) -> Iterator[Session]:
        with unit_of_work(self.engine) as session:
            yield session

    def case(self, case_id: int) -> Case:
        with self.session() as session:
            return session.get(Case, case_id)

    def count_cases(self) -> int:
        with self.session() as session:
            return session.scalar(select(func.count()).select_from(Case))

    def act(self, case_id: int, action: str, *, role: str, department: str | None = None, **kwargs: Any) -> None:
        with self.session() as session:
            actor = Actor(kind=ActorKind.user, id="7", role=role, name=f"a {role}", department=department)
            cases_service.act(session, case=session.get(Case, case_id), action=Action(action), actor=actor,
                              at=datetime.now(UTC), calendar=calendar_service.load_calendar(
                                  session, settings=self.settings), **kwargs)

    def reported_before(self, *, days: int, code: str, channel: Channel = Channel.open311, lon: float = 121.02,
                        lat: float = 31.05) -> int:
        """A citizen's report taken in ``days`` ago (history the API cannot backdate)."""
        with self.session() as session:
            report = cases_service.Report(channel=channel, title=f"{days} 天前的报告", category_code=code, lon=lon,
                                          lat=lat)
            return cases_service.intake(
                session, report=report, actor=cases_service.actor_for(None, Action.intake), receiver=None,
                locator=geo_service.build_locator(session, boundary_distance_m=30),
                calendar=calendar_service.load_calendar(session, settings=self.settings),
                at=datetime.now(UTC) - timedelta(days=days), policy=cases_service.IntakePolicy()).case.id


@pytest.fixture
def city(live: LiveServer, seed: Seed, tmp_path: Path) -> Iterator[City]:
    path = tmp_path / "cityops.db"
    shutil.copyfile(seed.path, path)
    engine = make_engine(f"sqlite:///{path}")
    live.app.state.engine = engine
    live.app.state.settings = _settings(tmp_path)
    live.app.state.open311_limiter = RateLimiter()
    with httpx.Client(trust_env=False, timeout=30) as http:
        yield City(live.url, live.app, engine, seed.keys, http)
    engine.dispose()


def _items(parsed: Any) -> list[dict[str, Any]]:
    """georeport's XML answers hold one item as a dict and several as a list."""
    return parsed if isinstance(parsed, list) else [parsed]


def _ids(parsed: Any) -> set[int]:
    return {int(item["service_request_id"]) for item in _items(parsed)}


def _errors(response: httpx.Response, fmt: str) -> list[tuple[int, str]]:
    """The spec's error list, in either format."""
    if fmt == "json":
        assert response.headers["content-type"].startswith("application/json")
        return [(e["code"], e["description"]) for e in response.json()]
    assert response.headers["content-type"].startswith("text/xml")
    root = ElementTree.fromstring(response.content)
    assert root.tag == "errors"
    return [(int(e.findtext("code")), e.findtext("description")) for e in root.findall("error")]


@pytest.mark.parametrize("fmt", FORMATS)
def test_discovery_names_this_endpoint_and_both_formats(city: City, fmt: str) -> None:
    response = city.get(f"discovery.{fmt}")
    assert response.status_code == 200
    if fmt == "json":
        body = response.json()
        endpoint = body["endpoints"][0]
        assert body["contact"] and body["key_service"] and body["changeset"].endswith("Z")
    else:
        root = ElementTree.fromstring(response.content)
        assert response.content.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
        element = root.find("endpoints/endpoint")
        endpoint = {"url": element.findtext("url"), "specification": element.findtext("specification"),
                    "type": element.findtext("type"), "formats": [f.text for f in element.findall("formats/format")]}
    assert endpoint["url"] == city.url
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint["type"] == "test" and endpoint["formats"] == ["text/xml", "application/json"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_services_are_the_active_leaf_categories(city: City, fmt: str) -> None:
    services = _items(city.client(fmt).get_service_list())
    assert [s["service_code"] for s in services] == ["C0101", "E0102", "E0103"]  # not E01, not the inactive E0199
    garbage = services[1]
    assert (garbage["service_name"], garbage["group"], garbage["type"]) == ("暴露垃圾", "市容环境", "realtime")
    assert garbage["metadata"] in (False, "false") and "E0102" in garbage["keywords"]
    assert "市容环境" in garbage["description"]
    definition = city.client(fmt).get_service_definition("E0102")
    assert definition["service_code"] == "E0102" and not definition["attributes"]
    for unknown in ("E01", "E0199", "NOPE"):
        with pytest.raises(requests.HTTPError) as refused:
            city.client(fmt).get_service_definition(unknown)
        assert refused.value.response.status_code == 404
        assert _errors(city.get(f"services/{unknown}.{fmt}"), fmt)[0][0] == 404


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_citizen_submits_without_an_api_key(city: City, fmt: str) -> None:
    case_id, token = city.created(fmt, service_code="E0102", **IN_STREET, description="小区门口垃圾堆\n好几天了",
                                  media_url="https://img.example.cn/1.jpg", device_id="d-1", **CONTACT)
    case = city.case(case_id)
    assert (case.channel, case.tracking_code, case.status) == ("open311", token, "reported")
    assert (case.title, case.reporter_name, case.reporter_phone) == ("小区门口垃圾堆", "Lei Wang", "13800138000")
    request = city.client(fmt).get_service_request(str(case_id))
    assert request["service_request_id"] == str(case_id) and request["status"] == "open"
    assert (request["service_code"], request["service_name"]) == ("E0102", "暴露垃圾")
    assert request["description"] == "小区门口垃圾堆\n好几天了"
    assert float(request["lat"]) == 31.05 and float(request["long"]) == 121.02
    assert request["media_url"] == "https://img.example.cn/1.jpg"
    assert request["status_notes"] == "received, waiting to be registered"
    assert request["requested_datetime"].endswith("+08:00")  # the city's offset
    assert datetime.fromisoformat(request["expected_datetime"]) > datetime.fromisoformat(
        request["requested_datetime"])


def test_the_answer_to_a_submission_echoes_the_account_and_is_well_formed_xml(city: City) -> None:
    response = city.post("xml", service_code="C0101", **IN_STREET, account_id="acc-42")
    assert response.status_code == 201 and response.headers["content-type"] == "text/xml; charset=utf-8"
    request = ElementTree.fromstring(response.content).find("request")
    assert request.findtext("account_id") == "acc-42" and request.findtext("service_request_id").isdigit()
    assert city.case(int(request.findtext("service_request_id"))).title == "井盖"  # no description: the service


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_trusted_system_submits_with_its_api_key_within_its_jurisdiction(city: City, fmt: str) -> None:
    case_id, _ = city.created(fmt, service_code="E0103", address_string="测试路 1 号", api_key=city.keys["street"])
    with city.session() as session:
        street_path = geo_service.get_area(session, code=STREET).path
    case = city.case(case_id)
    assert case.area_path == street_path and case.lat is None  # an address is enough for a system
    outside = city.post(fmt, service_code="E0103", **IN_OTHER_STREET, api_key=city.keys["street"])
    assert outside.status_code == 403 and _errors(outside, fmt)[0][0] == 403
    assert city.count_cases() == 1


def test_a_trusted_system_on_a_trusted_channel_is_dispatched_at_once(city: City) -> None:
    city.app.state.settings = _settings(city.settings.data_dir, trusted_channels=["open311"])
    case_id, _ = city.created("json", service_code="E0102", **IN_STREET, api_key=city.keys["city"])
    request = city.client("json").get_service_request(str(case_id))
    assert request["agency_responsible"] == "测试1区绿化市容局"
    assert request["status"] == "open" and request["status_notes"] == "sent to the responsible department"


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_wrong_api_key_is_refused_and_changes_nothing(city: City, fmt: str) -> None:
    for key in ("cot_unknown", "not-a-token", city.keys["device"]):
        response = city.post(fmt, service_code="E0102", **IN_STREET, api_key=key)
        assert response.status_code == 403, key
        assert _errors(response, fmt)[0][0] == 403 and "api_key" in _errors(response, fmt)[0][1]
    assert city.count_cases() == 0


@pytest.mark.parametrize("fmt", FORMATS)
def test_bad_submissions_are_refused_and_change_nothing(city: City, fmt: str) -> None:
    refusals = [
        ({"service_code": "E0102", "address_string": "测试路 1 号"}, 400, "location inside the city"),
        ({"service_code": "E0102"}, 400, "location is required"),
        ({"service_code": "E0102", **OUTSIDE_THE_CITY}, 400, "location inside the city"),
        ({"service_code": "E0102", "lat": "31.05"}, 400, "both lat and long"),
        ({"service_code": "E0102", "lat": "north", "long": "121.02"}, 400, "lat must be a number"),
        ({**IN_STREET}, 400, "service_code is required"),
        ({"service_code": "E0102", **IN_STREET, "phone": "call me"}, 400, "phone"),
        ({"service_code": "NOPE", **IN_STREET}, 404, "no service"),
        ({"service_code": "E01", **IN_STREET}, 404, "no service"),
    ]
    city.app.state.open311_limiter = RateLimiter(per_minute=60, burst=len(refusals))
    for form, status, words in refusals:
        response = city.post(fmt, **form)
        assert response.status_code == status, form
        [(code, description)] = _errors(response, fmt)
        assert code == status and words in description, (form, description)
    assert city.count_cases() == 0


@pytest.mark.parametrize("fmt", FORMATS)
def test_anonymous_submissions_are_rate_limited_per_client(city: City, fmt: str) -> None:
    now = [1000.0]
    city.app.state.open311_limiter = RateLimiter(per_minute=5, burst=5, clock=lambda: now[0])
    answers = [city.post(fmt, service_code="C0101", lat="31.05", long=f"121.0{i}1") for i in range(5)]
    assert [a.status_code for a in answers] == [201] * 5
    limited = city.post(fmt, service_code="C0101", **IN_STREET)
    assert limited.status_code == 429 and limited.headers["retry-after"] == "12"
    assert _errors(limited, fmt)[0][0] == 429
    assert city.post(fmt, service_code="C0101", **IN_STREET, api_key=city.keys["city"]).status_code == 201
    now[0] += 12  # one token back
    assert city.post(fmt, service_code="C0101", lat="31.15", long="121.02").status_code == 201
    assert city.post(fmt, service_code="C0101", **IN_STREET).status_code == 429
    assert city.count_cases() == 7


@pytest.mark.parametrize("fmt", FORMATS)
def test_get_requests_with_each_standard_filter(city: City, fmt: str) -> None:
    recent = city.reported_before(days=10, code="E0102")
    closed = city.reported_before(days=20, code="C0101", lon=121.03)
    old = city.reported_before(days=120, code="E0102", lon=121.04)
    hotline = city.reported_before(days=5, code="E0102", channel=Channel.hotline_12345, lon=121.05)
    city.act(closed, "reject", role="operator", reason="已由物业处理")
    client, now = city.client(fmt), datetime.now(UTC)

    def day(days_ago: int) -> str:
        return (now - timedelta(days=days_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")

    assert _ids(client.get_service_requests()) == {recent, closed}  # the last 90 days, published channels only
    assert _ids(client.get_service_requests(service_code="E0102")) == {recent}
    assert _ids(client.get_service_requests(service_code="E0102,C0101")) == {recent, closed}
    assert _ids(client.get_service_requests(status="open")) == {recent}
    assert _ids(client.get_service_requests(status="closed")) == {closed}
    assert _ids(client.get_service_requests(status="open,closed")) == {recent, closed}
    assert _ids(client.get_service_requests(start_date=day(130), end_date=day(100))) == {old}
    assert _ids(client.get_service_requests(start_date=day(15))) == {recent}
    assert _ids(client.get_service_requests(end_date=day(15))) == {closed}
    assert _ids(client.get_service_requests(service_request_id=f"{old},{recent},{hotline}",
                                            status="closed")) == {old, recent}  # ids override the rest
    for bad in ({"start_date": day(10), "end_date": day(20)}, {"start_date": day(200), "end_date": day(10)},
                {"status": "pending"}, {"start_date": "2024-01-01T00:00:00"}, {"service_request_id": "one"}):
        with pytest.raises(requests.HTTPError) as refused:
            client.get_service_requests(**bad)
        assert refused.value.response.status_code == 400, bad
        assert _errors(city.get(f"requests.{fmt}", **bad), fmt)[0][0] == 400
    assert city.get(f"requests.{fmt}", service_code="C0101", status="open").status_code == 200  # none: empty


def test_an_empty_answer_is_an_empty_list(city: City) -> None:
    assert city.get("requests.json").json() == []
    assert ElementTree.fromstring(city.get("requests.xml").content).tag == "service_requests"


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_token_leads_to_its_request_and_unknown_ones_do_not(city: City, fmt: str) -> None:
    case_id, token = city.created(fmt, service_code="E0102", **IN_STREET)
    response = city.get(f"tokens/{token}.{fmt}")
    assert response.status_code == 200
    if fmt == "json":
        assert response.json() == [{"service_request_id": str(case_id), "token": token}]
    else:
        request = ElementTree.fromstring(response.content).find("request")
        assert (request.findtext("service_request_id"), request.findtext("token")) == (str(case_id), token)
    hotline = city.reported_before(days=1, code="E0102", channel=Channel.hotline_12345, lon=121.05)
    for path in ("tokens/NOSUCHTOKEN", f"tokens/{city.case(hotline).tracking_code}", "requests/999999",
                 "requests/abc", f"requests/{hotline}"):
        missing = city.get(f"{path}.{fmt}")
        assert missing.status_code == 404 and _errors(missing, fmt)[0][0] == 404, path
    with pytest.raises(requests.HTTPError) as refused:
        city.client(fmt).get_service_request(str(hotline))  # hotline calls are not published
    assert refused.value.response.status_code == 404


@pytest.mark.parametrize("fmt", FORMATS)
def test_statuses_map_to_open_and_closed_with_notes_as_the_case_moves(city: City, fmt: str) -> None:
    client = city.client(fmt)
    handled, _ = city.created(fmt, service_code="E0102", **IN_STREET, description="垃圾")
    city.act(handled, "register", role="operator")
    city.act(handled, "dispatch", role="dispatcher", data={"lead": "greening-990101"})
    dispatched = client.get_service_request(str(handled))
    assert (dispatched["status"], dispatched["agency_responsible"]) == ("open", "测试1区绿化市容局")
    assert dispatched["expected_datetime"]
    city.act(handled, "acknowledge", role="handler", department="greening-990101")
    city.act(handled, "report", role="handler", department="greening-990101", reason="已清运")
    assert client.get_service_request(str(handled))["status_notes"] == "handled, waiting to be checked: 已清运"
    city.act(handled, "verify", role="inspector", data={"passed": True})
    closed = client.get_service_request(str(handled))
    assert (closed["status"], closed["status_notes"]) == ("closed", "closed")
    assert not closed["expected_datetime"]
    closed_at = city.case(handled).closed_at
    assert datetime.fromisoformat(closed["updated_datetime"]) == closed_at.replace(microsecond=0)

    refused, _ = city.created(fmt, service_code="E0103", lat="31.15", long="121.02")
    city.act(refused, "reject", role="operator", reason="属于物业管理范围")
    rejected = client.get_service_request(str(refused))
    assert (rejected["status"], rejected["status_notes"]) == ("closed", "not accepted: 属于物业管理范围")

    returned, _ = city.created(fmt, service_code="C0101", lat="31.12", long="121.03")
    city.act(returned, "register", role="operator")
    city.act(returned, "dispatch", role="dispatcher", data={"lead": "greening-990101"})
    city.act(returned, "return", role="handler", department="greening-990101", reason="内部分工：不归我局")
    sent_back = client.get_service_request(str(returned))
    assert sent_back["status"] == "open" and "不归我局" not in sent_back["status_notes"]  # internal reasons stay in


def test_a_duplicate_submission_follows_the_first_and_is_closed_as_a_duplicate(city: City) -> None:
    city.app.state.settings = _settings(city.settings.data_dir, duplicate_auto_merge_score=0.75)
    first, _ = city.created("json", service_code="E0102", **IN_STREET, description="小区门口有暴露垃圾")
    response = city.post("json", service_code="E0102", lat="31.0501", long="121.0201", description="小区门口暴露垃圾")
    assert response.status_code == 201
    [created] = response.json()
    assert created["service_notice"] == f"reported already as request {first}; this report follows it"
    duplicate = city.client("json").get_service_request(created["service_request_id"])
    assert (duplicate["status"], duplicate["status_notes"]) == (
        "closed", f"a duplicate of request {first}, which is followed instead")
    assert city.client("json").get_service_request(str(first))["service_notice"] == "reported by 2 people"


def test_public_answers_never_show_reporter_contact_details_nor_the_token(city: City) -> None:
    case_id, token = city.created("json", service_code="E0102", **IN_STREET, description="路灯不亮", **CONTACT)
    secrets = (CONTACT["first_name"], CONTACT["last_name"], CONTACT["phone"], CONTACT["email"], token)
    for fmt in FORMATS:
        for path in (f"requests.{fmt}", f"requests/{case_id}.{fmt}"):
            text = city.get(path).text
            assert "路灯不亮" in text
            assert not [s for s in secrets if s in text], path


def test_every_open311_answer_is_declared_in_openapi_with_its_format(city: City) -> None:
    paths = {p: ops for p, ops in city.http.get(city.url.replace("/open311/v2", "/openapi.json")).json()["paths"]
             .items() if p.startswith("/open311/v2/")}
    assert len(paths) == 12  # 6 paths (one with GET and POST) × 2 formats
    for path, operations in paths.items():
        media = "application/json" if path.endswith(".json") else "text/xml"
        for operation in operations.values():
            declared = {status: set(answer.get("content", {})) for status, answer in operation["responses"].items()
                        if status[0] in "24"}
            assert all(types == {media} for status, types in declared.items() if status != "422"), (path, declared)
            assert {"200", "201"} & declared.keys() and "400" in declared
