"""Merging by hand (重复件合并) over the API, and what the merged reporter can still do.

A merge's primary must be another case the operator can see; a merge by hand adds its report to the
primary's count and priority as an automatic merge does, and an unmerge takes it back. The citizen
whose report was merged rates it once the case it follows is closed, and not before."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cityops.models import CaseEvent
from tests.api.conftest import IN_OTHER_STREET, IN_STREET, act


def _case(client: TestClient, headers: dict[str, str], title: str, **where: float) -> dict[str, Any]:
    answer = client.post("/api/v1/cases", headers=headers, json={"channel": "hotline_12345", "title": title,
                                                                 **(where or IN_STREET)})
    assert answer.status_code == 201, answer.text
    return answer.json()


def _events(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(CaseEvent))


@pytest.mark.parametrize("primary", ["itself", "missing", "other street"])
def test_a_merge_needs_a_primary_the_operator_can_see_other_than_the_case(
        client: TestClient, loop: dict[str, Any], session: Session, primary: str) -> None:
    case = _case(client, loop["op"], "井盖缺失")
    target = {"itself": case["id"], "missing": 999_999,
              "other street": _case(client, loop["other.op"], "井盖缺失", **IN_OTHER_STREET)["id"]}[primary]
    events = _events(session)
    refused = act(client, loop["op"], case["id"], "merge", reason="重复", data={"primary": target})
    assert refused.status_code in (404, 409, 422), refused.text
    assert refused.headers["content-type"] == "application/problem+json" and refused.json()["field"] == "primary"
    assert _events(session) == events


def test_a_merge_by_hand_counts_the_report_on_the_primary(client: TestClient, loop: dict[str, Any]) -> None:
    first = _case(client, loop["op"], "路灯不亮", lon=121.01, lat=31.05)
    second = _case(client, loop["op"], "这里晚上没有灯", lon=121.09, lat=31.15)
    assert act(client, loop["op"], second["id"], "merge", reason="同一路灯",
               data={"primary": first["id"]}).status_code == 200
    primary = client.get(f"/api/v1/cases/{first['id']}", headers=loop["op"]).json()
    assert primary["report_count"] == 2 and primary["priority"] >= 1


def test_an_unmerge_takes_the_report_back_from_the_primary(client: TestClient, loop: dict[str, Any]) -> None:
    first = _case(client, loop["op"], "路灯不亮", lon=121.01, lat=31.05)
    second = _case(client, loop["op"], "这里晚上没有灯", lon=121.09, lat=31.15)
    act(client, loop["op"], second["id"], "merge", reason="同一路灯", data={"primary": first["id"]})
    assert act(client, loop["op"], second["id"], "unmerge", reason="不是同一盏灯").status_code == 200
    primary = client.get(f"/api/v1/cases/{first['id']}", headers=loop["op"]).json()
    assert primary["report_count"] == 1 and primary["priority"] == 0


def test_a_case_cannot_be_merged_into_a_merged_case(client: TestClient, loop: dict[str, Any],
                                                    session: Session) -> None:
    first, second, third = (_case(client, loop["op"], "井盖缺失", lon=121.01 + 0.03 * i, lat=31.05) for i in range(3))
    act(client, loop["op"], second["id"], "merge", reason="重复", data={"primary": first["id"]})
    events = _events(session)
    refused = act(client, loop["op"], third["id"], "merge", reason="重复", data={"primary": second["id"]})
    assert refused.status_code == 409 and refused.json()["code"] == "primary_merged", refused.text
    assert _events(session) == events


def test_a_citizen_whose_report_was_merged_rates_the_case_it_follows(client: TestClient,
                                                                      loop: dict[str, Any]) -> None:
    first = client.post("/api/v1/cases", headers=loop["op"], json={
        "channel": "hotline_12345", "title": "小区门口暴露垃圾", "category_code": "E0102", **IN_STREET}).json()
    again = client.post("/api/v1/public/cases", json={"title": "小区门口有暴露垃圾", "category_code": "E0102",
                                                       "lon": 121.0201, "lat": 31.0501}).json()
    act(client, loop["op"], first["id"], "register")
    act(client, loop["disp"], first["id"], "dispatch", data={"lead": "greening-990101"})
    act(client, loop["greener"], first["id"], "acknowledge")
    act(client, loop["greener"], first["id"], "report", reason="已清运")
    early = client.post(f"/api/v1/public/cases/{again['tracking_code']}/rating", json={"score": 4})
    assert early.status_code == 409, early.text
    act(client, loop["insp"], first["id"], "verify", data={"passed": True})
    assert client.get(f"/api/v1/public/cases/{again['tracking_code']}").json()["status"] == "closed"
    rated = client.post(f"/api/v1/public/cases/{again['tracking_code']}/rating", json={"score": 4})
    assert rated.status_code == 200, rated.text
    assert rated.json()["rating"] == 4
    again_rated = client.post(f"/api/v1/public/cases/{again['tracking_code']}/rating", json={"score": 5})
    assert again_rated.status_code == 409 and again_rated.json()["code"] == "already_rated"
