"""HTTP API of notifications: each user's inbox, and webhooks for other systems."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query

from cityops.deps import CurrentPrincipal, DbSession, requires
from cityops.errors import PermissionDenied
from cityops.notify import service
from cityops.notify.models import Notification, Webhook
from cityops.notify.schemas import (
    DeliveryOut,
    InboxPage,
    MarkedRead,
    NotificationOut,
    ReasonOut,
    UnreadCount,
    WebhookCreated,
    WebhookIn,
    WebhookOut,
)
from cityops.org.access import Principal
from cityops.org.roles import Permission

router = APIRouter(prefix="/api/v1", tags=["notifications"])
Integrator = Annotated[Principal, requires(Permission.manage_api_clients)]
Id = Annotated[int, Path(ge=1, le=2**31 - 1)]


def _user_id(principal: Principal) -> int:
    if principal.kind != "user":
        raise PermissionDenied("an inbox belongs to a user, not an API client")
    return principal.id


def _note(note: Notification, codes: dict[int, str], reasons: dict[int, service.Reason]) -> NotificationOut:
    reason = reasons.get(note.event_id)
    return NotificationOut(id=note.id, topic=note.topic, case_id=note.case_id,
                           tracking_code=codes.get(note.case_id) if note.case_id else None, text=note.text,
                           reason=ReasonOut(code=reason.code, values=reason.values, detail=reason.detail)
                           if reason else None, created_at=note.created_at, read_at=note.read_at)


def _hook(hook: Webhook) -> WebhookOut:
    return WebhookOut(id=hook.id, name=hook.name, url=hook.url, topics=hook.topics, active=hook.active,
                      created_at=hook.created_at)


@router.get("/inbox", response_model=InboxPage, summary="Your notifications, newest first, a page at a time")
def inbox(session: DbSession, principal: CurrentPrincipal, unread: bool = False,
          cursor: Annotated[str | None, Query(min_length=1, max_length=200,
                                              description="a page's `next_cursor`, for the older lines")] = None,
          limit: Annotated[int, Query(ge=1, le=200)] = 50) -> InboxPage:
    """Lines that arrive while you page are newer than every page's and shift none: following
    `next_cursor` shows each line once."""
    page = service.inbox(session, user_id=_user_id(principal), unread_only=unread, cursor=cursor, limit=limit)
    return InboxPage(items=[_note(n, page.tracking_codes, page.reasons) for n in page.notifications],
                     next_cursor=page.next_cursor)


@router.get("/inbox/unread-count", response_model=UnreadCount, summary="How many of your notifications are unread")
def unread_count(session: DbSession, principal: CurrentPrincipal) -> UnreadCount:
    return UnreadCount(unread=service.unread_count(session, user_id=_user_id(principal)))


@router.post("/inbox/read-all", response_model=MarkedRead,
             summary="Mark all your unread notifications read, or those up to one you were shown")
def read_all(session: DbSession, principal: CurrentPrincipal,
             up_to: Annotated[int | None, Query(ge=1, le=2**31 - 1, description=(
                 "the id of the newest notification you were shown: those that came after it stay unread"))] = None,
             ) -> MarkedRead:
    """Idempotent: lines already read keep the time they were read, and a repeat marks none."""
    return MarkedRead(marked=service.mark_all_read(session, user_id=_user_id(principal), now=datetime.now(UTC),
                                                   up_to=up_to))


@router.post("/inbox/{notification_id}/read", response_model=NotificationOut, summary="Mark a notification read")
def mark_read(session: DbSession, principal: CurrentPrincipal, notification_id: Id) -> NotificationOut:
    note = service.mark_read(session, user_id=_user_id(principal), notification_id=notification_id,
                             now=datetime.now(UTC))
    return _note(note, service.tracking_codes(session, [note.case_id]), service.reasons(session, [note]))


@router.get("/webhooks", response_model=list[WebhookOut], summary="Webhooks in your jurisdiction")
def list_webhooks(session: DbSession, manager: Integrator) -> list[WebhookOut]:
    return [_hook(h) for h in service.webhooks(session, viewer=manager)]


@router.post("/webhooks", response_model=WebhookCreated, status_code=201,
             summary="Send events of some topics in your jurisdiction to a URL")
def create_webhook(session: DbSession, manager: Integrator, body: WebhookIn) -> WebhookCreated:
    """Deliveries are POSTed as JSON, at least once, retried with exponential back-off (10 s doubling
    to 1 h, 10 attempts); verify `X-CityOps-Signature` with the secret returned here. A delivery's body is
    `{"id", "topic", "case_id", "tracking_code", "created_at", "payload"}`: a case's event names the case by
    its id and, beside it, by its tracking code (both null for a warning's event)."""
    hook = service.create_webhook(session, name=body.name, url=body.url, topics=body.topics, actor=manager)
    return WebhookCreated(**_hook(hook).model_dump(), secret=hook.secret)


@router.post("/webhooks/{webhook_id}/disable", response_model=WebhookOut, summary="Stop sending to a webhook")
def disable_webhook(session: DbSession, manager: Integrator, webhook_id: Id) -> WebhookOut:
    hook = service.get_webhook(session, webhook_id=webhook_id, viewer=manager)
    hook.active = False
    session.flush()
    return _hook(hook)


@router.get("/webhooks/{webhook_id}/deliveries", response_model=list[DeliveryOut],
            summary="Recent deliveries of a webhook and their outcome")
def webhook_deliveries(session: DbSession, manager: Integrator, webhook_id: Id) -> list[DeliveryOut]:
    hook = service.get_webhook(session, webhook_id=webhook_id, viewer=manager)
    return [DeliveryOut(id=d.id, event_id=d.event_id, attempts=d.attempts, next_attempt_at=d.next_attempt_at,
                        delivered_at=d.delivered_at, gave_up_at=d.gave_up_at, last_status=d.last_status,
                        last_error=d.last_error) for d in service.deliveries(session, hook=hook)]
