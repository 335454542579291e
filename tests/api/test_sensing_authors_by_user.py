"""Warning rules, silences and indicators name their authors by the user who wrote them (the id each
records), never by a login name alone: an API client, or a synthetic principal, named like a user's
login keeps its own name; a user shows their current display name. On both stores."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from cityops.geo import service as geo_service
from cityops.org import service as org_service
from cityops.org.access import Principal
from cityops.org.models import User
from cityops.sensing import indicators_service
from cityops.sensing.models import IndicatorRow, SensingRule, SilenceRow
from tests.api.conftest import STREET
from tests.api.test_sensing_indicators import WL_MAX, add_indicator
from tests.api.test_sensing_rules import RULE
from tests.api.test_warning_names_staff_by_display_name import names_queries, rename, silence


def api_client(session: Session, name: str) -> dict[str, str]:
    """Headers of an API client of the street called ``name``, administrator and operator. The API
    registers clients in the system or device role only; programs of the platform also write rules and
    indicators as clients in other roles (the demo city, the simulator), as this one does with its roles
    set in the store."""
    row, token = org_service.create_api_client(session, name=name, kind="system", area_code=STREET,
                                               roles=["system"], origin="test")
    row.roles = ["administrator", "operator"]
    session.flush()
    return {"Authorization": f"Bearer {token}"}


def user_id(session: Session, username: str) -> int:
    return session.scalar(select(User.id).where(User.username == username))


def named(rows: list[dict[str, Any]], key: str) -> list[tuple[str, str, str]]:
    return [(row[key], row["author"], row["author_display_name"]) for row in rows]


def test_an_api_client_named_like_a_user_keeps_its_own_name(client: TestClient, session: Session,
                                                             sensed: dict[str, Any]) -> None:
    rename(session, admin="黄浦区某街道管理员", op="黄浦区某街道受理员")
    as_admin, as_op = api_client(session, "admin"), api_client(session, "op")

    by_client = client.post("/api/v1/rules", headers=as_admin, json=RULE | {"code": "wl-client"})
    assert by_client.status_code == 201, by_client.text
    assert (by_client.json()["author"], by_client.json()["author_display_name"]) == ("admin", "admin")
    assert client.post("/api/v1/rules", headers=sensed["admin"], json=RULE).status_code == 201
    assert named(client.get("/api/v1/rules", headers=sensed["admin"]).json(), "code") == [
        ("wl-client", "admin", "admin"), ("wl-high", "admin", "黄浦区某街道管理员")]

    set_by_client = silence(client, as_op, "接口设置")
    assert (set_by_client["author"], set_by_client["author_display_name"]) == ("op", "op")
    silence(client, sensed["op"], "受理员设置")
    assert named(client.get("/api/v1/silences", headers=sensed["op"]).json(), "reason") == [
        ("受理员设置", "op", "黄浦区某街道受理员"), ("接口设置", "op", "op")]

    assert dict(session.execute(select(SensingRule.code, SensingRule.author_user_id)).all()) == {
        "wl-client": None, "wl-high": user_id(session, "admin")}
    assert dict(session.execute(select(SilenceRow.reason, SilenceRow.author_user_id)).all()) == {
        "接口设置": None, "受理员设置": user_id(session, "op")}


def test_a_users_rule_shows_their_current_display_name(client: TestClient, session: Session,
                                                       sensed: dict[str, Any]) -> None:
    rename(session, admin="黄浦区某街道管理员")
    made = client.post("/api/v1/rules", headers=sensed["admin"], json=RULE).json()
    assert made["author_display_name"] == "黄浦区某街道管理员"
    rename(session, admin="规则管理员甲")
    assert named(client.get("/api/v1/rules", headers=sensed["admin"]).json(), "code") == [
        ("wl-high", "admin", "规则管理员甲")]
    rename(session, admin="规则管理员乙")
    stopped = client.post(f"/api/v1/rules/{made['id']}/deactivate", headers=sensed["admin"]).json()
    assert (stopped["author"], stopped["author_display_name"]) == ("admin", "规则管理员乙")


def test_an_indicator_names_the_user_who_made_it(client: TestClient, session: Session, engine: Engine,
                                                 sensed: dict[str, Any]) -> None:
    rename(session, **{"city.admin": "全市管理员"})
    made = add_indicator(client, sensed)
    assert made.status_code == 201, made.text
    assert (made.json()["author"], made.json()["author_display_name"]) == ("city.admin", "全市管理员")
    # the command line's principal is a user of id 0 by the login it names: no user
    city = geo_service.get_area(session, code="990000")
    command_line = Principal(id=0, kind="user", name="city.admin", roles=("administrator",), area_id=city.id,
                             area_code=city.code, area_path=city.path, area_level=city.level)
    indicators_service.create_indicator(session, code="wl-min", name="街道最低水位", class_code="water", unit="m",
                                        level="street", interval_s=60, source=WL_MAX["source"] | {"aggregate": "min"},
                                        author=command_line, now=datetime.now(UTC))
    rename(session, **{"city.admin": "市级管理员"})

    listed: list[Any] = []
    assert names_queries(engine, lambda: listed.append(client.get("/api/v1/indicators", headers=sensed["op"]).json())
                         ) == 1
    assert named(listed[0], "code") == [("wl-max", "city.admin", "市级管理员"), ("wl-min", "city.admin", "city.admin")]
    assert client.get("/api/v1/indicators/wl-max", headers=sensed["op"]).json()["author_display_name"] == "市级管理员"
    assert dict(session.execute(select(IndicatorRow.code, IndicatorRow.author_user_id)).all()) == {
        "wl-max": user_id(session, "city.admin"), "wl-min": None}
