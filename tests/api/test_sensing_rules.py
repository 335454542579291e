"""Warning rules and warnings over the API, on both stores: administrators manage rules and dry-run
them over stored readings; readings raise warnings seen only in their jurisdiction, with their history;
operators and dispatchers acknowledge, close as false alarms and convert into cases through the closed
loop; other roles and other streets are refused and change nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from cityops.cases.models import Case
from cityops.categories import service as categories_service
from cityops.geo.models import Area
from cityops.sensing.models import SensingRule, WarningEntryRow, WarningRow
from tests.api.conftest import STREET
from tests.factories import statements_during

COMMUNITY = f"{STREET}0101"
"""Where WL-1 stands: the community of the street's first grid."""
START = (datetime.now(UTC) - timedelta(hours=2)).replace(second=0, microsecond=0)
RULE = {"code": "wl-high", "name": "水位超限", "definition": {
    "kind": "threshold", "metric": "water_level", "scope": {"device_type": "wl", "area": STREET}, "for_s": 120,
    "levels": [{"level": "yellow", "fire_at": 3.0, "clear_at": 2.8}, {"level": "red", "fire_at": 4.0, "clear_at": 3.8}],
    "open_case_from": "red", "case_category": "E0102"}}


def send(client: TestClient, headers: dict[str, str], *values: tuple[int, float], device: str = "WL-1") -> None:
    items = [{"device": device, "metric": "water_level", "ts": (START + timedelta(minutes=minute)).isoformat(),
              "value": value} for minute, value in values]
    response = client.post("/api/v1/readings", headers=headers, json=items)
    assert response.status_code == 200 and response.json()["accepted"] == len(items), response.text


def make_rule(client: TestClient, sensed: dict[str, Any]) -> int:
    response = client.post("/api/v1/rules", headers=sensed["admin"], json=RULE)
    assert response.status_code == 201, response.text
    return response.json()["id"]


def fire(client: TestClient, sensed: dict[str, Any]) -> int:
    make_rule(client, sensed)
    send(client, sensed["admin"], (0, 3.1), (1, 3.2), (2, 3.3))
    warnings = client.get("/api/v1/warnings", headers=sensed["op"]).json()["items"]
    assert [(w["origin"], w["status"], w["level"]) for w in warnings] == [("WL-1", "firing", "yellow")]
    return warnings[0]["id"]


def history(session: Session) -> list[tuple[Any, ...]]:
    return [tuple(row) for row in session.execute(select(WarningRow.status, WarningRow.level, WarningRow.case_id))] + [
        tuple(row) for row in session.execute(select(WarningEntryRow.action, WarningEntryRow.actor_role))]


def test_administrators_manage_rules(client: TestClient, sensed: dict[str, Any]) -> None:
    assert client.post("/api/v1/rules", headers=sensed["op"], json=RULE).json()["code"] == "role_not_allowed"
    assert client.get("/api/v1/rules", headers=sensed["op"]).status_code == 403
    bad = client.post("/api/v1/rules", headers=sensed["admin"], json=RULE | {"definition": RULE["definition"] | {
        "levels": [{"level": "yellow", "fire_at": 3.0, "clear_at": 3.5}]}})
    assert (bad.status_code, bad.headers["content-type"], bad.json()["field"]) == (
        422, "application/problem+json", "levels[0].clear_at")
    citywide = RULE | {"definition": RULE["definition"] | {"scope": {"device_type": "wl"}}}
    assert client.post("/api/v1/rules", headers=sensed["admin"], json=citywide).status_code == 403
    assert client.post("/api/v1/rules", headers=sensed["city.admin"], json=citywide | {"code": "wl-city"}
                       ).status_code == 201
    rule_id = make_rule(client, sensed)
    assert client.post("/api/v1/rules", headers=sensed["admin"], json=RULE).json()["code"] == "duplicate_code"
    assert [r["code"] for r in client.get("/api/v1/rules", headers=sensed["admin"]).json()] == ["wl-city", "wl-high"]
    off = client.post(f"/api/v1/rules/{rule_id}/deactivate", headers=sensed["admin"])
    assert (off.status_code, off.json()["active"]) == (200, False)
    assert client.post(f"/api/v1/rules/{rule_id}/deactivate", headers=sensed["admin"]).status_code == 409
    assert [r["code"] for r in client.get("/api/v1/rules?active=true", headers=sensed["admin"]).json()] == ["wl-city"]


def test_a_rule_watches_only_what_exists(client: TestClient, sensed: dict[str, Any], session: Session) -> None:
    """A misspelt device type, metric or indicator would make a rule that never fires: it is refused and
    nothing is stored."""
    definition = RULE["definition"]
    refusals = [
        (definition | {"scope": {"device_type": "wl-typo", "area": STREET}}, 404, "unknown_device_type",
         "scope.device_type"),
        (definition | {"metric": "water_levle"}, 422, "unknown_metric", "metric"),
        (definition | {"metric": "water_levle", "scope": {"area": STREET}}, 422, "unknown_metric", "metric"),
        ({"kind": "threshold", "scope": {"indicator": "no-such-indicator", "area": STREET},
          "levels": definition["levels"]}, 404, "unknown_indicator", "scope.indicator"),
    ]
    for body, status, code, field in refusals:
        refused = client.post("/api/v1/rules", headers=sensed["admin"], json=RULE | {"definition": body})
        assert (refused.status_code, refused.json()["code"], refused.json()["field"]) == (status, code, field), body
    assert session.scalar(select(func.count()).select_from(SensingRule)) == 0
    # a metric of the type, or one some type reports when no type is named, is accepted
    assert client.post("/api/v1/rules", headers=sensed["admin"], json=RULE | {"definition": definition | {
        "scope": {"area": STREET}}}).status_code == 201


def test_a_rule_opens_cases_only_in_a_category_that_exists_and_is_in_service(
        client: TestClient, sensed: dict[str, Any], session: Session) -> None:
    def rules() -> list[str]:
        return list(session.scalars(select(SensingRule.code)))

    unknown = client.post("/api/v1/rules", headers=sensed["admin"],
                          json=RULE | {"definition": RULE["definition"] | {"case_category": "E0999"}})
    assert (unknown.status_code, unknown.headers["content-type"]) == (404, "application/problem+json")
    assert (unknown.json()["code"], unknown.json()["field"]) == ("unknown_category", "case_category")
    assert "E0999" in unknown.json()["detail"] and rules() == []
    categories_service.update_category(session, code="E0199", active=False)
    inactive = client.post("/api/v1/rules", headers=sensed["admin"],
                           json=RULE | {"definition": RULE["definition"] | {"case_category": "E0199"}})
    assert (inactive.status_code, inactive.json()["code"], inactive.json()["field"]) == (
        422, "inactive_category", "case_category")
    assert rules() == []
    created = client.post("/api/v1/rules", headers=sensed["admin"], json=RULE)
    assert (created.status_code, created.json()["definition"]["case_category"]) == (201, "E0102")
    assert rules() == ["wl-high"]


def test_warnings_are_seen_in_their_jurisdiction_with_their_history(client: TestClient, sensed: dict[str, Any]) -> None:
    warning_id = fire(client, sensed)
    send(client, sensed["admin"], (3, 4.2), (5, 4.3))
    one = client.get(f"/api/v1/warnings/{warning_id}", headers=sensed["insp"]).json()
    assert (one["level"], one["peak_level"], one["area_code"], one["rule"]) == ("red", "red", COMMUNITY, "wl-high")
    # and in words: the rule's and the device's names, the unit of the device type's metric
    assert (one["rule_name"], one["origin_name"], one["metric"], one["value"], one["unit"]) == (
        "水位超限", "WL-1", "water_level", 4.3, "m")
    listed = client.get("/api/v1/warnings", headers=sensed["op"]).json()["items"]
    assert [(w["rule_name"], w["origin_name"], w["unit"]) for w in listed] == [("水位超限", "WL-1", "m")]
    # red is the rule's case level: the case is opened and linked, the warning goes on firing
    assert [(e["action"], e["from_level"], e["to_level"]) for e in one["entries"]] == [
        ("fire", None, "yellow"), ("change_level", "yellow", "red"), ("open_case", "red", "red")]
    assert one["case_id"] == one["entries"][-1]["case_id"] is not None
    refused = client.post(f"/api/v1/warnings/{warning_id}/convert-to-case", headers=sensed["op"])
    assert (refused.status_code, refused.json()["code"]) == (409, "has_case")
    assert client.get("/api/v1/warnings", headers=sensed["other.op"]).json()["total"] == 0
    assert client.get(f"/api/v1/warnings/{warning_id}", headers=sensed["other.op"]).status_code == 404
    assert client.get("/api/v1/warnings?area=99010102", headers=sensed["op"]).status_code == 404
    for query, total in (("status=firing&level=red", 1), ("level=yellow", 0), ("rule=other", 0),
                         (f"area={STREET}", 1), ("status=resolved", 0)):
        assert client.get(f"/api/v1/warnings?{query}", headers=sensed["op"]).json()["total"] == total, query


def test_a_warning_is_named_by_the_area_it_is_filed_under_read_once_for_a_whole_page(
        client: TestClient, sensed: dict[str, Any], session: Session, engine: Engine) -> None:
    """The board names a warning by its area, rule and level, never by its id: each warning carries the
    name of the area it is filed under, and a page of them reads the areas' names in one query however
    many warnings and areas it holds."""
    opens_none = {key: value for key, value in RULE["definition"].items() if key not in ("open_case_from",
                                                                                         "case_category")}
    citywide = RULE | {"definition": opens_none | {"scope": {"device_type": "wl"}}}
    made = client.post("/api/v1/rules", headers=sensed["city.admin"], json=citywide)
    assert made.status_code == 201, made.text
    for device in ("WL-1", "WL-2"):
        send(client, sensed["city.admin"], (0, 3.1), (1, 3.2), (2, 3.3), device=device)
    listed = client.get("/api/v1/warnings", headers=sensed["city.admin"]).json()["items"]
    names = dict(session.execute(select(Area.code, Area.name)).all())
    filed = {w["origin"]: (w["area_code"], w["area_name"]) for w in listed}
    assert filed["WL-1"] == (COMMUNITY, names[COMMUNITY])
    assert filed["WL-2"][0].startswith("99010102") and filed["WL-2"][1] == names[filed["WL-2"][0]]
    assert names[COMMUNITY] != filed["WL-2"][1]
    one = client.get(f"/api/v1/warnings/{listed[0]['id']}", headers=sensed["city.admin"]).json()
    assert one["area_name"] == listed[0]["area_name"]

    def area_reads(limit: int) -> int:
        page = lambda: client.get(f"/api/v1/warnings?limit={limit}", headers=sensed["city.admin"])  # noqa: E731
        return sum(" areas" in statement for statement in statements_during(engine, page))

    assert area_reads(2) == area_reads(1)


def test_acknowledge_and_false_alarm_for_the_centre_only(client: TestClient, sensed: dict[str, Any],
                                                          session: Session) -> None:
    warning_id = fire(client, sensed)
    before = history(session)
    refused = client.post(f"/api/v1/warnings/{warning_id}/acknowledge", headers=sensed["insp"])
    assert (refused.status_code, refused.json()["code"]) == (403, "role_not_allowed")
    assert client.post(f"/api/v1/warnings/{warning_id}/acknowledge", headers=sensed["other.op"]).status_code == 404
    assert client.post(f"/api/v1/warnings/{warning_id}/false-alarm", headers=sensed["admin"],
                       json={"reason": "维护"}).status_code == 403
    assert history(session) == before
    assert client.post(f"/api/v1/warnings/{warning_id}/acknowledge", headers=sensed["op"]).json()["status"] == \
        "acknowledged"
    again = client.post(f"/api/v1/warnings/{warning_id}/acknowledge", headers=sensed["op"])
    assert (again.status_code, again.json()["code"]) == (409, "illegal_transition")
    assert client.post(f"/api/v1/warnings/{warning_id}/false-alarm", headers=sensed["disp"],
                       json={"reason": " "}).status_code == 422
    closed = client.post(f"/api/v1/warnings/{warning_id}/false-alarm", headers=sensed["disp"],
                         json={"reason": "探头被杂物遮挡"}).json()
    assert (closed["status"], closed["closed_at"] is not None) == ("false_alarm", True)
    assert [(e["action"], e["actor_role"], e["reason"]) for e in closed["entries"]] == [
        ("fire", "system", None), ("acknowledge", "operator", None),
        ("close_false_alarm", "dispatcher", "探头被杂物遮挡")]
    send(client, sensed["admin"], (3, 3.4), (5, 3.5))  # still yellow: the closed warning stays closed
    assert client.get("/api/v1/warnings?status=firing", headers=sensed["op"]).json()["total"] == 0


def test_convert_to_case_through_the_closed_loop(client: TestClient, sensed: dict[str, Any], session: Session) -> None:
    warning_id = fire(client, sensed)
    before = history(session), session.scalar(select(func.count()).select_from(Case))
    assert client.post(f"/api/v1/warnings/{warning_id}/convert-to-case", headers=sensed["insp"]).status_code == 403
    assert client.post(f"/api/v1/warnings/{warning_id}/convert-to-case",
                       headers=sensed["other.op"]).status_code == 404
    assert (history(session), session.scalar(select(func.count()).select_from(Case))) == before
    converted = client.post(f"/api/v1/warnings/{warning_id}/convert-to-case", headers=sensed["op"])
    assert converted.status_code == 200, converted.text
    warning = converted.json()
    assert (warning["status"], warning["entries"][-1]["action"]) == ("converted", "convert_to_case")
    case = client.get(f"/api/v1/cases/{warning['case_id']}", headers=sensed["op"]).json()
    assert (case["channel"], case["category_code"], case["area_code"]) == ("iot_warning", "E0102", COMMUNITY)
    assert client.post(f"/api/v1/warnings/{warning_id}/convert-to-case", headers=sensed["op"]).status_code == 409


def test_a_case_opened_by_the_rule_or_by_a_person_is_listed_alike(client: TestClient, sensed: dict[str, Any],
                                                                   session: Session) -> None:
    """A warning whose rule opened its case goes on firing, and is listed with its case like one a person
    converted: under has_case, with its case's tracking code; converting it is refused and changes nothing."""
    make_rule(client, sensed)
    watching = {**RULE, "code": "wl-watch", "name": "水位观察",
                "definition": {**RULE["definition"], "open_case_from": None, "case_category": None}}
    assert client.post("/api/v1/rules", headers=sensed["admin"], json=watching).status_code == 201
    send(client, sensed["admin"], (0, 3.1), (1, 3.2), (2, 3.3), (3, 4.2), (5, 4.3))

    def listed(query: str) -> tuple[int, list[tuple[str, str]]]:
        page = client.get(f"/api/v1/warnings?{query}", headers=sensed["op"]).json()
        return page["total"], sorted((w["rule"], w["status"]) for w in page["items"])

    def tracking_code(case_id: int) -> str:
        return client.get(f"/api/v1/cases/{case_id}", headers=sensed["op"]).json()["tracking_code"]

    assert listed("has_case=true") == (1, [("wl-high", "firing")])
    assert listed("has_case=false") == (1, [("wl-watch", "firing")])
    assert listed("status=firing") == (2, [("wl-high", "firing"), ("wl-watch", "firing")])
    by_rule = {w["rule"]: w for w in client.get("/api/v1/warnings", headers=sensed["op"]).json()["items"]}
    opened, watched = by_rule["wl-high"], by_rule["wl-watch"]
    assert opened["case_tracking_code"] == tracking_code(opened["case_id"])
    assert len(opened["case_tracking_code"]) == 10
    assert (watched["case_id"], watched["case_tracking_code"]) == (None, None)
    one = client.get(f"/api/v1/warnings/{opened['id']}", headers=sensed["op"]).json()
    assert (one["case_id"], one["case_tracking_code"]) == (opened["case_id"], opened["case_tracking_code"])

    before = history(session), session.scalar(select(func.count()).select_from(Case))
    refused = client.post(f"/api/v1/warnings/{opened['id']}/convert-to-case", headers=sensed["op"])
    assert (refused.status_code, refused.json()["code"]) == (409, "has_case")
    assert refused.json()["case_id"] == opened["case_id"]
    assert (history(session), session.scalar(select(func.count()).select_from(Case))) == before

    converted = client.post(f"/api/v1/warnings/{watched['id']}/convert-to-case", headers=sensed["op"]).json()
    assert converted["status"] == "converted"
    assert converted["case_tracking_code"] == tracking_code(converted["case_id"])
    assert listed("has_case=true") == (2, [("wl-high", "firing"), ("wl-watch", "converted")])
    assert listed("has_case=false") == (0, [])
    assert listed("has_case=true&status=firing") == (1, [("wl-high", "firing")])
    codes = {w["rule"]: w["case_tracking_code"] for w in client.get(
        "/api/v1/warnings?has_case=true&rule=wl-watch", headers=sensed["op"]).json()["items"]}
    assert codes == {"wl-watch": converted["case_tracking_code"]}

    bad = client.get("/api/v1/warnings?has_case=perhaps", headers=sensed["op"])
    assert (bad.status_code, bad.json()["field"]) == (422, "has_case"), bad.text


def test_dry_run_reports_the_episodes_over_stored_readings(client: TestClient, sensed: dict[str, Any]) -> None:
    send(client, sensed["admin"], (0, 3.1), (1, 3.2), (2, 3.3), (3, 4.1), (5, 4.2), (6, 2.0), (10, 3.5))
    rule_id = make_rule(client, sensed)
    period = {"device": "WL-1", "since": START.isoformat(), "until": (START + timedelta(minutes=30)).isoformat()}
    replay = client.post(f"/api/v1/rules/{rule_id}/dry-run", headers=sensed["admin"], json=period)
    assert replay.status_code == 200, replay.text
    assert [(e["fired_at"][11:16], (e["cleared_at"] or "")[11:16], e["peak_level"])
            for e in replay.json()["episodes"]] == [
        ((START + timedelta(minutes=2)).strftime("%H:%M"), (START + timedelta(minutes=6)).strftime("%H:%M"), "red")]
    assert [e["kind"] for e in replay.json()["events"]] == ["fired", "level_changed", "cleared"]
    assert client.get("/api/v1/warnings", headers=sensed["op"]).json()["total"] == 0  # a dry run stores nothing
    assert client.post(f"/api/v1/rules/{rule_id}/dry-run", headers=sensed["op"], json=period).status_code == 403
    assert client.post(f"/api/v1/rules/{rule_id}/dry-run", headers=sensed["admin"],
                       json=period | {"device": "WL-2"}).status_code == 404
    backwards = client.post(f"/api/v1/rules/{rule_id}/dry-run", headers=sensed["admin"],
                            json=period | {"until": period["since"]})
    assert (backwards.status_code, backwards.json()["code"], backwards.json()["field"]) == (
        422, "end_before_start", "until")
    elsewhere = client.post(f"/api/v1/rules/{rule_id}/dry-run", headers=sensed["admin"],
                            json=period | {"metric": "flow_rate"}).json()
    assert (elsewhere["code"], elsewhere["field"], elsewhere["rule_metric"]) == (
        "metric_not_watched", "metric", "water_level")


def test_a_case_the_rule_could_not_open_is_in_the_history_with_its_cause(
        client: TestClient, sensed: dict[str, Any], session: Session) -> None:
    """The entry of a failed opening keeps the refusal's problem code beside the English reason, so that the
    console can say it in the user's language; the warning's other entries have none."""
    make_rule(client, sensed)
    categories_service.update_category(session, code="E0102", active=False)  # after the rule was made
    send(client, sensed["admin"], (0, 4.1), (1, 4.2), (2, 4.3))
    (listed,) = client.get("/api/v1/warnings", headers=sensed["op"]).json()["items"]
    one = client.get(f"/api/v1/warnings/{listed['id']}", headers=sensed["op"]).json()
    assert (one["case_id"], [e["action"] for e in one["entries"]]) == (None, ["fire", "case_not_opened"])
    fired, failed = one["entries"]
    assert fired["cause"] is None
    next_attempt_at = datetime.fromisoformat(failed["cause"]["next_attempt_at"])
    assert failed["cause"] == {"code": "inactive_category", "values": {}, "failures": 1,
                               "next_attempt_at": failed["cause"]["next_attempt_at"]}
    assert failed["reason"] == ("case not opened (failure 1 in a row): category E0102 is out of service; choose one "
                                f"in service; tried again from {next_attempt_at.isoformat()}")
    assert listed["entries"] == one["entries"]
