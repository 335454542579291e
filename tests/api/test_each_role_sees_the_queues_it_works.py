"""Each caller's work queues (GET /cases/queues): the queues whose next step one of its roles may take,
its department's, then the shared ones, each counted as GET /cases lists it. A summoned department
(吹哨报到) finds the summons in its ``summoned`` queue, deadline soonest first, until it reports in;
no other department, and nobody without a department, sees it there."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from cityops.org import service as org_service
from tests.api.conftest import IN_STREET, act
from tests.factories import login, make_user

SHARED = ["overdue", "supervised", "all"]


@pytest.fixture
def summons(client: TestClient, loop: dict[str, Any], session: Session) -> dict[str, Any]:
    """The loop with a district water department and its handler, and three registered cases in the
    street, 400 m apart (no duplicates)."""
    org_service.create_department(session, code="water-990101", name="水务", level="district", area_code="990101",
                                  kind="water", origin="test")
    make_user(session, username="waterman", roles=["handler"], area_code="990101", department_code="water-990101")
    cases = []
    for n, title in enumerate(("道路积水", "窨井冒溢", "积水倒灌")):
        answer = client.post("/api/v1/cases", headers=loop["op"], json={
            "channel": "hotline_12345", "title": title, "lon": IN_STREET["lon"] - 0.004 * n, "lat": IN_STREET["lat"]})
        assert answer.status_code == 201, answer.text
        cases.append(answer.json()["id"])
        assert act(client, loop["op"], cases[-1], "register").status_code == 200
    return loop | {"water": login(client, "waterman"), "cases": cases}


def summon(client: TestClient, headers: dict[str, str], case_id: int, until: datetime,  # noqa: ANN201
           department: str = "water-990101"):
    return act(client, headers, case_id, "summon", reason="积水严重，吹哨",
               data={"departments": {department: until.isoformat()}})


def queue(client: TestClient, headers: dict[str, str], name: str, **params: Any) -> list[dict[str, Any]]:
    answer = client.get("/api/v1/cases", headers=headers, params={"queue": name, **params})
    assert answer.status_code == 200, answer.text
    return answer.json()["items"]


def queues(client: TestClient, headers: dict[str, str]) -> dict[str, int | None]:
    answer = client.get("/api/v1/cases/queues", headers=headers)
    assert answer.status_code == 200, answer.text
    return {q["name"]: q["count"] for q in answer.json()}


def test_a_summoned_department_finds_the_summons_in_its_queue_until_it_reports_in(
        client: TestClient, summons: dict[str, Any]) -> None:
    first, second, unsummoned = summons["cases"]
    now = datetime.now(UTC).replace(microsecond=0)
    later, sooner = now + timedelta(hours=6), now + timedelta(hours=2)
    assert summon(client, summons["disp"], first, later).status_code == 200
    assert summon(client, summons["disp"], second, sooner).status_code == 200

    listed = queue(client, summons["water"], "summoned", sort="deadline")
    assert [c["id"] for c in listed] == [second, first]  # the report-in deadline soonest first
    assert [(c["step"], datetime.fromisoformat(c["step_due_at"])) for c in listed] == [
        ("report_in", sooner), ("report_in", later)]
    one_by_one = [queue(client, summons["water"], "summoned", sort="deadline", limit=1)[0]["id"]]
    cursor = client.get("/api/v1/cases", headers=summons["water"], params={
        "queue": "summoned", "sort": "deadline", "limit": 1}).json()["next_cursor"]
    one_by_one += [c["id"] for c in queue(client, summons["water"], "summoned", sort="deadline", limit=1,
                                          cursor=cursor)]
    assert one_by_one == [second, first]
    assert queues(client, summons["water"])["summoned"] == 2
    assert unsummoned not in [c["id"] for c in queue(client, summons["water"], "department")]

    assert act(client, summons["water"], second, "report_in").status_code == 200
    assert [c["id"] for c in queue(client, summons["water"], "summoned")] == [first]
    counted = queues(client, summons["water"])
    assert (counted["summoned"], counted["department"]) == (1, 2)  # reported in, still its case
    assert act(client, summons["water"], first, "report_in").status_code == 200
    assert queue(client, summons["water"], "summoned") == []
    assert queues(client, summons["water"])["summoned"] == 0


def test_no_other_department_nor_anyone_without_one_sees_the_summons(
        client: TestClient, summons: dict[str, Any]) -> None:
    first = summons["cases"][0]
    assert summon(client, summons["disp"], first, datetime.now(UTC) + timedelta(hours=2)).status_code == 200
    assert queue(client, summons["greener"], "summoned") == []
    assert queues(client, summons["greener"])["summoned"] == 0
    assert first not in [c["id"] for c in queue(client, summons["greener"], "department")]
    for centre in ("op", "disp", "other.op"):
        assert queue(client, summons[centre], "summoned") == []
        assert "summoned" not in queues(client, summons[centre])
        for order in ("deadline", "newest"):  # soonest deadline first reads the deadlines of no department
            answer = client.get("/api/v1/cases", params={"queue": "summoned", "sort": order}, headers=summons[centre])
            assert (answer.status_code, answer.json()["items"]) == (200, [])


def test_a_department_serving_elsewhere_cannot_be_summoned_and_no_queue_lists_it(
        client: TestClient, summons: dict[str, Any], session: Session) -> None:
    make_user(session, username="next.street", roles=["handler"], area_code="99010102",
              department_code="street-99010102")
    next_street = login(client, "next.street")
    first = summons["cases"][0]
    answer = summon(client, summons["disp"], first, datetime.now(UTC) + timedelta(hours=2),
                    department="street-99010102")
    assert answer.status_code == 409 and answer.json()["code"] == "department_elsewhere", answer.text
    assert queue(client, next_street, "summoned") == []
    assert queues(client, next_street)["summoned"] == 0
    assert client.get(f"/api/v1/cases/{first}", headers=next_street).status_code == 404
    # the refused summons left nothing behind: the street's own water department is summoned afresh
    assert summon(client, summons["disp"], first, datetime.now(UTC) + timedelta(hours=2)).status_code == 200
    assert [c["id"] for c in queue(client, summons["water"], "summoned")] == [first]


def test_a_finished_case_chases_no_summoned_department(client: TestClient, summons: dict[str, Any]) -> None:
    first = summons["cases"][0]
    assert summon(client, summons["disp"], first, datetime.now(UTC) + timedelta(hours=2)).status_code == 200
    assert act(client, summons["op"], first, "close", reason="电话答复，已办结").status_code == 200
    assert queue(client, summons["water"], "summoned") == []
    assert [c["id"] for c in queue(client, summons["water"], "department")] == [first]


def test_each_role_sees_the_queues_its_steps_work(client: TestClient, summons: dict[str, Any],
                                                  session: Session) -> None:
    make_user(session, username="leader", roles=["leader"], area_code="990101")
    make_user(session, username="op.insp", roles=["operator", "inspector"], area_code="99010101")
    seen = {name: list(queues(client, login(client, name) if name in {"leader", "op.insp"} else summons[name]))
            for name in ("op", "disp", "insp", "greener", "water", "leader", "op.insp")}
    assert seen == {
        "op": ["to_register", "to_verify", *SHARED],
        "disp": ["to_dispatch", "to_register", "to_verify", *SHARED],  # its own work first
        "insp": ["to_verify", *SHARED],
        "greener": ["to_acknowledge", "to_handle", "summoned", "department", *SHARED],
        "water": ["to_acknowledge", "to_handle", "summoned", "department", *SHARED],
        "leader": SHARED,
        "op.insp": ["to_register", "to_verify", *SHARED],  # the union, in the loop's order
    }


def test_each_queue_counts_what_its_list_holds(client: TestClient, summons: dict[str, Any]) -> None:
    first, second, _ = summons["cases"]
    act(client, summons["disp"], first, "dispatch", data={"lead": "water-990101"})
    summon(client, summons["disp"], second, datetime.now(UTC) + timedelta(hours=2))
    for who in ("op", "disp", "water", "greener"):
        answer = client.get("/api/v1/cases/queues", headers=summons[who]).json()
        for shown in answer:
            if shown["name"] == "all":
                assert shown["count"] is None
                continue
            assert shown["count"] == len(queue(client, summons[who], shown["name"], limit=200)), (who, shown)
    water = {q["name"]: q for q in client.get("/api/v1/cases/queues", headers=summons["water"]).json()}
    assert (water["to_acknowledge"]["count"], water["summoned"]["count"], water["department"]["count"]) == (1, 1, 2)
    assert water["summoned"]["sort"] == "deadline" and water["to_acknowledge"]["sort"] == "newest"


def test_an_unknown_queue_is_refused(client: TestClient, summons: dict[str, Any]) -> None:
    answer = client.get("/api/v1/cases", headers=summons["water"], params={"queue": "summons"})
    assert answer.status_code == 422 and "queue" in answer.text
    assert client.get("/api/v1/cases/queues").status_code == 401
