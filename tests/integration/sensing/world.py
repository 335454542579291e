"""A little sensed world on the test city: a water-level gauge type and devices in two streets."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from cityops.geo import service as geo_service
from cityops.geo.locator import Locator
from cityops.org import service as org_service
from cityops.org.access import Principal
from cityops.sensing import devices as registry
from cityops.sensing.devices import DeviceSpec, DeviceStatus
from tests.factories import make_city, make_user

STREET, OTHER_STREET = "99010101", "99010102"
IN_STREET, IN_OTHER_STREET = (121.02, 31.05), (121.15, 31.05)
NOW = datetime(2026, 11, 15, 12, 0, tzinfo=UTC)


@dataclass
class SensedWorld:
    locator: Locator
    admin: Principal
    """An administrator of the street."""


def make_world(session: Session) -> SensedWorld:
    make_city(session)
    locator = geo_service.build_locator(session, boundary_distance_m=30)
    registry.create_device_type(session, code="wl", name="水位计", metrics={"water_level": "m", "battery": "V"},
                                offline_after_s=300)
    registry.create_device_type(session, code="aq", name="空气质量站", metrics={"pm25": "µg/m³"})
    for code, (lon, lat), status in (("WL-1", IN_STREET, DeviceStatus.active),
                                     ("WL-M", IN_STREET, DeviceStatus.maintenance),
                                     ("WL-R", IN_STREET, DeviceStatus.retired),
                                     ("WL-2", IN_OTHER_STREET, DeviceStatus.active)):
        registry.create_device(session, spec=DeviceSpec(code=code, name=code, type_code="wl", lon=lon, lat=lat,
                                                        status=status), locator=locator, actor=None, origin="test")
    registry.create_device(session, spec=DeviceSpec(code="AQ-1", name="AQ-1", type_code="aq", lon=IN_STREET[0],
                                                    lat=IN_STREET[1]), locator=locator, actor=None, origin="test")
    admin = org_service.principal_of_user(session, make_user(session, username="street.admin",
                                                             roles=["administrator"], area_code=STREET))
    return SensedWorld(locator=locator, admin=admin)


def reading(device: str, ts: str, value: object, metric: str = "water_level") -> dict[str, object]:
    return {"device": device, "metric": metric, "ts": ts, "value": value}
