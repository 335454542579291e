"""The answer to taking in a case is built from what was written, not read back: it must equal what
reading the case gives, for a case dispatched at once, one kept with duplicate suggestions, one
merged automatically and one left for an operator."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.api.conftest import IN_STREET


def taken_in_and_read(client: TestClient, headers: dict[str, str], body: dict[str, Any]) -> tuple[dict, dict]:
    answer = client.post("/api/v1/cases", headers=headers, json=body)
    assert answer.status_code == 201, answer.text
    return answer.json(), client.get(f"/api/v1/cases/{answer.json()['id']}", headers=headers).json()


def test_the_answer_to_an_intake_is_the_case_as_stored(client: TestClient, loop: dict[str, Any]) -> None:
    dispatched, stored = taken_in_and_read(client, loop["op"], {
        "channel": "grid_patrol", "title": "小区门口暴露垃圾", "category_code": "E0102", **IN_STREET})
    assert dispatched["status"] == "dispatched" and len(dispatched["timeline"]) == 3
    assert dispatched == stored
    nearby, stored = taken_in_and_read(client, loop["op"], {
        "channel": "hotline_12345", "title": "小区门口有垃圾", "category_code": "E0102",
        "lon": IN_STREET["lon"] + 0.0004, "lat": IN_STREET["lat"]})
    assert nearby["duplicates"] and nearby == stored
    merged, stored = taken_in_and_read(client, loop["op"], {
        "channel": "grid_patrol", "title": "小区门口暴露垃圾", "category_code": "E0102", **IN_STREET})
    assert merged["status"] == "merged" and merged["duplicates"][0]["merged"]
    assert merged == stored
    unsorted, stored = taken_in_and_read(client, loop["op"], {"channel": "hotline_12345", "title": "有人反映噪声"})
    assert unsorted["status"] == "reported" and unsorted == stored
