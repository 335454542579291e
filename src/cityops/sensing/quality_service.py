"""Use case of device quality: read what the store knows of each device over a period — the hours it
reported in (1-hour rollups), the warnings it raised and how people closed them, the status of the
cases they became — and let ``sensing.quality`` judge and rank.

Devices are those of the viewer's jurisdiction (or of an area inside it), optionally of one owner
department; retired devices are left out, since there is nothing left to fix.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime, time, timedelta

from sqlalchemy import distinct, func, select
from sqlalchemy.orm import Session

from cityops.cases import service as cases_service
from cityops.errors import InvalidInput
from cityops.geo import service as geo_service
from cityops.org import service as org_service
from cityops.org.access import Principal
from cityops.sensing import quality
from cityops.sensing.devices import DeviceStatus
from cityops.sensing.models import Device, DeviceType, HourRollup, WarningRow
from cityops.sensing.quality import DeviceRecord, Quality, Sort
from cityops.sensing.warnings import WarningStatus

LONGEST_PERIOD = timedelta(days=366)
REJECTED = "rejected"
CHUNK = 500


def _chunks(ids: Sequence[int]) -> list[Sequence[int]]:
    return [ids[first:first + CHUNK] for first in range(0, len(ids), CHUNK)]


def device_quality(session: Session, *, viewer: Principal, start: datetime, end: datetime, now: datetime,
                   department_code: str | None = None, area_code: str | None = None, sort: Sort = Sort.attention,
                   limit: int = 100, offset: int = 0) -> tuple[list[Quality], int]:
    """The devices' quality over ``[start, end)`` (reports expected until ``now`` at the latest), worst
    first by ``sort``, a page at a time, with the total."""
    if end <= start:
        raise InvalidInput("the period must end after it starts", code="end_before_start", field="to")
    if end - start > LONGEST_PERIOD:
        raise InvalidInput(f"a period spans at most {LONGEST_PERIOD.days} days", code="period_too_long", field="from",
                           extra={"max_days": LONGEST_PERIOD.days})
    within = geo_service.path_within(session, viewer=viewer, area_code=area_code)
    chosen = [Device.area_path.startswith(within, autoescape=True), Device.status != DeviceStatus.retired.value]
    if department_code is not None:
        chosen.append(Device.department_id == org_service.department_id(session, code=department_code))
    in_scope = select(Device.id).where(*chosen)
    devices = session.execute(select(Device, DeviceType.code, DeviceType.offline_after_s)
                              .join(DeviceType, Device.type_id == DeviceType.id).where(*chosen)
                              .order_by(Device.id)).all()
    until = max(start, min(end, now))
    first_hour = start.replace(minute=0, second=0, microsecond=0)
    windows = {device.id: quality.windows(start=start, end=until, installed_at=_installed_at(device),
                                          every_hours=quality.every_hours_of(offline_after_s))
               for device, _, offline_after_s in devices}
    # hourly windows from the period's first hour: the store counts the distinct hours itself, in one
    # query for every device; for the rest (installed within the period, or reporting less often) the
    # hours are fetched and counted here
    fetched = [d.id for d, _, after_s in devices
               if windows[d.id][0] != first_hour or quality.every_hours_of(after_s) != 1]
    raised: dict[int, int] = defaultdict(int)
    false_alarms: dict[int, int] = defaultdict(int)
    converted: dict[int, list[int]] = defaultdict(list)
    in_period = (HourRollup.bucket >= first_hour, HourRollup.bucket < until)
    reported: dict[int, int] = defaultdict(int, session.execute(
        select(HourRollup.device_id, func.count(distinct(HourRollup.bucket)))
        .where(HourRollup.device_id.in_(in_scope), *in_period).group_by(HourRollup.device_id)).all())
    hours: dict[int, set[datetime]] = defaultdict(set)
    fetched_set = set(fetched)
    for part in _chunks(fetched):
        for device_id, bucket in session.execute(select(HourRollup.device_id, HourRollup.bucket).distinct()
                                                 .where(HourRollup.device_id.in_(part), *in_period)):
            hours[device_id].add(bucket)
    for device, _, offline_after_s in devices:
        if device.id in fetched_set:
            reported[device.id] = quality.online(
                reported_hours=hours[device.id], start=start, end=until, installed_at=_installed_at(device),
                every_hours=quality.every_hours_of(offline_after_s))[1]
    for device_id, status, case_id in session.execute(
            select(WarningRow.device_id, WarningRow.status, WarningRow.case_id).where(
                WarningRow.device_id.in_(in_scope), WarningRow.fired_at >= start, WarningRow.fired_at < end)):
        raised[device_id] += 1
        false_alarms[device_id] += status == WarningStatus.false_alarm.value
        if case_id is not None:
            converted[device_id].append(case_id)
    statuses = cases_service.statuses_of(session, case_ids=[c for cases in converted.values() for c in cases])
    judged = [quality.assess(DeviceRecord(
        code=device.code, name=device.name, type_code=type_code,
        department_code=(org_service.department_code(session, department_id=device.department_id)
                         if device.department_id else None),
        area_code=device.area_path.strip("/").split("/")[-1], status=device.status,
        installed_at=_installed_at(device), every_hours=quality.every_hours_of(offline_after_s),
        reported_windows=reported[device.id], warnings=raised[device.id], false_alarms=false_alarms[device.id],
        rejected_cases=sum(statuses.get(case_id) == REJECTED for case_id in converted[device.id])),
        start=start, end=until) for device, type_code, offline_after_s in devices]
    return quality.rank(judged, sort=sort)[offset:offset + limit], len(judged)


def _installed_at(device: Device) -> datetime:
    """From when the device is expected to report: its installation day or its registration here,
    whichever is later (nothing reached us before it was registered)."""
    if device.installed_on is not None:
        return max(datetime.combine(device.installed_on, time(), tzinfo=UTC), device.created_at)
    return device.created_at
