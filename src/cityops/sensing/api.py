"""HTTP API of the sensing domain: device types, the device registry (with CSV import and device
tokens), readings ingest and series.

Reading the registry needs ``read_records`` and shows the caller's jurisdiction only; changing it
needs ``manage_organisation``, and a device's token ``manage_api_clients``. Readings are sent by a
device with its own token (its own readings only), or by a system client or an administrator for
the devices in their jurisdiction.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Query, Request, UploadFile
from sqlalchemy.orm import Session

from cityops.deps import CurrentPrincipal, DbSession, Reader, requires
from cityops.errors import InvalidInput
from cityops.files import MEGABYTE, read_limited
from cityops.geo import service as geo_service
from cityops.org import service as org_service
from cityops.org.access import Principal
from cityops.org.roles import Permission
from cityops.problems import problem_responses
from cityops.sensing import devices as registry
from cityops.sensing import service
from cityops.sensing.devices import DeviceSpec, DeviceStatus
from cityops.sensing.models import Device, DeviceType
from cityops.sensing.schemas import (
    DeviceDetail,
    DeviceImportOut,
    DeviceIn,
    DeviceOut,
    DevicePage,
    DevicePatch,
    DeviceTokenOut,
    DeviceTypeIn,
    DeviceTypeOut,
    IngestOut,
    LatestOut,
    PointOut,
    RejectedOut,
    SeriesOut,
)
from cityops.times import zoned

router = APIRouter(prefix="/api/v1", tags=["sensing"])
Manager = Annotated[Principal, requires(Permission.manage_organisation)]
TokenManager = Annotated[Principal, requires(Permission.manage_api_clients)]
MAX_CSV_BYTES = 20 * MEGABYTE
MAX_BATCH_BYTES = 32 * MEGABYTE
READS = problem_responses(401, 403, 404, 422)
WRITES = problem_responses(400, 401, 403, 404, 409, 422)
READING_SCHEMA = {"type": "object", "required": ["device", "metric", "ts", "value"], "properties": {
    "device": {"type": "string", "description": "device code", "example": "WL-0001"},
    "metric": {"type": "string", "example": "water_level"},
    "ts": {"type": "string", "format": "date-time", "description": "with a zone",
           "example": "2026-11-01T08:00:00+08:00"},
    "value": {"type": "number", "example": 3.42}}}


def _now() -> datetime:
    return datetime.now(UTC)


def _type_out(device_type: DeviceType) -> DeviceTypeOut:
    return DeviceTypeOut(code=device_type.code, name=device_type.name, metrics=device_type.metrics,
                         offline_after_s=int(registry.offline_after(device_type).total_seconds()))


def _out(session: Session, device: Device, now: datetime) -> dict[str, Any]:
    device_type = session.get(DeviceType, device.type_id)
    client = registry.token_client(session, device=device)
    return {"code": device.code, "name": device.name, "type": device_type.code, "lon": device.lon, "lat": device.lat,
            "area_code": geo_service.area_key(session, area_id=device.area_id).code,
            "department_code": org_service.department_code(session, department_id=device.department_id)
            if device.department_id else None,
            "installed_on": device.installed_on, "status": DeviceStatus(device.status),
            "last_contact_at": device.last_contact_at, "online": registry.is_online(device, device_type, now=now),
            "token_hint": client.token_hint if client is not None and client.revoked_at is None else None}


def _detail(session: Session, device: Device) -> DeviceDetail:
    metrics = session.get(DeviceType, device.type_id).metrics
    latest = [LatestOut(metric=r.metric, unit=metrics.get(r.metric), ts=r.ts, value=r.value, maintenance=r.maintenance)
              for r in registry.latest_values(session, device=device)]
    return DeviceDetail(**_out(session, device, _now()), metrics=metrics, latest=latest)


@router.get("/device-types", response_model=list[DeviceTypeOut], summary="Device types and their metrics",
            responses=READS)
def list_device_types(session: DbSession, _: Reader) -> list[DeviceTypeOut]:
    return [_type_out(t) for t in registry.list_device_types(session)]


@router.post("/device-types", response_model=DeviceTypeOut, status_code=201, summary="Add a device type",
             responses=WRITES)
def create_device_type(session: DbSession, _: Manager, body: DeviceTypeIn) -> DeviceTypeOut:
    return _type_out(registry.create_device_type(session, code=body.code, name=body.name, metrics=body.metrics,
                                                 offline_after_s=body.offline_after_s))


@router.get("/devices", response_model=DevicePage, summary="Devices in your jurisdiction", responses=READS)
def list_devices(
    session: DbSession,
    viewer: Reader,
    status: DeviceStatus | None = None,
    type: Annotated[str | None, Query(max_length=64, description="device type code")] = None,
    area: Annotated[str | None, Query(max_length=64, description="only devices under this area")] = None,
    department: Annotated[str | None, Query(max_length=64, description="owner department's code")] = None,
    online: Annotated[bool | None, Query(description="only online (true) or offline (false) devices")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> DevicePage:
    """Filters combine. An unknown department answers 404 ``unknown_department`` (field ``department``);
    a department whose devices all lie outside your jurisdiction gives an empty page."""
    now = _now()
    devices, total = registry.list_devices(session, viewer=viewer, now=now, status=status, type_code=type,
                                           area_code=area, department_code=department, online=online, limit=limit,
                                           offset=offset)
    return DevicePage(items=[DeviceOut(**_out(session, d, now)) for d in devices], total=total, limit=limit,
                      offset=offset)


@router.post("/devices", response_model=DeviceDetail, status_code=201, summary="Register a device",
             responses=WRITES)
def create_device(request: Request, session: DbSession, manager: Manager, body: DeviceIn) -> DeviceDetail:
    spec = DeviceSpec(code=body.code, name=body.name, type_code=body.type, lon=body.lon, lat=body.lat,
                      department_code=body.department_code, installed_on=body.installed_on, status=body.status)
    device = registry.create_device(session, spec=spec, locator=request.app.state.locators.get(session),
                                    actor=manager)
    return _detail(session, device)


@router.post("/devices/import", response_model=DeviceImportOut, summary="Import devices from CSV (all or nothing)",
             responses=WRITES)
def import_devices(
    request: Request,
    session: DbSession,
    manager: Manager,
    file: Annotated[UploadFile, File(description="CSV, UTF-8 or GB18030: code,name,type,lon,lat[,department_code,"
                                                 "installed_on,status]")],
) -> DeviceImportOut:
    """Upsert by code. If any row is bad nothing is written, and the 422 problem lists every bad
    row in ``rows`` as ``{row, field, reason}`` (the header is row 1)."""
    report = registry.import_csv(session, data=read_limited(file.file, max_bytes=MAX_CSV_BYTES),
                                 locator=request.app.state.locators.get(session), actor=manager)
    return DeviceImportOut(**report.__dict__)


@router.get("/devices/{code}", response_model=DeviceDetail, summary="One device with its latest values",
            responses=READS)
def get_device(session: DbSession, viewer: Reader, code: str) -> DeviceDetail:
    return _detail(session, registry.get_device(session, code=code, viewer=viewer))


@router.patch("/devices/{code}", response_model=DeviceDetail, summary="Change, move, put in maintenance or retire",
              responses=WRITES)
def update_device(request: Request, session: DbSession, manager: Manager, code: str, body: DevicePatch) -> DeviceDetail:
    device = registry.get_device(session, code=code, viewer=manager)
    changes = body.model_dump(exclude_unset=True)
    if "type" in changes:
        changes["type_code"] = changes.pop("type")
    for required in ("name", "type_code", "lon", "lat", "status"):
        if required in changes and changes[required] is None:
            raise InvalidInput(f"{required.removesuffix('_code')} cannot be null", field=required.removesuffix('_code'))
    registry.update_device(session, device=device, locator=request.app.state.locators.get(session), actor=manager,
                           **changes)
    return _detail(session, device)


@router.post("/devices/{code}/token", response_model=DeviceTokenOut, status_code=201,
             summary="Issue the device a new token (the old one stops working)", responses=WRITES)
def issue_token(session: DbSession, manager: TokenManager, code: str) -> DeviceTokenOut:
    device = registry.get_device(session, code=code, viewer=manager)
    client, token = registry.issue_token(session, device=device, actor=manager)
    return DeviceTokenOut(device=device.code, token=token, token_hint=client.token_hint, created_at=client.created_at)


@router.post("/devices/{code}/token/revoke", response_model=DeviceOut, summary="Revoke the device's token",
             responses=WRITES)
def revoke_token(session: DbSession, manager: TokenManager, code: str) -> DeviceOut:
    device = registry.get_device(session, code=code, viewer=manager)
    registry.revoke_token(session, device=device)
    return DeviceOut(**_out(session, device, _now()))


@router.get("/devices/{code}/series", response_model=SeriesOut, summary="Readings or rollups of one metric",
            responses=READS)
def device_series(
    session: DbSession,
    viewer: Reader,
    code: str,
    metric: Annotated[str, Query(min_length=1, max_length=64)],
    resolution: Annotated[str, Query(pattern="^(raw|1m|1h)$")] = "raw",
    since: Annotated[datetime | None, Query(description="from (inclusive); default: a day before until")] = None,
    until: Annotated[datetime | None, Query(description="to (exclusive); default: now")] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 10_000,
) -> SeriesOut:
    device = registry.get_device(session, code=code, viewer=viewer)
    end = zoned(until, "until") or _now()
    start = zoned(since, "since") or end - timedelta(days=1)
    points = service.series(session, device=device, metric=metric, resolution=resolution, since=start, until=end,
                            limit=limit)
    unit = session.get(DeviceType, device.type_id).metrics.get(metric)
    return SeriesOut(device=device.code, metric=metric, unit=unit, resolution=resolution,
                     points=[PointOut(**p.__dict__) for p in points])


async def _batch_body(request: Request) -> bytes:
    if int(request.headers.get("content-length") or 0) > MAX_BATCH_BYTES:
        raise InvalidInput(f"a batch is at most {MAX_BATCH_BYTES // MEGABYTE} MB", code="batch_too_large",
                           field="body")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BATCH_BYTES:
            raise InvalidInput(f"a batch is at most {MAX_BATCH_BYTES // MEGABYTE} MB", code="batch_too_large",
                               field="body")
        chunks.append(chunk)
    return b"".join(chunks)


@router.post("/readings", response_model=IngestOut, summary="Send a batch of readings",
             responses=problem_responses(401, 403, 422),
             openapi_extra={"requestBody": {"required": True, "content": {
                 "application/json": {"schema": {"type": "array", "items": READING_SCHEMA}},
                 service.NDJSON: {"schema": {"type": "string", "description": "one reading object per line"}}}}})
def send_readings(session: DbSession, caller: CurrentPrincipal, request: Request,
                  body: Annotated[bytes, Depends(_batch_body)]) -> IngestOut:
    """Each reading ``{device, metric, ts, value}`` is checked on its own; the answer counts the
    accepted ones and lists every rejected one by its index, with a code and a reason. A reading
    sent again (same device, metric and ts) is accepted and stored once."""
    items = service.parse_batch(body, content_type=request.headers.get("content-type"))
    result = service.ingest(session, items=items, caller=caller, now=_now(), cases=request.app.state.case_intake)
    return IngestOut(received=result.received, accepted=result.accepted, stored=result.stored,
                     duplicates=result.duplicates, maintenance=result.maintenance,
                     rejected=[RejectedOut(**r.__dict__) for r in result.rejected])
