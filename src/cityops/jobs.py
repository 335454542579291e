"""Leases in the store, so that background jobs can run in several processes and never do the same
work at once: a job runs only while its process holds the job's lease."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import String, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from cityops.db import Base, UTCDateTime


class JobLease(Base):
    __tablename__ = "job_leases"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(128))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


def acquire(session: Session, *, name: str, holder: str, now: datetime, ttl: timedelta) -> bool:
    """Take or renew the lease ``name`` for ``holder`` until ``now + ttl``; False while another holds it."""
    taken = session.execute(update(JobLease).where(
        JobLease.name == name, or_(JobLease.holder == holder, JobLease.expires_at < now))
        .values(holder=holder, expires_at=now + ttl))
    if taken.rowcount:
        return True
    try:
        with session.begin_nested():
            session.add(JobLease(name=name, holder=holder, expires_at=now + ttl))
    except IntegrityError:
        return False
    return True


def take_when_due(session: Session, *, name: str, holder: str, now: datetime, every: timedelta) -> bool:
    """Whether ``holder`` is to run the job ``name`` now, run at most once per ``every`` among all
    workers: the lease's expiry is when it is next due, so it is held for ``every`` once taken."""
    due = session.scalar(select(JobLease.expires_at).where(JobLease.name == name))
    if due is not None and due > now:
        return False
    return acquire(session, name=name, holder=holder, now=now, ttl=every)


def release(session: Session, *, name: str, holder: str, now: datetime) -> None:
    session.execute(update(JobLease).where(JobLease.name == name, JobLease.holder == holder)
                    .values(expires_at=now))
