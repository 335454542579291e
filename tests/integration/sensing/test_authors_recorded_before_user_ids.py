"""Rules, silences and indicators written before they recorded their author's user id (migration 0022):
taken back to that shape and brought up again, each gets the id of the user whose login name it
records, where there is one, while warnings refer to them; a system's stay without. An API client named
like a user's login is taken for that user: the old records cannot tell them apart."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import Any

from sqlalchemy import Engine, inspect, select
from sqlalchemy.orm import Session

from cityops.db import migrate, unit_of_work
from cityops.geo import service as geo_service
from cityops.org import service as org_service
from cityops.org.access import Principal
from cityops.sensing import alerting
from cityops.sensing import indicators_service as indicators
from cityops.sensing.models import IndicatorRow, SensingRule, SilenceRow, WarningRow
from tests.factories import downgrade, make_user
from tests.integration.sensing.world import NOW, STREET, make_world

RULE = {"kind": "threshold", "metric": "water_level", "scope": {"device_type": "wl", "area": STREET},
        "levels": [{"level": "yellow", "fire_at": 3.0, "clear_at": 2.8}]}
TABLES = {"rules": (SensingRule, SensingRule.code), "silences": (SilenceRow, SilenceRow.reason),
          "indicators": (IndicatorRow, IndicatorRow.code)}


def authored(session: Session) -> dict[str, dict[str, Any]]:
    return {table: dict(session.execute(select(key, model.author_user_id)).all())
            for table, (model, key) in TABLES.items()}


def test_authors_recorded_by_name_alone_are_given_their_users(scratch_store: Engine) -> None:
    with unit_of_work(scratch_store) as session:
        world = make_world(session)
        operator = org_service.principal_of_user(session, make_user(session, username="op", roles=["operator"],
                                                                    area_code=STREET))
        city = geo_service.get_area(session, code="990000")
        simulator = Principal(id=0, kind="client", name="演示模拟器", roles=("system",), area_id=city.id,
                              area_code=city.code, area_path=city.path, area_level=city.level)
        indicators.create_class(session, code="water", name="水务")
        indicator = indicators.create_indicator(session, code="wl-max", name="街道最高水位", class_code="water",
                                                unit="m", level="street", interval_s=60, now=NOW,
                                                source={"kind": "device_metric", "metric": "water_level",
                                                        "aggregate": "max"}, author=world.admin)
        rule = alerting.create_rule(session, code="wl-high", name="水位超限", definition=RULE, author=world.admin)
        alerting.create_rule(session, code="wl-city", name="全市水位超限", author=simulator,
                             definition=RULE | {"scope": {"device_type": "wl"}})
        for author, reason in ((operator, "受理员设置"), (dataclasses.replace(operator, kind="client"), "接口设置")):
            alerting.create_silence(session, matchers=[("rule", "wl-high")], starts_at=NOW,
                                    ends_at=NOW + timedelta(hours=2), reason=reason, author=author)
        session.add(WarningRow(rule_id=rule.id, indicator_id=indicator.id, metric="wl-max", origin=STREET,
                               status="firing", level="yellow", peak_level="yellow", value=3.1, labels={},
                               area_path=indicator.area_path, fired_at=NOW, updated_at=NOW, version=1))
        admin_id, op_id = world.admin.id, operator.id
    with Session(scratch_store) as session:
        assert authored(session) == {"rules": {"wl-high": admin_id, "wl-city": None},
                                     "silences": {"受理员设置": op_id, "接口设置": None},
                                     "indicators": {"wl-max": admin_id}}

    downgrade(scratch_store, "0021")
    for table in TABLES:
        assert "author_user_id" not in {column["name"] for column in inspect(scratch_store).get_columns(table)}

    migrate(scratch_store)
    with Session(scratch_store) as session:
        assert authored(session) == {"rules": {"wl-high": admin_id, "wl-city": None},
                                     "silences": {"受理员设置": op_id, "接口设置": op_id},
                                     "indicators": {"wl-max": admin_id}}
        assert session.scalar(select(WarningRow.rule_id)) == session.scalar(
            select(SensingRule.id).where(SensingRule.code == "wl-high"))
