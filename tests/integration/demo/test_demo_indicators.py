"""The demo's vital signs on both stores: its classes, its four indicators (with the simulated device
types they read) and the hotline-surge rule, added once; a second call adds nothing."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.orm import Session

from cityops.demo.indicators import ensure_demo_indicators
from cityops.org import service as org_service
from cityops.sensing import alerting, indicators_service
from cityops.sensing import devices as registry
from tests.factories import make_city, make_user

NOW = datetime(2026, 11, 15, 12, 0, tzinfo=UTC)


def test_the_demo_catalogue_is_added_once(session: Session) -> None:
    make_city(session)
    added = ensure_demo_indicators(session, city_code="990000", now=NOW)
    assert added == ["water", "environment", "city_management", "traffic", "990000.street-max-water-level",
                     "990000.district-avg-pm25", "990000.street-hotline-hourly", "990000.district-overdue-open",
                     "990000.street-hotline-surge"]
    assert {t.code for t in registry.list_device_types(session)} == {"sim_water_gauge", "sim_air_station"}
    viewer = org_service.principal_of_user(session, make_user(session, username="op", roles=["operator"],
                                                              area_code="99010101"))
    levels = {row.code: row.level for row in indicators_service.list_indicators(session, viewer=viewer)}
    assert levels == {"990000.street-max-water-level": "street", "990000.district-avg-pm25": "district",
                      "990000.street-hotline-hourly": "street", "990000.district-overdue-open": "district"}
    assert [row.scope_indicator for row in alerting.list_rules(session)] == ["990000.street-hotline-hourly"]
    assert ensure_demo_indicators(session, city_code="990000", now=NOW) == []
