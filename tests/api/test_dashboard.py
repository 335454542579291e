"""The city dashboard's API on both stores: each figure equals the underlying API's own (the live
stream's counters, the case queues, the performance report, the warnings list, the indicators' latest
values), an area's figures add up to its parent's, each viewer sees their jurisdiction only, a reader
suffices, and bad parameters are refused with their field."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from cityops.dashboard import service as dashboard_service
from cityops.org import service as org_service
from cityops.org.models import User
from cityops.sensing import indicators_service
from tests.api.conftest import IN_OTHER_STREET, IN_STREET, OTHER_STREET, STREET, act
from tests.factories import login, make_user

DISTRICT = "990101"
OPEN_QUEUES = ("to_register", "to_dispatch", "to_acknowledge", "to_handle", "to_verify")


def report(client: TestClient, headers: dict[str, str], n: int, place: dict[str, float],
           category: str = "E0102") -> int:
    answer = client.post("/api/v1/cases", headers=headers, json={
        "channel": "hotline_12345", "title": f"暴露垃圾 {n}", "category_code": category,
        "lon": place["lon"] + 0.004 * n, "lat": place["lat"]})
    assert answer.status_code == 201, answer.text
    return answer.json()["id"]


def get(client: TestClient, headers: dict[str, str], path: str, **params: Any) -> dict[str, Any]:
    answer = client.get(f"/api/v1/{path}", headers=headers, params=params)
    assert answer.status_code == 200, answer.text
    return answer.json()


def queue_size(client: TestClient, headers: dict[str, str], queue: str) -> int:
    return len(get(client, headers, "cases", queue=queue, limit=200)["items"])


@pytest.fixture
def city(loop: dict[str, Any], client: TestClient, session: Session) -> dict[str, Any]:
    """The loop's people and a leader of the whole city (a reader only), with cases: in the street one
    closed, one in progress, one dispatched and one waiting to be registered; one in the other street."""
    make_user(session, username="leader", roles=["leader"], area_code="990000")
    people = loop | {"leader": login(client, "leader")}
    ids = [report(client, people["op"], n, IN_STREET) for n in range(4)]
    report(client, people["other.op"], 0, IN_OTHER_STREET)
    for case_id in ids[:3]:
        assert act(client, people["op"], case_id, "register").status_code == 200
        assert act(client, people["disp"], case_id, "dispatch", data={"lead": "greening-990101"}).status_code == 200
    for case_id in ids[:2]:
        assert act(client, people["greener"], case_id, "acknowledge").status_code == 200
    assert act(client, people["greener"], ids[0], "report", reason="已清运").status_code == 200
    assert act(client, people["insp"], ids[0], "verify", data={"passed": True}).json()["status"] == "closed"
    return people


def test_the_summary_is_the_live_streams_counters_and_the_performance_reports_rate(
        client: TestClient, city: dict[str, Any]) -> None:
    for who in ("op", "other.op", "leader"):
        summary = get(client, city[who], "dashboard/summary")
        assert summary["counts"] == get(client, city[who], "stream")["counts"]
    summary = get(client, city["op"], "dashboard/summary")
    assert summary["area_code"] == STREET
    assert summary["counts"] == {"reported_today": 4, "dispatched": 1, "in_progress": 1, "overdue": 0,
                                 "warnings_active": 0}
    assert summary["counts"]["dispatched"] == queue_size(client, city["op"], "to_acknowledge")
    assert summary["counts"]["in_progress"] == queue_size(client, city["op"], "to_handle")
    assert summary["counts"]["overdue"] == queue_size(client, city["op"], "overdue")
    closure = summary["closure"]
    assert closure["days"] == 30
    start = datetime.fromisoformat(closure["start"])
    assert start.astimezone(ZoneInfo("Asia/Shanghai")).time().isoformat() == "00:00:00"  # the city's midnight
    assert datetime.fromisoformat(closure["end"]) - start <= timedelta(days=30)
    assert (closure["cases"], closure["on_time_closure_rate"]) == (4, 1.0)
    performance = get(client, city["op"], "reports/performance", by="area", area_level="street",
                      start=closure["start"], end=closure["end"])["rows"]
    assert [(row["group"], row["cases"], row["on_time_closure_rate"], row["closure_rate"]) for row in performance] == [
        (STREET, closure["cases"], closure["on_time_closure_rate"], closure["closure_rate"])]
    # the leader of the city narrows it to the other street
    other = get(client, city["leader"], "dashboard/summary", area=OTHER_STREET, days=7)
    assert other["counts"] == get(client, city["other.op"], "stream")["counts"]
    assert (other["closure"]["days"], other["closure"]["cases"], other["closure"]["on_time_closure_rate"]) == (
        7, 1, None)


def test_each_areas_figures_add_up_to_its_parents_and_equal_the_queues(client: TestClient,
                                                                       city: dict[str, Any]) -> None:
    districts = get(client, city["leader"], "dashboard/areas")
    assert (districts["parent"], districts["level"]) == ("990000", "district")
    assert [(a["code"], a["open"], a["overdue"], a["warnings_active"], a["highest_warning"])
            for a in districts["areas"]] == [(DISTRICT, 4, 0, 0, None), ("990102", 0, 0, 0, None)]
    assert districts["total"]["open"] == sum(queue_size(client, city["leader"], q) for q in OPEN_QUEUES) == 4
    streets = get(client, city["leader"], "dashboard/areas", parent=DISTRICT)
    assert [(a["code"], a["open"]) for a in streets["areas"]] == [(STREET, 3), (OTHER_STREET, 1)]
    assert streets["total"] == {key: value for key, value in districts["areas"][0].items() if key != "code"}
    assert sum(a["open"] for a in streets["areas"]) + streets["elsewhere"]["open"] == streets["total"]["open"]
    street_open = sum(queue_size(client, city["op"], q) for q in OPEN_QUEUES)
    assert streets["areas"][0]["open"] == street_open
    grids = get(client, city["op"], "dashboard/areas")  # the operator's own street, by grid
    assert (grids["parent"], grids["level"]) == (STREET, "grid")
    assert [a["code"] for a in grids["areas"]] == [f"{STREET}01", f"{STREET}02"]
    assert sum(a["open"] for a in grids["areas"]) + grids["elsewhere"]["open"] == grids["total"]["open"] == street_open
    communities = get(client, city["leader"], "dashboard/areas", parent=DISTRICT, level="community")
    assert sum(a["open"] for a in communities["areas"]) + communities["elsewhere"]["open"] == 4


def test_overdue_cases_and_warnings_colour_their_areas(client: TestClient, sensed: dict[str, Any],
                                                      session: Session) -> None:
    rule = {"code": "wl-high", "name": "水位超限", "definition": {
        "kind": "threshold", "metric": "water_level", "scope": {"device_type": "wl", "area": DISTRICT},
        "levels": [{"level": "yellow", "fire_at": 3.0}, {"level": "red", "fire_at": 4.0}]}}
    assert client.post("/api/v1/rules", headers=sensed["city.admin"], json=rule).status_code == 201
    now = datetime.now(UTC).replace(microsecond=0)
    sent = client.post("/api/v1/readings", headers=sensed["city.admin"], json=[
        {"device": "WL-1", "metric": "water_level", "ts": now.isoformat(), "value": 4.5},
        {"device": "WL-2", "metric": "water_level", "ts": now.isoformat(), "value": 3.5}])
    assert sent.json()["accepted"] == 2, sent.text
    streets = get(client, sensed["city.admin"], "dashboard/areas", parent=DISTRICT)
    assert [(a["code"], a["warnings_active"], a["highest_warning"]) for a in streets["areas"]] == [
        (STREET, 1, "red"), (OTHER_STREET, 1, "yellow")]
    assert streets["total"]["warnings_active"] == get(client, sensed["city.admin"], "warnings", area=DISTRICT)["total"]
    assert streets["total"]["highest_warning"] == "red"
    report(client, sensed["op"], 0, IN_STREET)
    # a month on, the case's step is overdue: the area map counts it as the overdue queue does
    late = datetime.now(UTC) + timedelta(days=30)
    admin = org_service.principal_of_user(session, session.scalar(select(User).where(User.username == "city.admin")))
    later = dashboard_service.area_map(session, viewer=admin, parent_code=DISTRICT, level=None, now=late)
    assert [(figures.open, figures.overdue) for figures in later.folded.areas.values()] == [(1, 1), (0, 0)]


def test_trends_count_reports_per_local_day_and_the_category_mix(client: TestClient, city: dict[str, Any]) -> None:
    trends = get(client, city["op"], "dashboard/trends", days=3)
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    assert [day["date"] for day in trends["days"]] == [(today - timedelta(days=n)).isoformat() for n in (2, 1, 0)]
    assert [day["reported"] for day in trends["days"]] == [0, 0, 4]
    assert trends["days"][-1]["reported"] == get(client, city["op"], "dashboard/summary")["counts"]["reported_today"]
    assert trends["categories"] == [{"code": "E01", "name": "市容环境", "open": 3, "closed": 1}]
    assert trends["categories"][0]["open"] == sum(queue_size(client, city["op"], q) for q in OPEN_QUEUES)
    assert trends["categories"][0]["closed"] == len(get(client, city["op"], "cases", status="closed")["items"])
    city_wide = get(client, city["leader"], "dashboard/trends", days=1)
    assert [day["reported"] for day in city_wide["days"]] == [5]
    assert city_wide["categories"] == [{"code": "E01", "name": "市容环境", "open": 4, "closed": 1}]


def test_vital_signs_give_each_indicators_latest_values_with_its_rules_thresholds(
        client: TestClient, sensed: dict[str, Any], session: Session) -> None:
    admin = sensed["city.admin"]
    assert client.post("/api/v1/indicator-classes", headers=admin, json={"code": "water", "name": "水务"}
                       ).status_code == 201
    indicator = {"code": "wl-max", "name": "街道最高水位", "class": "water", "unit": "m", "level": "street",
                 "interval_s": 60, "source": {"kind": "device_metric", "metric": "water_level", "aggregate": "max"}}
    assert client.post("/api/v1/indicators", headers=admin, json=indicator).status_code == 201
    levels = [{"level": "blue", "fire_at": 2.0, "clear_at": 1.8}, {"level": "yellow", "fire_at": 2.5, "clear_at": 2.3},
              {"level": "orange", "fire_at": 3.0, "clear_at": 2.8}, {"level": "red", "fire_at": 3.5, "clear_at": 3.3}]
    for code, area in (("wl-street", STREET), ("wl-other", OTHER_STREET)):
        made = client.post("/api/v1/rules", headers=admin, json={"code": code, "name": code, "definition": {
            "kind": "threshold", "scope": {"indicator": "wl-max", "area": area}, "levels": levels}})
        assert made.status_code == 201, made.text
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    sent = client.post("/api/v1/readings", headers=admin, json=[
        {"device": "WL-1", "metric": "water_level", "ts": (now + timedelta(seconds=1)).isoformat(), "value": 2.7},
        {"device": "WL-2", "metric": "water_level", "ts": (now + timedelta(seconds=2)).isoformat(), "value": 1.1}])
    assert sent.json()["accepted"] == 2, sent.text
    indicators_service.compute(session, now=now + timedelta(seconds=30))

    def values(body: dict[str, Any]) -> list[tuple[str, float, str]]:
        return [(v["area_code"], v["value"], v["at"]) for v in body["values"]]

    mine = get(client, sensed["op"], "dashboard/vital-signs")
    assert mine["area_code"] == STREET and len(mine["indicators"]) == 1
    panel = mine["indicators"][0]
    assert (panel["indicator"], panel["class"], panel["unit"], panel["level"]) == ("wl-max", "water", "m", "street")
    assert values(panel) == values(get(client, sensed["op"], "indicators/wl-max/latest")) != []
    assert [v["rules"] for v in panel["values"]] == [["wl-street"]]
    assert panel["thresholds"] == [{"rule": "wl-street", "name": "wl-street", "area_code": STREET,
                                    "comparison": "above", "levels": levels}]
    everywhere = get(client, admin, "dashboard/vital-signs")["indicators"][0]
    assert values(everywhere) == values(get(client, admin, "indicators/wl-max/latest"))
    assert [t["rule"] for t in everywhere["thresholds"]] == ["wl-other", "wl-street"]
    assert [v["rules"] for v in everywhere["values"]] == [["wl-street"], ["wl-other"]]
    narrowed = get(client, admin, "dashboard/vital-signs", area=OTHER_STREET)["indicators"][0]
    assert values(narrowed) == values(get(client, admin, "indicators/wl-max/latest", area=OTHER_STREET))
    assert [t["rule"] for t in narrowed["thresholds"]] == ["wl-other"]
    assert client.post("/api/v1/indicators/wl-max/deactivate", headers=admin).status_code == 200
    assert get(client, admin, "dashboard/vital-signs")["indicators"] == []  # active indicators only


@pytest.mark.parametrize(("path", "params"), [
    ("dashboard/summary", {"area": DISTRICT}), ("dashboard/summary", {"area": OTHER_STREET}),
    ("dashboard/areas", {"parent": OTHER_STREET}), ("dashboard/areas", {"parent": "990000", "level": "district"}),
    ("dashboard/trends", {"area": OTHER_STREET}), ("dashboard/vital-signs", {"area": OTHER_STREET}),
    ("dashboard/summary", {"area": "no-such-area"}),
])
def test_areas_outside_the_viewers_jurisdiction_are_not_found(client: TestClient, loop: dict[str, Any],
                                                              path: str, params: dict[str, str]) -> None:
    answer = client.get(f"/api/v1/{path}", headers=loop["op"], params=params)
    assert answer.status_code == 404, answer.text
    assert answer.json()["code"] == "unknown_area" and answer.json()["field"] in params


@pytest.mark.parametrize(("path", "params", "field"), [
    ("dashboard/areas", {"level": "planet"}, "level"),
    ("dashboard/areas", {"parent": DISTRICT, "level": "district"}, "level"),
    ("dashboard/areas", {"parent": DISTRICT, "level": "city"}, "level"),
    ("dashboard/areas", {"parent": f"{STREET}0101"}, "parent"),  # a community holds no smaller areas
    ("dashboard/trends", {"days": 0}, "days"), ("dashboard/trends", {"days": 367}, "days"),
    ("dashboard/trends", {"days": "week"}, "days"), ("dashboard/summary", {"days": -1}, "days"),
    ("dashboard/summary", {"area": ""}, "area"),
])
def test_bad_parameters_are_refused_with_their_field(client: TestClient, loop: dict[str, Any], session: Session,
                                                     path: str, params: dict[str, Any], field: str) -> None:
    make_user(session, username="leader", roles=["leader"], area_code="990000")
    answer = client.get(f"/api/v1/{path}", headers=login(client, "leader"), params=params)
    assert answer.status_code == 422, answer.text
    assert answer.json()["field"] == field


def test_a_reader_suffices_and_a_caller_without_a_token_is_refused(client: TestClient, loop: dict[str, Any],
                                                                   session: Session) -> None:
    make_user(session, username="leader", roles=["leader"], area_code="990000")
    leader = login(client, "leader")
    for path in ("summary", "areas", "trends", "vital-signs"):
        assert client.get(f"/api/v1/dashboard/{path}", headers=leader).status_code == 200
        assert client.get(f"/api/v1/dashboard/{path}").status_code == 401
