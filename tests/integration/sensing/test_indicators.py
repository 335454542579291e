"""Indicators on SQLite and PostgreSQL: device-metric aggregates per area recomputed from the rollups of
the minutes ingest marked (late readings too, nothing when nothing arrived), case counts windowed per
hour and sampled for open overdue cases, changes written once and published live, the catalogue's
checks, and rules on an indicator raising one warning per area."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cityops.calendar.workcalendar import WorkCalendar
from cityops.cases import service as cases_service
from cityops.cases.channels import Channel
from cityops.cases.lifecycle import Actor, ActorKind
from cityops.categories import service as categories_service
from cityops.errors import Conflict, InvalidInput, NotFound
from cityops.geo.models import Area
from cityops.live import LiveEvent
from cityops.org import service as org_service
from cityops.org.access import Principal
from cityops.sensing import alerting, service
from cityops.sensing import indicators_service as indicators
from cityops.sensing.models import IndicatorLatest, IndicatorMark, IndicatorRow, IndicatorValue, WarningRow
from cityops.sensing.warnings import WarningAction
from tests.factories import make_user
from tests.integration.sensing.world import NOW, STREET, SensedWorld, make_world, reading

OTHER_STREET, DISTRICT = "99010102", "990101"
MAX_WATER_LEVEL = {"kind": "device_metric", "metric": "water_level", "aggregate": "max", "device_type": "wl"}
HOTLINE = {"kind": "cases", "measure": "opened", "channels": ["hotline_12345"]}


def city_admin(session: Session) -> Principal:
    return org_service.principal_of_user(session, make_user(session, username="city.admin", roles=["administrator"],
                                                            area_code="990000"))


def make_indicator(session: Session, author: Principal, *, code: str = "wl-max",
                   source: dict[str, Any] = MAX_WATER_LEVEL, level: str = "street", interval_s: int = 60,
                   now: datetime = NOW, **extra: Any) -> IndicatorRow:
    if not indicators.list_classes(session):
        indicators.create_class(session, code="water", name="水务")
    return indicators.create_indicator(session, code=code, name=code, class_code="water", unit="m", level=level,
                                       interval_s=interval_s, source=source, author=author, now=now, **extra)


def send(session: Session, admin: Principal, *items: dict[str, object]) -> None:
    result = service.ingest(session, items=list(items), caller=admin, now=NOW + timedelta(hours=1))
    assert result.accepted == len(items), result.rejected


def values_of(session: Session, row: IndicatorRow) -> list[tuple[int, str, float]]:
    return [(bucket.minute, area_id, value) for bucket, area_id, value in session.execute(
        select(IndicatorValue.bucket, IndicatorValue.area_id, IndicatorValue.value)
        .where(IndicatorValue.indicator_id == row.id).order_by(IndicatorValue.bucket, IndicatorValue.area_id))]


def latest_of(session: Session, row: IndicatorRow) -> dict[str, float]:
    return dict(session.execute(select(IndicatorLatest.area_code, IndicatorLatest.value)
                                .where(IndicatorLatest.indicator_id == row.id)).all())


def test_the_highest_water_level_per_street_from_the_minutes_ingest_marked(session: Session) -> None:
    world = make_world(session)
    admin = city_admin(session)
    row = make_indicator(session, admin)
    send(session, admin, reading("WL-1", "2026-11-15T12:00:10Z", 2.0), reading("WL-1", "2026-11-15T12:00:40Z", 2.6),
         reading("WL-M", "2026-11-15T12:00:20Z", 9.0), reading("WL-2", "2026-11-15T12:00:30Z", 1.2),
         reading("WL-1", "2026-11-15T12:01:05Z", 2.4), reading("AQ-1", "2026-11-15T12:00:05Z", 80, "pm25"))
    assert session.scalar(select(func.count()).select_from(IndicatorMark)) == 2  # water_level at 12:00 and 12:01
    report = indicators.compute(session, now=NOW + timedelta(minutes=2))
    assert report.buckets == 2
    assert latest_of(session, row) == {STREET: 2.4, OTHER_STREET: 1.2}
    area, _, points = indicators.series(session, row=row, area_code=STREET, viewer=admin, since=NOW,
                                        until=NOW + timedelta(minutes=5))
    assert area.code == STREET and points == [(NOW, 2.6), (NOW + timedelta(minutes=1), 2.4)]
    assert session.scalar(select(func.count()).select_from(IndicatorMark)) == 0
    assert indicators.compute(session, now=NOW + timedelta(minutes=3)).buckets == 0  # nothing arrived
    del world


def test_a_late_reading_recomputes_its_own_bucket_and_only_changes_are_written(session: Session) -> None:
    make_world(session)
    admin = city_admin(session)
    row = make_indicator(session, admin)
    send(session, admin, reading("WL-1", "2026-11-15T12:00:10Z", 2.0), reading("WL-1", "2026-11-15T12:05:00Z", 2.2))
    indicators.compute(session, now=NOW + timedelta(minutes=6))
    published = session.scalar(select(func.count()).select_from(LiveEvent).where(LiveEvent.kind == "indicator"))
    send(session, admin, reading("WL-1", "2026-11-15T12:00:50Z", 3.1), reading("WL-1", "2026-11-15T12:00:55Z", 1.0))
    report = indicators.compute(session, now=NOW + timedelta(minutes=7))
    assert (report.buckets, report.changed) == (1, 1)
    assert [(minute, value) for minute, _, value in values_of(session, row)] == [(0, 3.1), (5, 2.2)]
    assert latest_of(session, row) == {STREET: 2.2}  # a late bucket never moves the latest value back
    events = session.scalars(select(LiveEvent).where(LiveEvent.kind == "indicator").order_by(LiveEvent.id)).all()
    assert len(events) == published + 1
    assert events[-1].payload == {"indicator": "wl-max", "area": STREET, "at": NOW.isoformat(), "value": 3.1,
                                  "unit": "m"}
    send(session, admin, reading("WL-1", "2026-11-15T12:00:10Z", 2.0))  # the same reading again
    assert indicators.compute(session, now=NOW + timedelta(minutes=8)).changed == 0


@pytest.mark.parametrize(("aggregate", "expected"), [("avg", 2.0), ("sum", 4.0), ("count", 2.0), ("min", 0.5)])
def test_device_aggregates_per_district_count_each_device_once(session: Session, aggregate: str,
                                                               expected: float) -> None:
    make_world(session)
    admin = city_admin(session)
    source = MAX_WATER_LEVEL | {"aggregate": aggregate}
    row = make_indicator(session, admin, source=source, level="district", interval_s=3600)
    # WL-1 means 1.0 over three readings, WL-2 3.0 over one: the mean of the devices, not of the readings
    send(session, admin, reading("WL-1", "2026-11-15T12:00:00Z", 0.5), reading("WL-1", "2026-11-15T12:20:00Z", 1.0),
         reading("WL-1", "2026-11-15T12:40:00Z", 1.5), reading("WL-2", "2026-11-15T12:10:00Z", 3.0))
    indicators.compute(session, now=NOW + timedelta(minutes=50))
    assert latest_of(session, row) == {DISTRICT: pytest.approx(expected)}


def take_in(session: Session, world: SensedWorld, receiver: Principal, at: datetime, *,
            channel: Channel = Channel.hotline_12345, lon: float = 121.02) -> None:
    operator = Actor(kind=ActorKind.user, id="1", role="operator", name="operator")
    report = cases_service.Report(channel=channel, title="路面积水", category_code="E01", lon=lon, lat=31.05)
    cases_service.intake(session, report=report, actor=operator, receiver=receiver, locator=world.locator,
                         calendar=WorkCalendar(), at=at, policy=cases_service.IntakePolicy())


def test_hotline_reports_per_street_per_hour_are_counted_in_their_window(session: Session) -> None:
    world = make_world(session)
    categories_service.create_category(session, code="E01", name="积水", kind="event", origin="test")
    admin = city_admin(session)
    take_in(session, world, admin, NOW - timedelta(hours=3))  # before the indicator: never counted
    row = make_indicator(session, admin, code="hotline", source=HOTLINE, interval_s=3600, now=NOW)
    take_in(session, world, admin, NOW + timedelta(minutes=5))
    take_in(session, world, admin, NOW + timedelta(minutes=6))
    take_in(session, world, admin, NOW + timedelta(minutes=7), channel=Channel.grid_patrol)
    indicators.compute(session, now=NOW + timedelta(minutes=10))
    assert latest_of(session, row) == {STREET: 2.0, OTHER_STREET: 0.0, "99010201": 0.0, "99010202": 0.0}
    take_in(session, world, admin, NOW + timedelta(minutes=59, seconds=50))
    take_in(session, world, admin, NOW + timedelta(minutes=61), lon=121.15)
    indicators.compute(session, now=NOW + timedelta(minutes=62))
    series = {area: indicators.series(session, row=row, area_code=area, viewer=admin, since=NOW - timedelta(hours=4),
                                      until=NOW + timedelta(hours=2))[2] for area in (STREET, OTHER_STREET)}
    assert series == {STREET: [(NOW, 3.0), (NOW + timedelta(hours=1), 0.0)],
                      OTHER_STREET: [(NOW, 0.0), (NOW + timedelta(hours=1), 1.0)]}
    _, step, two_hours = indicators.series(session, row=row, area_code=STREET, viewer=admin, since=NOW,
                                           until=NOW + timedelta(hours=2), step=timedelta(hours=2))
    assert (step, two_hours) == (timedelta(hours=2), [(NOW, 3.0)])


def test_open_overdue_cases_per_district_are_sampled(session: Session) -> None:
    world = make_world(session)
    categories_service.create_category(session, code="E01", name="积水", kind="event", origin="test",
                                       time_limits={"register": "1h"})
    admin = city_admin(session)
    source = {"kind": "cases", "measure": "open", "overdue": True}
    row = make_indicator(session, admin, code="overdue", source=source, level="district", interval_s=3600)
    take_in(session, world, admin, NOW)
    indicators.compute(session, now=NOW + timedelta(minutes=30))
    assert latest_of(session, row) == {DISTRICT: 0.0, "990102": 0.0}
    indicators.compute(session, now=NOW + timedelta(hours=2))
    assert latest_of(session, row) == {DISTRICT: 1.0, "990102": 0.0}


def test_the_catalogue_refuses_bad_indicators_and_keeps_nothing_of_them(session: Session) -> None:
    world = make_world(session)
    admin = city_admin(session)
    make_indicator(session, admin)
    cases = [(dict(code="wl-max"), Conflict, "code"),
             (dict(code="x", source=MAX_WATER_LEVEL | {"metric": "rainfall"}), InvalidInput, "source.metric"),
             (dict(code="x", source=MAX_WATER_LEVEL | {"device_type": "pump"}), NotFound, "source.device_type"),
             (dict(code="x", source=HOTLINE | {"channels": ["fax"]}), InvalidInput, "source.channels"),
             (dict(code="x", source=HOTLINE | {"category": "NOPE"}), NotFound, "source.category"),
             (dict(code="x", interval_s=90), InvalidInput, "interval_s"),
             (dict(code="x", level="district", area_code=STREET), InvalidInput, "level")]
    for extra, error, field in cases:
        with pytest.raises(error) as raised:
            make_indicator(session, admin, **extra)
        assert raised.value.field == field, extra
    with pytest.raises(NotFound) as raised:  # a street's administrator, for the other street
        make_indicator(session, world.admin, code="x", area_code=OTHER_STREET)
    assert raised.value.field == "area_code"
    assert session.scalars(select(IndicatorRow.code)).all() == ["wl-max"]


def test_a_street_sees_only_its_own_latest_values_and_series(session: Session) -> None:
    world = make_world(session)
    admin = city_admin(session)
    row = make_indicator(session, admin)
    send(session, admin, reading("WL-1", "2026-11-15T12:00:10Z", 2.0), reading("WL-2", "2026-11-15T12:00:30Z", 1.2))
    indicators.compute(session, now=NOW + timedelta(minutes=2))
    assert [item.area_code for item in indicators.latest(session, row=row, viewer=world.admin)] == [STREET]
    assert [item.code for item in indicators.list_indicators(session, viewer=world.admin)] == ["wl-max"]
    with pytest.raises(NotFound):
        indicators.series(session, row=row, area_code=OTHER_STREET, viewer=world.admin, since=NOW,
                          until=NOW + timedelta(hours=1))
    with pytest.raises(InvalidInput) as raised:
        indicators.series(session, row=row, area_code=DISTRICT, viewer=admin, since=NOW, until=NOW + timedelta(hours=1))
    assert raised.value.code == "not_an_indicator_area"


def test_a_rule_on_an_indicator_warns_per_area_once_a_bucket_is_over(session: Session) -> None:
    make_world(session)
    admin = city_admin(session)
    row = make_indicator(session, admin)
    alerting.create_rule(session, code="wl-street-high", name="街道最高水位", author=admin, definition={
        "kind": "threshold", "scope": {"indicator": "wl-max"},
        "levels": [{"level": "yellow", "fire_at": 3.0, "clear_at": 2.8}, {"level": "red", "fire_at": 4.0}]})
    send(session, admin, reading("WL-1", "2026-11-15T12:00:10Z", 3.2), reading("WL-2", "2026-11-15T12:00:10Z", 1.0))
    indicators.compute(session, now=NOW + timedelta(seconds=50))
    assert session.scalar(select(func.count()).select_from(WarningRow)) == 0  # the bucket is not over yet
    indicators.compute(session, now=NOW + timedelta(minutes=1, seconds=40))
    warning = session.scalar(select(WarningRow))
    assert (warning.origin, warning.status, warning.level, warning.value, warning.device_id, warning.indicator_id,
            warning.area_path) == (STREET, "firing", "yellow", 3.2, None, row.id, "/990000/990101/99010101/")
    street_name = session.scalar(select(Area.name).where(Area.code == STREET))
    # it comes from the street it is filed under: the street names both
    words = alerting.WarningWords(rule_name="街道最高水位", origin_name=street_name, unit="m", area_name=street_name)
    assert alerting.words_of(session, [warning]) == {warning.id: words}
    send(session, admin, reading("WL-1", "2026-11-15T12:01:10Z", 4.5), reading("WL-1", "2026-11-15T12:02:10Z", 2.0))
    indicators.compute(session, now=NOW + timedelta(minutes=3, seconds=40))
    assert (warning.status, warning.peak_level) == ("resolved", "red")
    assert [entry.action for entry in alerting.entries_of(session, warning_ids=[warning.id])[warning.id]] == [
        "fire", "change_level", "resolve"]
    assert session.scalar(select(func.count()).select_from(WarningRow)) == 1


def test_people_acknowledge_an_indicators_warning_but_it_opens_no_case(session: Session) -> None:
    world = make_world(session)
    admin = city_admin(session)
    make_indicator(session, admin)
    rule = {"kind": "threshold", "scope": {"indicator": "wl-max"}, "levels": [{"level": "yellow", "fire_at": 3.0}]}
    with pytest.raises(InvalidInput) as raised:
        alerting.create_rule(session, code="wl-case", name="n", author=admin,
                             definition=rule | {"open_case_from": "yellow", "case_category": "E01"})
    assert raised.value.field == "open_case_from"
    alerting.create_rule(session, code="wl-street-high", name="街道最高水位", author=admin, definition=rule)
    send(session, admin, reading("WL-1", "2026-11-15T12:00:10Z", 3.2))
    indicators.compute(session, now=NOW + timedelta(minutes=1, seconds=40))
    operator = org_service.principal_of_user(session, make_user(session, username="op", roles=["operator"],
                                                                area_code=STREET))
    warning = alerting.get_warning(session, warning_id=session.scalar(select(WarningRow.id)), viewer=operator)
    alerting.act(session, row=warning, action=WarningAction.acknowledge, viewer=operator, at=NOW + timedelta(minutes=2))
    assert warning.status == "acknowledged"
    with pytest.raises(Conflict) as refused:
        alerting.convert_to_case(session, row=warning, viewer=operator, at=NOW + timedelta(minutes=3),
                                 locator=world.locator, calendar=WorkCalendar(), policy=cases_service.IntakePolicy())
    assert refused.value.code == "not_a_device_warning"
    assert (warning.status, warning.case_id) == ("acknowledged", None)
