"""Webhook delivery against real local HTTP endpoints: a receiver that cannot be reached is retried
with back-off and given up after the last attempt; a disabled webhook is sent nothing more, not even
the retries it still had pending."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import Engine, select

from cityops import outbox
from cityops.db import unit_of_work
from cityops.models import Webhook, WebhookDelivery
from cityops.notify import service as notify
from cityops.org import service as org_service
from cityops.worker import http_post, run_deliveries, run_fan_out
from tests.factories import make_city, make_user


class Failing(BaseHTTPRequestHandler):
    """Answers 503 to everything, counting the deliveries."""

    received = 0

    def do_POST(self) -> None:  # noqa: N802
        self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received += 1
        self.send_response(503)
        self.end_headers()

    def log_message(self, *args) -> None:  # noqa: ANN002
        pass


@pytest.fixture
def failing_receiver() -> Iterator[str]:
    Failing.received = 0
    server = ThreadingHTTPServer(("127.0.0.1", 0), Failing)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    server.shutdown()


def closed_port() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}/hook"  # nobody listens once the probe is closed


def one_event_for(engine: Engine, url: str) -> int:
    with unit_of_work(engine) as session:
        make_city(session)
        admin = org_service.principal_of_user(session, make_user(session, username="admin",
                                                                 roles=["administrator"], area_code="990000"))
        hook = notify.create_webhook(session, name="hook", url=url, topics=["*"], actor=admin)
        outbox.emit(session, topic="case.dispatched", area_path="/990000/990101/", payload={"title": "x"})
        hook_id = hook.id
    assert run_fan_out(engine, holder="w", now=datetime.now(UTC)) == 1
    return hook_id


def delivery(engine: Engine) -> WebhookDelivery:
    with unit_of_work(engine) as session:
        return session.scalars(select(WebhookDelivery)).one()


def test_an_unreachable_receiver_is_retried_then_given_up(scratch_store: Engine) -> None:
    one_event_for(scratch_store, closed_port())
    now = datetime.now(UTC)
    for attempt in range(1, notify.MAX_ATTEMPTS + 1):
        assert run_deliveries(scratch_store, holder="w", now=now, post=http_post) == 1
        state = delivery(scratch_store)
        assert state.attempts == attempt and state.delivered_at is None and state.last_status is None
        assert "ConnectError" in state.last_error
        if attempt < notify.MAX_ATTEMPTS:
            assert state.gave_up_at is None and state.next_attempt_at > now
            now = state.next_attempt_at + timedelta(seconds=1)
    assert delivery(scratch_store).gave_up_at is not None
    assert run_deliveries(scratch_store, holder="w", now=now + timedelta(days=1), post=http_post) == 0


def test_a_disabled_webhook_is_sent_nothing_more(scratch_store: Engine, failing_receiver: str) -> None:
    hook_id = one_event_for(scratch_store, failing_receiver)
    now = datetime.now(UTC)
    assert run_deliveries(scratch_store, holder="w", now=now, post=http_post) == 1
    assert Failing.received == 1 and delivery(scratch_store).last_status == 503
    with unit_of_work(scratch_store) as session:
        session.get(Webhook, hook_id).active = False  # as POST /webhooks/{id}/disable does
    later = delivery(scratch_store).next_attempt_at + timedelta(seconds=1)
    assert run_deliveries(scratch_store, holder="w", now=later, post=http_post) == 0
    assert Failing.received == 1
