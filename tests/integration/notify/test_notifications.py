"""Notifications end to end: moves of a case put events in the outbox in the same transaction; the
worker fans them out to the right people's inboxes and POSTs them, signed, to a real local HTTP
receiver that fails first and succeeds on the retry. Each delivery names its case by id and by
tracking code."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from shapely.geometry import box
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from cityops import outbox
from cityops.calendar.workcalendar import WorkCalendar
from cityops.cases import service
from cityops.cases.channels import Channel
from cityops.cases.lifecycle import Action, Actor, ActorKind
from cityops.config import Settings
from cityops.db import unit_of_work
from cityops.geo.locator import AreaShape, Locator
from cityops.models import Notification, OutboxEvent, User, WebhookDelivery
from cityops.notify import service as notify
from cityops.org import service as org_service
from cityops.worker import http_post, run_deliveries, run_fan_out
from tests.factories import make_city, make_user, statements_during

CALENDAR = WorkCalendar()


class Receiver(BaseHTTPRequestHandler):
    """Answers 500 to the first delivery and 204 afterwards, keeping what it was sent."""

    received: list[tuple[dict[str, str], bytes]] = []
    failures_left = 1

    def do_POST(self) -> None:  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append((dict(self.headers), body))
        if type(self).failures_left > 0:
            type(self).failures_left -= 1
            self.send_response(500)
        else:
            self.send_response(204)
        self.end_headers()

    def log_message(self, *args) -> None:  # noqa: ANN002
        pass


@pytest.fixture
def receiver() -> Iterator[str]:
    Receiver.received, Receiver.failures_left = [], 1
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hooks/cityops"
    server.shutdown()


def staff(user: User, role: str, department: str | None = None) -> Actor:
    return Actor(kind=ActorKind.user, id=str(user.id), role=role, name=user.username, department=department)


def test_moves_reach_inboxes_and_a_webhook_at_least_once(scratch_store: Engine, receiver: str) -> None:
    with unit_of_work(scratch_store) as session:
        city = make_city(session)
        org_service.create_department(session, code="D1", name="D1", level="district", area_code="990101",
                                      kind="x", origin="test")
        operator = make_user(session, username="op", roles=["operator"], area_code="99010101")
        dispatcher = make_user(session, username="disp", roles=["dispatcher"], area_code="99010101")
        handler = make_user(session, username="h", roles=["handler"], area_code="990101", department_code="D1")
        make_user(session, username="far.disp", roles=["dispatcher"], area_code="99010202")
        admin = org_service.principal_of_user(session, make_user(session, username="admin",
                                                                 roles=["administrator"], area_code="990000"))
        hook = notify.create_webhook(session, name="12345 system", url=receiver,
                                     topics=["case.dispatched", "case.returned"], actor=admin)
        secret = hook.secret
        locator = Locator([AreaShape(a.id, a.code, a.name, a.level, a.parent_id,
                                     box(a.min_lon, a.min_lat, a.max_lon, a.max_lat)) for a in city.areas.values()])
        now = datetime.now(UTC)
        case = service.intake(session, report=service.Report(channel=Channel.hotline_12345, title="井盖缺失",
                                                             lon=121.02, lat=31.05),
                              actor=staff(operator, "operator"),
                              receiver=org_service.principal_of_user(session, operator), locator=locator,
                              calendar=CALENDAR, at=now, policy=service.IntakePolicy()).case
        for action, user, role, data, reason in (
                (Action.register, operator, "operator", {}, None),
                (Action.dispatch, dispatcher, "dispatcher", {"lead": "D1"}, None),
                (Action.return_, handler, "handler", {}, "不属于本单位职责")):
            service.act(session, case=case, action=action, actor=staff(user, role, "D1" if role == "handler" else None),
                        at=now, calendar=CALENDAR, data=data, reason=reason)
        ids = {u.username: u.id for u in session.scalars(select(User))}
        case_id, tracking_code = case.id, case.tracking_code
    with unit_of_work(scratch_store) as session:
        topics = [e.topic for e in session.scalars(select(OutboxEvent).order_by(OutboxEvent.id))]
    assert topics == ["case.reported", "case.dispatched", "case.returned"]

    assert run_fan_out(scratch_store, holder="w1", now=datetime.now(UTC)) == 3
    assert run_fan_out(scratch_store, holder="w1", now=datetime.now(UTC)) == 0  # each event once
    with unit_of_work(scratch_store) as session:
        inboxes = {(n.user_id, n.topic) for n in session.scalars(select(Notification))}
    assert inboxes == {(ids["h"], "case.dispatched"), (ids["disp"], "case.returned")}

    first_round = datetime.now(UTC)
    assert run_deliveries(scratch_store, holder="w1", now=first_round, post=http_post) == 2
    with unit_of_work(scratch_store) as session:
        deliveries = session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)).all()
        assert [(d.attempts, d.delivered_at is None, d.last_status) for d in deliveries] == [(1, True, 500),
                                                                                           (1, False, 204)]
        retry_at = deliveries[0].next_attempt_at
    assert run_deliveries(scratch_store, holder="w1", now=first_round, post=http_post) == 0  # not yet due
    assert run_deliveries(scratch_store, holder="w1", now=retry_at + timedelta(seconds=1), post=http_post) == 1
    with unit_of_work(scratch_store) as session:
        assert all(d.delivered_at for d in session.scalars(select(WebhookDelivery)))

    assert len(Receiver.received) == 3
    for headers, body in Receiver.received:
        timestamp, mac = (part.split("=", 1)[1] for part in headers["X-CityOps-Signature"].split(","))
        expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
        assert hmac.compare_digest(mac, expected)
        assert json.loads(body)["topic"] == headers["X-CityOps-Event"]
        # the case by its id and, beside it, by the tracking code people know it by
        assert (json.loads(body)["case_id"], json.loads(body)["tracking_code"]) == (case_id, tracking_code)


def test_every_delivery_names_its_case_by_tracking_code_read_with_the_deliveries(
        session: Session, engine: Engine) -> None:
    """A case's events from every source (a move, the sweeper) carry the tracking code beside the id, read in
    the one query that reads the deliveries; an event of no case (a warning) carries null."""
    city = make_city(session)
    operator = make_user(session, username="op", roles=["operator"], area_code="99010101")
    admin = org_service.principal_of_user(session, make_user(session, username="admin", roles=["administrator"],
                                                             area_code="990000"))
    notify.create_webhook(session, name="all", url="http://127.0.0.1:9/hooks", topics=["*"], actor=admin)
    now = datetime.now(UTC)
    case = service.intake(session, report=service.Report(channel=Channel.hotline_12345, title="井盖缺失",
                                                         lon=121.02, lat=31.05),
                          actor=staff(operator, "operator"), receiver=org_service.principal_of_user(session, operator),
                          locator=Locator([AreaShape(a.id, a.code, a.name, a.level, a.parent_id, box(
                              a.min_lon, a.min_lat, a.max_lon, a.max_lat)) for a in city.areas.values()]),
                          calendar=CALENDAR, at=now, policy=service.IntakePolicy()).case
    outbox.emit(session, topic="case.overdue", area_path=case.area_path, case_id=case.id, at=now,
                payload={"title": case.title, "step": "register"})
    outbox.emit(session, topic="warning.fired", area_path=case.area_path, at=now, payload={"rule": "wl-high"})
    notify.fan_out(session, now=now)
    answers: list[list[notify.Outgoing]] = []
    statements = statements_during(engine, lambda: answers.append(notify.due_deliveries(session, now=now)))
    bodies = [json.loads(outgoing.body) for outgoing in answers[0]]
    assert [(b["topic"], b["case_id"], b["tracking_code"]) for b in bodies] == [
        ("case.reported", case.id, case.tracking_code), ("case.overdue", case.id, case.tracking_code),
        ("warning.fired", None, None)]
    assert len(statements) == 1


def test_backoff_doubles_up_to_an_hour() -> None:
    assert [notify.backoff(n).total_seconds() for n in (1, 2, 3, 10)] == [10, 20, 40, 3600]


def test_settings_run_background_jobs_by_default() -> None:
    assert Settings().sweep_interval_s > 0
