"""The TOML mapping: the shipped ones parse, every problem of a bad one is named at once, comparisons
read the source's answers, and times are read in the source's zone."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from cityops.cases.channels import Channel
from cityops.errors import InvalidFile
from cityops.history.cli import shipped_mappings
from cityops.history.mapping import CompareSpec, parse_datetime, parse_mapping

MINIMAL = """
[source]
timezone = "America/Los_Angeles"
datetime_formats = ["%m/%d/%Y %I:%M:%S %p", "iso"]
[fields]
external_id = "Id"
opened_at = "Opened"
category = "Type"
"""


def refused(text: str) -> InvalidFile:
    with pytest.raises(InvalidFile) as caught:
        parse_mapping(text)
    return caught.value


def fields_of(error: InvalidFile) -> list[str]:
    return [p["field"] for p in error.extra["problems"]]


@pytest.mark.parametrize("name", ["la_myla311", "nyc_311", "nyc_311_api"])
def test_the_shipped_mappings_parse(name: str) -> None:
    mapping = parse_mapping(shipped_mappings()[name])
    assert mapping.fields["external_id"] and mapping.compare
    assert {c.target for c in mapping.compare} == {"area.district", "area.street"}


def test_a_minimal_mapping_takes_the_defaults() -> None:
    mapping = parse_mapping(MINIMAL)
    assert mapping.default_channel is Channel.department_system
    assert mapping.encoding == "utf-8-sig" and mapping.delimiter == ","
    assert mapping.categories.parent == "HISTORY" and mapping.categories.create
    assert mapping.columns() == ["Id", "Opened", "Type"]


def test_the_la_mapping_says_what_its_file_means() -> None:
    mapping = parse_mapping(shipped_mappings()["la_myla311"])
    assert mapping.channels["Driver Self Report"] is Channel.grid_patrol
    assert mapping.placeholder_points[0].lon == pytest.approx(-118.2437)
    district = next(c for c in mapping.compare if c.target == "area.district")
    assert district.source_value("13") == "13-la-city-council-district-2012"


def test_toml_that_does_not_parse_is_refused_with_the_parser_message() -> None:
    error = refused("[source\ntimezone = 1")
    assert error.field == "mapping" and "not valid TOML" in error.detail


def test_every_problem_is_reported_at_once() -> None:
    error = refused("""
[source]
timezone = "Mars/Olympus"
datetime_formats = []
colour = "red"
channel = "fax"
placeholder_points = [[34.05, -118.24, 10, 4], [200, 10]]
[fields]
external_id = "Id"
opened = "Opened"
lat = "Lat"
[channels]
Call = "telegraph"
[compare]
area.city = "City"
area.district = { column = "CD", pattern = '(\\d+)' }
colour.shade = "x"
[extras]
a = 1
""")
    assert set(fields_of(error)) >= {
        "extras", "source.colour", "source.timezone", "source.datetime_formats", "source.channel",
        "source.placeholder_points[0]", "source.placeholder_points[1]", "fields.opened", "fields.opened_at",
        "fields.category", "fields.lon", "channels.Call", "compare.area.city", "compare.area.district.template",
        "compare.colour.shade"}
    assert error.detail.startswith("the mapping is refused:") and "more problems" in error.detail


def test_unknown_platform_fields_name_the_known_ones() -> None:
    error = refused(MINIMAL + 'colour = "Colour"\n')
    assert fields_of(error) == ["fields.colour"]
    assert "external_id" in error.extra["problems"][0]["detail"]


def test_a_bad_category_parent_and_kind_are_refused() -> None:
    error = refused(MINIMAL + '[categories]\nparent = "la 311"\nkind = "thing"\ncreate = "yes"\n')
    assert fields_of(error) == ["categories.parent", "categories.kind", "categories.create"]


@pytest.mark.parametrize(("spec", "raw", "expected"), [
    (CompareSpec("area.district", "CD"), " 13 ", "13"),
    (CompareSpec("area.district", "CD"), "", None),
    (CompareSpec("area.district", "CD", template="CD{}"), "7", "CD7"),
    (CompareSpec("area.district", "Borough", lookup={"value": {"QUEENS": "4"}}), "QUEENS", "4"),
    (CompareSpec("area.district", "Borough", lookup={"value": {"QUEENS": "4"}}), "Unspecified", None),
])
def test_a_comparison_reads_the_source_answer(spec: CompareSpec, raw: str, expected: str | None) -> None:
    assert spec.source_value(raw) == expected


def test_a_community_board_becomes_a_community_district_code() -> None:
    mapping = parse_mapping(shipped_mappings()["nyc_311"])
    board = next(c for c in mapping.compare if c.target == "area.street")
    assert board.source_value("12 MANHATTAN") == "112"
    assert board.source_value("01 STATEN ISLAND") == "501"
    assert board.source_value("Unspecified BROOKLYN") is None
    assert board.source_value("0 Unspecified") is None


@pytest.mark.parametrize(("text", "expected"), [
    # Pacific standard time in winter, daylight time in summer.
    ("12/31/2017 11:59:58 PM", datetime(2018, 1, 1, 7, 59, 58, tzinfo=UTC)),
    ("07/04/2017 12:00:00 PM", datetime(2017, 7, 4, 19, 0, tzinfo=UTC)),
    # An offset in the text wins over the mapping's zone.
    ("2024-04-16T03:03:15+08:00", datetime(2024, 4, 15, 19, 3, 15, tzinfo=UTC)),
    ("2024-04-16T03:03:15Z", datetime(2024, 4, 16, 3, 3, 15, tzinfo=UTC)),
    ("2024-04-16T03:03:15.000", datetime(2024, 4, 16, 10, 3, 15, tzinfo=UTC)),
])
def test_times_are_read_in_the_source_zone_unless_they_carry_one(text: str, expected: datetime) -> None:
    assert parse_datetime(text, parse_mapping(MINIMAL)) == expected


def test_a_strptime_format_with_a_zone_directive_keeps_the_offset() -> None:
    mapping = parse_mapping(MINIMAL.replace('"iso"', '"%Y-%m-%d %H:%M %z"'))
    assert parse_datetime("2019-03-10 09:30 -0500", mapping) == datetime(2019, 3, 10, 14, 30, tzinfo=UTC)


def test_a_time_no_format_fits_names_the_formats() -> None:
    with pytest.raises(ValueError, match="matches none of the formats"):
        parse_datetime("31.12.2017", parse_mapping(MINIMAL))


@pytest.mark.parametrize("fmt", ["%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y/%m/%d", "%d.%m.%Y %H:%M",
                                 "%Y-%m-%dT%H:%M:%S", "%Y%m%d%H%M%S"])
def test_plain_formats_read_every_time_as_strptime_does(fmt: str) -> None:
    """The shortcut for zero-padded formats gives strptime's answer, or strptime's refusal."""
    mapping = parse_mapping(MINIMAL.replace('"iso"', f'"{fmt}"'))
    rng = random.Random(fmt)
    texts = [datetime(2025, 1, 1) + timedelta(seconds=rng.randrange(400 * 86400)) for _ in range(300)]
    texts = [t.strftime(fmt) for t in texts]
    texts += ["2025-02-29 10:00:00", "2025-13-01 10:00", "2025-1-5 3:04:05", "2025-01-05  03:04:05",
              "2025-01-05 24:00:00", "2025-01-05 23:59:60", "2025-01-05t03:04:05", "2025/01/31", "31.04.2025 10:00",
              "2025010524", " 2025-01-05", "20250105030405", "2025-01-05 03:04"]
    for text in texts:
        try:
            expected = datetime.strptime(text, fmt).replace(tzinfo=mapping.timezone).astimezone(UTC)
        except ValueError:
            with pytest.raises(ValueError, match="matches none of the formats"):
                parse_datetime(text, mapping)
        else:
            assert parse_datetime(text, mapping) == expected, text
