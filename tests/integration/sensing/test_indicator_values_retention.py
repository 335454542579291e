"""Indicators' values (their series) are kept for CITYOPS_INDICATOR_VALUES_DAYS: the worker's hourly
retention forgets older buckets, while each area's latest value stays whatever its age."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, func, insert, select
from sqlalchemy.orm import Session

from cityops import worker
from cityops.config import Settings
from cityops.db import unit_of_work
from cityops.errors import InvalidInput
from cityops.geo import service as geo_service
from cityops.org import service as org_service
from cityops.sensing import indicators_service as indicators
from cityops.sensing import service
from cityops.sensing.models import IndicatorLatest, IndicatorValue
from tests.factories import make_user
from tests.integration.sensing.world import STREET, make_world

WATER = {"kind": "device_metric", "metric": "water_level", "aggregate": "max", "device_type": "wl"}


def with_values(session: Session, *, now: datetime, ages_days: list[int]) -> int:
    """An hourly indicator of the street with a value ``ages_days`` old each, the oldest also its latest."""
    make_world(session)
    admin = org_service.principal_of_user(session, make_user(session, username="city.admin",
                                                             roles=["administrator"], area_code="990000"))
    indicators.create_class(session, code="water", name="水务")
    row = indicators.create_indicator(session, code="wl-max", name="最高水位", class_code="water", unit="m",
                                      level="street", interval_s=3600, source=WATER, author=admin, now=now)
    street = geo_service.get_area(session, code=STREET)
    buckets = [(now - timedelta(days=age)).replace(minute=0, second=0, microsecond=0) for age in ages_days]
    session.execute(insert(IndicatorValue), [{"indicator_id": row.id, "area_id": street.id, "bucket": bucket,
                                              "value": float(age)}
                                             for bucket, age in zip(buckets, ages_days, strict=True)])
    session.execute(insert(IndicatorLatest), [{"indicator_id": row.id, "area_id": street.id, "area_code": STREET,
                                               "area_path": street.path, "bucket": min(buckets), "value": 1.0,
                                               "updated_at": now}])
    return row.id


def ages(session: Session, now: datetime) -> list[int]:
    return sorted(round((now - bucket).total_seconds() / 86_400)
                  for bucket in session.scalars(select(IndicatorValue.bucket)))


def test_the_worker_keeps_indicator_values_for_the_configured_days(scratch_store: Engine, settings: Settings) -> None:
    now = datetime.now(UTC)
    with unit_of_work(scratch_store) as session:
        with_values(session, now=now, ages_days=[400, 45, 20, 1])
    done = worker.run_all(scratch_store, settings.model_copy(update={"indicator_values_days": 30}), holder="w")
    assert done["pruned"].indicator_values_deleted == 2
    with unit_of_work(scratch_store) as session:
        assert ages(session, now) == [1, 20]
        assert session.scalar(select(func.count()).select_from(IndicatorLatest)) == 1  # the latest stays


def test_indicator_values_default_to_the_rollups_days_and_refuse_less_than_a_day(session: Session) -> None:
    now = datetime(2026, 11, 15, 12, tzinfo=UTC)
    with_values(session, now=now, ages_days=[100, 50, 1])
    with pytest.raises(InvalidInput) as refused:
        service.prune(session, now=now, raw_days=30, rollup_days=90, indicator_days=0)
    assert refused.value.field == "indicator_days"
    assert ages(session, now) == [1, 50, 100]  # nothing changed
    assert service.prune(session, now=now, raw_days=30, rollup_days=90).indicator_values_deleted == 1
    assert ages(session, now) == [1, 50]
