"""Cursors of the work queues: a cursor reads back as the place it was made at, for its own sort only;
anything else is bad input naming the cursor."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta, timezone

import pytest

from cityops.cases import ordering
from cityops.cases.ordering import CaseOrder, Cursor
from cityops.errors import InvalidInput


@pytest.mark.parametrize("cursor", [
    Cursor(CaseOrder.newest, None, 7),
    Cursor(CaseOrder.oldest, None, 2**31 - 1),
    Cursor(CaseOrder.deadline, datetime(2025, 10, 8, 1, 0, 0, 123456, tzinfo=UTC), 3),
    Cursor(CaseOrder.deadline, None, 3),
    Cursor(CaseOrder.priority, 4, 12),
    Cursor(CaseOrder.reports, 1, 1),
])
def test_a_cursor_reads_back_as_it_was_made(cursor: Cursor) -> None:
    text = ordering.encode(cursor)
    assert text.isascii() and "=" not in text
    assert ordering.decode(text, order=cursor.order) == cursor


def test_a_deadline_in_another_zone_reads_back_in_utc() -> None:
    due = datetime(2025, 10, 8, 9, 0, tzinfo=timezone(timedelta(hours=8)))
    back = ordering.decode(ordering.encode(Cursor(CaseOrder.deadline, due, 5)), order=CaseOrder.deadline)
    assert back.key == due and back.key.tzinfo is UTC


def test_a_cursor_serves_only_its_own_sort() -> None:
    text = ordering.encode(Cursor(CaseOrder.priority, 2, 9))
    for other in set(CaseOrder) - {CaseOrder.priority}:
        with pytest.raises(InvalidInput) as refused:
            ordering.decode(text, order=other)
        assert refused.value.field == "cursor" and "priority" in refused.value.detail


def _forged(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode()


@pytest.mark.parametrize(("text", "order"), [
    ("", CaseOrder.newest),
    ("%%%", CaseOrder.newest),
    (_forged(b"\xff\xfe"), CaseOrder.newest),
    (_forged(b"[1, 2]"), CaseOrder.newest),
    (_forged(b'{"o":"newest","i":3}'), CaseOrder.newest),
    (_forged(b'{"o":"newest","k":null,"i":0}'), CaseOrder.newest),
    (_forged(b'{"o":"newest","k":null,"i":true}'), CaseOrder.newest),
    (_forged(b'{"o":"newest","k":5,"i":3}'), CaseOrder.newest),
    (_forged(b'{"o":"deadline","k":"soon","i":3}'), CaseOrder.deadline),
    (_forged(b'{"o":"deadline","k":"2025-10-08T09:00:00","i":3}'), CaseOrder.deadline),  # no offset
    (_forged(b'{"o":"deadline","k":7,"i":3}'), CaseOrder.deadline),
    (_forged(b'{"o":"priority","k":null,"i":3}'), CaseOrder.priority),
    (_forged(b'{"o":"reports","k":false,"i":3}'), CaseOrder.reports),
])
def test_a_cursor_not_given_out_is_refused(text: str, order: CaseOrder) -> None:
    with pytest.raises(InvalidInput) as refused:
        ordering.decode(text, order=order)
    assert refused.value.field == "cursor"
