"""API shapes of notifications."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class NotificationOut(BaseModel):
    id: int
    topic: str
    case_id: int | None
    text: str
    created_at: datetime
    read_at: datetime | None


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
