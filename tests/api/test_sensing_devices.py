"""The device registry over HTTP: types, devices in the caller's jurisdiction (by type, area, owner department), CSV
import, tokens."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cityops.org import service as org_service
from cityops.sensing import devices as registry
from cityops.sensing.devices import DeviceSpec
from cityops.sensing.models import Device
from tests.factories import login, make_user
from tests.integration.sensing.world import IN_OTHER_STREET, IN_STREET, OTHER_STREET, STREET, make_world


def test_an_administrator_registers_a_device_and_only_the_jurisdiction_sees_it(client: TestClient,
                                                                               session: Session) -> None:
    make_world(session)
    make_user(session, username="other.op", roles=["operator"], area_code=OTHER_STREET)
    make_user(session, username="street.op", roles=["operator"], area_code=STREET)
    admin, other, operator = login(client, "street.admin"), login(client, "other.op"), login(client, "street.op")
    created = client.post("/api/v1/device-types", headers=admin,
                          json={"code": "manhole", "name": "井盖", "metrics": {"tilt": "deg"}})
    assert created.status_code == 201 and created.json()["offline_after_s"] == 900
    body = {"code": "MH-1", "name": "井盖 1", "type": "manhole", "lon": IN_STREET[0], "lat": IN_STREET[1],
            "installed_on": "2026-03-01"}
    device = client.post("/api/v1/devices", headers=admin, json=body)
    assert device.status_code == 201, device.text
    assert device.json()["area_code"].startswith(STREET) and device.json()["online"] is False
    assert device.json()["metrics"] == {"tilt": "deg"} and device.json()["latest"] == []
    assert client.post("/api/v1/devices", headers=operator, json={**body, "code": "MH-2"}).status_code == 403
    outside = client.post("/api/v1/devices", headers=admin,
                          json={**body, "code": "MH-3", "lon": IN_OTHER_STREET[0], "lat": IN_OTHER_STREET[1]})
    assert outside.status_code == 403 and outside.json()["code"] == "outside_jurisdiction"
    assert client.get("/api/v1/devices/MH-1", headers=other).status_code == 404
    listed = client.get("/api/v1/devices", headers=operator, params={"type": "manhole"}).json()
    assert [d["code"] for d in listed["items"]] == ["MH-1"] and listed["total"] == 1
    assert {d["code"] for d in client.get("/api/v1/devices", headers=other).json()["items"]} == {"WL-2"}
    patched = client.patch("/api/v1/devices/MH-1", headers=admin, json={"status": "maintenance"})
    assert patched.status_code == 200 and patched.json()["status"] == "maintenance"
    assert client.patch("/api/v1/devices/WL-2", headers=admin, json={"status": "retired"}).status_code == 404
    bad = client.patch("/api/v1/devices/MH-1", headers=admin, json={"name": None})
    assert bad.status_code == 422 and bad.json()["field"] == "name"


def test_csv_import_over_http_reports_every_bad_row_and_writes_nothing(client: TestClient, session: Session) -> None:
    make_world(session)
    admin = login(client, "street.admin")
    before = session.scalar(select(func.count()).select_from(Device))
    csv = "code,name,type,lon,lat\nN-1,a,wl,121.03,31.06\nN-2,b,nope,121.03,31.06\nN-3,c,wl,121.15,31.05\n"
    refused = client.post("/api/v1/devices/import", headers=admin, files={"file": ("d.csv", csv, "text/csv")})
    assert refused.status_code == 422 and refused.headers["content-type"] == "application/problem+json"
    assert [(r["row"], r["field"]) for r in refused.json()["rows"]] == [(3, "type"), (4, "lon")]
    assert session.scalar(select(func.count()).select_from(Device)) == before
    good = "code,name,type,lon,lat\nN-1,a,wl,121.03,31.06\n"
    accepted = client.post("/api/v1/devices/import", headers=admin, files={"file": ("d.csv", good, "text/csv")})
    assert accepted.json() == {"rows": 1, "created": 1, "updated": 0, "unchanged": 0}


def test_a_device_token_is_shown_once_and_can_be_revoked(client: TestClient, session: Session) -> None:
    make_world(session)
    admin = login(client, "street.admin")
    issued = client.post("/api/v1/devices/WL-1/token", headers=admin)
    assert issued.status_code == 201 and issued.json()["token"].startswith("cot_")
    token = {"Authorization": f"Bearer {issued.json()['token']}"}
    assert client.get("/api/v1/me", headers=token).json()["roles"] == ["device"]
    assert client.get("/api/v1/devices", headers=token).status_code == 403  # a device reads nothing
    detail = client.get("/api/v1/devices/WL-1", headers=admin).json()
    assert "token" not in detail and detail["token_hint"] == issued.json()["token"][-4:]
    revoked = client.post("/api/v1/devices/WL-1/token/revoke", headers=admin)
    assert revoked.status_code == 200 and revoked.json()["token_hint"] is None
    assert client.get("/api/v1/me", headers=token).status_code == 401
    assert client.post("/api/v1/devices/WL-2/token", headers=admin).status_code == 404


def test_devices_are_filtered_by_their_owner_department_with_the_other_filters(client: TestClient,
                                                                               session: Session) -> None:
    world = make_world(session)
    for code, level, area in (("water-990101", "district", STREET[:6]), ("street-99010101", "street", STREET),
                              ("street-99010102", "street", OTHER_STREET)):
        org_service.create_department(session, code=code, name=code, level=level, area_code=area, kind="water",
                                      origin="test")
    for code, type_code, (lon, lat), department in (
            ("WD-1", "wl", IN_STREET, "water-990101"), ("WD-2", "aq", IN_STREET, "water-990101"),
            ("WD-3", "wl", IN_STREET, "street-99010101"), ("WD-4", "wl", IN_OTHER_STREET, "water-990101"),
            ("WD-5", "wl", IN_OTHER_STREET, "street-99010102")):
        registry.create_device(session, spec=DeviceSpec(code=code, name=code, type_code=type_code, lon=lon, lat=lat,
                                                        department_code=department),
                               locator=world.locator, actor=None, origin="test")
    make_user(session, username="street.op", roles=["operator"], area_code=STREET)
    make_user(session, username="district.op", roles=["operator"], area_code=STREET[:6])
    operator, district = login(client, "street.op"), login(client, "district.op")

    def codes(headers: dict[str, str], **params: str) -> tuple[list[str], int]:
        page = client.get("/api/v1/devices", headers=headers, params=params)
        assert page.status_code == 200, page.text
        return [d["code"] for d in page.json()["items"]], page.json()["total"]

    assert codes(district, department="water-990101") == (["WD-1", "WD-2", "WD-4"], 3)
    assert codes(operator, department="water-990101") == (["WD-1", "WD-2"], 2)  # within the jurisdiction only
    assert codes(district, department="water-990101", type="wl") == (["WD-1", "WD-4"], 2)
    assert codes(district, department="water-990101", area=OTHER_STREET) == (["WD-4"], 1)
    assert codes(district, department="water-990101", status="maintenance") == ([], 0)
    assert codes(district, department="street-99010101") == (["WD-3"], 1)
    assert codes(operator, department="street-99010102") == ([], 0)  # a known department with nothing in view
    assert all(d["department_code"] == "water-990101" for d in client.get(
        "/api/v1/devices", headers=district, params={"department": "water-990101"}).json()["items"])
    unknown = client.get("/api/v1/devices", headers=operator, params={"department": "no-such-department"})
    assert (unknown.status_code, unknown.headers["content-type"]) == (404, "application/problem+json")
    assert (unknown.json()["code"], unknown.json()["field"]) == ("unknown_department", "department")
