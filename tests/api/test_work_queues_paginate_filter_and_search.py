"""Work queues a page at a time: following `next_cursor` visits every case in the queue exactly once,
in the order asked for (newest, oldest, deadline soonest, priority or reports highest, ties by id),
whatever the page size, with the queue, status, channel and Chinese text filters applied on every
page — on SQLite and PostgreSQL alike; a cursor serves only its own sort; and each role's queue holds
what that role must do."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.orm import Session

from cityops.cases.models import CaseDeadline
from tests.api.conftest import act


def pages(client: TestClient, headers: dict[str, str], limit: int, **params: Any) -> list[list[int]]:
    seen, cursor = [], None
    while True:
        answer = client.get("/api/v1/cases", headers=headers,
                            params={**params, "limit": limit, **({"cursor": cursor} if cursor else {})})
        assert answer.status_code == 200, answer.text
        page = answer.json()
        seen.append([c["id"] for c in page["items"]])
        assert len(page["items"]) <= limit
        cursor = page["next_cursor"]
        if cursor is None:
            return seen
        assert len(seen) < 50


def report(client: TestClient, headers: dict[str, str], title: str, n: int, **extra: Any) -> int:
    # 0.004° (about 400 m) apart, so that no report is taken for a duplicate of another.
    answer = client.post("/api/v1/cases", headers=headers, json={
        "channel": "hotline_12345", "title": title, "lon": 121.002 + 0.004 * n, "lat": 31.05, **extra})
    assert answer.status_code == 201, answer.text
    return answer.json()["id"]


def test_following_the_cursor_visits_every_case_once_newest_first(client: TestClient,
                                                                  loop: dict[str, Any]) -> None:
    titles = ["井盖缺失", "路灯不亮", "人行道井盖破损", "垃圾满溢", "井盖异响", "树木倒伏", "窨井盖松动"]
    ids = [report(client, loop["op"], title, n) for n, title in enumerate(titles)]
    newest_first = sorted(ids, reverse=True)
    for limit in (1, 2, 3, 7, 50):
        visited = pages(client, loop["op"], limit)
        assert [i for page in visited for i in page] == newest_first, limit
    with_manhole = [i for i, t in zip(ids, titles, strict=True) if "井盖" in t]
    for limit in (1, 2, 10):
        assert [i for page in pages(client, loop["op"], limit, q="井盖") for i in page] == sorted(
            with_manhole, reverse=True)
    assert [i for page in pages(client, loop["op"], 2, q="人行道井盖") for i in page] == [ids[2]]
    for case_id in ids[:3]:
        act(client, loop["op"], case_id, "register")
    registered = [i for page in pages(client, loop["op"], 2, queue="to_dispatch") for i in page]
    assert registered == sorted(ids[:3], reverse=True)
    both = [i for page in pages(client, loop["op"], 1, queue="to_dispatch", q="井盖") for i in page]
    assert both == sorted([ids[0], ids[2]], reverse=True)
    assert [i for page in pages(client, loop["op"], 3, status="reported", channel="hotline_12345")
            for i in page] == sorted(ids[3:], reverse=True)
    assert pages(client, loop["op"], 3, channel="grid_patrol") == [[]]
    assert pages(client, loop["other.op"], 3) == [[]]  # nothing of the street next door


def test_each_role_finds_its_own_work_in_its_queue(client: TestClient, loop: dict[str, Any]) -> None:
    waiting, to_send, sent, working, to_check = (report(client, loop["op"], title, n) for n, title in enumerate(
        ("待立案", "待派遣", "待签收", "处置中", "待核查")))
    for case_id in (to_send, sent, working, to_check):
        act(client, loop["op"], case_id, "register")
    for case_id in (sent, working, to_check):
        act(client, loop["disp"], case_id, "dispatch", data={"lead": "greening-990101"})
    for case_id in (working, to_check):
        act(client, loop["greener"], case_id, "acknowledge")
    act(client, loop["greener"], to_check, "report", reason="已处理")

    def queue(user: str, name: str) -> list[int]:
        return [i for page in pages(client, loop[user], 2, queue=name) for i in page]

    assert queue("op", "to_register") == [waiting]
    assert queue("disp", "to_dispatch") == [to_send]
    assert queue("greener", "to_acknowledge") == [sent]
    assert queue("greener", "to_handle") == [working]
    assert queue("insp", "to_verify") == [to_check]
    assert queue("other.op", "to_register") == []
    bad = client.get("/api/v1/cases", headers=loop["op"], params={"queue": "to_teleport"})
    assert bad.status_code == 422 and bad.headers["content-type"] == "application/problem+json"
    assert client.get("/api/v1/cases", headers=loop["op"], params={"cursor": ""}).status_code == 422


def flat(client: TestClient, headers: dict[str, str], limit: int, **params: Any) -> list[int]:
    visited = [i for page in pages(client, headers, limit, **params) for i in page]
    assert len(visited) == len(set(visited)), visited
    return visited


def _open_deadline(detail: dict[str, Any]) -> str | None:
    return next((d["due_at"] for d in detail["deadlines"] if d["met_at"] is None and d["step"] != "report_in"), None)


def test_each_sort_pages_through_every_case_once_in_its_order(client: TestClient, loop: dict[str, Any]) -> None:
    ids = [report(client, loop["op"], title, n) for n, title in enumerate(
        ("井盖缺失", "路灯不亮", "垃圾满溢", "树木倒伏", "窨井盖松动", "道路积水", "广告牌松动", "人行道破损",
         "噪声扰民"))]
    for case_id in ids[1:5]:  # a dispatch step of 1 working hour instead of registration's 2
        act(client, loop["op"], case_id, "register")
    act(client, loop["op"], ids[5], "reject", reason="不属于受理范围")  # no running deadline
    act(client, loop["disp"], ids[4], "defer", reason="等待预算")  # its clock stopped
    for merged in ids[6:]:  # three more reports of the first case, one of the second
        act(client, loop["op"], merged, "merge", reason="重复", data={"primary": ids[0]})
    act(client, loop["op"], ids[3], "merge", reason="重复", data={"primary": ids[1]})
    cases = {i: client.get(f"/api/v1/cases/{i}", headers=loop["op"]).json() for i in ids}
    due = {i: _open_deadline(c) for i, c in cases.items()}
    assert None in due.values() and len({d for d in due.values() if d}) >= 2
    expected = {
        "newest": sorted(ids, reverse=True),
        "oldest": sorted(ids),
        "deadline": sorted(ids, key=lambda i: (due[i] is None, due[i] or "", i)),
        "priority": sorted(ids, key=lambda i: (-cases[i]["priority"], i)),
        "reports": sorted(ids, key=lambda i: (-cases[i]["report_count"], i)),
    }
    assert expected["reports"][:2] == [ids[0], ids[1]] and cases[ids[0]]["priority"] > cases[ids[1]]["priority"] > 0
    for sort, order in expected.items():
        for limit in (1, 2, 4, 50):
            assert flat(client, loop["op"], limit, sort=sort) == order, (sort, limit)
    registered = [i for i in expected["deadline"] if cases[i]["status"] == "registered"]
    assert flat(client, loop["op"], 1, sort="deadline", queue="to_dispatch") == registered


def test_each_queue_item_shows_its_running_step_and_when_it_is_due(client: TestClient, loop: dict[str, Any],
                                                                   session: Session) -> None:
    waiting, registered, rejected = (report(client, loop["op"], title, n)
                                     for n, title in enumerate(("井盖缺失", "路灯不亮", "垃圾满溢")))
    act(client, loop["op"], registered, "register")
    act(client, loop["op"], rejected, "reject", reason="不属于受理范围")
    items = {item["id"]: item for item in client.get("/api/v1/cases", headers=loop["op"]).json()["items"]}
    for case_id, step in ((waiting, "register"), (registered, "dispatch")):
        detail = client.get(f"/api/v1/cases/{case_id}", headers=loop["op"]).json()
        assert (items[case_id]["step"], items[case_id]["step_due_at"], items[case_id]["overdue"]) == (
            step, _open_deadline(detail), False)
    assert (items[rejected]["step"], items[rejected]["step_due_at"], items[rejected]["overdue"]) == (None, None, False)
    session.execute(update(CaseDeadline).where(CaseDeadline.case_id == waiting, CaseDeadline.met_at.is_(None))
                    .values(due_at=datetime.now(UTC) - timedelta(minutes=1)))
    late = client.get("/api/v1/cases", headers=loop["op"], params={"queue": "to_register"}).json()["items"]
    assert [(item["id"], item["overdue"]) for item in late] == [(waiting, True)]


def test_a_cursor_holds_its_place_while_new_cases_arrive(client: TestClient, loop: dict[str, Any]) -> None:
    ids = [report(client, loop["op"], f"路灯不亮{n}", n) for n in range(4)]
    first = client.get("/api/v1/cases", headers=loop["op"], params={"sort": "oldest", "limit": 2}).json()
    newer = report(client, loop["op"], "又一处路灯不亮", 5)
    rest = client.get("/api/v1/cases", headers=loop["op"], params={
        "sort": "oldest", "limit": 50, "cursor": first["next_cursor"]}).json()
    assert [c["id"] for c in first["items"] + rest["items"]] == [*ids, newer]


@pytest.mark.parametrize(("params", "field"), [
    ({"sort": "loudest"}, "sort"),
    ({"sort": "deadline", "cursor": "not-a-cursor"}, "cursor"),
    ({"sort": "priority", "cursor": base64.urlsafe_b64encode(b'{"o":"priority","k":"high","i":3}').decode()},
     "cursor"),
])
def test_an_unknown_sort_or_a_cursor_not_given_out_is_refused(client: TestClient, loop: dict[str, Any],
                                                               params: dict[str, str], field: str) -> None:
    report(client, loop["op"], "井盖缺失", 0)
    refused = client.get("/api/v1/cases", headers=loop["op"], params=params)
    assert refused.status_code == 422 and refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["field"] == field, refused.text


def test_a_cursor_from_another_sort_is_refused(client: TestClient, loop: dict[str, Any]) -> None:
    for n in range(3):
        report(client, loop["op"], f"井盖缺失{n}", n)
    cursor = client.get("/api/v1/cases", headers=loop["op"], params={"sort": "deadline", "limit": 1}).json()[
        "next_cursor"]
    refused = client.get("/api/v1/cases", headers=loop["op"], params={"sort": "reports", "cursor": cursor})
    assert refused.status_code == 422 and refused.json()["field"] == "cursor", refused.text
    assert "deadline" in refused.json()["detail"]
