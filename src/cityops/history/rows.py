"""Reading a CSV export through a mapping: each record becomes a ``HistoryRow`` or a ``Reject`` that
says why not, and the points records use most are judged as possible placeholders. Pure: no store.

Decisions:

- **Coordinates**: both empty, or (0, 0) — the sentinel many systems write for "no location" — make
  an unlocated row that is still imported (the problem happened; only its place is unknown); one of
  the two without the other, text that is not a number, or a value out of range rejects the row.
- **A row is rejected** when it cannot become a faithful case: no external id or one repeating an
  earlier row, no or an unreadable opening time, an unreadable closing or due time, a closing time
  before the opening, no category, a wrong number of cells, text too long for the store.
"""

from __future__ import annotations

import csv
import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TextIO

from cityops.cases.channels import Channel
from cityops.errors import InvalidFile
from cityops.geo.coords import Crs, convert
from cityops.history.mapping import HistoryMapping, parse_datetime

MAX_EXTERNAL_ID, MAX_ADDRESS, MAX_CATEGORY_NAME = 128, 500, 200


class Location:
    """What a row says about where the problem is."""

    given = "given"
    no_coordinates = "no_coordinates"
    zero_point = "zero_point"


@dataclass(slots=True)
class HistoryRow:
    row: int
    """The record's number, counting the header as row 1 (as a spreadsheet does)."""
    line: int
    """The file line the record starts on (records may hold line breaks)."""
    external_id: str
    opened_at: datetime
    category: str
    channel: Channel
    closed_at: datetime | None = None
    due_at: datetime | None = None
    department: str | None = None
    queue: str | None = None
    source_channel: str | None = None
    lon: float | None = None
    lat: float | None = None
    location: str = Location.no_coordinates
    address: str | None = None
    description: str = ""
    status: str | None = None
    resolution: str | None = None
    compare: tuple[str | None, ...] = ()
    """The source's answer for each of the mapping's ``compare`` entries."""


@dataclass(frozen=True, slots=True)
class Reject:
    row: int
    line: int
    field: str
    reason: str


class _RowError(Exception):
    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field, self.reason = field, reason


def records(reader: Any) -> Iterator[tuple[int, int, list[str]]]:
    """(row number, first line, cells) of each record after the header a ``csv.reader`` has already
    given; rows count the header as 1, blank lines are no records."""
    number, last_line = 1, reader.line_num
    for cells in reader:
        start, last_line = last_line + 1, reader.line_num
        if cells:
            number += 1
            yield number, start, cells


class RowReader:
    """The rows of a CSV export read through a mapping, in file order. The header is checked when the
    reader is made: a column the mapping names that the file lacks refuses the whole file."""

    def __init__(self, stream: TextIO, mapping: HistoryMapping) -> None:
        self.mapping = mapping
        self._reader = csv.reader(stream, delimiter=mapping.delimiter)
        try:
            self.header = [h.strip() for h in next(self._reader)]
        except StopIteration:
            raise InvalidFile("the file is empty; it needs a header row", field="header") from None
        missing = [c for c in mapping.columns() if c not in self.header]
        if missing:
            raise InvalidFile(f"the file lacks the column(s) the mapping names: {', '.join(missing)}",
                              field="header", extra={"missing": missing, "header": self.header})
        self._index = {name: self.header.index(column) for name, column in mapping.fields.items()}
        self._compare_index = [self.header.index(c.column) for c in mapping.compare]
        self._seen: dict[str, int] = {}

    def __iter__(self) -> Iterator[HistoryRow | Reject]:
        for number, start, cells in records(self._reader):
            try:
                if len(cells) != len(self.header):
                    raise _RowError("row", f"the row has {len(cells)} cells, the header {len(self.header)}")
                yield self._row(number, start, cells)
            except _RowError as problem:
                yield Reject(number, start, problem.field, problem.reason)

    def _cell(self, cells: list[str], name: str) -> str:
        index = self._index.get(name)
        return cells[index].strip() if index is not None else ""

    def _time(self, cells: list[str], name: str, *, required: bool = False) -> datetime | None:
        text = self._cell(cells, name)
        if not text:
            if required:
                raise _RowError(name, f"{name} ({self.mapping.fields[name]}) is empty")
            return None
        try:
            return parse_datetime(text, self.mapping)
        except ValueError as exc:
            raise _RowError(name, str(exc)) from None

    def _row(self, number: int, line: int, cells: list[str]) -> HistoryRow:
        external_id = self._cell(cells, "external_id")
        if not external_id:
            raise _RowError("external_id", f"external_id ({self.mapping.fields['external_id']}) is empty")
        if len(external_id) > MAX_EXTERNAL_ID:
            raise _RowError("external_id", f"external_id is longer than {MAX_EXTERNAL_ID} characters")
        if external_id in self._seen:
            raise _RowError("external_id", f"external id {external_id!r} repeats row {self._seen[external_id]}")
        opened_at = self._time(cells, "opened_at", required=True)
        closed_at, due_at = self._time(cells, "closed_at"), self._time(cells, "due_at")
        if closed_at is not None and closed_at < opened_at:
            raise _RowError("closed_at", f"closed at {closed_at.isoformat()}, before it was opened at "
                                         f"{opened_at.isoformat()}")
        category = self._cell(cells, "category")
        if not category:
            raise _RowError("category", f"category ({self.mapping.fields['category']}) is empty")
        if len(category) > MAX_CATEGORY_NAME:
            raise _RowError("category", f"category is longer than {MAX_CATEGORY_NAME} characters")
        address = self._cell(cells, "address") or None
        if address is not None and len(address) > MAX_ADDRESS:
            raise _RowError("address", f"address is longer than {MAX_ADDRESS} characters")
        lon, lat, location = self._point(cells)
        source_channel = self._cell(cells, "channel") or None
        row = HistoryRow(
            row=number, line=line, external_id=external_id, opened_at=opened_at, closed_at=closed_at,
            due_at=due_at, category=category, department=self._cell(cells, "department") or None,
            queue=self._cell(cells, "queue") or None, source_channel=source_channel,
            channel=self.mapping.channels.get(source_channel or "", self.mapping.default_channel),
            lon=lon, lat=lat, location=location, address=address,
            description=self._cell(cells, "description"), status=self._cell(cells, "status") or None,
            resolution=self._cell(cells, "resolution") or None,
            compare=self._compared(cells))
        self._seen[external_id] = number
        return row

    def _compared(self, cells: list[str]) -> tuple[str | None, ...]:
        values = []
        for spec, index in zip(self.mapping.compare, self._compare_index, strict=True):
            value = spec.source_value(cells[index])
            if value is not None and spec.target == "route.lead":
                value = self.mapping.department_code(value)
            values.append(value)
        return tuple(values)

    def _point(self, cells: list[str]) -> tuple[float | None, float | None, str]:
        lat_text, lon_text = self._cell(cells, "lat"), self._cell(cells, "lon")
        if not lat_text and not lon_text:
            return None, None, Location.no_coordinates
        if not lat_text or not lon_text:
            missing = "lat" if not lat_text else "lon"
            raise _RowError(missing, f"{missing} is empty while the other coordinate is given")
        try:
            lon, lat = float(lon_text), float(lat_text)
        except ValueError:
            raise _RowError("lat", f"coordinates {lat_text!r}, {lon_text!r} are not numbers") from None
        if not (math.isfinite(lon) and math.isfinite(lat) and -180 <= lon <= 180 and -90 <= lat <= 90):
            raise _RowError("lat", f"coordinates lat {lat_text}, lon {lon_text} are out of range")
        if lon == 0 and lat == 0:
            return None, None, Location.zero_point
        lon, lat = convert(lon, lat, source=self.mapping.crs, target=Crs.wgs84)
        return lon, lat, Location.given


@dataclass(frozen=True)
class PointUse:
    lon: float
    lat: float
    rows: int
    addresses: int
    """How many different addresses the rows on this point give (an empty one counts each time)."""
    placeholder: bool


def placeholder_candidates(points: Iterable[tuple[float, float, str | None]], *, min_rows: int | None = None,
                           top: int = 5) -> tuple[list[PointUse], int]:
    """The most used exact points of a file, each judged: a point is a placeholder when it carries
    at least ``min_rows`` rows (default: 0.1 % of the located rows, at least 10) whose addresses
    differ from one another for at least half of them. A busy real place (one address reported again
    and again) is not; a default point stamped on records from all over the city is. Also returns
    ``min_rows`` as used."""
    rows: Counter[tuple[float, float]] = Counter()
    addresses: dict[tuple[float, float], set[str]] = defaultdict(set)
    blank: Counter[tuple[float, float]] = Counter()
    for lon, lat, address in points:
        key = (round(lon, 6), round(lat, 6))
        rows[key] += 1
        if address:
            addresses[key].add(address.strip().upper())
        else:
            blank[key] += 1
    threshold = min_rows if min_rows is not None else max(10, math.ceil(sum(rows.values()) / 1000))
    used = []
    for (lon, lat), count in rows.most_common():
        spread = len(addresses[(lon, lat)]) + blank[(lon, lat)]
        judged = PointUse(lon=lon, lat=lat, rows=count, addresses=spread,
                          placeholder=count >= threshold and spread * 2 >= count)
        if judged.placeholder or len(used) < top:
            used.append(judged)
        if count < threshold and len(used) >= top:
            break
    return used, threshold
