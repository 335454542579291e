"""A case's timeline names the staff who acted by their current display names, looked up once per case,
while each entry keeps the login name it recorded; an entry whose user is no longer on record (or whose
id now belongs to someone else) shows what was recorded. The system, citizens and API clients keep their
recorded names."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from cityops.org import service as org_service
from cityops.org.models import User
from tests.api.conftest import IN_STREET, STREET, act
from tests.factories import PASSWORD, login, statements_during


def staff(client: TestClient, session: Session, username: str, display_name: str, role: str) -> dict[str, str]:
    org_service.create_user(session, username=username, display_name=display_name, password=PASSWORD,
                            area_code=STREET, roles=[role], origin="test")
    return login(client, username)


def names(case: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [(e["actor_kind"], e["actor_name"], e["actor_display_name"]) for e in case["timeline"]]


def test_entries_by_users_carry_their_current_display_names(client: TestClient, session: Session,
                                                            loop: dict[str, Any]) -> None:
    operator = staff(client, session, "operator.street", "黄浦区某街道受理员", "operator")
    dispatcher = staff(client, session, "dispatcher.street", "黄浦区某街道派遣员", "dispatcher")
    taken_in = client.post("/api/v1/cases", headers=operator, json={
        "channel": "hotline_12345", "title": "路边垃圾", **IN_STREET})
    assert taken_in.status_code == 201, taken_in.text
    assert names(taken_in.json()) == [("user", "operator.street", "黄浦区某街道受理员")]
    case_id = taken_in.json()["id"]
    act(client, operator, case_id, "register", data={"category": "E0102"})
    dispatched = act(client, dispatcher, case_id, "dispatch", data={"lead": "greening-990101"}).json()
    assert names(dispatched) == [("user", "operator.street", "黄浦区某街道受理员"),
                                 ("user", "operator.street", "黄浦区某街道受理员"),
                                 ("user", "dispatcher.street", "黄浦区某街道派遣员")]

    # a new display name shows on the entries made before it; what they recorded stays
    session.scalar(select(User).where(User.username == "operator.street")).display_name = "受理员甲"
    session.flush()
    shown = client.get(f"/api/v1/cases/{case_id}", headers=dispatcher).json()
    assert [name for _, _, name in names(shown)] == ["受理员甲", "受理员甲", "黄浦区某街道派遣员"]
    assert [login_name for _, login_name, _ in names(shown)] == ["operator.street", "operator.street",
                                                                  "dispatcher.street"]


def test_the_system_and_citizens_keep_their_recorded_names(client: TestClient, loop: dict[str, Any]) -> None:
    routed = client.post("/api/v1/cases", headers=loop["op"], json={
        "channel": "grid_patrol", "title": "垃圾", "category_code": "E0102", **IN_STREET}).json()
    assert names(routed) == [("user", "op", "op"), ("system", "CityOps", "CityOps"), ("system", "CityOps", "CityOps")]
    reported = client.post("/api/v1/public/cases", json={"title": "路边垃圾堆", **IN_STREET})
    case_id = client.get("/api/v1/cases", params={"queue": "to_register"}, headers=loop["op"]).json()["items"][0]["id"]
    assert reported.status_code == 201
    assert names(client.get(f"/api/v1/cases/{case_id}", headers=loop["op"]).json()) == [
        ("citizen", "citizen", "citizen")]


def test_a_deactivated_user_keeps_the_name_and_a_removed_one_shows_what_was_recorded(
        client: TestClient, session: Session, loop: dict[str, Any]) -> None:
    operator = staff(client, session, "operator.street", "黄浦区某街道受理员", "operator")
    leaver = staff(client, session, "leaver.street", "已离职受理员", "operator")
    case_id = client.post("/api/v1/cases", headers=operator, json={
        "channel": "hotline_12345", "title": "路边垃圾", **IN_STREET}).json()["id"]
    assert act(client, leaver, case_id, "register", data={"category": "E0102"}).status_code == 200

    operator_row = session.scalar(select(User).where(User.username == "operator.street"))
    operator_row.active = False
    leaver_row = session.scalar(select(User).where(User.username == "leaver.street"))
    leaver_id = leaver_row.id
    session.delete(leaver_row)
    session.flush()
    shown = client.get(f"/api/v1/cases/{case_id}", headers=loop["op"]).json()
    assert names(shown) == [("user", "operator.street", "黄浦区某街道受理员"),
                            ("user", "leaver.street", "leaver.street")]

    # the removed user's id given to someone else names nobody on the old entry
    session.add(User(id=leaver_id, username="newcomer.street", display_name="新来的受理员", password_hash="-",
                     area_id=operator_row.area_id, roles=["operator"], origin="test"))
    session.flush()
    shown = client.get(f"/api/v1/cases/{case_id}", headers=loop["op"]).json()
    assert names(shown)[1] == ("user", "leaver.street", "leaver.street")
    # while the newcomer's own entries, under the same id, take the newcomer's name
    both = {(leaver_id, "leaver.street"), (leaver_id, "newcomer.street")}
    assert org_service.display_names(session, users=both) == {(leaver_id, "newcomer.street"): "新来的受理员"}


def test_the_display_names_are_read_in_one_query_however_long_the_timeline(
        client: TestClient, session: Session, engine: Engine, loop: dict[str, Any]) -> None:
    operator = staff(client, session, "operator.street", "黄浦区某街道受理员", "operator")
    dispatcher = staff(client, session, "dispatcher.street", "黄浦区某街道派遣员", "dispatcher")
    case_id = client.post("/api/v1/cases", headers=operator, json={
        "channel": "hotline_12345", "title": "路边垃圾", **IN_STREET}).json()["id"]
    act(client, operator, case_id, "register", data={"category": "E0102"})
    act(client, dispatcher, case_id, "dispatch", data={"lead": "greening-990101"})
    act(client, loop["greener"], case_id, "acknowledge")
    act(client, loop["greener"], case_id, "report", reason="已清运")

    answers = []
    statements = statements_during(engine, lambda: answers.append(
        client.get(f"/api/v1/cases/{case_id}", headers=dispatcher).json()))
    assert len({e["actor_name"] for e in answers[0]["timeline"]}) == 3 and len(answers[0]["timeline"]) == 5
    assert len([s for s in statements if "display_name" in s]) == 1
