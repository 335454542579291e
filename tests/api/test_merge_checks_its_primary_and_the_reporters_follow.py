"""Merging by hand (重复件合并) over the API, and what the merged reporter can still do.

A merge's primary must be another case the operator can see; a merge by hand adds its report to the
primary's count and priority as an automatic merge does, and an unmerge takes it back. The citizen
whose report was merged rates it once the case it follows is closed, and not before."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from cityops.models import CaseEvent
from tests.api.conftest import IN_OTHER_STREET, IN_STREET, act
from tests.factories import statements_during


def _case(client: TestClient, headers: dict[str, str], title: str, **where: float) -> dict[str, Any]:
    answer = client.post("/api/v1/cases", headers=headers, json={"channel": "hotline_12345", "title": title,
                                                                 **(where or IN_STREET)})
    assert answer.status_code == 201, answer.text
    return answer.json()


def _events(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(CaseEvent))


@pytest.mark.parametrize("primary", ["itself", "missing", "other street", "itself by code", "unknown code",
                                     "other street by code"])
def test_a_merge_needs_a_primary_the_operator_can_see_other_than_the_case(
        client: TestClient, loop: dict[str, Any], session: Session, primary: str) -> None:
    case = _case(client, loop["op"], "井盖缺失")
    elsewhere = _case(client, loop["other.op"], "井盖缺失", **IN_OTHER_STREET)
    target = {"itself": case["id"], "missing": 999_999, "other street": elsewhere["id"],
              "itself by code": case["tracking_code"], "unknown code": "ZZZZZZZZZZ",
              "other street by code": elsewhere["tracking_code"]}[primary]
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


def test_staff_name_the_primary_by_the_tracking_code_they_see(client: TestClient, loop: dict[str, Any]) -> None:
    first = _case(client, loop["op"], "路灯不亮", lon=121.01, lat=31.05)
    second = _case(client, loop["op"], "这里晚上没有灯", lon=121.09, lat=31.15)
    typed = f" {first['tracking_code'].lower()} "  # as typed: spaces around, small letters
    merged = act(client, loop["op"], second["id"], "merge", reason="同一路灯", data={"primary": typed})
    assert merged.status_code == 200, merged.text
    assert merged.json()["duplicate_of_tracking_code"] == first["tracking_code"]
    entry = merged.json()["timeline"][-1]
    assert entry["data"]["primary"] == first["id"]  # the timeline keeps the id, as for every case it names
    assert client.get(f"/api/v1/cases/{first['id']}", headers=loop["op"]).json()["report_count"] == 2


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


def _chain(client: TestClient, loop: dict[str, Any]) -> tuple[dict[str, Any], ...]:
    """Two reports (c, d) merged into b, then b merged into a: four reports of one streetlight."""
    a, b, c, d = (_case(client, loop["op"], title, lon=121.005 + 0.02 * n, lat=31.05 + 0.03 * n)
                  for n, title in enumerate(("路灯不亮", "这里晚上没有灯", "路灯坏了好几天", "晚上路口很黑")))
    for merged in (c, d):
        assert act(client, loop["op"], merged["id"], "merge", reason="同一路灯",
                   data={"primary": b["id"]}).status_code == 200
    assert act(client, loop["op"], b["id"], "merge", reason="同一路灯", data={"primary": a["id"]}).status_code == 200
    return a, b, c, d


def _get(client: TestClient, loop: dict[str, Any], case: dict[str, Any]) -> dict[str, Any]:
    return client.get(f"/api/v1/cases/{case['id']}", headers=loop["op"]).json()


def test_reports_merged_into_a_case_follow_it_when_it_is_merged_in_turn(client: TestClient,
                                                                         loop: dict[str, Any]) -> None:
    a, b, c, d = _chain(client, loop)
    primary = _get(client, loop, a)
    assert (primary["report_count"], primary["priority"]) == (4, 2)
    assert [(m["id"], m["merged_into"]) for m in primary["merged_reports"]] == [
        (b["id"], a["id"]), (c["id"], b["id"]), (d["id"], b["id"])]
    assert (_get(client, loop, c)["duplicate_of"], _get(client, loop, c)["follows"]) == (b["id"], a["id"])
    act(client, loop["op"], a["id"], "register")
    act(client, loop["disp"], a["id"], "dispatch", data={"lead": "greening-990101"})
    followed = client.get(f"/api/v1/public/cases/{c['tracking_code']}").json()
    assert followed["status"] == "dispatched"
    assert [p["step"] for p in followed["progress"]] == ["received", "merged", "registered", "sent to the department"]
    early = client.post(f"/api/v1/public/cases/{c['tracking_code']}/rating", json={"score": 5})
    assert early.status_code == 409, early.text
    act(client, loop["greener"], a["id"], "acknowledge")
    act(client, loop["greener"], a["id"], "report", reason="已更换灯泡")
    act(client, loop["insp"], a["id"], "verify", data={"passed": True})
    closed = client.get(f"/api/v1/public/cases/{d['tracking_code']}").json()
    assert (closed["status"], closed["progress"][-1]["step"]) == ("closed", "closed")
    assert closed["closed_at"] is not None
    rated = client.post(f"/api/v1/public/cases/{c['tracking_code']}/rating", json={"score": 5})
    assert rated.status_code == 200 and rated.json()["rating"] == 5, rated.text


def test_unmerging_anywhere_in_the_chain_takes_the_reports_back_exactly(client: TestClient,
                                                                        loop: dict[str, Any]) -> None:
    a, b, c, d = _chain(client, loop)
    assert act(client, loop["op"], c["id"], "unmerge", reason="不是同一盏灯").status_code == 200
    assert [(_get(client, loop, x)["report_count"], _get(client, loop, x)["priority"]) for x in (a, b)] == [
        (3, 1), (2, 1)]
    assert [m["id"] for m in _get(client, loop, a)["merged_reports"]] == [b["id"], d["id"]]
    assert client.get(f"/api/v1/public/cases/{c['tracking_code']}").json()["status"] == "reported"
    assert act(client, loop["op"], b["id"], "unmerge", reason="不是同一处").status_code == 200
    assert [(_get(client, loop, x)["report_count"], _get(client, loop, x)["priority"]) for x in (a, b)] == [
        (1, 0), (2, 1)]
    assert _get(client, loop, a)["merged_reports"] == []
    assert _get(client, loop, d)["follows"] == b["id"]
    act(client, loop["op"], b["id"], "register")
    assert client.get(f"/api/v1/public/cases/{d['tracking_code']}").json()["status"] == "registered"



def test_open311_names_the_case_a_merged_report_follows_at_the_end_of_the_chain(client: TestClient,
                                                                               loop: dict[str, Any]) -> None:
    first = _case(client, loop["op"], "路灯不亮", lon=121.005, lat=31.05)
    second = _case(client, loop["op"], "这里晚上没有灯", lon=121.025, lat=31.08)
    photo = client.post("/api/v1/cases", headers=loop["op"], json={"channel": "citizen_photo", "title": "路灯坏了",
                                                                   "lon": 121.045, "lat": 31.11}).json()
    act(client, loop["op"], photo["id"], "merge", reason="同一路灯", data={"primary": second["id"]})
    act(client, loop["op"], second["id"], "merge", reason="同一路灯", data={"primary": first["id"]})
    request = client.get(f"/open311/v2/requests/{photo['id']}.json").json()[0]
    assert (request["status"], request["status_notes"]) == (
        "closed", f"a duplicate of request {first['id']}, which is followed instead")


def test_the_timeline_names_the_other_case_of_each_merge_and_unmerge_by_its_tracking_code(
        client: TestClient, loop: dict[str, Any], engine: Engine) -> None:
    """Staff read the cases a merged report went into and out of by their tracking codes (the ids are for
    links only), read in one query however many merges the timeline holds."""
    a, b, c, _ = _chain(client, loop)
    act(client, loop["op"], c["id"], "unmerge", reason="不是同一盏灯")
    act(client, loop["op"], c["id"], "merge", reason="同一路口", data={"primary": a["id"]})
    answers: list[dict[str, Any]] = []
    statements = statements_during(engine, lambda: answers.append(_get(client, loop, c)))
    (shown,) = answers
    named = [(e["action"], e["primary_case"]) for e in shown["timeline"] if e["action"] in ("merge", "unmerge")]
    assert named == [("merge", {"id": b["id"], "tracking_code": b["tracking_code"]}),
                     ("unmerge", {"id": b["id"], "tracking_code": b["tracking_code"]}),
                     ("merge", {"id": a["id"], "tracking_code": a["tracking_code"]})]
    assert all(e["primary_case"] is None for e in shown["timeline"] if e["action"] not in ("merge", "unmerge"))
    assert (shown["follows_tracking_code"], shown["duplicate_of_tracking_code"]) == (a["tracking_code"],) * 2
    assert len([s for s in statements if s.lstrip().startswith("SELECT cases.id, cases.tracking_code \n")]) == 1
    # a case merged into one merged in turn names both: the one it went into and the one it follows
    d = _get(client, loop, _chain(client, loop)[2])
    assert (d["duplicate_of_tracking_code"], d["follows_tracking_code"]) == (
        _get(client, loop, {"id": d["duplicate_of"]})["tracking_code"],
        _get(client, loop, {"id": d["follows"]})["tracking_code"])
