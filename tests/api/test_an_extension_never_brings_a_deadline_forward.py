"""Over the API, an extension asked for or granted, and a deferral, to a time not after the step's
current deadline is a 422 on `until` that leaves the case as it was."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import IN_STREET, act


@pytest.mark.parametrize("move", ["request_extension", "defer"])
def test_putting_a_deadline_earlier_is_refused_and_changes_nothing(client: TestClient, loop: dict[str, Any],
                                                                   move: str) -> None:
    case_id = client.post("/api/v1/cases", headers=loop["op"], json={
        "channel": "hotline_12345", "title": "行道树倒伏", **IN_STREET}).json()["id"]
    act(client, loop["op"], case_id, "register")
    act(client, loop["disp"], case_id, "dispatch", data={"lead": "greening-990101"})
    before = act(client, loop["greener"], case_id, "acknowledge").json()
    due = datetime.fromisoformat(before["deadlines"][-1]["due_at"])
    earlier = (due - timedelta(minutes=1)).isoformat()
    who = loop["greener"] if move == "request_extension" else loop["disp"]
    refused = act(client, who, case_id, move, reason="需要更多时间", data={"until": earlier})
    assert refused.status_code == 422 and refused.headers["content-type"] == "application/problem+json"
    assert (refused.json()["field"], refused.json()["code"]) == ("until", "deadline_not_later"), refused.text
    # read by the department that acknowledged it, as ``before`` was (what a case offers depends on who asks)
    assert client.get(f"/api/v1/cases/{case_id}", headers=loop["greener"]).json() == before
    later = (due + timedelta(days=7)).isoformat()
    assert act(client, who, case_id, move, reason="需要更多时间", data={"until": later}).status_code == 200
