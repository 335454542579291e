"""The demo city's vital signs (体征): four classes, a small catalogue of indicators over the simulated
devices and the cases, and a rule that warns when a street's hotline reports surge.

- 街道最高水位: the highest water level per street, every 5 minutes, from the simulated river gauges;
- 区平均 PM2.5: the mean of the air stations' hourly means per district;
- 街道热线工单: 12345 hotline reports opened per street per hour;
- 区超期未结案件: open cases with a step past its deadline per district, sampled hourly.

The simulated device types are registered here when missing, as the simulator would on first use, so
the catalogue is whole before the first reading arrives. Codes start with the city's code
(``310000.street-max-water-level``), as several demo cities may share a store. Nothing existing is changed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from cityops.geo import service as geo_service
from cityops.geo.levels import AreaLevel
from cityops.org.access import Principal
from cityops.org.roles import Role
from cityops.sensing import alerting, indicators_service, simulate
from cityops.sensing import devices as registry

CLASSES = (("water", "水务"), ("environment", "环境"), ("city_management", "城市管理"), ("traffic", "交通"))
INDICATORS: tuple[tuple[str, str, str, str, str, int, dict[str, Any]], ...] = (
    ("street-max-water-level", "街道最高水位", "water", "m", "street", 300,
     {"kind": "device_metric", "metric": "water_level", "aggregate": "max", "device_type": "sim_water_gauge"}),
    ("district-avg-pm25", "区平均 PM2.5", "environment", "µg/m³", "district", 3600,
     {"kind": "device_metric", "metric": "pm25", "aggregate": "avg", "device_type": "sim_air_station"}),
    ("street-hotline-hourly", "街道热线工单", "city_management", "件/时", "street", 3600,
     {"kind": "cases", "measure": "opened", "channels": ["hotline_12345"]}),
    ("district-overdue-open", "区超期未结案件", "city_management", "件", "district", 3600,
     {"kind": "cases", "measure": "open", "overdue": True}),
)
HOTLINE_SURGE = ("street-hotline-surge", "街道热线激增", {
    "kind": "threshold", "scope": {"indicator": "street-hotline-hourly"},
    "levels": [{"level": "yellow", "fire_at": 10, "clear_at": 8}, {"level": "orange", "fire_at": 20, "clear_at": 16},
               {"level": "red", "fire_at": 40, "clear_at": 32}]})
DEVICE_TYPES = ("sim_water_gauge", "sim_air_station")


def ensure_demo_indicators(session: Session, *, city_code: str, now: datetime) -> list[str]:
    """Add what is missing of the demo's classes, indicators and hotline rule; returns the codes added."""
    city = geo_service.get_area(session, code=city_code)
    author = Principal(id=0, kind="client", name="演示城市", roles=(Role.administrator.value,), area_id=city.id,
                       area_code=city.code, area_path=city.path, area_level=AreaLevel.city.value)
    types = {device_type.code for device_type in registry.list_device_types(session)}
    for kind in simulate.DEVICE_KINDS:
        if kind.type_code in DEVICE_TYPES and kind.type_code not in types:
            registry.create_device_type(session, code=kind.type_code, name=kind.name, metrics=kind.units,
                                        offline_after_s=kind.offline_after_s)
    added = []
    classes = {row.code for row in indicators_service.list_classes(session)}
    for code, name in CLASSES:
        if code not in classes:
            indicators_service.create_class(session, code=code, name=name)
            added.append(code)
    present = {row.code for row in indicators_service.list_indicators(session, viewer=author)}
    for code, name, class_code, unit, level, interval_s, source in INDICATORS:
        if f"{city.code}.{code}" not in present:
            indicators_service.create_indicator(session, code=f"{city.code}.{code}", name=name,
                                                class_code=class_code, unit=unit, level=level, interval_s=interval_s,
                                                source=source, author=author, now=now)
            added.append(f"{city.code}.{code}")
    code, name, definition = HOTLINE_SURGE
    if f"{city.code}.{code}" not in {row.code for row in alerting.list_rules(session)}:
        indicator = f"{city.code}.{definition['scope']['indicator']}"
        alerting.create_rule(session, code=f"{city.code}.{code}", name=name, author=author,
                             definition=definition | {"scope": {"indicator": indicator}})
        added.append(f"{city.code}.{code}")
    return added
