"""Orders of the work queues and their cursors: each order is total (ties broken by case id), and a
cursor carries the order it was made for with the sort key and id of the last case of a page, so the
next page starts right after it whatever was added in between. Pure: column expressions, no session.

The cursor is opaque to callers (URL-safe base64 of a small JSON object); one made for another order,
or edited, is refused rather than silently giving a wrong page."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, and_, or_

from cityops.errors import InvalidInput
from cityops.times import as_utc


class CaseOrder(StrEnum):
    newest = "newest"
    """Most recently opened first."""
    oldest = "oldest"
    """Waiting longest first."""
    deadline = "deadline"
    """The current step's deadline soonest first; cases with no running deadline (closed, deferred) last."""
    priority = "priority"
    """Highest priority first, then waiting longest first."""
    reports = "reports"
    """Most reports of the problem first, then waiting longest first."""


SortKey = int | datetime | None
NOT_GIVEN_OUT = "cursor is not one this API gave out; start again without it"


@dataclass(frozen=True)
class Cursor:
    order: CaseOrder
    key: SortKey
    """The last case's sort key (its deadline, priority or report count); None for the orders by id."""
    case_id: int


def encode(cursor: Cursor) -> str:
    key = cursor.key.isoformat() if isinstance(cursor.key, datetime) else cursor.key
    raw = json.dumps({"o": cursor.order.value, "k": key, "i": cursor.case_id}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode(text: str, *, order: CaseOrder) -> Cursor:
    """The cursor ``text`` stands for, which must have been made for ``order``."""
    try:
        raw = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidInput(NOT_GIVEN_OUT, field="cursor") from None
    if not isinstance(raw, dict) or raw.keys() != {"o", "k", "i"}:
        raise InvalidInput(NOT_GIVEN_OUT, field="cursor")
    if raw["o"] != order.value:
        raise InvalidInput(f"cursor belongs to the sort {raw['o']!r}, not {order.value!r}; start again without it",
                           field="cursor")
    case_id = raw["i"]
    if not isinstance(case_id, int) or isinstance(case_id, bool) or not 1 <= case_id < 2**31:
        raise InvalidInput(NOT_GIVEN_OUT, field="cursor")
    return Cursor(order, _key(order, raw["k"]), case_id)


def _key(order: CaseOrder, value: Any) -> SortKey:
    if order is CaseOrder.deadline and isinstance(value, str):
        try:
            return as_utc(value, field="cursor")
        except InvalidInput:
            pass
    elif order in (CaseOrder.newest, CaseOrder.oldest, CaseOrder.deadline):
        if value is None:
            return None
    elif isinstance(value, int) and not isinstance(value, bool):
        return value
    raise InvalidInput(NOT_GIVEN_OUT, field="cursor")


def order_by(order: CaseOrder, *, case_id: ColumnElement, key: ColumnElement | None) -> list[ColumnElement]:
    """The ORDER BY of ``order``; ``key`` is the column it sorts by (none for the orders by id). For
    the deadline, this orders the cases with a running deadline; those without follow by id."""
    if order is CaseOrder.newest:
        return [case_id.desc()]
    if order is CaseOrder.oldest:
        return [case_id.asc()]
    if order is CaseOrder.deadline:
        return [key.asc(), case_id.asc()]
    return [key.desc(), case_id.asc()]


def after(cursor: Cursor, *, case_id: ColumnElement, key: ColumnElement | None) -> ColumnElement:
    """The cases that come after the cursor's in its order (for the deadline: among cases with a
    running deadline when the cursor's has one, else among those without)."""
    if cursor.order is CaseOrder.newest:
        return case_id < cursor.case_id
    if cursor.order is CaseOrder.oldest or (cursor.order is CaseOrder.deadline and cursor.key is None):
        return case_id > cursor.case_id
    later_case = and_(key == cursor.key, case_id > cursor.case_id)
    if cursor.order is CaseOrder.deadline:
        return or_(key > cursor.key, later_case)
    return or_(key < cursor.key, later_case)
