"""Indicators as plain data: definitions, time buckets, folding partial aggregates into areas, series steps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from cityops.errors import InvalidInput
from cityops.sensing import indicators
from cityops.sensing.indicators import (
    Aggregate,
    CaseCountSource,
    DeviceMetricSource,
    Indicator,
    Partial,
    bucket_of,
    flow_buckets,
    fold,
    resample,
    settled_buckets,
    source_from_json,
    source_to_json,
    step_of,
    values,
)

HOUR, MINUTE = timedelta(hours=1), timedelta(minutes=1)
AREAS = {"/99/9901/990101/": "990101", "/99/9901/990102/": "990102"}


def at(hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2026, 11, 15, hour, minute, second, tzinfo=UTC)


def indicator(source: indicators.Source, *, interval: timedelta = HOUR) -> Indicator:
    return Indicator(code="i", name="指标", class_code="water", unit="m", level="street", interval=interval,
                     source=source)


def test_a_source_goes_to_json_and_back() -> None:
    for source in (DeviceMetricSource("water_level", "max", "wl"),
                   CaseCountSource("opened", channels=["hotline_12345"], category="01", statuses=["registered"]),
                   CaseCountSource("open", overdue=True)):
        assert source_from_json(source_to_json(source)) == source


@pytest.mark.parametrize(("data", "field"), [
    ("max", "source"),
    ({"kind": "weather"}, "source.kind"),
    ({"kind": "device_metric", "metric": "wl", "aggregate": "median"}, "source.aggregate"),
    ({"kind": "device_metric", "metric": "", "aggregate": "max"}, "source.metric"),
    ({"kind": "device_metric", "metric": "wl", "aggregate": "max", "colour": "red"}, "source"),
    ({"kind": "cases", "measure": "closed"}, "source.measure"),
    ({"kind": "cases", "measure": "opened", "statuses": ["lost"]}, "source.statuses"),
    ({"kind": "cases", "measure": "opened", "overdue": True}, "source.overdue"),
    ({"kind": "cases", "measure": "open", "channels": "hotline_12345"}, "source.channels"),
])
def test_a_bad_source_names_its_field(data: object, field: str) -> None:
    with pytest.raises(InvalidInput) as error:
        source_from_json(data)
    assert error.value.field == field


@pytest.mark.parametrize("interval", [timedelta(0), timedelta(seconds=90), timedelta(minutes=7),
                                      timedelta(hours=25), timedelta(days=8), 3600])
def test_an_interval_is_whole_minutes_dividing_a_day_or_whole_days(interval: object) -> None:
    with pytest.raises(InvalidInput) as error:
        indicator(DeviceMetricSource("wl", "max"), interval=interval)
    assert error.value.field == "interval_s"


def test_good_intervals_and_a_bad_level() -> None:
    for interval in (MINUTE, 5 * MINUTE, HOUR, timedelta(days=1), timedelta(days=7)):
        assert indicator(DeviceMetricSource("wl", "max"), interval=interval).interval == interval
    with pytest.raises(InvalidInput) as error:
        Indicator(code="i", name="n", class_code="c", unit="m", level="community", interval=HOUR,
                  source=DeviceMetricSource("wl", "max"))
    assert error.value.field == "level"


def test_buckets_are_aligned_on_utc_midnight() -> None:
    assert bucket_of(at(10, 59, 59), HOUR) == at(10)
    assert bucket_of(at(10, 7), 5 * MINUTE) == at(10, 5)
    assert bucket_of(datetime(2026, 11, 15, 18, 30, tzinfo=UTC).astimezone(), timedelta(days=1)) == at(0)


def test_a_flow_recounts_only_its_recent_buckets() -> None:
    """From the bucket of the last count less the settling time to the bucket of now: never older, and
    never before counting began."""
    settle, begun = timedelta(seconds=30), at(9, 10)
    assert flow_buckets(at(10, 40), at(10, 50), HOUR, settle, since=begun) == [at(10)]
    assert flow_buckets(at(10, 59, 50), at(11, 0, 10), HOUR, settle, since=begun) == [at(10), at(11)]
    assert flow_buckets(at(11, 0, 10), at(11, 0, 40), HOUR, settle, since=begun) == [at(10), at(11)]
    assert flow_buckets(at(11, 1), at(11, 2), HOUR, settle, since=begun) == [at(11)]
    assert flow_buckets(at(11, 2), at(11, 1), HOUR, settle, since=begun) == []
    assert flow_buckets(at(11, 0, 10), at(11, 0, 40), HOUR, settle, since=at(11)) == [at(11)]


def test_each_bucket_settles_once() -> None:
    settle = timedelta(seconds=30)
    assert settled_buckets(at(10), at(10, 59), HOUR, settle, first=at(9)) == []
    assert settled_buckets(at(10), at(11, 0, 20), HOUR, settle, first=at(9)) == []
    assert settled_buckets(at(10), at(11, 0, 40), HOUR, settle, first=at(9)) == [at(10)]
    assert settled_buckets(at(10), at(13, 5), HOUR, settle, first=at(9)) == [at(10), at(11), at(12)]
    assert settled_buckets(None, at(11, 5), HOUR, settle, first=at(9, 30)) == [at(9), at(10)]


def test_partials_fold_into_the_areas_that_hold_them() -> None:
    partials = [("/99/9901/990101/99010101/", Partial(1.0, 3.0, 4.0, 2)),
                ("/99/9901/990101/99010102/", Partial(0.5, 2.0, 1.5, 1)),
                ("/99/9901/990102/", Partial(2.0, 2.0, 2.0, 1)),
                ("/99/9902/990201/", Partial(9.0, 9.0, 9.0, 1))]
    merged = fold(partials, AREAS)
    assert merged == {"990101": Partial(0.5, 3.0, 5.5, 3), "990102": Partial(2.0, 2.0, 2.0, 1)}


@pytest.mark.parametrize(("aggregate", "expected"), [
    ("max", {"990101": 3.0, "990102": 2.0}), ("min", {"990101": 0.5, "990102": 2.0}),
    ("avg", {"990101": 5.5 / 3, "990102": 2.0}), ("sum", {"990101": 5.5, "990102": 2.0}),
    ("count", {"990101": 3.0, "990102": 1.0})])
def test_device_metric_values_per_area(aggregate: str, expected: dict[str, float]) -> None:
    partials = [("/99/9901/990101/99010101/", Partial(1.0, 3.0, 4.0, 2)),
                ("/99/9901/990101/99010102/", Partial(0.5, 2.0, 1.5, 1)),
                ("/99/9901/990102/", Partial(2.0, 2.0, 2.0, 1))]
    assert values(indicator(DeviceMetricSource("wl", aggregate)), partials, AREAS) == pytest.approx(expected)


def test_an_area_no_device_reported_from_has_no_value_but_every_area_has_a_case_count() -> None:
    partials = [("/99/9901/990101/99010101/", Partial(None, None, 0.0, 4))]
    assert values(indicator(DeviceMetricSource("wl", "max")), [], AREAS) == {}
    assert values(indicator(CaseCountSource("opened")), partials, AREAS) == {"990101": 4.0, "990102": 0.0}


def test_a_coarser_step_combines_buckets_as_the_indicator_says() -> None:
    points = [(at(10), 2.0), (at(11), 4.0), (at(12), 1.0), (at(13), 3.0)]
    two_hours = 2 * HOUR
    assert resample(points, step=two_hours, over_time=Aggregate.max) == [(at(10), 4.0), (at(12), 3.0)]
    assert resample(points, step=two_hours, over_time=Aggregate.sum) == [(at(10), 6.0), (at(12), 4.0)]
    assert resample(points, step=two_hours, over_time=Aggregate.avg) == [(at(10), 3.0), (at(12), 2.0)]
    assert indicator(CaseCountSource("opened")).over_time is Aggregate.sum
    assert indicator(CaseCountSource("open")).over_time is Aggregate.avg
    assert indicator(DeviceMetricSource("wl", "max")).over_time is Aggregate.max
    assert indicator(DeviceMetricSource("wl", "sum")).over_time is Aggregate.avg


def test_a_step_is_a_whole_multiple_of_the_interval() -> None:
    assert step_of(None, HOUR) == HOUR
    assert step_of(3 * HOUR, HOUR) == 3 * HOUR
    for step in (timedelta(minutes=90), timedelta(0), -HOUR):
        with pytest.raises(InvalidInput) as error:
            step_of(step, HOUR)
        assert error.value.field == "step"


def test_a_rule_on_an_indicator_opens_no_cases() -> None:
    from cityops.sensing import rules

    levels = (rules.LevelThreshold("yellow", 10.0),)
    assert rules.Rule(code="surge", kind="threshold", scope=rules.Scope(indicator="hotline"), levels=levels)
    with pytest.raises(InvalidInput) as error:
        rules.Rule(code="surge", kind="threshold", scope=rules.Scope(indicator="hotline"), levels=levels,
                   open_case_from="yellow", case_category="E01")
    assert error.value.field == "open_case_from"
