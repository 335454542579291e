"""Joint handling (联办) in parallel and in series, summons (吹哨报到) and extensions and deferrals, all
through the API as the departments and the centre would use them."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from cityops.models import Case
from cityops.notify import service as notify
from cityops.org import service as org_service
from tests.api.conftest import act, registered
from tests.factories import login, make_user

LATER = "2099-01-01T00:00:00+08:00"


def parts_of(detail: dict[str, Any]) -> dict[str, str]:
    return {a["department_code"]: a["status"] for a in detail["assignments"]}


def parts(answer) -> dict[str, str]:  # noqa: ANN001
    return parts_of(answer.json())


def test_in_parallel_every_department_must_report(client: TestClient, joint: dict[str, Any]) -> None:
    case_id = registered(client, joint)
    sent = act(client, joint["disp"], case_id, "dispatch", data={
        "lead": "greening-990101", "assisting": ["water-990101"], "mode": "parallel"})
    assert parts(sent) == {"greening-990101": "dispatched", "water-990101": "dispatched"}
    act(client, joint["greener"], case_id, "acknowledge")
    act(client, joint["water"], case_id, "acknowledge")
    first = act(client, joint["greener"], case_id, "report", reason="树枝已清")
    assert first.json()["status"] == "in_progress" and parts(first)["water-990101"] == "in_progress"
    twice = act(client, joint["greener"], case_id, "report", reason="again")
    assert twice.status_code == 409 and twice.json()["assignment_status"] == "reported"
    last = act(client, joint["water"], case_id, "report", reason="积水已排")
    assert last.json()["status"] == "handled"
    rework = act(client, joint["insp"], case_id, "verify", reason="仍有积水", data={"passed": False})
    assert rework.json()["status"] == "in_progress"
    assert parts(rework) == {"greening-990101": "in_progress", "water-990101": "reported"}  # the lead answers


def test_in_series_each_department_waits_for_the_one_before(client: TestClient, joint: dict[str, Any]) -> None:
    case_id = registered(client, joint)
    sent = act(client, joint["disp"], case_id, "dispatch", data={
        "lead": "greening-990101", "assisting": ["water-990101"], "mode": "serial"})
    assert parts(sent) == {"greening-990101": "dispatched", "water-990101": "waiting"}
    early = act(client, joint["water"], case_id, "acknowledge")
    assert early.status_code == 409 and early.json()["assignment_status"] == "waiting"
    act(client, joint["greener"], case_id, "acknowledge")
    handed_on = act(client, joint["greener"], case_id, "report", reason="先修剪树木")
    assert handed_on.json()["status"] == "in_progress"
    assert handed_on.json()["timeline"][-1]["data"]["next_department"] == "water-990101"
    assert parts(handed_on) == {"greening-990101": "reported", "water-990101": "dispatched"}
    act(client, joint["water"], case_id, "acknowledge")
    assert act(client, joint["water"], case_id, "report", reason="再疏通").json()["status"] == "handled"


def to_acknowledge(client: TestClient, headers: dict[str, str]) -> list[int]:
    return [c["id"] for c in client.get("/api/v1/cases", params={"queue": "to_acknowledge"},
                                        headers=headers).json()["items"]]


@pytest.mark.parametrize("mode", ["parallel", "serial"])
def test_a_department_finds_its_part_to_acknowledge_once_another_has_started(
        client: TestClient, joint: dict[str, Any], mode: str) -> None:
    case_id = registered(client, joint)
    act(client, joint["disp"], case_id, "dispatch", data={
        "lead": "greening-990101", "assisting": ["water-990101"], "mode": mode})
    assert to_acknowledge(client, joint["water"]) == ([case_id] if mode == "parallel" else [])
    act(client, joint["greener"], case_id, "acknowledge")
    if mode == "serial":
        act(client, joint["greener"], case_id, "report", reason="先修剪树木")
    assert to_acknowledge(client, joint["water"]) == [case_id]


def queue(client: TestClient, headers: dict[str, str], name: str) -> list[int]:
    return [c["id"] for c in client.get("/api/v1/cases", params={"queue": name}, headers=headers).json()["items"]]


@pytest.mark.parametrize(("mode", "assisting_started"), [("parallel", False), ("parallel", True), ("serial", False)])
def test_when_the_lead_returns_the_assisting_part_is_withdrawn_until_the_centre_reassigns(
        client: TestClient, joint: dict[str, Any], mode: str, assisting_started: bool) -> None:
    case_id = registered(client, joint)
    act(client, joint["disp"], case_id, "dispatch", data={
        "lead": "greening-990101", "assisting": ["water-990101"], "mode": mode})
    act(client, joint["greener"], case_id, "acknowledge")
    if assisting_started:
        act(client, joint["water"], case_id, "acknowledge")
    assert queue(client, joint["water"], "to_handle" if assisting_started else "to_acknowledge") == (
        [case_id] if mode == "parallel" else [])
    returned = act(client, joint["greener"], case_id, "return", reason="不属本部门职责")
    assert returned.status_code == 200 and returned.json()["status"] == "returned"
    assert parts(returned) == {"greening-990101": "returned", "water-990101": "withdrawn"}
    assert returned.json()["timeline"][-1]["data"]["withdrawn"] == ["water-990101"]
    assert queue(client, joint["water"], "to_acknowledge") == queue(client, joint["water"], "to_handle") == []
    seen = client.get(f"/api/v1/cases/{case_id}", headers=joint["water"]).json()
    assert parts_of(seen) == parts(returned) and seen["available_actions"] == []
    for action in ("acknowledge", "report", "return"):
        refused = act(client, joint["water"], case_id, action, reason="仍要处置")
        assert refused.status_code == 409 and refused.json()["code"] == "illegal_transition"
        assert refused.json()["case_status"] == "returned" and f"cannot {action} a case that is returned" in \
            refused.json()["detail"]
    reassigned = act(client, joint["disp"], case_id, "reassign", reason="改由水务主办",
                     data={"lead": "water-990101", "assisting": ["greening-990101"], "mode": "serial"})
    assert reassigned.status_code == 200 and reassigned.json()["status"] == "dispatched"
    assert parts(reassigned) == {"water-990101": "dispatched", "greening-990101": "waiting"}  # a fresh roster
    assert [a["role"] for a in reassigned.json()["assignments"]] == ["lead", "assisting"]
    assert queue(client, joint["water"], "to_acknowledge") == [case_id]
    assert act(client, joint["water"], case_id, "acknowledge").json()["status"] == "in_progress"


def test_when_an_assisting_department_returns_a_reported_lead_stays_reported(
        client: TestClient, joint: dict[str, Any]) -> None:
    case_id = registered(client, joint)
    act(client, joint["disp"], case_id, "dispatch", data={
        "lead": "greening-990101", "assisting": ["water-990101"], "mode": "serial"})
    act(client, joint["greener"], case_id, "acknowledge")
    act(client, joint["greener"], case_id, "report", reason="先修剪树木")
    returned = act(client, joint["water"], case_id, "return", reason="管网不归水务")
    assert parts(returned) == {"greening-990101": "reported", "water-990101": "returned"}
    assert "withdrawn" not in returned.json()["timeline"][-1]["data"]  # nobody was left to withdraw


def test_a_summoned_department_reports_in_once_per_summons(client: TestClient, joint: dict[str, Any],
                                                           session: Session) -> None:
    case_id = registered(client, joint)
    no_deadline = act(client, joint["op"], case_id, "summon", reason="吹哨", data={"departments": {
        "water-990101": "2000-01-01T00:00:00+08:00"}})
    assert no_deadline.status_code == 422 and no_deadline.json()["field"] == "departments"
    summoned = act(client, joint["op"], case_id, "summon", reason="积水严重，吹哨", data={"departments": {
        "water-990101": LATER, "greening-990101": LATER}})
    assert summoned.status_code == 200 and summoned.json()["timeline"][-1]["reason"] == "积水严重，吹哨"
    again = act(client, joint["op"], case_id, "summon", reason="再吹", data={"departments": {"water-990101": LATER}})
    assert again.status_code == 409 and again.json()["code"] == "already_summoned"
    here = act(client, joint["water"], case_id, "report_in")
    assert here.status_code == 200 and here.json()["timeline"][-1]["actor_department"] == "water-990101"
    twice = act(client, joint["water"], case_id, "report_in")
    assert twice.status_code == 409 and twice.json()["code"] == "already_reported_in"
    org_service.create_department(session, code="traffic-990101", name="交通", level="district",
                                  area_code="990101", kind="traffic", origin="test")
    make_user(session, username="traffic", roles=["handler"], area_code="990101", department_code="traffic-990101")
    stranger = act(client, login(client, "traffic"), case_id, "report_in")
    assert stranger.status_code == 403 and stranger.json()["code"] == "not_summoned"
    assert act(client, joint["op"], case_id, "summon", reason="复查", data={
        "departments": {"water-990101": LATER}}).status_code == 200  # once reported in, it can be called again


def test_an_extension_and_a_deferral_move_the_deadline_on_the_record(client: TestClient,
                                                                     joint: dict[str, Any]) -> None:
    case_id = registered(client, joint)
    act(client, joint["disp"], case_id, "dispatch", data={"lead": "greening-990101"})
    working = act(client, joint["greener"], case_id, "acknowledge").json()
    due = working["deadlines"][-1]["due_at"]
    asked = act(client, joint["greener"], case_id, "request_extension", reason="需要采购苗木", data={"until": LATER})
    assert asked.status_code == 200
    pending = act(client, joint["greener"], case_id, "request_extension", reason="again", data={"until": LATER})
    assert pending.status_code == 409 and pending.json()["code"] == "extension_pending"
    granted = act(client, joint["disp"], case_id, "approve_extension").json()
    handle = granted["deadlines"][-1]
    assert (handle["step"], handle["original_due_at"]) == ("handle", due)
    assert datetime.fromisoformat(handle["due_at"]) == datetime.fromisoformat(LATER)
    request, approval = granted["timeline"][-2:]
    assert (request["action"], request["actor_department"], request["reason"], request["data"]["until"]) == (
        "request_extension", "greening-990101", "需要采购苗木", LATER)
    assert (approval["action"], approval["actor_name"]) == ("approve_extension", "disp")
    no_request = act(client, joint["disp"], case_id, "deny_extension", reason="x")
    assert no_request.status_code == 409 and no_request.json()["code"] == "no_extension_pending"
    deferred = act(client, joint["disp"], case_id, "defer", reason="等待汛期结束").json()
    assert deferred["deferred"] and deferred["deadlines"][-1]["met_at"] is not None
    assert client.get("/api/v1/cases", params={"queue": "overdue"}, headers=joint["op"]).json()["items"] == []
    resumed = act(client, joint["disp"], case_id, "resume").json()
    assert not resumed["deferred"] and resumed["deadlines"][-1]["met_at"] is None
    assert [d["step"] for d in resumed["deadlines"]][-2:] == ["handle", "handle"]


def inbox(client: TestClient, session: Session, headers: dict[str, str]) -> list[tuple[str, int]]:
    notify.fan_out(session, now=datetime.now(UTC))
    return [(n["topic"], n["case_id"]) for n in client.get("/api/v1/inbox", params={"unread": True},
                                                           headers=headers).json()["items"]]


def test_the_next_department_in_series_is_told_when_the_case_reaches_it(
        client: TestClient, joint: dict[str, Any], session: Session) -> None:
    case_id = registered(client, joint)
    act(client, joint["disp"], case_id, "dispatch", data={
        "lead": "greening-990101", "assisting": ["water-990101"], "mode": "serial"})
    assert inbox(client, session, joint["water"]) == []  # not its turn yet
    act(client, joint["greener"], case_id, "acknowledge")
    act(client, joint["greener"], case_id, "report", reason="先修剪树木")
    assert inbox(client, session, joint["water"]) == [("case.dispatched", case_id)]


def test_summoned_departments_are_told(client: TestClient, joint: dict[str, Any], session: Session) -> None:
    case_id = registered(client, joint)
    inbox(client, session, joint["greener"])
    act(client, joint["op"], case_id, "summon", reason="积水严重，吹哨", data={"departments": {"water-990101": LATER}})
    assert inbox(client, session, joint["water"]) == [("case.summoned", case_id)]
    assert inbox(client, session, joint["greener"]) == []  # not summoned


def told(client: TestClient, session: Session, headers: dict[str, str], topic: str) -> list[tuple[int, str]]:
    notify.fan_out(session, now=datetime.now(UTC))
    return [(n["case_id"], n["text"]) for n in client.get("/api/v1/inbox", headers=headers).json()["items"]
            if n["topic"] == topic]


def returns_hooked(session: Session) -> None:
    admin = make_user(session, username="city.admin", roles=["administrator"], area_code="990000")
    notify.create_webhook(session, name="12345", url="https://hotline.example.org/hook", topics=["case.returned"],
                          actor=org_service.principal_of_user(session, admin))


def posted(session: Session) -> list[dict[str, Any]]:
    notify.fan_out(session, now=datetime.now(UTC))
    return [json.loads(out.body) for out in notify.due_deliveries(session, now=datetime.now(UTC))]


@pytest.mark.parametrize("mode", ["parallel", "serial"])
def test_a_department_whose_part_a_return_withdraws_is_told_who_returned_the_case_and_why(
        client: TestClient, joint: dict[str, Any], session: Session, mode: str) -> None:
    returns_hooked(session)
    case_id = registered(client, joint)
    act(client, joint["disp"], case_id, "dispatch", data={
        "lead": "water-990101", "assisting": ["greening-990101"], "mode": mode})
    act(client, joint["water"], case_id, "acknowledge")
    assert told(client, session, joint["greener"], "case.returned") == []
    returned = act(client, joint["water"], case_id, "return", reason="管网不归水务")
    assert parts(returned) == {"water-990101": "returned", "greening-990101": "withdrawn"}
    code = session.get(Case, case_id).tracking_code  # lines name the case as the queues do
    assert told(client, session, joint["greener"], "case.returned") == [(
        case_id, f"案件 {code} 本部门的联办任务已撤回（水务 退回了案件，理由：管网不归水务），"
                 "请停止处置：道路积水")]
    assert told(client, session, joint["disp"], "case.returned") == [(case_id, f"案件 {code} 被退回：道路积水")]
    assert told(client, session, joint["water"], "case.returned") == []  # it returned the case itself
    [event] = posted(session)
    assert (event["topic"], event["case_id"]) == ("case.returned", case_id)
    assert {key: event["payload"][key] for key in ("returned_by", "withdrawn", "reason", "departments")} == {
        "returned_by": "water-990101", "withdrawn": ["greening-990101"], "reason": "管网不归水务", "departments": []}


def test_a_department_that_has_reported_is_not_told_of_a_later_return(
        client: TestClient, joint: dict[str, Any], session: Session) -> None:
    returns_hooked(session)
    case_id = registered(client, joint)
    act(client, joint["disp"], case_id, "dispatch", data={
        "lead": "greening-990101", "assisting": ["water-990101"], "mode": "serial"})
    act(client, joint["greener"], case_id, "acknowledge")
    act(client, joint["greener"], case_id, "report", reason="先修剪树木")
    act(client, joint["water"], case_id, "return", reason="管网不归水务")
    assert told(client, session, joint["greener"], "case.returned") == []  # its part stays reported
    code = session.get(Case, case_id).tracking_code
    assert told(client, session, joint["disp"], "case.returned") == [(case_id, f"案件 {code} 被退回：道路积水")]
    [event] = posted(session)
    assert (event["payload"]["returned_by"], event["payload"]["withdrawn"]) == ("water-990101", [])
