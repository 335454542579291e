"""Auto-dispatch (CITYOPS_AUTO_DISPATCH) is part of intake: a report from a trusted channel that the
matrix can route is registered and dispatched by the platform as it comes in, with the route's
reason on the timeline. A report an operator registers waits for a dispatcher (受理 and 派遣 are two
people's decisions), whatever the setting; with the setting off, trusted reports wait too."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from cityops.config import Settings
from tests.api.conftest import IN_STREET, STREET, act


def test_a_routable_trusted_report_is_dispatched_by_the_platform_with_its_reason(
        client: TestClient, loop: dict[str, Any]) -> None:
    case = client.post("/api/v1/cases", headers=loop["op"], json={
        "channel": "grid_patrol", "title": "暴露垃圾", "category_code": "E0102", **IN_STREET}).json()
    assert case["status"] == "dispatched"
    dispatch = case["timeline"][-1]
    assert (dispatch["action"], dispatch["actor_kind"], dispatch["data"]["lead"]) == (
        "dispatch", "system", "greening-990101")
    assert dispatch["reason"]  # why the matrix chose this department


def test_a_report_an_operator_registers_waits_for_a_dispatcher(client: TestClient, loop: dict[str, Any]) -> None:
    case = client.post("/api/v1/cases", headers=loop["op"], json={
        "channel": "hotline_12345", "title": "暴露垃圾", "category_code": "E0102", **IN_STREET}).json()
    assert case["status"] == "reported"
    registered = act(client, loop["op"], case["id"], "register")
    assert registered.status_code == 200 and registered.json()["status"] == "registered"
    assert [e["action"] for e in registered.json()["timeline"]] == ["intake", "register"]
    waiting = client.get("/api/v1/cases", headers=loop["disp"], params={"queue": "to_dispatch"}).json()["items"]
    assert [c["id"] for c in waiting] == [case["id"]]
    preview = client.get("/api/v1/responsibilities/route", headers=loop["disp"],
                         params={"category": "E0102", "area": STREET})
    assert preview.status_code == 200 and preview.json()["lead"]["code"] == "greening-990101"


class TestWithAutoDispatchOff:
    @pytest.fixture
    def settings(self, tmp_path: Path) -> Settings:
        return Settings(environment="test", data_dir=tmp_path, secret_key="test-secret-" + "x" * 32,
                        demo_password="demo-pass-123", sweep_interval_s=0, auto_dispatch=False)

    def test_a_trusted_report_is_registered_and_waits_for_a_dispatcher(self, client: TestClient,
                                                                       loop: dict[str, Any]) -> None:
        case = client.post("/api/v1/cases", headers=loop["op"], json={
            "channel": "grid_patrol", "title": "暴露垃圾", "category_code": "E0102", **IN_STREET}).json()
        assert case["status"] == "registered" and case["assignments"] == []
        assert [(e["action"], e["actor_kind"]) for e in case["timeline"]] == [("intake", "user"),
                                                                                ("register", "system")]
