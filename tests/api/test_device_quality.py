"""Device quality over the API, on both stores: a gauge that reported every hour but whose warnings were
closed as false alarms or became rejected cases ranks first as noisy; a gauge that missed half its hours
is often offline; each viewer sees only the devices of their jurisdiction, of an area inside it or of
one department; bad periods, unknown departments and areas outside the jurisdiction are refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.orm import Session

from cityops.config import Settings
from cityops.geo import service as geo_service
from cityops.sensing import devices as registry
from cityops.sensing.devices import DeviceSpec
from cityops.sensing.models import Device
from tests.api.conftest import IN_STREET

NOW = datetime.now(UTC)
FROM = (NOW - timedelta(hours=24)).replace(minute=0, second=0, microsecond=0)
EXPECTED = 25
"""The 24 whole hours from FROM and the current one, until NOW."""
RULE = {"code": "wl-high", "name": "水位超限", "definition": {
    "kind": "threshold", "metric": "water_level", "scope": {"device_type": "wl"},
    "levels": [{"level": "yellow", "fire_at": 3.0, "clear_at": 2.8}]}}


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    # iot_warning is not trusted here, so a warning's case waits to be registered and can be rejected
    return Settings(environment="test", data_dir=tmp_path, secret_key="test-secret-" + "x" * 32,
                    demo_password="demo-pass-123", sweep_interval_s=0, trusted_channels=["grid_patrol"])


def send(client: TestClient, headers: dict[str, str], device: str, hour: int, value: float) -> None:
    item = {"device": device, "metric": "water_level", "ts": (FROM + timedelta(hours=hour)).isoformat(),
            "value": value}
    response = client.post("/api/v1/readings", headers=headers, json=[item])
    assert response.status_code == 200 and response.json()["accepted"] == 1, response.text


def newest_warning(client: TestClient, headers: dict[str, str]) -> dict[str, Any]:
    return client.get("/api/v1/warnings", headers=headers, params={"status": "firing"}).json()["items"][0]


@pytest.fixture
def history(client: TestClient, sensed: dict[str, Any], session: Session) -> dict[str, Any]:
    """A day of WL-1 (every hour; three warnings: a false alarm, a rejected case, a real one), WL-2 in the
    next street (12 of 25 hours, no warnings) and WL-3 of the street's office (every hour, quiet)."""
    locator = geo_service.build_locator(session, boundary_distance_m=30)
    registry.create_device(session, spec=DeviceSpec(code="WL-3", name="WL-3", type_code="wl", lon=IN_STREET["lon"],
                                                    lat=IN_STREET["lat"], department_code="street-99010101"),
                           locator=locator, actor=None, origin="test")
    session.execute(update(Device).values(created_at=FROM - timedelta(days=30)))
    assert client.post("/api/v1/rules", headers=sensed["city.admin"], json=RULE).status_code == 201
    admin, op = sensed["city.admin"], sensed["op"]
    send(client, admin, "WL-1", 0, 3.5)
    closed = client.post(f"/api/v1/warnings/{newest_warning(client, op)['id']}/false-alarm", headers=op,
                         json={"reason": "探头被垃圾遮挡"})
    assert closed.status_code == 200, closed.text
    send(client, admin, "WL-1", 1, 2.0)
    send(client, admin, "WL-1", 2, 3.5)
    converted = client.post(f"/api/v1/warnings/{newest_warning(client, op)['id']}/convert-to-case", headers=op,
                            json={"category_code": "E0102"})
    assert converted.status_code == 200, converted.text
    rejected = client.post(f"/api/v1/cases/{converted.json()['case_id']}/actions/reject", headers=op,
                           json={"reason": "现场无积水"})
    assert rejected.status_code == 200, rejected.text
    send(client, admin, "WL-1", 3, 2.0)
    send(client, admin, "WL-1", 4, 3.5)
    for hour in range(5, EXPECTED):
        send(client, admin, "WL-1", hour, 2.0)
    for hour in range(EXPECTED):
        send(client, admin, "WL-3", hour, 1.0)
        if hour % 2:
            send(client, admin, "WL-2", hour, 1.0)
    return sensed


def quality(client: TestClient, headers: dict[str, str], **params: Any):  # noqa: ANN201
    return client.get("/api/v1/devices/quality", headers=headers,
                      params={"from": FROM.isoformat(), "to": NOW.isoformat(), **params})


def test_noisy_and_offline_devices_rank_first(client: TestClient, history: dict[str, Any]) -> None:
    page = quality(client, history["city.admin"]).json()
    assert page["total"] == 3 and page["sort"] == "attention"
    noisy, offline, quiet = page["items"]
    assert (noisy["rank"], noisy["device"], noisy["warnings"], noisy["false_alarms"], noisy["rejected_cases"]) == (
        1, "WL-1", 3, 1, 1)
    assert round(noisy["false_alarm_rate"], 3) == 0.667 and noisy["flags"] == ["noisy"]
    assert (noisy["expected_windows"], noisy["reported_windows"], noisy["online_rate"]) == (EXPECTED, EXPECTED, 1.0)
    assert (offline["device"], offline["reported_windows"], offline["false_alarm_rate"], offline["flags"]) == (
        "WL-2", 12, None, ["often_offline"])
    assert (quiet["device"], quiet["department"], quiet["flags"]) == ("WL-3", "street-99010101", [])
    by_online = quality(client, history["city.admin"], sort="online_rate").json()["items"]
    assert [item["device"] for item in by_online] == ["WL-2", "WL-1", "WL-3"]
    second_page = quality(client, history["city.admin"], limit=1, offset=1).json()
    assert [(item["rank"], item["device"]) for item in second_page["items"]] == [(2, "WL-2")]


def test_a_device_registered_within_the_period_is_expected_only_from_then(client: TestClient, session: Session,
                                                                           history: dict[str, Any]) -> None:
    session.execute(update(Device).where(Device.code == "WL-3").values(created_at=FROM + timedelta(hours=12,
                                                                                                    minutes=30)))
    (late,) = quality(client, history["city.admin"], department="street-99010101").json()["items"]
    assert (late["expected_windows"], late["reported_windows"], late["online_rate"]) == (EXPECTED - 12,
                                                                                        EXPECTED - 12, 1.0)


def test_each_viewer_sees_their_jurisdiction_area_or_department(client: TestClient, history: dict[str, Any]) -> None:
    def devices(headers: dict[str, str], **params: Any) -> list[str]:
        response = quality(client, headers, **params)
        assert response.status_code == 200, response.text
        return [item["device"] for item in response.json()["items"]]

    assert devices(history["op"]) == ["WL-1", "WL-3"]
    assert devices(history["other.op"]) == ["WL-2"]
    assert devices(history["city.admin"], area="99010102") == ["WL-2"]
    assert devices(history["city.admin"], department="street-99010101") == ["WL-3"]
    assert devices(history["op"], department="greening-990101") == []
    # a period before the warnings and readings: nothing raised, nothing reported
    early = quality(client, history["op"], **{"from": (FROM - timedelta(days=2)).isoformat(),
                                              "to": (FROM - timedelta(days=1)).isoformat()}).json()["items"]
    assert {(item["warnings"], item["reported_windows"], item["expected_windows"]) for item in early} == {(0, 0, 24)}


def test_bad_requests_are_refused(client: TestClient, history: dict[str, Any]) -> None:
    op = history["op"]
    checks = [
        (quality(client, op, to=(FROM - timedelta(hours=1)).isoformat()), 422, "to"),
        (quality(client, op, **{"from": "2026-11-01T00:00:00"}), 422, "from"),
        (quality(client, op, **{"from": "2024-01-01T00:00:00Z"}), 422, "from"),  # longer than a year
        (quality(client, op, sort="loudest"), 422, "sort"),
        (quality(client, op, department="no-such-department"), 404, "department_code"),
        (quality(client, op, area="99010102"), 404, "area"),
    ]
    for response, status, field in checks:
        assert (response.status_code, response.headers["content-type"], response.json()["field"]) == (
            status, "application/problem+json", field), response.text
    assert client.get("/api/v1/devices/quality").status_code == 401
    assert client.get("/api/v1/devices/WL-1", headers=op).status_code == 200  # the device route still answers
