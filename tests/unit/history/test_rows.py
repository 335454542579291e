"""Reading an export through a mapping: good rows, each kind of broken row with its reason, line
breaks inside cells, and the judgement of placeholder points."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest

from cityops.cases.channels import Channel
from cityops.errors import InvalidFile
from cityops.history.mapping import parse_mapping
from cityops.history.rows import HistoryRow, Location, Reject, RowReader, placeholder_candidates

MAPPING = parse_mapping("""
[source]
name = "Test311"
timezone = "America/New_York"
datetime_formats = ["%m/%d/%Y %H:%M"]
channel = "department_system"
[fields]
external_id = "Id"
opened_at = "Opened"
closed_at = "Closed"
category = "Type"
department = "Agency"
channel = "Via"
lat = "Lat"
lon = "Lon"
description = "Text"
[channels]
PHONE = "hotline_12345"
[departments.codes]
"Police Dept" = "NYPD"
[compare]
area.district = "Borough"
route.lead = "Agency"
""")
HEADER = "Id,Opened,Closed,Type,Agency,Via,Lat,Lon,Text,Borough\n"


def read(body: str) -> list[HistoryRow | Reject]:
    return list(RowReader(io.StringIO(HEADER + body, newline=""), MAPPING))


def test_a_good_row_becomes_a_history_row() -> None:
    [row] = read("A1,01/05/2020 09:30,01/06/2020 10:00,Noise,Police Dept,PHONE,40.7,-73.9,loud,4\n")
    assert isinstance(row, HistoryRow)
    assert (row.row, row.line, row.external_id, row.category) == (2, 2, "A1", "Noise")
    assert row.opened_at == datetime(2020, 1, 5, 14, 30, tzinfo=UTC)
    assert row.closed_at == datetime(2020, 1, 6, 15, 0, tzinfo=UTC)
    assert row.channel is Channel.hotline_12345 and row.source_channel == "PHONE"
    assert (row.lon, row.lat, row.location) == (-73.9, 40.7, Location.given)
    assert row.compare == ("4", "NYPD")  # the department's source value, through [departments.codes]


def test_an_unlisted_channel_takes_the_default() -> None:
    [row] = read("A1,01/05/2020 09:30,,Noise,X,FAX,,,,\n")
    assert row.channel is Channel.department_system and row.closed_at is None


@pytest.mark.parametrize(("cells", "field", "words"), [
    (",01/05/2020 09:30,,Noise,X,,,,,", "external_id", "is empty"),
    ("A1,,,Noise,X,,,,,", "opened_at", "is empty"),
    ("A1,2020-01-05,,Noise,X,,,,,", "opened_at", "matches none of the formats"),
    ("A1,01/05/2020 09:30,yesterday,Noise,X,,,,,", "closed_at", "matches none"),
    ("A1,01/05/2020 09:30,01/04/2020 09:30,Noise,X,,,,,", "closed_at", "before it was opened"),
    ("A1,01/05/2020 09:30,,,X,,,,,", "category", "is empty"),
    ("A1,01/05/2020 09:30,,Noise,X,,40.7,,,", "lon", "the other coordinate is given"),
    ("A1,01/05/2020 09:30,,Noise,X,,north,-73.9,,", "lat", "not numbers"),
    ("A1,01/05/2020 09:30,,Noise,X,,95,-73.9,,", "lat", "out of range"),
    ("A1,01/05/2020 09:30,,Noise,X,,nan,-73.9,,", "lat", "out of range"),
    ("A1,01/05/2020 09:30,,Noise", "row", "the row has 4 cells, the header 10"),
])
def test_a_broken_row_is_rejected_with_its_field_and_reason(cells: str, field: str, words: str) -> None:
    [reject] = read(cells + "\n")
    assert isinstance(reject, Reject)
    assert (reject.row, reject.field) == (2, field) and words in reject.reason


def test_zero_and_missing_coordinates_make_unlocated_rows() -> None:
    zero, blank = read("A1,01/05/2020 09:30,,Noise,X,,0,0,,\nA2,01/05/2020 09:30,,Noise,X,,,,,\n")
    assert (zero.lon, zero.lat, zero.location) == (None, None, Location.zero_point)
    assert (blank.lon, blank.lat, blank.location) == (None, None, Location.no_coordinates)


def test_line_breaks_inside_cells_keep_row_numbers_and_report_lines() -> None:
    body = ('A1,01/05/2020 09:30,,Noise,X,,,,"first line\nsecond line\r\nthird",\n'
            "\n"
            "A2,bad date,,Noise,X,,,,,\n")
    first, second = read(body)
    assert first.description == "first line\nsecond line\r\nthird"
    assert (first.row, first.line) == (2, 2)
    assert isinstance(second, Reject) and (second.row, second.line) == (3, 6)


def test_a_repeated_external_id_is_rejected_naming_the_first_row() -> None:
    first, again = read("A1,01/05/2020 09:30,,Noise,X,,,,,\nA1,01/06/2020 09:30,,Noise,X,,,,,\n")
    assert isinstance(first, HistoryRow)
    assert again.field == "external_id" and "repeats row 2" in again.reason


def test_a_file_lacking_mapped_columns_is_refused_whole() -> None:
    with pytest.raises(InvalidFile) as caught:
        RowReader(io.StringIO("Id,Opened,Type\nA1,01/05/2020 09:30,Noise\n"), MAPPING)
    assert caught.value.field == "header"
    assert caught.value.extra["missing"] == ["Closed", "Agency", "Via", "Lat", "Lon", "Text", "Borough"]


def test_an_empty_file_is_refused() -> None:
    with pytest.raises(InvalidFile, match="empty"):
        RowReader(io.StringIO(""), MAPPING)


def test_a_default_point_stamped_on_many_addresses_is_a_placeholder() -> None:
    city_hall = [(-118.2437, 34.0522, f"{n} MAIN ST") for n in range(30)] + [(-118.2437, 34.0522, None)] * 10
    busy_address = [(-118.4, 34.27, "11150 N GLENOAKS BLVD")] * 40
    scattered = [(-118.3 + n / 1000, 34.1, f"{n} ELM ST") for n in range(200)]
    used, threshold = placeholder_candidates(city_hall + busy_address + scattered, min_rows=20, top=3)
    assert threshold == 20
    verdict = {(p.lon, p.lat): (p.rows, p.addresses, p.placeholder) for p in used}
    assert verdict[(-118.2437, 34.0522)] == (40, 40, True)
    assert verdict[(-118.4, 34.27)] == (40, 1, False)


def test_the_default_threshold_grows_with_the_file() -> None:
    _, small = placeholder_candidates([(1.0, 1.0, "a")] * 5)
    _, large = placeholder_candidates([(float(n), 1.0, "a") for n in range(50_000)])
    assert (small, large) == (10, 50)


def test_the_encoding_comes_from_the_mapping() -> None:
    from dataclasses import replace

    from cityops.history.importer import read_rows

    data = (HEADER + "A1,01/05/2020 09:30,,噪音扰民,X,,,,夜间施工,\n").encode("gb18030")
    with pytest.raises(InvalidFile, match="not utf-8-sig text"):
        read_rows(data, MAPPING)
    [row], rejects = read_rows(data, replace(MAPPING, encoding="gb18030"))
    assert (row.category, row.description, rejects) == ("噪音扰民", "夜间施工", [])


def test_points_in_another_crs_are_stored_as_wgs84() -> None:
    from dataclasses import replace

    from cityops.geo.coords import Crs, convert

    gcj = replace(MAPPING, crs=Crs.gcj02)
    [row] = list(RowReader(io.StringIO(HEADER + "A1,01/05/2020 09:30,,Noise,X,,31.2304,121.4737,,\n"), gcj))
    assert (row.lon, row.lat) == pytest.approx(convert(121.4737, 31.2304, source=Crs.gcj02, target=Crs.wgs84))
    assert row.lon != pytest.approx(121.4737, abs=1e-3)  # a few hundred metres moved
