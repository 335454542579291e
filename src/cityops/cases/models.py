"""Tables of the cases domain.

The timeline (``case_events``) is the source of truth: a case's state is what replaying its events
gives. ``cases`` and ``case_assignments`` are projections kept for queries (inboxes, lists, maps).
A unique (case, version) pair on the events means two concurrent moves on one case can never both
land: the second fails and is retried against the new state, so a case is never dispatched twice.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from cityops.db import Base, UTCDateTime, utcnow


class Case(Base):
    __tablename__ = "cases"
    __table_args__ = (
        UniqueConstraint("channel", "external_id", name="uq_cases_channel_external_id"),
        Index("ix_cases_status_area_path", "status", "area_path"),
        Index("ix_cases_lat_lon", "lat", "lon"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tracking_code: Mapped[str] = mapped_column(String(16), unique=True)
    channel: Mapped[str] = mapped_column(String(32))  # searched through uq_cases_channel_external_id
    external_id: Mapped[str | None] = mapped_column(String(128))
    idempotency_key: Mapped[str | None] = mapped_column(String(128), unique=True)
    status: Mapped[str] = mapped_column(String(16))  # searched through ix_cases_status_area_path
    version: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    category_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id"), index=True)
    category_source: Mapped[str | None] = mapped_column(String(16))
    address: Mapped[str | None] = mapped_column(String(500))
    lon: Mapped[float | None] = mapped_column(Float)
    lat: Mapped[float | None] = mapped_column(Float)
    input_crs: Mapped[str | None] = mapped_column(String(8))
    area_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"), index=True)
    # Where the case belongs for jurisdiction: its deepest area's path, or the receiving
    # operations centre's area when the case has no location yet.
    area_path: Mapped[str] = mapped_column(String(1024), index=True)
    near_boundary: Mapped[bool] = mapped_column(Boolean, default=False)
    placeholder: Mapped[str | None] = mapped_column(String(200))
    priority: Mapped[int] = mapped_column(Integer, default=0)
    report_count: Mapped[int] = mapped_column(Integer, default=1)
    duplicate_of_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    rework_count: Mapped[int] = mapped_column(Integer, default=0)
    return_count: Mapped[int] = mapped_column(Integer, default=0)
    deferred: Mapped[bool] = mapped_column(Boolean, default=False)
    rating: Mapped[int | None] = mapped_column(Integer)
    reporter_name: Mapped[str | None] = mapped_column(String(100))
    reporter_phone: Mapped[str | None] = mapped_column(String(32))
    lead_department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"), index=True)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    registered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    origin: Mapped[str] = mapped_column(String(16), default="api")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class CaseEvent(Base):
    """One entry of a case's timeline: who did what, when, from which status to which."""

    __tablename__ = "case_events"
    __table_args__ = (UniqueConstraint("case_id", "version", name="uq_case_events_case_version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))  # led by uq_case_events_case_version
    version: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(32), index=True)
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    actor_kind: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[str | None] = mapped_column(String(64))
    actor_role: Mapped[str] = mapped_column(String(32))
    actor_name: Mapped[str] = mapped_column(String(200))
    actor_department: Mapped[str | None] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    reason: Mapped[str | None] = mapped_column(Text)
    attachments: Mapped[list[str]] = mapped_column(JSON, default=list)
    data: Mapped[dict] = mapped_column(JSON, default=dict)


class CaseAssignment(Base):
    """Which department holds a case and how far it has got (a projection for department inboxes)."""

    __tablename__ = "case_assignments"
    __table_args__ = (Index("ix_case_assignments_department_status", "department_code", "status", "case_id"),)

    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), primary_key=True)
    department_code: Mapped[str] = mapped_column(String(64), primary_key=True)
    role: Mapped[str] = mapped_column(String(16))
    position: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))  # searched through ix_case_assignments_department_status


class CaseDeadline(Base):
    """The time limit of one step of a case (register, dispatch, acknowledge, handle, verify, or a
    summoned department's report-in): when it started, when it is due, when to remind, and when it
    was met or marked overdue. A step met, extended or re-entered (rework) keeps its row: nothing is
    overwritten without a trace."""

    __tablename__ = "case_deadlines"
    __table_args__ = (Index("ix_case_deadlines_open_due", "met_at", "due_at"),
                      # a department's summonses: only a report-in names a department
                      Index("ix_case_deadlines_department", "department_code", "met_at", "due_at",
                            postgresql_where=text("department_code IS NOT NULL"),
                            sqlite_where=text("department_code IS NOT NULL")))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    step: Mapped[str] = mapped_column(String(16))
    time_limit: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    remind_at: Mapped[datetime] = mapped_column(UTCDateTime)
    original_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    """Set when an extension moved ``due_at``: what it was before."""
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    overdue_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    met_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    """When the step ended (``ended`` says how); None while it runs."""
    ended: Mapped[str | None] = mapped_column(String(16))
    """How the step ended (``cityops.cases.deadlines.StepEnd``): its work done (``met``), the case
    returned to the centre (``returned``), or the clock stopped by a deferral (``deferred``)."""
    department_code: Mapped[str | None] = mapped_column(String(64))
    """Set on a summons (step ``report_in``): the summoned department, which meets it by reporting in."""


class Supervision(Base):
    """Formal supervision (督办) of an overdue step by the operations centre one level up, with a
    deadline of its own; a further overdue escalates one level higher."""

    __tablename__ = "supervisions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    deadline_id: Mapped[int] = mapped_column(ForeignKey("case_deadlines.id"), index=True)
    ops_centre_id: Mapped[int] = mapped_column(ForeignKey("ops_centres.id"), index=True)
    level: Mapped[str] = mapped_column(String(16))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class DuplicateSuggestion(Base):
    """An open case that a new report may duplicate, with the figures of the match, for the operator
    to judge side by side (or the record of an automatic merge)."""

    __tablename__ = "duplicate_suggestions"
    __table_args__ = (UniqueConstraint("case_id", "candidate_id", name="uq_duplicate_suggestions_pair"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))  # led by uq_duplicate_suggestions_pair
    candidate_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    score: Mapped[float] = mapped_column(Float)
    distance_m: Mapped[float] = mapped_column(Float)
    minutes: Mapped[float] = mapped_column(Float)
    text_similarity: Mapped[float] = mapped_column(Float)
    same_category: Mapped[bool] = mapped_column(Boolean)
    merged: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
