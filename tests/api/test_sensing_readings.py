"""POST /api/v1/readings: JSON arrays and NDJSON, per-reading answers, device tokens, and the series
the readings make."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cityops.sensing.models import Reading
from tests.factories import login, make_user
from tests.integration.sensing.world import STREET, make_world, reading

# readings of yesterday: late, but well within what ingest accepts
DAY = (datetime.now(UTC) - timedelta(days=1)).date().isoformat()
NEXT = datetime.now(UTC).date().isoformat()
NDJSON = {"Content-Type": "application/x-ndjson"}


def ndjson(*lines: str) -> str:
    return "\n".join(lines) + "\n"


def test_a_json_array_is_answered_reading_by_reading(client: TestClient, session: Session) -> None:
    make_world(session)
    admin = login(client, "street.admin")
    batch = [reading("WL-1", f"{DAY}T10:00:05Z", 1.0), reading("WL-2", f"{DAY}T10:00:05Z", 1.0),
             reading("WL-1", f"{DAY}T10:00:05", 1.0), reading("WL-1", f"{DAY}T10:00:45+00:00", 3.0)]
    response = client.post("/api/v1/readings", headers=admin, json=batch)
    assert response.status_code == 200, response.text
    body = response.json()
    assert {k: body[k] for k in ("received", "accepted", "stored", "duplicates")} == {
        "received": 4, "accepted": 2, "stored": 2, "duplicates": 0}
    assert [(r["index"], r["code"], r["field"]) for r in body["rejected"]] == [
        (1, "unknown_device", "device"), (2, "ts_without_zone", "ts")]
    again = client.post("/api/v1/readings", headers=admin, json=batch).json()
    assert (again["accepted"], again["stored"], again["duplicates"]) == (2, 0, 2)
    series = client.get("/api/v1/devices/WL-1/series", headers=admin, params={
        "metric": "water_level", "resolution": "1m", "since": f"{DAY}T00:00:00Z", "until": f"{NEXT}T00:00:00Z"})
    assert series.status_code == 200
    assert [(p["ts"], p["min"], p["max"], p["avg"], p["count"]) for p in series.json()["points"]] == [
        (f"{DAY}T10:00:00Z", 1.0, 3.0, 2.0, 2)]
    raw = client.get("/api/v1/devices/WL-1/series", headers=admin, params={
        "metric": "water_level", "since": f"{DAY}T00:00:00Z", "until": f"{NEXT}T00:00:00Z"}).json()
    assert [p["value"] for p in raw["points"]] == [1.0, 3.0] and raw["unit"] == "m"
    latest = client.get("/api/v1/devices/WL-1", headers=admin).json()
    assert latest["latest"] == [{"metric": "water_level", "unit": "m", "ts": f"{DAY}T10:00:45Z", "value": 3.0,
                                 "maintenance": False}]
    assert latest["last_contact_at"] is not None


def test_ndjson_with_a_broken_line_keeps_the_others(client: TestClient, session: Session) -> None:
    make_world(session)
    admin = login(client, "street.admin")
    response = client.post("/api/v1/readings", headers={**admin, **NDJSON}, content=ndjson(
        f'{{"device": "WL-1", "metric": "water_level", "ts": "{DAY}T10:00:00Z", "value": 1}}',
        f'{{"device": "WL-1", "metric": "water_level", "ts": "{DAY}T10:01:00Z", "value": NaN}}',
        '{"device": "WL-1", "metric": "water_level"',
        "",
        f'{{"device": "WL-1", "metric": "battery", "ts": "{DAY}T18:02:00+08:00", "value": 3.6}}'))
    assert response.status_code == 200, response.text
    assert response.json()["stored"] == 2
    assert [(r["index"], r["code"]) for r in response.json()["rejected"]] == [(1, "value_not_finite"),
                                                                               (2, "invalid_json")]


def test_bad_bodies_are_problems_and_store_nothing(client: TestClient, session: Session) -> None:
    make_world(session)
    admin = login(client, "street.admin")
    for kwargs in ({"content": "{not json", "headers": {"Content-Type": "application/json"}},
                   {"json": {"device": "WL-1"}},
                   {"content": "a,b", "headers": {"Content-Type": "text/csv"}}):
        response = client.post("/api/v1/readings", headers={**admin, **kwargs.pop("headers", {})}, **kwargs)
        assert response.status_code == 422 and response.headers["content-type"] == "application/problem+json"
        assert response.json()["field"] == "body"
    assert session.scalar(select(func.count()).select_from(Reading)) == 0


def test_device_tokens_send_only_their_own_readings(client: TestClient, session: Session) -> None:
    make_world(session)
    admin = login(client, "street.admin")
    token = {"Authorization": "Bearer " + client.post("/api/v1/devices/WL-1/token", headers=admin).json()["token"]}
    response = client.post("/api/v1/readings", headers=token, json=[
        reading("WL-1", f"{DAY}T10:00:00Z", 1.0), reading("WL-M", f"{DAY}T10:00:00Z", 1.0),
        reading("WL-2", f"{DAY}T10:00:00Z", 1.0)])
    assert response.json()["stored"] == 1
    assert [(r["index"], r["code"]) for r in response.json()["rejected"]] == [(1, "not_your_device"),
                                                                               (2, "not_your_device")]
    client.post("/api/v1/devices/WL-1/token/revoke", headers=admin)
    assert client.post("/api/v1/readings", headers=token, json=[]).status_code == 401


def test_staff_without_an_ingest_role_may_not_send(client: TestClient, session: Session) -> None:
    make_world(session)
    make_user(session, username="street.op", roles=["operator"], area_code=STREET)
    response = client.post("/api/v1/readings", headers=login(client, "street.op"),
                           json=[reading("WL-1", f"{DAY}T10:00:00Z", 1.0)])
    assert response.status_code == 403 and response.json()["code"] == "permission_denied"
    assert client.post("/api/v1/readings", json=[]).status_code == 401
