"""Tables of the sensing domain: device types and devices, raw readings, their 1-minute and 1-hour
rollups and the latest value per device and metric; warning rules, their states per origin, warnings
with their history, and silences.

``readings`` is written only in bulk (``cityops.sensing.store``), never through ORM objects. On
PostgreSQL migration 0013 makes it a table partitioned by month on ``ts`` (partitions are created
as readings arrive); on SQLite it is a plain table clustered on its key (``WITHOUT ROWID``). It has
no foreign key to ``devices``: a check per reading would cost more than storing it, and devices are
never deleted (they are retired).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Text,
    UniqueConstraint,
    text,
)
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


ACTIVE_WARNING = "status IN ('firing', 'acknowledged')"


class SensingRule(Base):
    """A warning rule: ``definition`` is the rule as JSON (``cityops.sensing.alerting.rule_from_json``
    reads it back through ``rules.Rule``); the scope and metric are columns too, so that ingest finds
    the rules a reading may concern without reading every definition."""

    __tablename__ = "rules"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))
    metric: Mapped[str | None] = mapped_column(String(64))
    scope_device_type: Mapped[str | None] = mapped_column(String(64))
    scope_area: Mapped[str | None] = mapped_column(String(64))
    scope_indicator: Mapped[str | None] = mapped_column(String(64))
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    active: Mapped[bool] = mapped_column(Boolean, default=True, index=True)
    author: Mapped[str] = mapped_column(String(200))
    author_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    """The user who wrote it; None for an API client or a system (``sensing.authors``)."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    deactivated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class RuleStateRow(Base):
    """What one rule needs to go on for one origin (a device's metric), as ``rules.state_to_json``."""

    __tablename__ = "rule_states"
    __table_args__ = (PrimaryKeyConstraint("rule_id", "device_id", "metric", name="pk_rule_states"),)

    rule_id: Mapped[int] = mapped_column(ForeignKey("rules.id"))
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id"))
    metric: Mapped[str] = mapped_column(String(64))
    state: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class WarningRow(Base):
    """A warning (预警) of one rule for one origin: a device's metric, or an indicator in one area. At most
    one is active (firing or acknowledged) per rule and origin: partial unique indexes hold that under
    concurrency. ``area_path`` is the
    device's, for jurisdiction; ``labels`` are ``warnings.Labels`` as JSON, for silences."""

    __tablename__ = "warnings"
    __table_args__ = (Index("uq_warnings_active_origin", "rule_id", "device_id", "metric", unique=True,
                            postgresql_where=text(ACTIVE_WARNING), sqlite_where=text(ACTIVE_WARNING)),
                      Index("uq_warnings_active_indicator_origin", "rule_id", "indicator_id", "origin", unique=True,
                            postgresql_where=text(ACTIVE_WARNING), sqlite_where=text(ACTIVE_WARNING)))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    rule_id: Mapped[int] = mapped_column(ForeignKey("rules.id"), index=True)
    device_id: Mapped[int | None] = mapped_column(ForeignKey("devices.id"), index=True)
    """The device of a device metric's warning; None for an indicator's (origin: the area code)."""
    indicator_id: Mapped[int | None] = mapped_column(ForeignKey("indicators.id"), index=True)
    metric: Mapped[str] = mapped_column(String(64))
    origin: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), index=True)
    level: Mapped[str] = mapped_column(String(8))
    peak_level: Mapped[str] = mapped_column(String(8))
    value: Mapped[float | None] = mapped_column(Float)
    labels: Mapped[dict[str, Any]] = mapped_column(JSON)
    area_path: Mapped[str] = mapped_column(String(1024), index=True)
    fired_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)


class WarningEntryRow(Base):
    """One move of a warning (the history): who, when, why, from and to which status and level."""

    __tablename__ = "warning_entries"
    __table_args__ = (UniqueConstraint("warning_id", "version", name="uq_warning_entries_warning_version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    warning_id: Mapped[int] = mapped_column(ForeignKey("warnings.id"))
    version: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(32))
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    from_level: Mapped[str | None] = mapped_column(String(8))
    to_level: Mapped[str] = mapped_column(String(8))
    actor_role: Mapped[str] = mapped_column(String(32))
    actor_name: Mapped[str] = mapped_column(String(200))
    actor_id: Mapped[str | None] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    reason: Mapped[str | None] = mapped_column(Text)
    value: Mapped[float | None] = mapped_column(Float)
    case_id: Mapped[int | None] = mapped_column(Integer)
    cause: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    """Of a failed case opening, why, as the screens say it: the refusal's problem ``code`` and the ``values``
    its text names, ``failures`` in a row and ``next_attempt_at``; ``reason`` keeps the API's English. None
    for other entries and those written before it was kept."""


class SilenceRow(Base):
    """A time-boxed mute of warnings' notifications, by matchers (``warnings.Silence``)."""

    __tablename__ = "silences"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    matchers: Mapped[list[list[str]]] = mapped_column(JSON)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    author: Mapped[str] = mapped_column(String(200))
    author_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    """The user who set it; None for an API client or a system (``sensing.authors``)."""
    reason: Mapped[str] = mapped_column(Text)
    area_path: Mapped[str] = mapped_column(String(1024))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class IndicatorClass(Base):
    """A class of indicators on the vital-signs screen (水务, 交通, 环境, 城市管理 …)."""

    __tablename__ = "indicator_classes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class IndicatorRow(Base):
    """An indicator (体征指标), ``indicators.Indicator`` with its source as JSON; ``metric`` is a column so
    that ingest finds the indicators a batch concerns without reading every source. Values are computed
    for the areas of ``level`` under ``area_path`` (its author's jurisdiction or an area in it).
    ``computed_until``: case flows are counted up to here; ``fed_until``: buckets before it went to the
    rules."""

    __tablename__ = "indicators"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    class_id: Mapped[int] = mapped_column(ForeignKey("indicator_classes.id"), index=True)
    unit: Mapped[str] = mapped_column(String(32))
    level: Mapped[str] = mapped_column(String(16))
    interval_s: Mapped[int] = mapped_column(Integer)
    source: Mapped[dict[str, Any]] = mapped_column(JSON)
    metric: Mapped[str | None] = mapped_column(String(64), index=True)
    area_id: Mapped[int] = mapped_column(ForeignKey("areas.id"))
    area_path: Mapped[str] = mapped_column(String(1024))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    author: Mapped[str] = mapped_column(String(200))
    author_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    """The user who made it; None for an API client or a system (``sensing.authors``)."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    computed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    fed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)


class IndicatorValue(Base):
    """An indicator's value in one area for one time bucket (the series)."""

    __tablename__ = "indicator_values"
    __table_args__ = (PrimaryKeyConstraint("indicator_id", "area_id", "bucket", name="pk_indicator_values"),
                      Index("ix_indicator_values_indicator_bucket", "indicator_id", "bucket"),
                      {"sqlite_with_rowid": False})

    indicator_id: Mapped[int] = mapped_column(Integer)
    area_id: Mapped[int] = mapped_column(Integer)
    bucket: Mapped[datetime] = mapped_column(UTCDateTime)
    value: Mapped[float] = mapped_column(Float)


class IndicatorLatest(Base):
    """An indicator's newest value per area, with the area's path for jurisdiction."""

    __tablename__ = "indicator_latest"
    __table_args__ = (PrimaryKeyConstraint("indicator_id", "area_id", name="pk_indicator_latest"),)

    indicator_id: Mapped[int] = mapped_column(ForeignKey("indicators.id"))
    area_id: Mapped[int] = mapped_column(ForeignKey("areas.id"))
    area_code: Mapped[str] = mapped_column(String(64))
    area_path: Mapped[str] = mapped_column(String(1024), index=True)
    bucket: Mapped[datetime] = mapped_column(UTCDateTime)
    value: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class IndicatorMark(Base):
    """A minute of a metric whose rollups changed since the indicators last looked: ingest marks it,
    the indicator job recomputes the buckets holding it and removes the mark if ``version`` did not move
    meanwhile (a batch that lands while the job computes marks it again)."""

    __tablename__ = "indicator_marks"
    __table_args__ = (PrimaryKeyConstraint("metric", "minute", name="pk_indicator_marks"),)

    metric: Mapped[str] = mapped_column(String(64))
    minute: Mapped[datetime] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer)


class IndicatorRuleState(Base):
    """What one rule needs to go on for one indicator in one area (``rules.state_to_json``)."""

    __tablename__ = "indicator_rule_states"
    __table_args__ = (PrimaryKeyConstraint("rule_id", "indicator_id", "area_id", name="pk_indicator_rule_states"),)

    rule_id: Mapped[int] = mapped_column(ForeignKey("rules.id"))
    indicator_id: Mapped[int] = mapped_column(ForeignKey("indicators.id"))
    area_id: Mapped[int] = mapped_column(ForeignKey("areas.id"))
    state: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
