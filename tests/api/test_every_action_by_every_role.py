"""Every lifecycle action, over the API, by every role — in the case's jurisdiction and outside it.

The expectation is read off the transition table: a role the table names may take the action on a
case in one of its source statuses, and the case offers it that action (``available_actions``); any
other role is refused with 403 ``role_not_allowed``; the same role one street over is refused as if
the case did not exist (404). A refused move changes nothing: not the case's status or version, nor
its timeline."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cityops.cases.lifecycle import TABLE, Action
from cityops.models import CaseEvent
from cityops.org import service as org_service
from tests.api.conftest import OTHER_STREET, STREET, act
from tests.factories import login, make_user

LATER = "2099-01-01T00:00:00+08:00"
STAFF = ("operator", "dispatcher", "inspector", "handler", "leader", "administrator")
# What each action needs besides the actor (a valid request for a role the table allows).
BODIES: dict[Action, dict[str, Any]] = {
    Action.register: {},
    Action.reject: {"reason": "不属于城市管理范围"},
    Action.merge: {"reason": "重复", "data": {"primary": "PRIMARY"}},
    Action.unmerge: {"reason": "不是同一问题"},
    Action.dispatch: {"data": {"lead": "greening-990101"}},
    Action.acknowledge: {},
    Action.return_: {"reason": "不属于本部门"},
    Action.reassign: {"reason": "改派", "data": {"lead": "greening-990101"}},
    Action.report: {"reason": "已清运"},
    Action.verify: {"data": {"passed": True}},
    Action.close: {"reason": "现场已解决"},
    Action.reopen: {"reason": "市民反映问题复现"},
    Action.request_extension: {"reason": "需要采购", "data": {"until": LATER}},
    Action.approve_extension: {},
    Action.deny_extension: {"reason": "不予延期"},
    Action.defer: {"reason": "等待工程"},
    Action.resume: {},
    Action.summon: {"reason": "吹哨", "data": {"departments": {"greening-990101": LATER}}},
    Action.report_in: {},
}
# The status each action is tried from, and what must be true of the case first.
SETUP: dict[Action, list[tuple[str, str, dict[str, Any]]]] = {
    Action.register: [],
    Action.reject: [],
    Action.merge: [],
    Action.unmerge: [("op", "merge", BODIES[Action.merge])],
    Action.dispatch: [("op", "register", {})],
    Action.acknowledge: [("op", "register", {}), ("disp", "dispatch", BODIES[Action.dispatch])],
}
SETUP[Action.return_] = SETUP[Action.acknowledge] + [("greener", "acknowledge", {})]
SETUP[Action.reassign] = SETUP[Action.return_] + [("greener", "return", BODIES[Action.return_])]
SETUP[Action.report] = SETUP[Action.return_]
SETUP[Action.request_extension] = SETUP[Action.return_]
SETUP[Action.approve_extension] = SETUP[Action.return_] + [("greener", "request_extension",
                                                            BODIES[Action.request_extension])]
SETUP[Action.deny_extension] = SETUP[Action.approve_extension]
SETUP[Action.defer] = SETUP[Action.dispatch]
SETUP[Action.resume] = SETUP[Action.dispatch] + [("disp", "defer", BODIES[Action.defer])]
SETUP[Action.summon] = SETUP[Action.dispatch]
SETUP[Action.report_in] = SETUP[Action.dispatch] + [("op", "summon", BODIES[Action.summon])]
SETUP[Action.verify] = SETUP[Action.return_] + [("greener", "report", BODIES[Action.report])]
SETUP[Action.close] = SETUP[Action.verify]
SETUP[Action.reopen] = SETUP[Action.verify] + [("insp", "verify", BODIES[Action.verify])]
# Places in the street 0.003° (about 300 m) apart; a case and its primary 0.0015° apart.
SPOTS = itertools.product((121.0005 + 0.003 * i for i in range(33)), (31.005 + 0.003 * j for j in range(60)))
ACTIONS = [a for a in Action if a not in (Action.intake, Action.rate)]


@pytest.fixture
def people(client: TestClient, loop: dict[str, Any], session: Session) -> dict[str, dict[str, str]]:
    """One user of every staff role in the street, and one of every role in the street next door."""
    make_user(session, username="lead", roles=["leader"], area_code=STREET)
    make_user(session, username="admin", roles=["administrator"], area_code=STREET)
    for role in STAFF:
        make_user(session, username=f"other.{role}", roles=[role], area_code=OTHER_STREET,
                  department_code="street-99010102" if role == "handler" else None)
    inside = {"operator": loop["op"], "dispatcher": loop["disp"], "inspector": loop["insp"],
              "handler": loop["greener"], "leader": login(client, "lead"), "administrator": login(client, "admin")}
    outside = {role: login(client, f"other.{role}") for role in STAFF}
    return {"inside": inside, "outside": outside, **loop}


def _body(action: Action, primary: int) -> dict[str, Any]:
    body = {k: (dict(v) if isinstance(v, dict) else v) for k, v in BODIES[action].items()}
    if action is Action.merge:
        body["data"] = {"primary": primary}
    return body


def _case_ready_for(client: TestClient, people: dict[str, Any], action: Action) -> tuple[int, int]:
    """A case in a status ``action`` may start from (and a primary case to merge into), each at a
    place of its own so that no report is taken for a duplicate of another."""
    lon, lat = next(SPOTS)
    primary = client.post("/api/v1/cases", headers=people["op"], json={
        "channel": "hotline_12345", "title": "主案件", "lon": lon, "lat": lat}).json()["id"]
    case = client.post("/api/v1/cases", headers=people["op"], json={
        "channel": "hotline_12345", "title": "人行道上暴露垃圾", "category_code": "E0102", "lon": lon + 0.0015,
        "lat": lat})
    assert case.status_code == 201, case.text
    case_id = case.json()["id"]
    for user, step, body in SETUP[action]:
        body = _body(Action(step), primary) if step == "merge" else body
        done = act(client, people[user], case_id, step, **body)
        assert done.status_code == 200, (step, done.text)
    return case_id, primary


def _snapshot(client: TestClient, session: Session, headers: dict[str, str], case_id: int) -> tuple[Any, ...]:
    case = client.get(f"/api/v1/cases/{case_id}", headers=headers).json()
    events = session.scalar(select(func.count()).select_from(CaseEvent).where(CaseEvent.case_id == case_id))
    return case["status"], case["version"], case["deferred"], events, [a["status"] for a in case["assignments"]]


EXPECTED: dict[Action, Callable[[dict[str, Any]], bool]] = {
    Action.register: lambda c: c["status"] == "registered",
    Action.reject: lambda c: c["status"] == "rejected",
    Action.merge: lambda c: c["status"] == "merged" and c["duplicate_of"] is not None,
    Action.unmerge: lambda c: c["status"] == "reported" and c["duplicate_of"] is None,
    Action.dispatch: lambda c: c["status"] == "dispatched" and c["assignments"][0]["status"] == "dispatched",
    Action.acknowledge: lambda c: c["status"] == "in_progress" and c["assignments"][0]["status"] == "in_progress",
    Action.return_: lambda c: c["status"] == "returned" and c["return_count"] == 1,
    Action.reassign: lambda c: c["status"] == "dispatched" and c["assignments"][0]["status"] == "dispatched",
    Action.report: lambda c: c["status"] == "handled" and c["assignments"][0]["status"] == "reported",
    Action.verify: lambda c: c["status"] == "closed" and c["closed_at"] is not None,
    Action.close: lambda c: c["status"] == "closed" and c["closed_at"] is not None,
    Action.reopen: lambda c: c["status"] == "in_progress" and c["closed_at"] is None,
    Action.request_extension: lambda c: c["status"] == "in_progress" and c["timeline"][-1]["data"]["until"] == LATER,
    Action.approve_extension: lambda c: c["deadlines"][-1]["original_due_at"] is not None,
    Action.deny_extension: lambda c: c["deadlines"][-1]["original_due_at"] is None,
    Action.defer: lambda c: c["deferred"] is True,
    Action.resume: lambda c: c["deferred"] is False,
    Action.summon: lambda c: c["timeline"][-1]["data"]["departments"] == {"greening-990101": LATER},
    Action.report_in: lambda c: c["timeline"][-1]["actor_department"] == "greening-990101",
}


def test_every_action_is_taken_only_by_its_roles_and_only_in_the_jurisdiction(
        client: TestClient, people: dict[str, Any], session: Session) -> None:
    for action in ACTIONS:
        rule = TABLE[action]
        allowed = [role for role in STAFF if role in rule.roles]
        assert allowed, f"no staff role may {action}"
        for role in STAFF:
            case_id, primary = _case_ready_for(client, people, action)
            before = _snapshot(client, session, people["op"], case_id)
            offered = client.get(f"/api/v1/cases/{case_id}", headers=people["inside"][role]).json()
            assert (action.value in offered["available_actions"]) == (role in rule.roles), (role, action, offered)
            if role not in rule.roles:
                refused = act(client, people["inside"][role], case_id, action.value, **_body(action, primary))
                assert refused.status_code == 403, (role, action, refused.text)
                assert refused.headers["content-type"] == "application/problem+json"
                assert refused.json()["code"] == "role_not_allowed" and refused.json()["role"] == role
                assert _snapshot(client, session, people["op"], case_id) == before, (role, action)
                continue
            neighbour = act(client, people["outside"][role], case_id, action.value, **_body(action, primary))
            assert neighbour.status_code == 404, (role, action, neighbour.text)
            assert neighbour.json()["code"] == "unknown_case"
            assert _snapshot(client, session, people["op"], case_id) == before, (role, action)
            taken = act(client, people["inside"][role], case_id, action.value, **_body(action, primary))
            assert taken.status_code == 200, (role, action, taken.text)
            last = taken.json()["timeline"][-1]
            assert (last["action"], last["actor_role"], last["version"]) == (action.value, role, before[1] + 1)
            assert last["from_status"] == before[0] and last["actor_name"] != "CityOps"
            assert EXPECTED[action](taken.json()), (role, action, taken.json())


def test_an_api_client_takes_only_the_actions_of_the_system_role(client: TestClient, people: dict[str, Any],
                                                                  session: Session) -> None:
    _, token = org_service.create_api_client(session, name="dept-system", kind="system", area_code=STREET,
                                             roles=["system"], origin="test")
    system = {"Authorization": f"Bearer {token}"}
    for action in (Action.register, Action.dispatch, Action.reject, Action.verify, Action.close):
        case_id, primary = _case_ready_for(client, people, action)
        answer = act(client, system, case_id, action.value, **_body(action, primary))
        if "system" in TABLE[action].roles:
            assert answer.status_code == 200, answer.text
            assert answer.json()["timeline"][-1]["actor_kind"] == "client"
            assert EXPECTED[action](answer.json())
        else:
            assert answer.status_code == 403 and answer.json()["code"] == "role_not_allowed", (action, answer.text)
