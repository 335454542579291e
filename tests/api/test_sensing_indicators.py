"""Indicators over the API, on both stores: administrators add classes and indicators, bad ones are
refused with the offending field and leave nothing behind; operators read the catalogue, the latest
values of the areas in their jurisdiction only, and a series per area in steps of the interval or a
multiple of it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cityops.sensing import indicators_service
from cityops.sensing.models import IndicatorClass, IndicatorRow
from tests.api.conftest import OTHER_STREET, STREET

WL_MAX = {"code": "wl-max", "name": "街道最高水位", "class": "water", "unit": "m", "level": "street",
          "interval_s": 60, "source": {"kind": "device_metric", "metric": "water_level", "aggregate": "max"}}


def add_indicator(client: TestClient, sensed: dict[str, Any], **changes: Any):  # noqa: ANN201
    if client.get("/api/v1/indicator-classes", headers=sensed["city.admin"]).json() == []:
        made = client.post("/api/v1/indicator-classes", headers=sensed["city.admin"],
                           json={"code": "water", "name": "水务"})
        assert made.status_code == 201, made.text
    return client.post("/api/v1/indicators", headers=sensed["city.admin"], json=WL_MAX | changes)


def readings_now(client: TestClient, sensed: dict[str, Any], session: Session) -> datetime:
    """WL-1 (the street) reads 2.0 then 2.7, WL-2 (the other street) 1.1, in this minute; computed."""
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    items = [{"device": device, "metric": "water_level", "ts": (now + timedelta(seconds=s)).isoformat(), "value": v}
             for device, s, v in (("WL-1", 1, 2.0), ("WL-1", 2, 2.7), ("WL-2", 3, 1.1))]
    sent = client.post("/api/v1/readings", headers=sensed["city.admin"], json=items)
    assert sent.json()["accepted"] == 3, sent.text
    indicators_service.compute(session, now=now + timedelta(seconds=30))
    return now


def test_administrators_add_indicators_that_operators_read(client: TestClient, sensed: dict[str, Any]) -> None:
    made = add_indicator(client, sensed)
    assert made.status_code == 201, made.text
    assert made.json() | {"created_at": None} == {
        "code": "wl-max", "name": "街道最高水位", "class": "water", "unit": "m", "level": "street", "interval_s": 60,
        "area_code": "990000", "active": True, "author": "city.admin", "author_display_name": "city.admin",
        "created_at": None,
        "source": {"kind": "device_metric", "metric": "water_level", "aggregate": "max", "device_type": None}}
    assert [i["code"] for i in client.get("/api/v1/indicators", headers=sensed["op"]).json()] == ["wl-max"]
    assert client.get("/api/v1/indicators?class=traffic", headers=sensed["op"]).json() == []
    assert client.get("/api/v1/indicators/wl-max", headers=sensed["op"]).json()["level"] == "street"
    assert client.get("/api/v1/indicators/nope", headers=sensed["op"]).status_code == 404
    refused = client.post("/api/v1/indicators", headers=sensed["op"], json=WL_MAX | {"code": "mine"})
    assert refused.status_code == 403
    assert client.post("/api/v1/indicator-classes", headers=sensed["op"],
                       json={"code": "traffic", "name": "交通"}).status_code == 403


@pytest.mark.parametrize(("changes", "status", "field"), [
    ({"source": {"kind": "device_metric", "metric": "water_level", "aggregate": "median"}}, 422, "source.aggregate"),
    ({"source": {"kind": "device_metric", "metric": "rainfall", "aggregate": "max"}}, 422, "source.metric"),
    ({"source": {"kind": "cases", "measure": "opened", "channels": ["fax"]}}, 422, "source.channels"),
    ({"interval_s": 90}, 422, "interval_s"),
    ({"level": "county"}, 422, "level"),
    ({"class": "traffic"}, 404, "class"),
    ({"area_code": "77"}, 404, "area_code"),
    ({"code": "wl max"}, 422, "code"),
])
def test_a_bad_indicator_is_refused_with_its_field_and_leaves_nothing(
        client: TestClient, sensed: dict[str, Any], session: Session, changes: dict[str, Any], status: int,
        field: str) -> None:
    refused = add_indicator(client, sensed, **changes)
    assert refused.status_code == status, refused.text
    assert refused.json()["field"] == field
    assert session.scalar(select(func.count()).select_from(IndicatorRow)) == 0
    assert add_indicator(client, sensed).status_code == 201
    duplicate = add_indicator(client, sensed)
    assert duplicate.status_code == 409 and duplicate.json()["field"] == "code"
    assert session.scalar(select(func.count()).select_from(IndicatorClass)) == 1


def test_latest_values_cover_the_viewers_jurisdiction_only(client: TestClient, sensed: dict[str, Any],
                                                           session: Session) -> None:
    add_indicator(client, sensed)
    now = readings_now(client, sensed, session)
    city = client.get("/api/v1/indicators/wl-max/latest", headers=sensed["city.admin"]).json()
    assert [(v["area_code"], v["value"]) for v in city["values"]] == [(STREET, 2.7), (OTHER_STREET, 1.1)]
    assert datetime.fromisoformat(city["values"][0]["at"]) == now
    street = client.get("/api/v1/indicators/wl-max/latest", headers=sensed["op"]).json()
    assert [(v["area_code"], v["value"]) for v in street["values"]] == [(STREET, 2.7)]
    under = client.get(f"/api/v1/indicators/wl-max/latest?area={OTHER_STREET}", headers=sensed["city.admin"]).json()
    assert [v["area_code"] for v in under["values"]] == [OTHER_STREET]
    outside = client.get(f"/api/v1/indicators/wl-max/latest?area={OTHER_STREET}", headers=sensed["op"])
    assert outside.status_code == 404 and outside.json()["field"] == "area"


def test_a_series_per_area_in_steps(client: TestClient, sensed: dict[str, Any], session: Session) -> None:
    add_indicator(client, sensed)
    now = readings_now(client, sensed, session)
    since = (now - timedelta(minutes=10)).isoformat()
    answer = client.get("/api/v1/indicators/wl-max/series", headers=sensed["op"],
                        params={"area": STREET, "since": since})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["area_code"], body["unit"], body["step_s"]) == (STREET, "m", 60)
    assert [(datetime.fromisoformat(p["at"]), p["value"]) for p in body["points"]] == [(now, 2.7)]
    coarse = client.get("/api/v1/indicators/wl-max/series", headers=sensed["op"],
                        params={"area": STREET, "since": since, "step": 3600}).json()
    assert coarse["step_s"] == 3600 and [p["value"] for p in coarse["points"]] == [2.7]
    for params, status, field in (({"area": OTHER_STREET}, 404, "area"), ({"area": f"{STREET}01"}, 422, "area"),
                                  ({"area": STREET, "step": 90}, 422, "step"),
                                  ({"area": STREET, "since": "2026-11-15T12:00:00"}, 422, "since"),
                                  ({"area": STREET, "since": since, "until": since}, 422, "until")):
        refused = client.get("/api/v1/indicators/wl-max/series", headers=sensed["op"], params=params)
        assert (refused.status_code, refused.json()["field"]) == (status, field), (params, refused.text)


def test_new_values_reach_the_live_stream_of_their_areas_only(client: TestClient, sensed: dict[str, Any],
                                                              session: Session) -> None:
    add_indicator(client, sensed)
    now = readings_now(client, sensed, session)

    def indicator_events(headers: dict[str, str]) -> list[tuple[str, float, str]]:
        page = client.get("/api/v1/stream", headers=headers, params={"after": 0})
        assert page.status_code == 200, page.text
        return [(e["data"]["area"], e["data"]["value"], e["data"]["at"]) for e in page.json()["events"]
                if e["kind"] == "indicator"]

    assert indicator_events(sensed["op"]) == [(STREET, 2.7, now.isoformat())]
    assert sorted(indicator_events(sensed["city.admin"])) == [(STREET, 2.7, now.isoformat()),
                                                              (OTHER_STREET, 1.1, now.isoformat())]


def test_a_deactivated_indicator_keeps_its_values_and_stops(client: TestClient, sensed: dict[str, Any],
                                                            session: Session) -> None:
    add_indicator(client, sensed)
    readings_now(client, sensed, session)
    street_admin = client.post("/api/v1/indicators/wl-max/deactivate", headers=sensed["admin"])
    assert street_admin.status_code == 403 and street_admin.json()["field"] == "code"  # it reaches the next street
    done = client.post("/api/v1/indicators/wl-max/deactivate", headers=sensed["city.admin"])
    assert done.status_code == 200 and done.json()["active"] is False, done.text
    again = client.post("/api/v1/indicators/wl-max/deactivate", headers=sensed["city.admin"])
    assert again.status_code == 409
    later = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(minutes=1)
    item = {"device": "WL-1", "metric": "water_level", "ts": later.isoformat(), "value": 9.9}
    assert client.post("/api/v1/readings", headers=sensed["city.admin"], json=[item]).json()["stored"] == 1
    assert indicators_service.compute(session, now=later + timedelta(seconds=30)).buckets == 0
    latest = client.get("/api/v1/indicators/wl-max/latest", headers=sensed["op"]).json()
    assert [v["value"] for v in latest["values"]] == [2.7]
