"""The history import's test city: the factories' city 990000, a district department D1, a street
fallback department S1 for street 99010101, and an export written row by row."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable

import pytest
from sqlalchemy.orm import Session

from cityops.config import Settings
from cityops.history.importer import BatchScope, ImportOptions, ImportSummary, import_history, savepoints
from cityops.history.mapping import HistoryMapping, parse_mapping
from cityops.org import service as org_service
from tests.factories import make_city

MAPPING = parse_mapping("""
[source]
name = "Test311"
timezone = "Asia/Shanghai"
datetime_formats = ["%Y-%m-%d %H:%M"]
placeholder_points = [[121.35, 31.15]]
[fields]
external_id = "id"
opened_at = "opened"
closed_at = "closed"
category = "type"
department = "agency"
channel = "via"
lat = "lat"
lon = "lon"
address = "address"
description = "text"
status = "status"
resolution = "resolution"
[channels]
phone = "hotline_12345"
patrol = "grid_patrol"
[categories]
parent = "T311"
parent_name = "Test311 request types"
[compare]
area.district = "district"
area.street = "street"
""")
COLUMNS = ("id", "opened", "closed", "type", "agency", "via", "lat", "lon", "address", "text", "status", "resolution",
           "district", "street")
# Street 99010101 is [121.0, 121.1] × [31.0, 31.2]; 99010102 is [121.1, 121.2] × …; 990102 starts at 121.2.
IN_S1 = {"lon": "121.02", "lat": "31.05", "district": "990101", "street": "99010101"}
IN_S2 = {"lon": "121.15", "lat": "31.05", "district": "990101", "street": "99010102"}
IN_D2 = {"lon": "121.25", "lat": "31.05", "district": "990102", "street": "99010201"}


def export(*rows: dict[str, str]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({"type": "Noise", "agency": "D1", "via": "phone", "status": "Closed"} | row)
    return out.getvalue().encode("utf-8")


@pytest.fixture
def city(session: Session) -> Session:
    make_city(session)
    org_service.create_department(session, code="D1", name="District bureau", level="district", area_code="990101",
                                  kind="x", origin="test")
    org_service.create_department(session, code="S1", name="Street office", level="street", area_code="99010101",
                                  kind="x", is_area_fallback=True, origin="test")
    return session


Importer = Callable[..., ImportSummary]


@pytest.fixture
def run(city: Session, settings: Settings) -> Importer:
    """Import an export inside the test's transaction, a savepoint per batch."""

    def importer(data: bytes, *, mapping: HistoryMapping = MAPPING, scope: BatchScope | None = None,
                 **options: object) -> ImportSummary:
        return import_history(scope=scope or savepoints(city), source=data, mapping=mapping, settings=settings,
                              options=ImportOptions(**options))

    return importer
