"""The device registry on SQLite and PostgreSQL: placing a device by its point, owner departments,
CSV import all or nothing, online from last contact, maintenance and retirement, device tokens."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from cityops.errors import Conflict, InvalidFile, InvalidInput, NotAuthenticated, NotFound, OutsideJurisdiction
from cityops.org import service as org_service
from cityops.sensing import devices as registry
from cityops.sensing import service
from cityops.sensing.devices import DeviceSpec, DeviceStatus
from cityops.sensing.models import Device
from tests.integration.sensing.world import IN_OTHER_STREET, IN_STREET, NOW, make_world, reading

HEADER = "code,name,type,lon,lat,department_code,installed_on,status\n"
SECRET = "test-secret-" + "x" * 32


def snapshot(session: Session) -> list[tuple]:
    return [tuple(r) for r in session.execute(select(Device.code, Device.name, Device.area_path, Device.status,
                                                     Device.department_id).order_by(Device.code))]


def test_a_device_is_filed_under_the_deepest_area_of_its_point(session: Session) -> None:
    world = make_world(session)
    device = registry.get_device(session, code="WL-1", viewer=world.admin)
    assert device.area_path.startswith("/990000/990101/99010101/") and device.area_path.endswith("01/")
    with pytest.raises(NotFound):
        registry.get_device(session, code="WL-2", viewer=world.admin)
    with pytest.raises(OutsideJurisdiction):
        registry.create_device(session, spec=DeviceSpec(code="X", name="x", type_code="wl", lon=IN_OTHER_STREET[0],
                                                        lat=IN_OTHER_STREET[1]), locator=world.locator,
                               actor=world.admin)
    with pytest.raises(InvalidInput, match="outside every area"):
        registry.create_device(session, spec=DeviceSpec(code="X", name="x", type_code="wl", lon=100.0, lat=20.0),
                               locator=world.locator, actor=world.admin)
    with pytest.raises(Conflict):
        registry.create_device(session, spec=DeviceSpec(code="WL-1", name="x", type_code="wl", lon=IN_STREET[0],
                                                        lat=IN_STREET[1]), locator=world.locator, actor=world.admin)


def test_the_owner_department_must_serve_the_device_s_place(session: Session) -> None:
    world = make_world(session)
    for code, area in (("water-990101", "990101"), ("street-99010102", "99010102")):
        org_service.create_department(session, code=code, name=code, level="district" if len(area) == 6 else "street",
                                      area_code=area, kind="water", origin="test")
    device = registry.get_device(session, code="WL-1", viewer=None)
    registry.update_device(session, device=device, locator=world.locator, actor=None, department_code="water-990101")
    assert device.department_id is not None
    with pytest.raises(InvalidInput, match="does not serve"):
        registry.update_device(session, device=device, locator=world.locator, actor=None,
                               department_code="street-99010102")
    with pytest.raises(NotFound):
        registry.update_device(session, device=device, locator=world.locator, actor=None, department_code="nope")


def test_moving_a_device_refiles_it(session: Session) -> None:
    world = make_world(session)
    device = registry.get_device(session, code="WL-2", viewer=None)
    registry.update_device(session, device=device, locator=world.locator, actor=None, lon=IN_STREET[0],
                           lat=IN_STREET[1])
    assert registry.get_device(session, code="WL-2", viewer=world.admin).area_path.startswith(
        "/990000/990101/99010101/")


def test_online_follows_last_contact_and_the_type_s_silence(session: Session) -> None:
    world = make_world(session)
    service.ingest(session, items=[reading("WL-1", "2026-11-15T11:50:00Z", 1.0),
                                   reading("AQ-1", "2026-11-15T11:50:00Z", 1.0, metric="pm25")],
                   caller=world.admin, now=NOW)
    later = NOW + timedelta(minutes=10)  # past the gauge's 300 s, within the default 900 s
    online = {d.code for d in registry.list_devices(session, viewer=world.admin, now=later, online=True)[0]}
    offline = {d.code for d in registry.list_devices(session, viewer=world.admin, now=later, online=False)[0]}
    assert online == {"AQ-1"} and offline == {"WL-1", "WL-M", "WL-R"}
    wl = registry.get_device(session, code="WL-1", viewer=None)
    assert registry.is_online(wl, registry.get_device_type(session, code="wl"), now=NOW + timedelta(seconds=299))
    assert registry.list_devices(session, viewer=world.admin, now=later, status=DeviceStatus.maintenance)[1] == 1


def test_csv_import_is_all_or_nothing_and_names_every_bad_row(session: Session) -> None:
    world = make_world(session)
    before = snapshot(session)
    bad = (HEADER
           + "N-1,新水位计,wl,121.03,31.06,,2026-01-02,active\n"       # fine
           + "N-2,x,nosuchtype,121.03,31.06,,,\n"                       # unknown type
           + "N-3,x,wl,100.0,20.0,,,\n"                                  # outside every area
           + f"N-4,x,wl,{IN_OTHER_STREET[0]},{IN_OTHER_STREET[1]},,,\n"  # outside the street
           + "N-5,x,wl,east,31.06,,,\n"                                  # not a number
           + "N-6,x,wl,121.03,31.06,,2026-13-01,broken\n"               # bad date and status
           + "N-1,again,wl,121.03,31.06,,,\n"                            # repeats row 2
           + "WL-2,x,wl,121.03,31.06,,,\n"                               # a code taken in another street
           + ",x,wl,121.03,31.06,,,\n")                                  # no code
    with pytest.raises(InvalidFile) as caught:
        registry.import_csv(session, data=bad.encode(), locator=world.locator, actor=world.admin)
    assert [(p["row"], p["field"]) for p in caught.value.extra["rows"]] == [
        (3, "type"), (4, "lon"), (5, "lon"), (6, "lon"), (7, "installed_on"), (7, "status"), (8, "code"),
        (9, "code"), (10, "code")]
    assert snapshot(session) == before
    with pytest.raises(InvalidFile, match="bad header"):
        registry.import_csv(session, data=b"code,name,colour\n", locator=world.locator, actor=world.admin)


def test_csv_import_upserts_by_code(session: Session) -> None:
    world = make_world(session)
    good = HEADER + "N-1,新水位计,wl,121.03,31.06,,2026-01-02,\nWL-1,WL-1 renamed,wl,121.02,31.05,,,maintenance\n"
    report = registry.import_csv(session, data=good.encode("gb18030"), locator=world.locator, actor=world.admin)
    assert (report.rows, report.created, report.updated, report.unchanged) == (2, 1, 1, 0)
    assert registry.get_device(session, code="WL-1", viewer=None).status == "maintenance"
    again = registry.import_csv(session, data=good.encode(), locator=world.locator, actor=world.admin)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)


def test_a_device_token_sends_for_its_own_device_only_until_revoked(session: Session) -> None:
    world = make_world(session)
    device = registry.get_device(session, code="WL-1", viewer=None)
    _, token = registry.issue_token(session, device=device, actor=world.admin)
    caller = org_service.principal_for_token(session, token=token, secret=SECRET)
    result = service.ingest(session, items=[reading("WL-1", "2026-11-15T11:00:00Z", 1.0),
                                            reading("WL-M", "2026-11-15T11:00:00Z", 1.0)], caller=caller, now=NOW)
    assert result.stored == 1 and [(r.index, r.code) for r in result.rejected] == [(1, "not_your_device")]
    _, newer = registry.issue_token(session, device=device, actor=world.admin)
    with pytest.raises(NotAuthenticated):
        org_service.principal_for_token(session, token=token, secret=SECRET)
    assert org_service.principal_for_token(session, token=newer, secret=SECRET).name == "device WL-1"
    registry.update_device(session, device=device, locator=world.locator, actor=world.admin,
                           status=DeviceStatus.retired)
    with pytest.raises(NotAuthenticated):
        org_service.principal_for_token(session, token=newer, secret=SECRET)
    with pytest.raises(Conflict):
        registry.issue_token(session, device=device, actor=world.admin)


def test_device_types_check_their_metrics(session: Session) -> None:
    make_world(session)
    for metrics in ({}, {"Water Level": "m"}, {"ok": "x" * 40}):
        with pytest.raises(InvalidInput):
            registry.create_device_type(session, code="t", name="t", metrics=metrics)
    with pytest.raises(Conflict):
        registry.create_device_type(session, code="wl", name="again", metrics={"a": "m"})
