"""The served demo feeds its small simulated fleet, on SQLite and PostgreSQL: only over a demo city, only
when tests ask for it, and it stops with the server."""

from __future__ import annotations

import time

from fastapi.testclient import TestClient
from shapely.geometry import box
from sqlalchemy import Engine, func, select

from cityops.config import Settings
from cityops.db import unit_of_work
from cityops.geo import service as geo_service
from cityops.geo.levels import AreaLevel
from cityops.main import create_app
from cityops.sensing.models import Device, Reading
from tests.factories import make_city


def demo_city(engine: Engine) -> None:
    with unit_of_work(engine) as session:
        city = geo_service.create_area(session, code="980000", name="演示市", level=AreaLevel.city, parent=None,
                                       geometry=box(121.0, 31.0, 121.2, 31.2), origin="demo")
        district = geo_service.create_area(session, code="980101", name="演示区", level=AreaLevel.district,
                                           parent=city, geometry=box(121.0, 31.0, 121.2, 31.2), origin="demo")
        geo_service.create_area(session, code="980101001", name="演示街道", level=AreaLevel.street, parent=district,
                                geometry=box(121.0, 31.0, 121.2, 31.2), origin="demo")


def counts(engine: Engine) -> tuple[int, int]:
    with unit_of_work(engine, read_only=True) as session:
        return (session.scalar(select(func.count()).select_from(Device)),
                session.scalar(select(func.count()).select_from(Reading)))


def serve(settings: Settings, engine: Engine, seconds: float) -> None:
    with TestClient(create_app(settings, engine)):
        time.sleep(seconds)


def test_the_served_demo_feeds_its_fleet_when_asked(scratch_store: Engine, settings: Settings) -> None:
    demo_city(scratch_store)
    serve(settings, scratch_store, 1.5)
    assert counts(scratch_store) == (0, 0)  # tests never start it unless they set it
    asked = settings.model_copy(update={"demo_fleet_devices": 3, "demo_fleet_rate": 20.0})
    asked.model_fields_set.add("demo_fleet_devices")
    serve(asked, scratch_store, 4)
    devices, readings = counts(scratch_store)
    assert devices == 3 and readings > 10
    time.sleep(1.5)
    assert counts(scratch_store) == (devices, readings)  # stopped with the server


def test_no_fleet_over_a_city_that_is_not_a_demo(scratch_store: Engine, settings: Settings) -> None:
    with unit_of_work(scratch_store) as session:
        make_city(session)
    asked = settings.model_copy(update={"demo_fleet_devices": 3, "demo_fleet_rate": 20.0})
    asked.model_fields_set.add("demo_fleet_devices")
    serve(asked, scratch_store, 2)
    assert counts(scratch_store) == (0, 0)
