"""An inbox of thousands of lines is read through the indexes made for it (migration 0020), on both
stores: the unread count, marking them all read and a page of unread lines seek the user's unread
lines (``ix_notifications_user_unread``) and read none of their read ones, and a page of all lines
walks the user's lines newest first (``ix_notifications_user_newest``) with no sort.

The plans are of the statements the service really sends, with their values. SQLite plans without
statistics, as it runs; PostgreSQL from statistics, so it gets a few thousand lines of many users,
most of them read, analysed."""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from functools import partial
from typing import Any

import pytest
from sqlalchemy import insert, select, text
from sqlalchemy.orm import Session

from cityops.models import Notification, OutboxEvent
from cityops.notify import paging
from cityops.notify import service as notify
from tests.factories import make_city, make_user, query_plan, statements_and_values_during

NOW = datetime(2025, 10, 9, 8, 0, tzinfo=UTC)
USERS = 40


@pytest.fixture
def inboxes(session: Session) -> Iterator[list[int]]:
    """Users whose lines are interleaved, the first one's many, the last ones' few; 1 in 20 unread."""
    make_city(session)
    users = [make_user(session, username=f"reader{n}", roles=["dispatcher"], area_code="990000").id
             for n in range(USERS)]
    rng = random.Random(20)
    count = 4_000
    session.execute(insert(OutboxEvent), [{"topic": "case.reminder", "area_path": "/990000/", "payload": {},
                                           "created_at": NOW, "fanned_out_at": NOW} for _ in range(count)])
    events = session.scalars(select(OutboxEvent.id).order_by(OutboxEvent.id)).all()
    owners = rng.choices(users, weights=[1 / (n + 1) for n in range(USERS)], k=len(events))
    session.execute(insert(Notification), [
        {"user_id": owner, "event_id": event_id, "topic": "case.reminder", "text": "第几条", "created_at": NOW,
         "read_at": None if rng.random() < 0.05 else NOW} for event_id, owner in zip(events, owners, strict=True)])
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("ANALYZE notifications"))
    yield users


def sent(session: Session, action: Callable[[], object]) -> tuple[str, Any]:
    """The one statement on notifications that ``action`` sends, with its values."""
    [statement_and_values] = [(statement, values) for statement, values
                              in statements_and_values_during(session.get_bind().engine, action)
                              if "notifications" in statement]
    return statement_and_values


@pytest.fixture
def postgres_off_scans(session: Session) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL enable_seqscan = off"))  # a few thousand rows: a scan would do


def test_the_unread_lines_are_counted_marked_and_paged_through_their_index(
        session: Session, inboxes: list[int], postgres_off_scans: None) -> None:
    sqlite = session.get_bind().dialect.name == "sqlite"
    for user_id in (inboxes[0], inboxes[-1]):
        newest = session.scalar(select(Notification.id).where(Notification.user_id == user_id)
                                .order_by(Notification.id.desc()))
        for action in (partial(notify.unread_count, session, user_id=user_id),
                       partial(notify.inbox, session, user_id=user_id, unread_only=True, limit=20,
                               cursor=paging.encode(newest)),
                       partial(notify.mark_all_read, session, user_id=user_id, now=NOW, up_to=newest)):
            shown = query_plan(session, *sent(session, action))
            if sqlite:
                assert shown.startswith("SEARCH notifications USING ") and (
                    "INDEX ix_notifications_user_unread (user_id=? AND read_at=?" in shown), shown
                assert "TEMP B-TREE" not in shown, shown
            else:
                assert re.search(r"ix_notifications_user_unread cond=\(\(user_id = \d+\) AND \(read_at IS NULL\)",
                                 shown), shown


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_a_page_of_all_lines_walks_the_users_lines_newest_first(session: Session, inboxes: list[int]) -> None:
    """On SQLite, which plans without statistics. PostgreSQL's choice turns on how many users share the
    table (with a few dozen, walking every line's id backwards keeping the user's costs about as much,
    and a sort of one user's few lines about as little), so this plan is SQLite's alone."""
    for user_id in (inboxes[0], inboxes[-1]):
        newest = session.scalar(select(Notification.id).where(Notification.user_id == user_id)
                                .order_by(Notification.id.desc()))
        for cursor in (None, paging.encode(newest)):
            shown = query_plan(session, *sent(session, partial(notify.inbox, session, user_id=user_id, cursor=cursor,
                                                         limit=20)))
            assert shown.startswith("SEARCH notifications USING INDEX ix_notifications_user_newest (user_id=?"), shown
            assert "TEMP B-TREE" not in shown, shown
