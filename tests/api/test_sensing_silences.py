"""Silences over the API, on both stores: an operator mutes a rule's warnings in their street for a
time with a reason; the warning is still raised and listed but nobody is told; a silence never
reaches past its author's jurisdiction, needs its reason and a later end, and can be ended early."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from cityops.outbox import OutboxEvent
from tests.api.conftest import STREET
from tests.api.test_sensing_rules import fire


def later(hours: float) -> str:
    return (datetime.now(UTC) + timedelta(hours=hours)).isoformat()


def silence(client: TestClient, headers: dict[str, str], **body: Any):  # noqa: ANN201
    return client.post("/api/v1/silences", headers=headers,
                       json={"matchers": {"rule": "wl-high"}, "ends_at": later(2), "reason": "汛期演练"} | body)


def test_a_silenced_warning_is_raised_but_not_told(client: TestClient, sensed: dict[str, Any],
                                                   session: Session) -> None:
    made = silence(client, sensed["op"])
    assert made.status_code == 201, made.text
    assert made.json()["matchers"] == {"rule": "wl-high", "area": STREET}  # the author's own area
    fire(client, sensed)
    assert session.scalars(select(OutboxEvent.topic).where(OutboxEvent.topic.startswith("warning."))).all() == []
    listed = client.get("/api/v1/silences", headers=sensed["op"]).json()
    assert [s["id"] for s in listed] == [made.json()["id"]]


def test_a_silence_stays_in_its_authors_jurisdiction(client: TestClient, sensed: dict[str, Any]) -> None:
    elsewhere = silence(client, sensed["op"], matchers={"rule": "wl-high", "area": "990102"})
    assert elsewhere.status_code == 404 and elsewhere.json()["field"] == "area", elsewhere.text
    assert client.get("/api/v1/silences", headers=sensed["other.op"]).json() == []


def test_a_silence_needs_a_reason_an_end_after_its_start_and_the_right_role(client: TestClient,
                                                                           sensed: dict[str, Any]) -> None:
    assert silence(client, sensed["op"], reason="").status_code == 422
    backwards = silence(client, sensed["op"], ends_at=later(-1))
    assert backwards.status_code == 422 and backwards.json()["field"] == "ends_at"
    unknown = silence(client, sensed["op"], matchers={"colour": "red"})
    assert unknown.status_code == 422 and unknown.json()["field"] == "matchers"
    handler = silence(client, sensed["greener"])
    assert handler.status_code == 403
    assert client.get("/api/v1/silences", headers=sensed["op"]).json() == []


def test_a_silence_ends_early(client: TestClient, sensed: dict[str, Any]) -> None:
    made = silence(client, sensed["op"]).json()
    ended = client.post(f"/api/v1/silences/{made['id']}/end", headers=sensed["disp"])
    assert ended.status_code == 200, ended.text
    assert client.get("/api/v1/silences", headers=sensed["op"]).json() == []
    assert [s["id"] for s in client.get("/api/v1/silences", params={"current": False},
                                        headers=sensed["op"]).json()] == [made["id"]]
    again = client.post(f"/api/v1/silences/{made['id']}/end", headers=sensed["disp"])
    assert again.status_code == 409 and again.json()["code"] == "silence_over"
    other = client.post(f"/api/v1/silences/{made['id']}/end", headers=sensed["other.op"])
    assert other.status_code == 404
