"""Warnings name the staff who moved them, set silences and wrote rules by their current display names,
looked up once per answer, while each record keeps the login name it holds; the system, API clients and
users no longer on record keep what was recorded. On both stores."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from cityops.geo import service as geo_service
from cityops.org.models import User
from cityops.sensing import alerting
from cityops.sensing import devices as registry
from cityops.sensing.devices import DeviceSpec
from cityops.sensing.simulate_fleet import city_author
from tests.api.conftest import IN_STREET
from tests.api.test_sensing_rules import RULE, fire, make_rule, send
from tests.factories import statements_during

NAMES = {"op": "黄浦区某街道受理员", "disp": "黄浦区某街道派遣员", "admin": "黄浦区某街道管理员"}


def rename(session: Session, **names: str) -> None:
    for username, display_name in names.items():
        session.scalar(select(User).where(User.username == username)).display_name = display_name
    session.flush()


def names_queries(engine: Engine, action: Any) -> int:
    return len([s for s in statements_during(engine, action) if "display_name" in s])


def entry_names(warning: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [(e["actor_role"], e["actor_name"], e["actor_display_name"]) for e in warning["entries"]]


def silence(client: TestClient, headers: dict[str, str], reason: str) -> dict[str, Any]:
    made = client.post("/api/v1/silences", headers=headers, json={
        "matchers": {"rule": "wl-high"}, "ends_at": (datetime.now(UTC) + timedelta(hours=2)).isoformat(),
        "reason": reason})
    assert made.status_code == 201, made.text
    return made.json()


def test_a_warnings_history_names_the_staff_who_moved_it(client: TestClient, session: Session,
                                                         sensed: dict[str, Any]) -> None:
    rename(session, **NAMES)
    warning_id = fire(client, sensed)
    acknowledged = client.post(f"/api/v1/warnings/{warning_id}/acknowledge", headers=sensed["op"]).json()
    assert entry_names(acknowledged) == [("system", "system", "system"), ("operator", "op", "黄浦区某街道受理员")]
    closed = client.post(f"/api/v1/warnings/{warning_id}/false-alarm", headers=sensed["disp"],
                         json={"reason": "探头被杂物遮挡"}).json()
    assert entry_names(closed)[2] == ("dispatcher", "disp", "黄浦区某街道派遣员")

    # a new display name shows on the entries made before it; the login names recorded stay
    rename(session, op="受理员甲")
    listed = client.get("/api/v1/warnings", headers=sensed["insp"]).json()["items"]
    assert entry_names(listed[0]) == [("system", "system", "system"), ("operator", "op", "受理员甲"),
                                      ("dispatcher", "disp", "黄浦区某街道派遣员")]

    # a removed user's entries show the login name they recorded
    session.delete(session.scalar(select(User).where(User.username == "disp")))
    session.flush()
    shown = client.get(f"/api/v1/warnings/{warning_id}", headers=sensed["op"]).json()
    assert entry_names(shown)[2] == ("dispatcher", "disp", "disp")


def test_silences_name_the_staff_who_set_them(client: TestClient, session: Session, sensed: dict[str, Any]) -> None:
    rename(session, **NAMES)
    made = silence(client, sensed["op"], "汛期演练")
    assert (made["author"], made["author_display_name"]) == ("op", "黄浦区某街道受理员")
    silence(client, sensed["disp"], "管道抢修")
    rename(session, op="受理员甲")
    listed = client.get("/api/v1/silences", headers=sensed["op"]).json()
    assert [(s["author"], s["author_display_name"]) for s in listed] == [("disp", "黄浦区某街道派遣员"),
                                                                         ("op", "受理员甲")]
    ended = client.post(f"/api/v1/silences/{made['id']}/end", headers=sensed["disp"]).json()
    assert (ended["author"], ended["author_display_name"]) == ("op", "受理员甲")


def test_rules_name_their_authors_and_the_simulator_keeps_its_name(client: TestClient, session: Session,
                                                                   sensed: dict[str, Any]) -> None:
    rename(session, **NAMES)
    made = client.post("/api/v1/rules", headers=sensed["admin"], json=RULE)
    assert (made.json()["author"], made.json()["author_display_name"]) == ("admin", "黄浦区某街道管理员")
    alerting.create_rule(session, code="wl-city", name="全市水位超限", definition=RULE["definition"] | {
        "scope": {"device_type": "wl"}}, author=city_author(session))
    listed = client.get("/api/v1/rules", headers=sensed["city.admin"]).json()
    assert [(r["code"], r["author"], r["author_display_name"]) for r in listed] == [
        ("wl-city", "演示模拟器", "演示模拟器"), ("wl-high", "admin", "黄浦区某街道管理员")]
    stopped = client.post(f"/api/v1/rules/{made.json()['id']}/deactivate", headers=sensed["admin"]).json()
    assert stopped["author_display_name"] == "黄浦区某街道管理员"


def test_each_list_reads_the_names_in_one_query(client: TestClient, session: Session, engine: Engine,
                                                sensed: dict[str, Any]) -> None:
    rename(session, **NAMES)
    registry.create_device(session, spec=DeviceSpec(code="WL-3", name="WL-3", type_code="wl", **IN_STREET),
                           locator=geo_service.build_locator(session, boundary_distance_m=30), actor=None,
                           origin="test")
    make_rule(client, sensed)
    send(client, sensed["admin"], (0, 3.1), (1, 3.2), (2, 3.3))
    send(client, sensed["admin"], (0, 3.1), (1, 3.2), (2, 3.3), device="WL-3")
    warning_ids = [w["id"] for w in client.get("/api/v1/warnings", headers=sensed["op"]).json()["items"]]
    assert len(warning_ids) == 2
    for warning_id, who in zip(warning_ids, ("op", "disp"), strict=True):
        client.post(f"/api/v1/warnings/{warning_id}/acknowledge", headers=sensed[who])
        client.post(f"/api/v1/warnings/{warning_id}/false-alarm", headers=sensed["disp"], json={"reason": "演练"})
    for who in ("op", "disp", "op"):
        silence(client, sensed[who], f"{who} 的静默")

    answers: list[Any] = []
    assert names_queries(engine, lambda: answers.append(
        client.get("/api/v1/warnings", headers=sensed["op"]).json()["items"])) == 1
    assert {e["actor_display_name"] for w in answers[0] for e in w["entries"]} == {
        "system", "黄浦区某街道受理员", "黄浦区某街道派遣员"}
    assert names_queries(engine, lambda: answers.append(
        client.get("/api/v1/silences", headers=sensed["op"]).json())) == 1
    assert {s["author_display_name"] for s in answers[1]} == {"黄浦区某街道受理员", "黄浦区某街道派遣员"}
    client.post("/api/v1/rules", headers=sensed["admin"], json=RULE | {"code": "wl-higher"})
    assert names_queries(engine, lambda: answers.append(
        client.get("/api/v1/rules", headers=sensed["admin"]).json())) == 1
    assert [r["author_display_name"] for r in answers[2]] == ["黄浦区某街道管理员", "黄浦区某街道管理员"]


def test_an_empty_list_asks_for_no_names(client: TestClient, engine: Engine, sensed: dict[str, Any]) -> None:
    assert names_queries(engine, lambda: client.get("/api/v1/silences", headers=sensed["op"])) == 0
    assert names_queries(engine, lambda: client.get("/api/v1/warnings", headers=sensed["op"])) == 0
