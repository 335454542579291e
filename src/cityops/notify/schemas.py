"""API shapes of notifications."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class ReasonOut(BaseModel):
    code: str = Field(description="the refusal's problem code, as an API error has it (e.g. unavailable)")
    values: dict[str, str | int | float] = Field(description="the problem's members its text names")
    detail: str = Field(description="the API's own words for it, in English")


class NotificationOut(BaseModel):
    id: int
    topic: str
    case_id: int | None
    tracking_code: str | None = Field(description="the case's tracking code, as queues and case pages show it")
    text: str
    reason: ReasonOut | None = Field(None, description=(
        "why what the line tells of was refused (a warning whose case the platform could not open), as a "
        "problem: screens say it by its code, as they say an error's; the text leaves it to them"))
    created_at: datetime
    read_at: datetime | None


class InboxPage(BaseModel):
    items: list[NotificationOut]
    next_cursor: str | None = Field(description="pass as `cursor` for the older lines; null on the last page")


class UnreadCount(BaseModel):
    unread: int = Field(description="how many of your notifications are unread")


class MarkedRead(BaseModel):
    marked: int = Field(description="how many unread notifications this marked read (0 when none were left)")


class WebhookIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    url: str = Field(min_length=8, max_length=1000, pattern=r"^https?://")
    topics: list[str] = Field(min_length=1, max_length=20, description="event topics, or [\"*\"] for all")


class WebhookOut(BaseModel):
    id: int
    name: str
    url: str
    topics: list[str]
    active: bool
    created_at: datetime


class WebhookCreated(WebhookOut):
    secret: str = Field(description="signs every delivery (X-CityOps-Signature: t=…,v1=HMAC-SHA256 of "
                                    "\"t.body\"); shown only once")


class DeliveryOut(BaseModel):
    id: int
    event_id: int
    attempts: int
    next_attempt_at: datetime
    delivered_at: datetime | None
    gave_up_at: datetime | None
    last_status: int | None
    last_error: str | None
