"""Work queues a page at a time: following `next_after` visits every case in the queue exactly once,
newest first, whatever the page size, with the queue, status, channel and Chinese text filters applied
on every page — on SQLite and PostgreSQL alike; and each role's queue holds what that role must do."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.api.conftest import act


def pages(client: TestClient, headers: dict[str, str], limit: int, **params: Any) -> list[list[int]]:
    seen, after = [], None
    while True:
        answer = client.get("/api/v1/cases", headers=headers,
                            params={**params, "limit": limit, **({"after": after} if after else {})})
        assert answer.status_code == 200, answer.text
        page = answer.json()
        seen.append([c["id"] for c in page["items"]])
        assert len(page["items"]) <= limit
        after = page["next_after"]
        if after is None:
            return seen
        assert after == page["items"][-1]["id"]
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
    assert client.get("/api/v1/cases", headers=loop["op"], params={"after": 0}).status_code == 422
