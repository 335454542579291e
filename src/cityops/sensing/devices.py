"""The device registry: device types with their metrics, devices filed under the area their point
lies in, CSV import (all or nothing), per-device API tokens, maintenance mode and online status.

A device's token is an API client of the organisation domain with the ``device`` role and the
device's area; the device keeps the id of its current client, so a token identifies one device
and revoking it (or retiring the device) stops its readings at once.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Protocol

from sqlalchemy import and_, false, func, or_, select
from sqlalchemy.orm import Session

from cityops.errors import Conflict, InvalidFile, InvalidInput, NotFound, OutsideJurisdiction
from cityops.files import csv_dict_reader, decode_text
from cityops.geo import service as geo_service
from cityops.geo.locator import Locator
from cityops.org import service as org_service
from cityops.org.access import Principal
from cityops.org.models import ApiClient
from cityops.sensing.models import Device, DeviceType, LatestReading

CODE_PATTERN = r"^[A-Za-z0-9_.\-]{1,64}$"
METRIC_PATTERN = r"^[a-z][a-z0-9_]{0,63}$"
DEFAULT_OFFLINE_AFTER_S = 900
"""A device whose type sets no silence is offline after 15 minutes without contact."""
CSV_COLUMNS = ("code", "name", "type", "lon", "lat", "department_code", "installed_on", "status")
REQUIRED_COLUMNS = ("code", "name", "type", "lon", "lat")
_CODE = re.compile(CODE_PATTERN)
_METRIC = re.compile(METRIC_PATTERN)


class DeviceStatus(StrEnum):
    active = "active"
    maintenance = "maintenance"
    """Readings are accepted and marked, so rules never warn on them."""
    retired = "retired"
    """Readings are refused and the device's token is revoked."""


@dataclass(frozen=True)
class DeviceSpec:
    """A device as an API call or a CSV row states it."""

    code: str
    name: str
    type_code: str
    lon: float
    lat: float
    department_code: str | None = None
    installed_on: date | None = None
    status: DeviceStatus = DeviceStatus.active
    row: int = 0


@dataclass
class ImportReport:
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0


@dataclass(frozen=True)
class _Placed:
    area_id: int
    area_path: str
    department_id: int | None


@dataclass
class _Problems:
    items: list[tuple[str, str, type[InvalidInput] | type[NotFound] | type[OutsideJurisdiction]]] = field(
        default_factory=list)

    def add(self, field_name: str, reason: str,
            kind: type[InvalidInput] | type[NotFound] | type[OutsideJurisdiction] = InvalidInput) -> None:
        self.items.append((field_name, reason, kind))

    def raise_first(self) -> None:
        if self.items:
            field_name, reason, kind = self.items[0]
            raise kind(reason, field=field_name)


# Device types ---------------------------------------------------------------------------------

def create_device_type(session: Session, *, code: str, name: str, metrics: dict[str, str],
                       offline_after_s: int | None = None) -> DeviceType:
    if not _CODE.match(code):
        raise InvalidInput("a code is 1-64 letters, digits, '_', '-' or '.'", field="code")
    if not metrics:
        raise InvalidInput("a device type reports at least one metric", field="metrics")
    for metric, unit in metrics.items():
        if not _METRIC.match(metric):
            raise InvalidInput(f"metric {metric!r}: lower-case letters, digits and '_', starting with a letter",
                               field="metrics")
        if not isinstance(unit, str) or len(unit) > 32:
            raise InvalidInput(f"the unit of {metric!r} is text of at most 32 characters", field="metrics")
    if offline_after_s is not None and offline_after_s <= 0:
        raise InvalidInput("offline_after_s must be positive", field="offline_after_s")
    if session.scalar(select(DeviceType.id).where(DeviceType.code == code)) is not None:
        raise Conflict(f"device type {code!r} already exists", code="duplicate_code", field="code")
    device_type = DeviceType(code=code, name=name, metrics=dict(metrics), offline_after_s=offline_after_s)
    session.add(device_type)
    session.flush()
    return device_type


def list_device_types(session: Session) -> list[DeviceType]:
    return list(session.scalars(select(DeviceType).order_by(DeviceType.code)))


def get_device_type(session: Session, *, code: str, field_name: str = "code") -> DeviceType:
    device_type = session.scalar(select(DeviceType).where(DeviceType.code == code))
    if device_type is None:
        raise NotFound(f"no device type {code!r}", code="unknown_device_type", field=field_name)
    return device_type


def offline_after(device_type: DeviceType) -> timedelta:
    return timedelta(seconds=device_type.offline_after_s or DEFAULT_OFFLINE_AFTER_S)


def is_online(device: Device, device_type: DeviceType, *, now: datetime) -> bool:
    """In contact within its type's silence (or the default)."""
    return device.last_contact_at is not None and now - device.last_contact_at <= offline_after(device_type)


# Reading the registry -------------------------------------------------------------------------

def get_device(session: Session, *, code: str, viewer: Principal | None) -> Device:
    """Device ``code``; NotFound when unknown or outside the viewer's jurisdiction."""
    device = session.scalar(select(Device).where(Device.code == code))
    if device is None or (viewer is not None and not viewer.covers(device.area_path)):
        raise NotFound(f"no device {code!r}", code="unknown_device", field="code")
    return device


def list_devices(session: Session, *, viewer: Principal, now: datetime, status: DeviceStatus | None = None,
                 type_code: str | None = None, area_code: str | None = None, department_code: str | None = None,
                 online: bool | None = None, limit: int = 100, offset: int = 0) -> tuple[list[Device], int]:
    """Devices in the viewer's jurisdiction by status, type, area, owner department (its code) and
    contact. An unknown type, area or department is NotFound; a known department whose devices lie
    outside the jurisdiction simply has none to show."""
    within = geo_service.path_within(session, viewer=viewer, area_code=area_code)
    query = select(Device).where(Device.area_path.startswith(within, autoescape=True))
    if status is not None:
        query = query.where(Device.status == status.value)
    if type_code is not None:
        query = query.where(Device.type_id == get_device_type(session, code=type_code, field_name="type").id)
    if department_code is not None:
        try:
            department_id = org_service.department_id(session, code=department_code)
        except NotFound as error:
            raise NotFound(error.detail, code=error.code, field="department") from error
        query = query.where(Device.department_id == department_id)
    if online is not None:
        # silences differ by type; there are few types, so one condition per type
        in_contact = or_(false(), *(and_(Device.type_id == t.id,
                                         Device.last_contact_at >= now - offline_after(t))
                                    for t in list_device_types(session)))
        query = query.where(in_contact if online else ~in_contact | Device.last_contact_at.is_(None))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    return list(session.scalars(query.order_by(Device.code).limit(limit).offset(offset))), total


def latest_values(session: Session, *, device: Device) -> list[LatestReading]:
    return list(session.scalars(select(LatestReading).where(LatestReading.device_id == device.id)
                                .order_by(LatestReading.metric)))


# Writing the registry -------------------------------------------------------------------------

def _place(session: Session, *, lon: float, lat: float, department_code: str | None, locator: Locator,
           actor: Principal | None, problems: _Problems) -> _Placed | None:
    if not (math.isfinite(lon) and math.isfinite(lat) and -180 <= lon <= 180 and -90 <= lat <= 90):
        problems.add("lon", "lon and lat must be WGS84 degrees")
        return None
    leaf = locator.locate(lon, lat).leaf
    if leaf is None:
        problems.add("lon", f"({lon}, {lat}) lies outside every area")
        return None
    path = geo_service.area_key(session, area_id=leaf.id).path
    if actor is not None and not actor.covers(path):
        problems.add("lon", f"({lon}, {lat}) lies outside your jurisdiction ({actor.area_code})", OutsideJurisdiction)
        return None
    department_id = None
    if department_code:
        try:
            department = org_service.get_department(session, code=department_code, viewer=actor)
        except NotFound as exc:
            problems.add("department_code", exc.detail, NotFound)
            return None
        if not path.startswith(geo_service.area_key(session, area_id=department.area_id).path):
            problems.add("department_code", f"department {department_code!r} does not serve the device's place")
            return None
        department_id = department.id
    return _Placed(area_id=leaf.id, area_path=path, department_id=department_id)


def _check_spec(session: Session, spec: DeviceSpec, *, types: dict[str, DeviceType], locator: Locator,
                actor: Principal | None, problems: _Problems) -> tuple[DeviceType | None, _Placed | None]:
    if not _CODE.match(spec.code):
        problems.add("code", "a code is 1-64 letters, digits, '_', '-' or '.'")
    if not spec.name.strip() or len(spec.name) > 200:
        problems.add("name", "a name is 1-200 characters")
    device_type = types.get(spec.type_code)
    if device_type is None:
        problems.add("type", f"no device type {spec.type_code!r}", NotFound)
    placed = _place(session, lon=spec.lon, lat=spec.lat, department_code=spec.department_code, locator=locator,
                    actor=actor, problems=problems)
    return device_type, placed


def _types(session: Session) -> dict[str, DeviceType]:
    return {t.code: t for t in list_device_types(session)}


def _apply(device: Device, spec: DeviceSpec, device_type: DeviceType, placed: _Placed) -> bool:
    values = {"name": spec.name, "type_id": device_type.id, "lon": spec.lon, "lat": spec.lat,
              "area_id": placed.area_id, "area_path": placed.area_path, "department_id": placed.department_id,
              "installed_on": spec.installed_on, "status": spec.status.value}
    changed = any(getattr(device, key) != value for key, value in values.items())
    for key, value in values.items():
        setattr(device, key, value)
    return changed


def create_device(session: Session, *, spec: DeviceSpec, locator: Locator, actor: Principal | None,
                  origin: str = "api") -> Device:
    problems = _Problems()
    device_type, placed = _check_spec(session, spec, types=_types(session), locator=locator, actor=actor,
                                      problems=problems)
    problems.raise_first()
    if session.scalar(select(Device.id).where(Device.code == spec.code)) is not None:
        raise Conflict(f"device code {spec.code!r} already exists", code="duplicate_code", field="code")
    device = Device(code=spec.code, origin=origin)
    _apply(device, spec, device_type, placed)
    session.add(device)
    session.flush()
    return device


def update_device(session: Session, *, device: Device, locator: Locator, actor: Principal | None,
                  **changes: object) -> Device:
    """Change any of name, type_code, lon, lat, department_code, installed_on and status; a move
    re-files the device under the area of its new point. Retiring revokes its token."""
    current = DeviceSpec(code=device.code, name=device.name,
                         type_code=session.get(DeviceType, device.type_id).code, lon=device.lon, lat=device.lat,
                         department_code=org_service.department_code(session, department_id=device.department_id)
                         if device.department_id else None,
                         installed_on=device.installed_on, status=DeviceStatus(device.status))
    unknown = set(changes) - {"name", "type_code", "lon", "lat", "department_code", "installed_on", "status"}
    if unknown:
        raise ValueError(f"cannot change {sorted(unknown)}")
    spec = DeviceSpec(**{**current.__dict__, **changes})
    problems = _Problems()
    device_type, placed = _check_spec(session, spec, types=_types(session), locator=locator, actor=actor,
                                      problems=problems)
    problems.raise_first()
    _apply(device, spec, device_type, placed)
    if spec.status is DeviceStatus.retired:
        revoke_token(session, device=device)
    session.flush()
    return device


# CSV import -----------------------------------------------------------------------------------

def _parse_row(number: int, cell: dict[str, str], problems: list[dict[str, object]]) -> DeviceSpec | None:
    bad = [(c, f"{c} is required") for c in REQUIRED_COLUMNS if not cell.get(c)]
    lon = lat = math.nan
    installed_on, status = None, DeviceStatus.active
    if cell.get("lon") and cell.get("lat"):
        try:
            lon, lat = float(cell["lon"]), float(cell["lat"])
        except ValueError:
            bad.append(("lon", "lon and lat must be numbers"))
    if cell.get("installed_on"):
        try:
            installed_on = date.fromisoformat(cell["installed_on"])
        except ValueError:
            bad.append(("installed_on", "a date is YYYY-MM-DD"))
    if cell.get("status"):
        if cell["status"] in DeviceStatus.__members__:
            status = DeviceStatus(cell["status"])
        else:
            bad.append(("status", f"status is one of {', '.join(DeviceStatus.__members__)}"))
    if bad:
        problems.extend({"row": number, "field": f, "reason": r} for f, r in bad)
        return None
    return DeviceSpec(code=cell["code"], name=cell["name"], type_code=cell["type"], lon=lon, lat=lat,
                      department_code=cell.get("department_code") or None, installed_on=installed_on, status=status,
                      row=number)


def parse_csv(data: bytes | str) -> tuple[list[DeviceSpec], list[dict[str, object]]]:
    """The file's rows as specs, and the problems found in their cells (the header is row 1)."""
    reader = csv_dict_reader(decode_text(data), columns=CSV_COLUMNS, required=REQUIRED_COLUMNS)
    specs: list[DeviceSpec] = []
    problems: list[dict[str, object]] = []
    for number, raw in enumerate(reader, start=2):
        if None in raw:
            problems.append({"row": number, "field": "row", "reason": "the row has more cells than the header"})
            continue
        spec = _parse_row(number, {k: (v or "").strip() for k, v in raw.items()}, problems)
        if spec is not None:
            specs.append(spec)
    return specs, problems


def import_csv(session: Session, *, data: bytes | str, locator: Locator, actor: Principal | None,
               origin: str = "import") -> ImportReport:
    """Upsert the devices of a CSV file by code, all or nothing; every bad row is reported at once.
    A known code outside the actor's jurisdiction is a bad row, like an unknown one would be there."""
    specs, problems = parse_csv(data)
    types = _types(session)
    known = {d.code: d for d in session.scalars(select(Device).where(Device.code.in_([s.code for s in specs])))}
    first_row: dict[str, int] = {}
    checked: list[tuple[DeviceSpec, DeviceType, _Placed]] = []
    for spec in specs:
        if spec.code in first_row:
            problems.append({"row": spec.row, "field": "code", "reason": f"repeats row {first_row[spec.code]}"})
            continue
        first_row[spec.code] = spec.row
        found = _Problems()
        existing = known.get(spec.code)
        if existing is not None and actor is not None and not actor.covers(existing.area_path):
            found.add("code", f"device code {spec.code!r} is taken outside your jurisdiction")
        device_type, placed = _check_spec(session, spec, types=types, locator=locator, actor=actor, problems=found)
        problems.extend({"row": spec.row, "field": f, "reason": r} for f, r, _ in found.items)
        if not found.items:
            checked.append((spec, device_type, placed))
    if problems:
        problems.sort(key=lambda p: p["row"])
        raise InvalidFile(f"{len({p['row'] for p in problems})} row(s) rejected, nothing was imported: "
                          + "; ".join(f"row {p['row']} {p['field']}: {p['reason']}" for p in problems[:5])
                          + (" …" if len(problems) > 5 else ""), field="rows", extra={"rows": problems})
    report = ImportReport(rows=len(specs))
    for spec, device_type, placed in checked:
        device = known.get(spec.code)
        if device is None:
            device = Device(code=spec.code, origin=origin)
            _apply(device, spec, device_type, placed)
            session.add(device)
            report.created += 1
        elif _apply(device, spec, device_type, placed):
            report.updated += 1
            if spec.status is DeviceStatus.retired:
                revoke_token(session, device=device)
        else:
            report.unchanged += 1
    session.flush()
    return report


# Tokens -----------------------------------------------------------------------------------------

def issue_token(session: Session, *, device: Device, actor: Principal | None) -> tuple[ApiClient, str]:
    """A new token for the device (shown only now); the one it had stops working."""
    if device.status == DeviceStatus.retired:
        raise Conflict(f"device {device.code!r} is retired", code="device_retired", field="code")
    revoke_token(session, device=device)
    client, token = org_service.create_api_client(
        session, name=f"device {device.code}", kind="device",
        area_code=geo_service.area_key(session, area_id=device.area_id).code, roles=["device"], actor=actor)
    device.api_client_id = client.id
    session.flush()
    return client, token


def revoke_token(session: Session, *, device: Device) -> ApiClient | None:
    if device.api_client_id is None:
        return None
    return org_service.revoke_api_client(session, client=session.get(ApiClient, device.api_client_id))


def token_client(session: Session, *, device: Device) -> ApiClient | None:
    return session.get(ApiClient, device.api_client_id) if device.api_client_id else None


def device_of_client(session: Session, *, client_id: int) -> Device | None:
    """The device whose current token is API client ``client_id``."""
    return session.scalar(select(Device).where(Device.api_client_id == client_id))


def devices_by_code(session: Session, *, codes: Sequence[str]) -> dict[str, Device]:
    return {d.code: d for d in session.scalars(select(Device).where(Device.code.in_(codes)))} if codes else {}


class DeviceKey(Protocol):
    """What checking and evaluating readings needs of a device; a ``Device`` is one too."""

    id: int
    code: str
    type_id: int
    area_path: str
    status: str


def device_keys_by_code(session: Session, *, codes: Sequence[str]) -> dict[str, DeviceKey]:
    """The ``DeviceKey`` of each of ``codes`` that is registered, as plain rows: loading a batch's
    devices as ORM instances took 29% of ingesting 10,000 readings from 5,000 devices."""
    if not codes:
        return {}
    found = session.execute(select(Device.id, Device.code, Device.type_id, Device.area_path, Device.status)
                            .where(Device.code.in_(codes)))
    return {row.code: row for row in found}
