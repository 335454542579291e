"""Tables of the sensing domain: device types and devices, raw readings, their 1-minute and 1-hour
rollups and the latest value per device and metric.

``readings`` is written only in bulk (``cityops.sensing.store``), never through ORM objects. On
PostgreSQL migration 0013 makes it a table partitioned by month on ``ts`` (partitions are created
as readings arrive); on SQLite it is a plain table clustered on its key (``WITHOUT ROWID``). It has
no foreign key to ``devices``: a check per reading would cost more than storing it, and devices are
never deleted (they are retired).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Boolean, Date, Float, ForeignKey, Index, Integer, PrimaryKeyConstraint, String
from sqlalchemy.orm import Mapped, mapped_column

from cityops.db import Base, UTCDateTime, utcnow


class DeviceType(Base):
    """A kind of device (water-level gauge, air-quality station …): the metrics it reports, each
    with its unit, and how long it may stay silent before it counts as offline."""

    __tablename__ = "device_types"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    metrics: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    offline_after_s: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Device(Base):
    """An IoT device (物联感知设备) at a WGS84 point, filed under the deepest area containing it.
    ``area_path`` is kept beside ``area_id`` so that ingest checks a batch's jurisdiction without a
    join. ``api_client_id`` is the device's current token (an API client with the ``device`` role)."""

    __tablename__ = "devices"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    type_id: Mapped[int] = mapped_column(ForeignKey("device_types.id"), index=True)
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    area_id: Mapped[int] = mapped_column(ForeignKey("areas.id"), index=True)
    area_path: Mapped[str] = mapped_column(String(1024), index=True)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"), index=True)
    installed_on: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default="active")
    last_contact_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    api_client_id: Mapped[int | None] = mapped_column(ForeignKey("api_clients.id"), index=True)
    origin: Mapped[str] = mapped_column(String(16), default="api")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Reading(Base):
    """One value of one metric of one device at one time. ``maintenance``: the device was in
    maintenance when the reading arrived, so rules must not warn on it and rollups leave it out."""

    __tablename__ = "readings"
    __table_args__ = (PrimaryKeyConstraint("device_id", "metric", "ts", name="pk_readings"),
                      Index("ix_readings_ts", "ts"), {"sqlite_with_rowid": False})

    device_id: Mapped[int] = mapped_column(Integer)
    metric: Mapped[str] = mapped_column(String(64))
    ts: Mapped[datetime] = mapped_column(UTCDateTime)
    value: Mapped[float] = mapped_column(Float)
    maintenance: Mapped[bool] = mapped_column(Boolean, default=False)


class _Rollup:
    device_id: Mapped[int] = mapped_column(Integer)
    metric: Mapped[str] = mapped_column(String(64))
    bucket: Mapped[datetime] = mapped_column(UTCDateTime)
    min: Mapped[float] = mapped_column(Float)
    max: Mapped[float] = mapped_column(Float)
    sum: Mapped[float] = mapped_column(Float)
    count: Mapped[int] = mapped_column(Integer)


class MinuteRollup(_Rollup, Base):
    """Min, max, sum and count of a device's metric per UTC minute (average = sum / count)."""

    __tablename__ = "reading_rollups_1m"
    __table_args__ = (PrimaryKeyConstraint("device_id", "metric", "bucket", name="pk_reading_rollups_1m"),
                      Index("ix_reading_rollups_1m_bucket", "bucket"), {"sqlite_with_rowid": False})


class HourRollup(_Rollup, Base):
    """The same per UTC hour."""

    __tablename__ = "reading_rollups_1h"
    __table_args__ = (PrimaryKeyConstraint("device_id", "metric", "bucket", name="pk_reading_rollups_1h"),
                      Index("ix_reading_rollups_1h_bucket", "bucket"), {"sqlite_with_rowid": False})


class LatestReading(Base):
    """The newest reading per device and metric; a late reading never moves it back."""

    __tablename__ = "reading_latest"
    __table_args__ = (PrimaryKeyConstraint("device_id", "metric", name="pk_reading_latest"),)

    device_id: Mapped[int] = mapped_column(Integer)
    metric: Mapped[str] = mapped_column(String(64))
    ts: Mapped[datetime] = mapped_column(UTCDateTime)
    value: Mapped[float] = mapped_column(Float)
    maintenance: Mapped[bool] = mapped_column(Boolean, default=False)
