"""API shapes of the sensing domain."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from cityops.sensing.devices import CODE_PATTERN, METRIC_PATTERN, DeviceStatus

DeviceCode = Annotated[str, Field(min_length=1, max_length=64, pattern=CODE_PATTERN, examples=["WL-0001"])]
Lon = Annotated[float, Field(ge=-180, le=180, description="WGS84 longitude")]
Lat = Annotated[float, Field(ge=-90, le=90, description="WGS84 latitude")]
Metrics = Annotated[dict[Annotated[str, Field(pattern=METRIC_PATTERN)], Annotated[str, Field(max_length=32)]],
                    Field(min_length=1, max_length=100, description="metric name → unit",
                          examples=[{"water_level": "m", "battery": "V"}])]


class DeviceTypeIn(BaseModel):
    code: DeviceCode
    name: str = Field(min_length=1, max_length=200)
    metrics: Metrics
    offline_after_s: int | None = Field(None, ge=1, le=366 * 86400,
                                        description="offline after this long without contact; default 900")


class DeviceTypeOut(BaseModel):
    code: str
    name: str
    metrics: dict[str, str]
    offline_after_s: int


class DeviceIn(BaseModel):
    code: DeviceCode
    name: str = Field(min_length=1, max_length=200)
    type: DeviceCode
    lon: Lon
    lat: Lat
    department_code: str | None = Field(None, min_length=1, max_length=64, description="owner department")
    installed_on: date | None = None
    status: DeviceStatus = DeviceStatus.active


class DevicePatch(BaseModel):
    name: str | None = Field(None, min_length=1, max_length=200)
    type: DeviceCode | None = None
    lon: Lon | None = None
    lat: Lat | None = None
    department_code: str | None = Field(None, min_length=1, max_length=64)
    installed_on: date | None = None
    status: DeviceStatus | None = Field(None, description="maintenance: readings are kept but never warned on; "
                                                          "retired: readings refused, token revoked")


class LatestOut(BaseModel):
    metric: str
    unit: str | None
    ts: datetime
    value: float
    maintenance: bool


class DeviceOut(BaseModel):
    code: str
    name: str
    type: str
    lon: float
    lat: float
    area_code: str
    department_code: str | None
    installed_on: date | None
    status: DeviceStatus
    last_contact_at: datetime | None
    online: bool
    token_hint: str | None = Field(description="last four characters of the device's live token, if any")


class DeviceDetail(DeviceOut):
    metrics: dict[str, str]
    latest: list[LatestOut]


class DevicePage(BaseModel):
    items: list[DeviceOut]
    total: int
    limit: int
    offset: int


class DeviceImportOut(BaseModel):
    rows: int
    created: int
    updated: int
    unchanged: int


class DeviceTokenOut(BaseModel):
    device: str
    token: str = Field(description="the bearer token; shown only once. The device's previous token stops working")
    token_hint: str
    created_at: datetime


class RejectedOut(BaseModel):
    index: int = Field(description="position of the reading in the batch (NDJSON: among non-empty lines), from 0")
    code: str = Field(examples=["unknown_metric"])
    field: str | None
    reason: str


class IngestOut(BaseModel):
    received: int
    accepted: int = Field(description="readings that passed their checks, duplicates included")
    stored: int = Field(description="readings stored by this batch")
    duplicates: int = Field(description="accepted readings that were stored before (or repeated in the batch)")
    maintenance: int = Field(description="accepted readings of devices in maintenance (marked)")
    rejected: list[RejectedOut]


class PointOut(BaseModel):
    ts: datetime = Field(description="the reading's time, or the start of its bucket")
    value: float | None = None
    maintenance: bool = False
    min: float | None = None
    max: float | None = None
    avg: float | None = None
    count: int = 1


class SeriesOut(BaseModel):
    device: str
    metric: str
    unit: str | None
    resolution: Literal["raw", "1m", "1h"]
    points: list[PointOut]
