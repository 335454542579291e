"""The performance report's period: zone-aware bounds in order, within the years the calendar knows;
anything else is a 422 naming the field."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient


@pytest.mark.parametrize(("params", "field"), [
    ({"end": "0001-01-01T00:00:00+00:00"}, "end"),
    ({"start": "0001-01-01T00:00:00+08:00", "end": "2026-01-01T00:00:00+08:00"}, "start"),
    ({"start": "2026-01-01T00:00:00"}, "start"),
    ({"end": "2026-01-01T00:00:00"}, "end"),
    ({"start": "2026-02-01T00:00:00+08:00", "end": "2026-01-01T00:00:00+08:00"}, "start"),
])
def test_a_period_out_of_bounds_is_refused(client: TestClient, loop: dict[str, Any], params: dict, field: str) -> None:
    refused = client.get("/api/v1/reports/performance", params=params, headers=loop["op"])
    assert refused.status_code == 422, refused.text
    assert refused.json()["field"] == field


def test_a_period_at_the_edge_of_the_calendar_is_answered(client: TestClient, loop: dict[str, Any]) -> None:
    answer = client.get("/api/v1/reports/performance", headers=loop["op"], params={
        "start": "0001-01-02T00:00:00+00:00", "end": "9999-12-30T00:00:00+00:00"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["rows"] == []
