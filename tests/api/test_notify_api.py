"""Inbox and webhook endpoints: an inbox of hundreds of lines is counted exactly in one query, read
a page at a time with no line lost or repeated, and marked read in one update — the caller's lines
only, up to the newest they were shown; bad input is refused and changes nothing, and an API client
has no inbox."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from cityops import outbox
from cityops.geo.models import Area
from cityops.models import Notification, OutboxEvent, User
from cityops.notify import service as notify
from cityops.org import service as org_service
from tests.api.conftest import IN_STREET, STREET
from tests.conftest import REPO
from tests.factories import statements_during

PROBLEM_ZH = json.loads((REPO / "web" / "src" / "locales" / "zh-CN.json").read_text(encoding="utf-8"))["problem"]


def test_a_dispatch_lands_in_the_handlers_inbox(client: TestClient, loop: dict[str, Any],
                                                session: Session) -> None:
    case = client.post("/api/v1/cases", headers=loop["op"], json={
        "channel": "grid_patrol", "title": "暴露垃圾", "category_code": "E0102", **IN_STREET}).json()
    assert case["status"] == "dispatched"
    notify.fan_out(session, now=datetime.now(UTC))
    inbox = client.get("/api/v1/inbox", params={"unread": True}, headers=loop["greener"]).json()["items"]
    assert [(n["topic"], n["case_id"], n["tracking_code"]) for n in inbox] == [
        ("case.dispatched", case["id"], case["tracking_code"])]
    # the case is named as the queues and case pages name it, not by its internal number
    assert inbox[0]["text"] == f"案件 {case['tracking_code']} 已派遣：暴露垃圾"
    read = client.post(f"/api/v1/inbox/{inbox[0]['id']}/read", headers=loop["greener"]).json()
    assert read["read_at"] is not None and read["tracking_code"] == case["tracking_code"]
    assert client.get("/api/v1/inbox", params={"unread": True}, headers=loop["greener"]).json() == {
        "items": [], "next_cursor": None}
    someone_elses = client.post(f"/api/v1/inbox/{inbox[0]['id']}/read", headers=loop["op"])
    assert someone_elses.status_code == 404


def case_statements(engine: Engine, action: Callable[[], object]) -> list[str]:
    return [s for s in statements_during(engine, action) if " cases" in s]


def test_a_batch_of_case_events_finds_its_tracking_codes_in_one_query(
        client: TestClient, loop: dict[str, Any], session: Session, engine: Engine) -> None:
    cases = [client.post("/api/v1/cases", headers=loop["op"], json={
        "channel": "grid_patrol", "title": f"暴露垃圾{n}", "category_code": "E0102",
        "lon": IN_STREET["lon"] + 0.004 * n, "lat": IN_STREET["lat"]}).json()
        for n in range(4)]
    assert [c["status"] for c in cases] == ["dispatched"] * 4
    lookups = case_statements(engine, lambda: notify.fan_out(session, now=datetime.now(UTC)))
    assert len(lookups) == 1, lookups
    inbox = client.get("/api/v1/inbox", headers=loop["greener"]).json()["items"]
    assert sorted(n["text"] for n in inbox) == sorted(f"案件 {c['tracking_code']} 已派遣：{c['title']}"
                                                      for c in cases)
    assert not any("#" in n["text"] for n in inbox)


def test_lines_written_before_keep_their_text_and_a_page_names_its_cases_in_one_query(
        client: TestClient, loop: dict[str, Any], session: Session, engine: Engine) -> None:
    cases = [client.post("/api/v1/cases", headers=loop["op"], json={
        "channel": "grid_patrol", "title": f"暴露垃圾{n}", "category_code": "E0102",
        "lon": IN_STREET["lon"] + 0.004 * n, "lat": IN_STREET["lat"]}).json()
        for n in range(3)]
    user_id = session.scalar(select(User.id).where(User.username == "disp"))
    for case in cases:
        event = OutboxEvent(topic="case.overdue", area_path="/990000/", case_id=case["id"],
                            fanned_out_at=datetime.now(UTC))
        session.add(event)
        session.flush()
        session.add(Notification(user_id=user_id, event_id=event.id, topic=event.topic, case_id=case["id"],
                                 text=f"案件 #{case['id']} 已超时：{case['title']}"))
    session.flush()
    answers = []
    lookups = case_statements(engine, lambda: answers.append(client.get("/api/v1/inbox", headers=loop["disp"])))
    assert len(lookups) == 1, lookups
    shown = {n["case_id"]: (n["tracking_code"], n["text"]) for n in answers[0].json()["items"]
             if n["topic"] == "case.overdue"}
    assert shown == {c["id"]: (c["tracking_code"], f"案件 #{c['id']} 已超时：{c['title']}") for c in cases}


def test_a_refusal_a_line_tells_of_comes_as_its_problem_code_for_the_screens_to_say_in_chinese(
        client: TestClient, loop: dict[str, Any], session: Session, engine: Engine) -> None:
    """A warning whose case the platform could not open: the line leaves the reason out of its text and the
    inbox gives it as a problem (code, members, the API's detail), which the screens say from the problem
    texts they say every refusal with; a page reads the reasons of all its lines in one query. A line
    written before the reason had its code keeps the words it was written with and has none."""
    area_path = session.scalar(select(Area.path).where(Area.code == STREET))
    told = {"warning_id": 1, "rule": "wl-high", "rule_name": "水位超限", "origin": "WL-1", "origin_name": "WL-1",
            "metric": "water_level", "unit": "m", "level": "orange", "value": 3.6}
    for n in range(3):
        outbox.emit(session, topic="warning.case_not_opened", area_path=area_path, payload=told | {
            "cause": f"the report-in deadline of 水务局{n} must be after now", "cause_code": "deadline_before_summons",
            "cause_values": {"department_name": f"水务局{n}"}, "next_attempt_at": "2026-11-15T12:01:00+00:00"})
    outbox.emit(session, topic="warning.case_not_opened", area_path=area_path,
                payload=told | {"cause": "the work calendar cannot be read"})  # queued before causes had codes
    notify.fan_out(session, now=datetime.now(UTC))
    answers = []
    reads = [s for s in statements_during(engine, lambda: answers.append(client.get("/api/v1/inbox",
                                                                                    headers=loop["op"])))
             if " outbox" in s]
    assert len(reads) == 1, reads
    lines = [n for n in answers[0].json()["items"] if n["topic"] == "warning.case_not_opened"]
    street = session.scalar(select(Area.name).where(Area.code == STREET))
    line = f"{street} 水位超限橙色预警 未能自动立案，请研判后转案件：WL-1，读数 3.6m（规则 wl-high）"
    assert [(n["text"], n["reason"]) for n in lines] == [
        (f"{line}；原因：the work calendar cannot be read", None)] + [
        (line, {"code": "deadline_before_summons", "values": {"department_name": f"水务局{n}"},
                "detail": f"the report-in deadline of 水务局{n} must be after now"}) for n in (2, 1, 0)]
    assert "{department_name}" in PROBLEM_ZH[lines[1]["reason"]["code"]]
    read = client.post(f"/api/v1/inbox/{lines[1]['id']}/read", headers=loop["op"]).json()
    assert read["reason"] == lines[1]["reason"] and read["read_at"] is not None


def test_webhooks_are_managed_by_integrators_in_their_area(client: TestClient, loop: dict[str, Any],
                                                           session: Session) -> None:
    from tests.factories import login, make_user

    make_user(session, username="street.admin", roles=["administrator"], area_code="99010101")
    admin = login(client, "street.admin")
    created = client.post("/api/v1/webhooks", headers=admin, json={
        "name": "网格系统", "url": "https://grid.example.org/hook", "topics": ["case.dispatched"]})
    assert created.status_code == 201 and len(created.json()["secret"]) >= 32
    assert [h["name"] for h in client.get("/api/v1/webhooks", headers=admin).json()] == ["网格系统"]
    assert "secret" not in client.get("/api/v1/webhooks", headers=admin).json()[0]
    bad = client.post("/api/v1/webhooks", headers=admin, json={"name": "x", "url": "https://x.org/h",
                                                               "topics": ["case.exploded"]})
    assert bad.status_code == 422 and bad.json()["field"] == "topics"
    assert client.post("/api/v1/webhooks", headers=loop["op"], json={
        "name": "x", "url": "https://x.org/h", "topics": ["*"]}).status_code == 403
    hook_id = created.json()["id"]
    assert client.post(f"/api/v1/webhooks/{hook_id}/disable", headers=admin).json()["active"] is False
    assert client.get(f"/api/v1/webhooks/{hook_id}/deliveries", headers=admin).json() == []


def lines(session: Session, username: str, count: int, *, text: str = "第{n}条") -> list[int]:
    """``count`` unread lines in ``username``'s inbox, oldest first; their ids."""
    user_id = session.scalar(select(User.id).where(User.username == username))
    events = [OutboxEvent(topic="case.reminder", area_path="/990000/", fanned_out_at=datetime.now(UTC))
              for _ in range(count)]
    session.add_all(events)
    session.flush()
    notes = [Notification(user_id=user_id, event_id=event.id, topic=event.topic, text=text.format(n=n))
             for n, event in enumerate(events)]
    session.add_all(notes)
    session.flush()
    return sorted(note.id for note in notes)


def unread_ids(session: Session, username: str) -> list[int]:
    return sorted(session.scalars(select(Notification.id).join(User, Notification.user_id == User.id).where(
        User.username == username, Notification.read_at.is_(None))))


def read_times(session: Session) -> dict[int, datetime | None]:
    session.expire_all()
    return dict(session.execute(select(Notification.id, Notification.read_at)).all())


def inbox_statements(engine: Engine, action: Callable[[], object]) -> list[str]:
    return [s for s in statements_during(engine, action) if "notifications" in s]


def test_the_unread_count_is_exact_past_a_hundred_in_one_query(client: TestClient, loop: dict[str, Any],
                                                                session: Session, engine: Engine) -> None:
    mine = lines(session, "disp", 130)
    lines(session, "op", 3)
    for note_id in mine[:5]:
        assert client.post(f"/api/v1/inbox/{note_id}/read", headers=loop["disp"]).status_code == 200
    answers = []
    statements = inbox_statements(engine, lambda: answers.append(
        client.get("/api/v1/inbox/unread-count", headers=loop["disp"])))
    assert answers[0].status_code == 200 and answers[0].json() == {"unread": 125}
    assert len(statements) == 1 and statements[0].lstrip().upper().startswith("SELECT COUNT(")
    assert client.get("/api/v1/inbox/unread-count", headers=loop["op"]).json() == {"unread": 3}
    assert client.get("/api/v1/inbox/unread-count", headers=loop["greener"]).json() == {"unread": 0}


def test_read_all_marks_the_callers_unread_lines_in_one_update_and_no_one_elses(
        client: TestClient, loop: dict[str, Any], session: Session, engine: Engine) -> None:
    mine = lines(session, "disp", 45)
    theirs = lines(session, "op", 3)
    earlier = client.post(f"/api/v1/inbox/{mine[0]}/read", headers=loop["disp"]).json()["read_at"]
    answers = []
    statements = inbox_statements(engine, lambda: answers.append(
        client.post("/api/v1/inbox/read-all", headers=loop["disp"])))
    assert answers[0].status_code == 200 and answers[0].json() == {"marked": 44}
    assert len(statements) == 1 and statements[0].lstrip().upper().startswith("UPDATE NOTIFICATIONS")
    assert unread_ids(session, "disp") == [] and unread_ids(session, "op") == theirs
    times = read_times(session)
    assert times[mine[0]].isoformat().replace("+00:00", "Z") == earlier.replace("+00:00", "Z")
    assert len({times[note_id] for note_id in mine[1:]}) == 1  # one UPDATE, one time
    assert client.get("/api/v1/inbox/unread-count", headers=loop["disp"]).json() == {"unread": 0}
    again = client.post("/api/v1/inbox/read-all", headers=loop["disp"])
    assert again.status_code == 200 and again.json() == {"marked": 0}
    assert read_times(session) == times


def test_read_all_up_to_the_newest_line_shown_leaves_the_later_ones_unread(
        client: TestClient, loop: dict[str, Any], session: Session) -> None:
    mine = lines(session, "disp", 12)
    shown = client.get("/api/v1/inbox", params={"limit": 20}, headers=loop["disp"]).json()["items"]
    later = lines(session, "disp", 2, text="后来的第{n}条")  # came in while the drawer was open
    theirs = lines(session, "op", 2)
    marked = client.post("/api/v1/inbox/read-all", params={"up_to": shown[0]["id"]}, headers=loop["disp"])
    assert marked.status_code == 200 and marked.json() == {"marked": 12}
    assert unread_ids(session, "disp") == later and unread_ids(session, "op") == theirs
    assert client.post("/api/v1/inbox/read-all", params={"up_to": shown[0]["id"]},
                       headers=loop["disp"]).json() == {"marked": 0}
    # up_to a line of someone else's, newer than the caller's: still only the caller's lines
    assert client.post("/api/v1/inbox/read-all", params={"up_to": theirs[-1]},
                       headers=loop["disp"]).json() == {"marked": 2}
    assert unread_ids(session, "disp") == [] and unread_ids(session, "op") == theirs
    assert mine[-1] == shown[0]["id"]


def test_a_bad_up_to_is_refused_and_marks_nothing(client: TestClient, loop: dict[str, Any],
                                                  session: Session) -> None:
    mine = lines(session, "disp", 4)
    for bad in ("0", "-1", "x", "2147483648", "1.5"):
        refused = client.post("/api/v1/inbox/read-all", params={"up_to": bad}, headers=loop["disp"])
        assert refused.status_code == 422, (bad, refused.text)
        assert refused.headers["content-type"] == "application/problem+json"
        assert (refused.json()["code"], refused.json()["field"]) == ("invalid_input", "up_to"), bad
    assert unread_ids(session, "disp") == mine


def pages(client: TestClient, headers: dict[str, str], limit: int, **params: Any) -> list[list[int]]:
    seen, cursor = [], None
    while True:
        answer = client.get("/api/v1/inbox", headers=headers,
                            params={**params, "limit": limit, **({"cursor": cursor} if cursor else {})})
        assert answer.status_code == 200, answer.text
        page = answer.json()
        seen.append([n["id"] for n in page["items"]])
        cursor = page["next_cursor"]
        if cursor is None:
            return seen
        assert len(seen) < 50


def test_following_the_cursor_reads_every_line_once_newest_first(client: TestClient, loop: dict[str, Any],
                                                                 session: Session) -> None:
    mine = lines(session, "disp", 45)
    theirs = lines(session, "op", 7)
    newest_first = mine[::-1]
    visited = pages(client, loop["disp"], 20)
    assert [len(page) for page in visited] == [20, 20, 5]
    assert [i for page in visited for i in page] == newest_first
    assert [len(page) for page in pages(client, loop["disp"], 15)] == [15, 15, 15]  # no empty page at the end
    assert pages(client, loop["disp"], 45) == [newest_first]
    assert [i for page in pages(client, loop["op"], 2) for i in page] == theirs[::-1]  # each reads their own


def test_lines_that_come_or_are_read_between_pages_shift_no_page(client: TestClient, loop: dict[str, Any],
                                                                  session: Session) -> None:
    mine = lines(session, "disp", 45)
    first = client.get("/api/v1/inbox", params={"limit": 20}, headers=loop["disp"]).json()
    newer = lines(session, "disp", 3, text="新来的第{n}条")
    client.post(f"/api/v1/inbox/{mine[0]}/read", headers=loop["disp"])
    rest = pages(client, loop["disp"], 20, cursor=first["next_cursor"])
    seen = [n["id"] for n in first["items"]] + [i for page in rest for i in page]
    assert seen == mine[::-1] and not set(newer) & set(seen)
    unread = [i for page in pages(client, loop["disp"], 20, unread=True) for i in page]
    assert unread == (mine[1:] + newer)[::-1]


def test_a_cursor_the_api_did_not_give_out_is_refused(client: TestClient, loop: dict[str, Any],
                                                      session: Session) -> None:
    mine = lines(session, "disp", 3)
    forged = base64.urlsafe_b64encode(b'{"b":-1}').decode()
    for bad in ("%%%", "not-a-cursor", forged, "x" * 201, ""):
        refused = client.get("/api/v1/inbox", params={"cursor": bad}, headers=loop["disp"])
        assert refused.status_code == 422, (bad, refused.text)
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.json()["field"] == "cursor", bad
    assert client.get("/api/v1/inbox", params={"cursor": "%%%"},
                      headers=loop["disp"]).json()["code"] == "bad_cursor"
    assert unread_ids(session, "disp") == mine


def test_an_api_client_has_no_inbox(client: TestClient, loop: dict[str, Any], session: Session) -> None:
    mine = lines(session, "disp", 3)
    _, token = org_service.create_api_client(session, name="grid-system", kind="system", area_code=STREET,
                                             roles=["system"], origin="test")
    system = {"Authorization": f"Bearer {token}"}
    for method, path, params in (("GET", "/api/v1/inbox", {}), ("GET", "/api/v1/inbox/unread-count", {}),
                                 ("POST", "/api/v1/inbox/read-all", {}),
                                 ("POST", "/api/v1/inbox/read-all", {"up_to": mine[-1]}),
                                 ("POST", f"/api/v1/inbox/{mine[0]}/read", {})):
        refused = client.request(method, path, params=params, headers=system)
        assert refused.status_code == 403 and refused.json()["code"] == "permission_denied", (path, refused.text)
    assert unread_ids(session, "disp") == mine
