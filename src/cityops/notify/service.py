"""Fanning events out: each outbox event becomes inbox messages for the people who must act on it
and deliveries for the webhooks that asked for it; then the deliveries are POSTed, signed, and
retried with exponential back-off until they succeed or are given up."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from cityops.cases.models import Case
from cityops.errors import InvalidInput, NotFound
from cityops.geo.models import Area
from cityops.notify import paging
from cityops.notify.models import Notification, Webhook, WebhookDelivery
from cityops.org.access import Principal
from cityops.org.models import Department, User
from cityops.outbox import OutboxEvent

MAX_ATTEMPTS = 10
FIRST_RETRY = timedelta(seconds=10)
LONGEST_WAIT = timedelta(hours=1)
TOPICS = ("case.reported", "case.dispatched", "case.returned", "case.rework", "case.closed", "case.rejected",
          "case.merged", "case.reminder", "case.overdue", "case.supervised", "case.summoned",
          "warning.fired", "warning.level_changed", "warning.resolved", "warning.case_not_opened")
# Who is told of what, by role; "departments" means the handlers of the departments the event names,
# "withdrawn" those of the departments whose parts of a joint case a return withdrew.
AUDIENCE: dict[str, tuple[str, ...]] = {
    "case.dispatched": ("departments",),
    "case.rework": ("departments",),
    "case.reminder": ("departments",),
    "case.overdue": ("departments", "dispatcher"),
    "case.returned": ("dispatcher", "withdrawn"),
    "case.supervised": ("centre",),
    "case.summoned": ("departments",),
    "warning.fired": ("operator", "dispatcher"),
    "warning.level_changed": ("operator", "dispatcher"),
    "warning.resolved": ("operator", "dispatcher"),
    "warning.case_not_opened": ("operator", "dispatcher"),
    "case.closed": ("reporter",),
    "case.rejected": ("reporter",),
    "case.merged": ("reporter",),
}
WORDS = {
    "case.reported": "新案件",
    "case.dispatched": "已派遣",
    "case.returned": "被退回",
    "case.rework": "核查未通过，需返工",
    "case.closed": "已结案",
    "case.rejected": "不予立案",
    "case.merged": "已合并",
    "case.reminder": "即将超时",
    "case.overdue": "已超时",
    "case.supervised": "督办",
    "case.summoned": "吹哨报到，请按时报到",
    "warning.fired": "发出",
    "warning.level_changed": "级别变化",
    "warning.resolved": "解除",
    "warning.case_not_opened": "未能自动立案，请研判后转案件",
}
LEVEL_WORDS = {"blue": "蓝色", "yellow": "黄色", "orange": "橙色", "red": "红色"}


@dataclass(frozen=True)
class _Names:
    """What a batch of events names, looked up once for the batch: its cases' tracking codes by case id, and
    the names of the areas its warnings are filed under by area code."""

    codes: dict[int, str]
    areas: dict[str, str]


def _text(session: Session, event: OutboxEvent, audience: str, names: _Names) -> str:
    """The inbox line: the case by its tracking code (the one the queues, case pages and phone calls use)
    and its title, or the warning as the warnings board shows it (its area, rule, level and device); to a
    department whose part was withdrawn, who returned the case and why, so it stops work."""
    words = WORDS.get(event.topic, event.topic)
    case = f"案件 {names.codes.get(event.case_id) or f'#{event.case_id}'}"
    if audience == "withdrawn":
        code = event.payload.get("returned_by")
        name = session.scalar(select(Department.name).where(Department.code == code)) or code
        reason = event.payload.get("reason")
        why = f"，理由：{reason}" if reason else ""
        return (f"{case} 本部门的联办任务已撤回（{name} 退回了案件{why}），请停止处置："
                f"{event.payload.get('title', '')}")
    if event.topic.startswith("warning."):
        area = _area_code(event.area_path)
        return _warning_text(event.payload, words, area=area, area_name=names.areas.get(area))
    return f"{case} {words}：{event.payload.get('title', '')}"


def tracking_codes(session: Session, case_ids: Iterable[int | None]) -> dict[int, str]:
    """The tracking codes of these cases, by case id, in one query."""
    wanted = {i for i in case_ids if i is not None}
    if not wanted:
        return {}
    return dict(session.execute(select(Case.id, Case.tracking_code).where(Case.id.in_(wanted))).all())


def _area_code(area_path: str) -> str:
    """The code of the area a path ends in (``/310000/310101/`` → ``310101``)."""
    return area_path.strip("/").rsplit("/", 1)[-1]


def area_names(session: Session, area_paths: Iterable[str]) -> dict[str, str]:
    """The names of the areas these paths end in, by area code, in one query."""
    wanted = {_area_code(path) for path in area_paths if path.strip("/")}
    if not wanted:
        return {}
    return dict(session.execute(select(Area.code, Area.name).where(Area.code.in_(wanted))).all())


def _warning_text(payload: dict, words: str, *, area: str, area_name: str | None) -> str:
    """A warning named as the warnings board names it, never by its id: the area it is filed under, its
    rule's name and level; then the device it came from (an indicator's warning comes from the area itself,
    named already), the reading with its unit and the rule's code. Events queued before they carried names
    fall back to the codes. A refusal's reason is left to the screens, which say its code in Chinese
    (``reasons``); an event queued before it carried the code keeps the API's words."""
    origin, rule = payload.get("origin"), payload.get("rule")
    name = payload.get("origin_name")
    level = LEVEL_WORDS.get(payload.get("level"), payload.get("level"))
    what = f"{payload.get('rule_name') or rule}{level}预警"
    details = [] if origin in (None, area) else [f"{name}（{origin}）" if name and name != origin else origin]
    value = payload.get("value")
    if isinstance(value, int | float):
        details.append(f"读数 {value:g}{payload.get('unit') or ''}")
    cause = f"；原因：{payload['cause']}" if payload.get("cause") and not payload.get("cause_code") else ""
    told = f"：{'，'.join(details)}" if details else ""
    return f"{area_name or area} {what} {words}{told}（规则 {rule}）{cause}"


def backoff(attempts: int) -> timedelta:
    return min(FIRST_RETRY * (2 ** max(attempts - 1, 0)), LONGEST_WAIT)


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """``t=…,v1=…``: HMAC-SHA256 over ``"{timestamp}.{body}"``, so a receiver can refuse replays."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def _users(session: Session, event: OutboxEvent, audience: str) -> Iterable[int]:
    if audience in ("departments", "withdrawn"):
        codes = event.payload.get(audience, [])
        return session.scalars(select(User.id).join(Department, User.department_id == Department.id).where(
            Department.code.in_(codes), User.active.is_(True)))
    if audience == "reporter":
        reporter = event.payload.get("reporter_user_id")
        return [int(reporter)] if reporter else []
    if audience == "centre":
        path = event.payload.get("centre_area_path", "")
        users = session.scalars(select(User).join(Area, User.area_id == Area.id).where(Area.path == path))
        return [u.id for u in users if u.active and {"operator", "dispatcher"} & set(u.roles)]
    users = session.scalars(select(User).where(User.active.is_(True)))
    paths = dict(session.execute(select(Area.id, Area.path)).all())
    return [u.id for u in users if audience in u.roles and event.area_path.startswith(paths[u.area_id])]


def fan_out(session: Session, *, now: datetime, batch: int = 500) -> int:
    """Turn unpublished events into inbox messages and webhook deliveries; returns how many."""
    events = session.scalars(select(OutboxEvent).where(OutboxEvent.fanned_out_at.is_(None))
                             .order_by(OutboxEvent.id).limit(batch).with_for_update(skip_locked=True)).all()
    hooks = session.scalars(select(Webhook).where(Webhook.active.is_(True))).all()
    names = _Names(tracking_codes(session, (event.case_id for event in events)),
                   area_names(session, (event.area_path for event in events if event.topic.startswith("warning."))))
    for event in events:
        texts: dict[int, str] = {}  # one message per user, worded for the first audience they are in
        for audience in AUDIENCE.get(event.topic, ()):
            users = list(_users(session, event, audience))
            text = _text(session, event, audience, names) if users else ""
            for user_id in users:
                texts.setdefault(user_id, text)
        for user_id, text in sorted(texts.items()):
            session.add(Notification(user_id=user_id, event_id=event.id, topic=event.topic, case_id=event.case_id,
                                     text=text, created_at=now))
        for hook in hooks:
            if (event.topic in hook.topics or "*" in hook.topics) and event.area_path.startswith(hook.area_path):
                session.add(WebhookDelivery(webhook_id=hook.id, event_id=event.id, next_attempt_at=now))
        event.fanned_out_at = now
    session.flush()
    return len(events)


@dataclass(frozen=True)
class Outgoing:
    delivery_id: int
    url: str
    headers: dict[str, str]
    body: bytes


def due_deliveries(session: Session, *, now: datetime, batch: int = 100) -> list[Outgoing]:
    """The deliveries to attempt now, signed and ready to POST (none to a disabled webhook, whose
    pending retries wait until it is enabled again). A case's event names the case by its id and, beside
    it, by the tracking code people know it by (``tracking_code``; null for an event of no case), read with
    the deliveries, so events queued before it was added carry it too."""
    rows = session.execute(select(WebhookDelivery, Webhook, OutboxEvent, Case.tracking_code)
                           .join(Webhook, WebhookDelivery.webhook_id == Webhook.id)
                           .join(OutboxEvent, WebhookDelivery.event_id == OutboxEvent.id)
                           .outerjoin(Case, Case.id == OutboxEvent.case_id)
                           .where(WebhookDelivery.delivered_at.is_(None), WebhookDelivery.gave_up_at.is_(None),
                                  WebhookDelivery.next_attempt_at <= now, Webhook.active.is_(True))
                           .order_by(WebhookDelivery.id).limit(batch)).all()
    outgoing = []
    for delivery, hook, event, tracking_code in rows:
        body = json.dumps({"id": event.id, "topic": event.topic, "case_id": event.case_id,
                           "tracking_code": tracking_code, "created_at": event.created_at.isoformat(),
                           "payload": event.payload},
                          ensure_ascii=False, sort_keys=True).encode()
        timestamp = int(now.timestamp())
        outgoing.append(Outgoing(delivery.id, hook.url, {
            "Content-Type": "application/json", "X-CityOps-Event": event.topic,
            "X-CityOps-Delivery": str(delivery.id), "X-CityOps-Signature": signature(hook.secret, timestamp, body)},
            body))
    return outgoing


def record_attempt(session: Session, *, delivery_id: int, now: datetime, status: int | None,
                   error: str | None) -> None:
    delivery = session.get(WebhookDelivery, delivery_id)
    delivery.attempts += 1
    delivery.last_status, delivery.last_error = status, (error or "")[:500] or None
    if status is not None and 200 <= status < 300:
        delivery.delivered_at = now
    elif delivery.attempts >= MAX_ATTEMPTS:
        delivery.gave_up_at = now
    else:
        delivery.next_attempt_at = now + backoff(delivery.attempts)
    session.flush()


@dataclass(frozen=True)
class Reason:
    """Why what a line tells of was refused, as a problem: its code, the members its text names and the
    API's own words. The Chinese texts are the screens' (problem.* of the locale), one catalogue for the
    refusals of calls and of lines alike; the server has none to write into the line."""

    code: str
    values: dict[str, str | int | float]
    detail: str


REASONED = ("warning.case_not_opened",)
"""The topics whose lines carry a reason (their events' ``cause_code``)."""


def reasons(session: Session, notes: Iterable[Notification]) -> dict[int, Reason]:
    """The reasons of the lines that have one, by event id, read from their events in one query."""
    wanted = {note.event_id for note in notes if note.topic in REASONED}
    if not wanted:
        return {}
    found = session.execute(select(OutboxEvent.id, OutboxEvent.payload).where(OutboxEvent.id.in_(wanted)))
    return {event_id: Reason(payload["cause_code"], payload.get("cause_values") or {}, payload.get("cause") or "")
            for event_id, payload in found if payload.get("cause_code")}


@dataclass(frozen=True)
class InboxPage:
    notifications: list[Notification]
    next_cursor: str | None
    """Where the page of older lines starts; None when there are none."""
    tracking_codes: dict[int, str]
    """The tracking codes of the page's cases, by case id."""
    reasons: dict[int, Reason]
    """The reasons of the page's lines that tell of a refusal, by event id."""


def inbox(session: Session, *, user_id: int, unread_only: bool = False, cursor: str | None = None,
          limit: int = 50) -> InboxPage:
    """A page of the user's lines, newest first; pass its ``next_cursor`` as ``cursor`` for the older
    ones. A cursor the API did not give out is bad input."""
    query = select(Notification).where(Notification.user_id == user_id)
    if unread_only:
        query = query.where(Notification.read_at.is_(None))
    if cursor is not None:
        query = query.where(Notification.id < paging.decode(cursor))
    # one line more than the page, so the last page says it is the last
    rows = list(session.scalars(query.order_by(Notification.id.desc()).limit(limit + 1)))
    shown = rows[:limit]
    return InboxPage(shown, paging.encode(rows[limit - 1].id) if len(rows) > limit else None,
                     tracking_codes(session, (n.case_id for n in shown)), reasons(session, shown))


def unread_count(session: Session, *, user_id: int) -> int:
    return session.scalar(select(func.count()).select_from(Notification).where(
        Notification.user_id == user_id, Notification.read_at.is_(None)))


def mark_all_read(session: Session, *, user_id: int, now: datetime, up_to: int | None = None) -> int:
    """Mark the user's unread lines read, only those up to the line ``up_to`` when given (the newest
    one they were shown, so that lines which came after it are not marked read unseen); how many.
    Lines read before keep the time they were read."""
    statement = update(Notification).where(Notification.user_id == user_id, Notification.read_at.is_(None))
    if up_to is not None:
        statement = statement.where(Notification.id <= up_to)
    return session.execute(statement.values(read_at=now)).rowcount


def mark_read(session: Session, *, user_id: int, notification_id: int, now: datetime) -> Notification:
    note = session.get(Notification, notification_id)
    if note is None or note.user_id != user_id:
        raise NotFound(f"no notification {notification_id}", code="unknown_notification")
    note.read_at = note.read_at or now
    session.flush()
    return note


def create_webhook(session: Session, *, name: str, url: str, topics: list[str], actor: Principal) -> Webhook:
    if not url.startswith(("http://", "https://")):
        raise InvalidInput("url must be http(s)", field="url")
    unknown = [t for t in topics if t != "*" and t not in TOPICS]
    if not topics or unknown:
        raise InvalidInput(f"topics must be among {', '.join(TOPICS)} or *", field="topics")
    hook = Webhook(name=name, url=url, secret=secrets.token_urlsafe(32), topics=topics, area_path=actor.area_path,
                   created_by_id=actor.id if actor.kind == "user" else None)
    session.add(hook)
    session.flush()
    return hook


def webhooks(session: Session, *, viewer: Principal) -> list[Webhook]:
    return list(session.scalars(select(Webhook).where(Webhook.area_path.startswith(viewer.area_path, autoescape=True))
                                .order_by(Webhook.id)))


def get_webhook(session: Session, *, webhook_id: int, viewer: Principal) -> Webhook:
    hook = session.get(Webhook, webhook_id)
    if hook is None or not hook.area_path.startswith(viewer.area_path):
        raise NotFound(f"no webhook {webhook_id}", code="unknown_webhook")
    return hook


def deliveries(session: Session, *, hook: Webhook, limit: int = 100) -> list[WebhookDelivery]:
    return list(session.scalars(select(WebhookDelivery).where(WebhookDelivery.webhook_id == hook.id)
                                .order_by(WebhookDelivery.id.desc()).limit(limit)))
