"""The live screen's counters (the stream's ``counts``, here through its JSON page), on both stores:
cases reported today, dispatched, in progress and overdue, and active warnings, each in the viewer's
jurisdiction only; overdue once a step's deadline has passed unmet."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from cityops.sensing import stream
from tests.api.conftest import IN_OTHER_STREET, IN_STREET, act


def report(client: TestClient, headers: dict[str, str], n: int, place: dict[str, float]) -> int:
    answer = client.post("/api/v1/cases", headers=headers, json={
        "channel": "hotline_12345", "title": f"暴露垃圾 {n}", "category_code": "E0102",
        "lon": place["lon"] + 0.004 * n, "lat": place["lat"]})
    assert answer.status_code == 201, answer.text
    return answer.json()["id"]


def counts(client: TestClient, headers: dict[str, str]) -> dict[str, int]:
    answer = client.get("/api/v1/stream", headers=headers)
    assert answer.status_code == 200, answer.text
    return answer.json()["counts"]


def test_counters_follow_the_cases_of_the_viewers_jurisdiction(client: TestClient, loop: dict[str, Any],
                                                                session: Session) -> None:
    empty = {"reported_today": 0, "dispatched": 0, "in_progress": 0, "overdue": 0, "warnings_active": 0}
    assert counts(client, loop["op"]) == empty
    ids = [report(client, loop["op"], n, IN_STREET) for n in range(3)]
    report(client, loop["other.op"], 0, IN_OTHER_STREET)
    for case_id in ids[:2]:
        assert act(client, loop["op"], case_id, "register").status_code == 200
        assert act(client, loop["disp"], case_id, "dispatch", data={"lead": "greening-990101"}).status_code == 200
    assert act(client, loop["greener"], ids[0], "acknowledge").status_code == 200
    assert counts(client, loop["op"]) == empty | {"reported_today": 3, "dispatched": 1, "in_progress": 1}
    assert counts(client, loop["other.op"]) == empty | {"reported_today": 1}
    # a month on, the steps' deadlines have passed unmet: the case in progress, the dispatched one and the
    # one waiting to be registered are overdue, each once however many of its steps are
    later = stream.counters(session, area_path="/990000/990101/99010101/", timezone="Asia/Shanghai",
                            now=datetime.now(UTC) + timedelta(days=30))
    assert (later["overdue"], later["reported_today"]) == (3, 0)
