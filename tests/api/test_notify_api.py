"""Inbox and webhook endpoints."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from cityops.notify import service as notify
from tests.api.conftest import IN_STREET


def test_a_dispatch_lands_in_the_handlers_inbox(client: TestClient, loop: dict[str, Any],
                                                session: Session) -> None:
    case = client.post("/api/v1/cases", headers=loop["op"], json={
        "channel": "grid_patrol", "title": "暴露垃圾", "category_code": "E0102", **IN_STREET}).json()
    assert case["status"] == "dispatched"
    notify.fan_out(session, now=datetime.now(UTC))
    inbox = client.get("/api/v1/inbox", params={"unread": True}, headers=loop["greener"]).json()
    assert [(n["topic"], n["case_id"]) for n in inbox] == [("case.dispatched", case["id"])]
    read = client.post(f"/api/v1/inbox/{inbox[0]['id']}/read", headers=loop["greener"]).json()
    assert read["read_at"] is not None
    assert client.get("/api/v1/inbox", params={"unread": True}, headers=loop["greener"]).json() == []
    someone_elses = client.post(f"/api/v1/inbox/{inbox[0]['id']}/read", headers=loop["op"])
    assert someone_elses.status_code == 404


def test_webhooks_are_managed_by_integrators_in_their_area(client: TestClient, loop: dict[str, Any],
                                                           session: Session) -> None:
    from tests.factories import login, make_user

    make_user(session, username="street.admin", roles=["administrator"], area_code="99010101")
    admin = login(client, "street.admin")
    created = client.post("/api/v1/webhooks", headers=admin, json={
        "name": "网格系统", "url": "https://grid.example.org/hook", "topics": ["case.dispatched"]})
    assert created.status_code == 201 and len(created.json()["secret"]) >= 32
    assert [h["name"] for h in client.get("/api/v1/webhooks", headers=admin).json()] == ["网格系统"]
    assert "secret" not in client.get("/api/v1/webhooks", headers=admin).json()[0]
    bad = client.post("/api/v1/webhooks", headers=admin, json={"name": "x", "url": "https://x.org/h",
                                                               "topics": ["case.exploded"]})
    assert bad.status_code == 422 and bad.json()["field"] == "topics"
    assert client.post("/api/v1/webhooks", headers=loop["op"], json={
        "name": "x", "url": "https://x.org/h", "topics": ["*"]}).status_code == 403
    hook_id = created.json()["id"]
    assert client.post(f"/api/v1/webhooks/{hook_id}/disable", headers=admin).json()["active"] is False
    assert client.get(f"/api/v1/webhooks/{hook_id}/deliveries", headers=admin).json() == []
