"""Domain events, written in the same transaction as the change they announce and handed to their
consumers (inboxes, webhooks) after commit, so a crash can neither lose an event nor announce a
change that was rolled back."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, Session, mapped_column

from cityops.bulk import new_row
from cityops.db import Base, UTCDateTime, utcnow


class OutboxEvent(Base):
    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    topic: Mapped[str] = mapped_column(String(64), index=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    area_path: Mapped[str] = mapped_column(String(1024))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    fanned_out_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)


def emit(session: Session, *, topic: str, area_path: str, case_id: int | None = None,
         payload: dict[str, Any] | None = None, at: datetime | None = None) -> OutboxEvent:
    return new_row(session, OutboxEvent, topic=topic, case_id=case_id, area_path=area_path, payload=payload or {},
                   created_at=at or utcnow())
