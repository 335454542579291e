"""HTTP API of device quality: ``GET /api/v1/devices/quality`` ranks the devices of the caller's
jurisdiction (or of an area inside it, or of one owner department) by how much they need attention
over a period: online rate, warnings raised, false-alarm rate and flags (``sensing.quality``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from cityops.deps import DbSession, Reader
from cityops.errors import InvalidInput
from cityops.problems import problem_responses
from cityops.sensing import quality_service
from cityops.sensing.quality import Quality, Sort
from cityops.times import zoned

router = APIRouter(prefix="/api/v1", tags=["devices"])
DEFAULT_PERIOD = timedelta(days=7)


class DeviceQualityOut(BaseModel):
    rank: int = Field(description="1: needs attention most, by the chosen sort")
    device: str
    name: str
    type: str
    department: str | None
    area_code: str
    status: str
    expected_windows: int = Field(description="windows (hours, or the type's silence allowance) it should report in")
    reported_windows: int
    online_rate: float | None = Field(description="reported / expected windows; null when none was expected")
    warnings: int = Field(description="warnings it raised in the period")
    false_alarms: int = Field(description="of those, closed by people as false alarms")
    rejected_cases: int = Field(description="of those, converted into cases that were rejected (不予立案)")
    false_alarm_rate: float | None = Field(description="(false alarms + rejected cases) / warnings; null without any")
    flags: list[str] = Field(description="silent, often_offline, noisy")


class DeviceQualityPage(BaseModel):
    items: list[DeviceQualityOut]
    total: int
    limit: int
    offset: int
    sort: Sort
    period_from: datetime
    period_to: datetime


def _out(rank: int, judged: Quality) -> DeviceQualityOut:
    record = judged.record
    return DeviceQualityOut(rank=rank, device=record.code, name=record.name, type=record.type_code,
                            department=record.department_code, area_code=record.area_code, status=record.status,
                            expected_windows=judged.expected_windows, reported_windows=judged.reported_windows,
                            online_rate=judged.online_rate, warnings=record.warnings, false_alarms=record.false_alarms,
                            rejected_cases=record.rejected_cases, false_alarm_rate=judged.false_alarm_rate,
                            flags=list(judged.flags))


@router.get("/devices/quality", response_model=DeviceQualityPage, responses=problem_responses(401, 403, 404, 422),
            summary="Devices ranked by how much they need fixing or retiring: online rate, false alarms")
def device_quality(
    session: DbSession,
    viewer: Reader,
    department: Annotated[str | None, Query(max_length=64, description="owner department's code")] = None,
    area: Annotated[str | None, Query(max_length=64, description="only devices under this area")] = None,
    period_from: Annotated[datetime | None, Query(alias="from", description="default: 7 days before `to`")] = None,
    period_to: Annotated[datetime | None, Query(alias="to", description="default: now")] = None,
    sort: Sort = Sort.attention,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> DeviceQualityPage:
    now = datetime.now(UTC)
    try:
        end = zoned(period_to, "to") or now
        start = zoned(period_from, "from") or end - DEFAULT_PERIOD
    except OverflowError:
        raise InvalidInput("from and to must be dates and times of this era", field="from") from None
    judged, total = quality_service.device_quality(session, viewer=viewer, start=start, end=end, now=now,
                                                   department_code=department, area_code=area, sort=sort,
                                                   limit=limit, offset=offset)
    return DeviceQualityPage(items=[_out(offset + i + 1, item) for i, item in enumerate(judged)], total=total,
                             limit=limit, offset=offset, sort=sort, period_from=start, period_to=end)
