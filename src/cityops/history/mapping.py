"""How another system's work-order export maps onto CityOps: the TOML mapping. Pure: no store.

A mapping has these tables (unknown keys are refused, so a typo never passes silently)::

    [source]       name, timezone, datetime_formats, placeholder_points, placeholder_radius_m,
                   encoding, delimiter, crs, channel (the default channel)
    [fields]       platform field = source column (see ``FIELDS``)
    [channels]     source channel value = platform channel; other values get [source] channel
    [categories]   parent, parent_name, kind, create, [categories.codes] source value = category code
    [departments]  [departments.codes] source value = department code, [departments.names] code = name
    [compare]      platform result = source column, or a table {column, pattern, template, lookup}

Times are read with the formats in order (``"iso"`` means ISO 8601); a time without a zone is local
to ``[source] timezone`` and stored in UTC; one with an offset keeps it. The rows themselves are read
by ``cityops.history.rows``.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cityops.cases.channels import Channel
from cityops.errors import InvalidFile
from cityops.geo.coords import Crs, convert
from cityops.geo.levels import AreaLevel

FIELDS = ("external_id", "opened_at", "closed_at", "due_at", "category", "department", "queue", "channel",
          "lat", "lon", "address", "description", "status", "resolution")
REQUIRED_FIELDS = ("external_id", "opened_at", "category")
COMPARE_TARGETS = (*(f"area.{level.value}" for level in AreaLevel if level is not AreaLevel.city), "route.lead")
ISO = "iso"
CATEGORY_CODE = re.compile(r"^[A-Z0-9][A-Z0-9_-]{0,19}$")
CATEGORY_KINDS = ("component", "event", "message")
SOURCE_KEYS = {"name", "timezone", "datetime_formats", "placeholder_points", "placeholder_radius_m", "encoding",
               "delimiter", "crs", "channel"}
TABLES = {"source", "fields", "channels", "categories", "departments", "compare"}


@dataclass(frozen=True)
class PlaceholderPoint:
    lon: float
    """WGS84, converted from the source's CRS."""
    lat: float
    radius_m: float | None
    """None: the platform's default placeholder radius."""


@dataclass(frozen=True)
class CompareSpec:
    """A platform result (``area.district``, ``route.lead``) and how to read the source's own answer."""

    target: str
    column: str
    pattern: re.Pattern[str] | None = None
    template: str | None = None
    lookup: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def level(self) -> AreaLevel | None:
        return AreaLevel(self.target.split(".", 1)[1]) if self.target.startswith("area.") else None

    def source_value(self, raw: str) -> str | None:
        """The source's answer in the platform's terms; None when the cell gives none (empty, not
        matching the pattern, or a value the lookup does not list)."""
        raw = raw.strip()
        if not raw:
            return None
        values = {"value": raw}
        positional: tuple[str, ...] = (raw,)
        if self.pattern is not None:
            match = self.pattern.fullmatch(raw)
            if match is None:
                return None
            values.update({k: v for k, v in match.groupdict().items() if v is not None})
            positional = tuple(g or "" for g in match.groups())
        for name, table in self.lookup.items():
            if name not in values or values[name] not in table:
                return None
            values[name] = table[values[name]]
        if self.template is None:
            return values["value"]
        return self.template.format(*positional, **values).strip() or None


@dataclass(frozen=True)
class CategoryPolicy:
    parent: str
    parent_name: str
    kind: str = "event"
    create: bool = True
    codes: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class HistoryMapping:
    name: str
    timezone: tzinfo
    datetime_formats: tuple[str, ...]
    fields: dict[str, str]
    categories: CategoryPolicy
    placeholder_points: tuple[PlaceholderPoint, ...] = ()
    encoding: str = "utf-8-sig"
    delimiter: str = ","
    crs: Crs = Crs.wgs84
    default_channel: Channel = Channel.department_system
    channels: dict[str, Channel] = field(default_factory=dict)
    department_codes: dict[str, str] = field(default_factory=dict)
    department_names: dict[str, str] = field(default_factory=dict)
    compare: tuple[CompareSpec, ...] = ()

    def columns(self) -> list[str]:
        """Every source column the mapping reads, once each."""
        return list(dict.fromkeys([*self.fields.values(), *(c.column for c in self.compare)]))

    def department_code(self, value: str) -> str:
        return self.department_codes.get(value, value)


class _Problems:
    def __init__(self) -> None:
        self.found: list[dict[str, str]] = []

    def add(self, where: str, detail: str) -> None:
        self.found.append({"field": where, "detail": detail})

    def raise_any(self, what: str) -> None:
        if self.found:
            first = self.found[0]
            more = f" (and {len(self.found) - 1} more problems)" if len(self.found) > 1 else ""
            raise InvalidFile(f"{what}: {first['detail']}{more}", field=first["field"],
                              extra={"problems": self.found})


def _flatten(table: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """``area.district = "CD"`` arrives from TOML as ``{"area": {"district": "CD"}}``: back to dotted
    keys. A table with a ``column`` is one entry, not a level of keys."""
    flat: dict[str, Any] = {}
    for key, value in table.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and "column" not in value:
            flat.update(_flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


def _text_table(value: Any, where: str, problems: _Problems) -> dict[str, str]:
    if not isinstance(value, dict):
        problems.add(where, f"{where} must be a table of text values")
        return {}
    bad = [k for k, v in value.items() if not isinstance(v, str) or not v.strip()]
    for key in bad:
        problems.add(f"{where}.{key}", f"{where}.{key} must be non-empty text")
    return {str(k): v.strip() for k, v in value.items() if k not in bad}


def _source(table: Any, problems: _Problems) -> dict[str, Any]:
    if not isinstance(table, dict):
        problems.add("source", "[source] is required: at least timezone and datetime_formats")
        return {}
    for key in sorted(set(table) - SOURCE_KEYS):
        problems.add(f"source.{key}", f"unknown key source.{key}; known: {', '.join(sorted(SOURCE_KEYS))}")
    out: dict[str, Any] = {"name": str(table.get("name") or "history")}
    try:
        out["timezone"] = ZoneInfo(str(table.get("timezone", "")))
    except (ZoneInfoNotFoundError, ValueError):
        problems.add("source.timezone", f"source.timezone {table.get('timezone')!r} is not an IANA time zone "
                                        "such as America/Los_Angeles")
    formats = table.get("datetime_formats")
    if not isinstance(formats, list) or not formats or not all(isinstance(f, str) and f for f in formats):
        problems.add("source.datetime_formats", 'source.datetime_formats must be a list of strptime formats '
                                                'or "iso", e.g. ["%m/%d/%Y %I:%M:%S %p"]')
    else:
        out["datetime_formats"] = tuple(formats)
    try:
        out["crs"] = Crs(table.get("crs", Crs.wgs84.value))
    except ValueError:
        problems.add("source.crs", f"source.crs must be one of {', '.join(Crs)}")
    try:
        out["default_channel"] = Channel(table.get("channel", Channel.department_system.value))
    except ValueError:
        problems.add("source.channel", f"source.channel must be one of {', '.join(Channel)}")
    for key, default in (("encoding", "utf-8-sig"), ("delimiter", ",")):
        value = table.get(key, default)
        if not isinstance(value, str) or not value or (key == "delimiter" and len(value) != 1):
            problems.add(f"source.{key}", f"source.{key} must be {'one character' if key == 'delimiter' else 'text'}")
        else:
            out[key] = value
    if "encoding" in out:
        try:
            "".encode(out["encoding"])
        except LookupError:
            problems.add("source.encoding", f"unknown encoding {out['encoding']!r}")
    radius = table.get("placeholder_radius_m")
    if radius is not None and (not isinstance(radius, int | float) or isinstance(radius, bool) or radius <= 0):
        problems.add("source.placeholder_radius_m", "source.placeholder_radius_m must be a positive number")
    points = []
    for i, point in enumerate(table.get("placeholder_points", [])):
        where = f"source.placeholder_points[{i}]"
        if (not isinstance(point, list) or len(point) not in (2, 3)
                or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in point)):
            problems.add(where, f"{where} must be [lon, lat] or [lon, lat, radius_m]")
        elif not (-180 <= point[0] <= 180 and -90 <= point[1] <= 90):
            problems.add(where, f"{where} is not a [lon, lat] position: longitude first")
        else:
            lon, lat = convert(point[0], point[1], source=out.get("crs", Crs.wgs84), target=Crs.wgs84)
            points.append(PlaceholderPoint(lon, lat, float(point[2]) if len(point) == 3 else radius))
    out["placeholder_points"] = tuple(points)
    return out


def _fields(table: Any, problems: _Problems) -> dict[str, str]:
    fields = _text_table(table if table is not None else {}, "fields", problems)
    for key in sorted(set(fields) - set(FIELDS)):
        problems.add(f"fields.{key}", f"unknown platform field {key!r}; known: {', '.join(FIELDS)}")
    for key in REQUIRED_FIELDS:
        if key not in fields:
            problems.add(f"fields.{key}", f"fields.{key} is required: the column holding the {key}")
    if ("lat" in fields) != ("lon" in fields):
        problems.add("fields.lat" if "lat" not in fields else "fields.lon", "map both lat and lon, or neither")
    return {k: v for k, v in fields.items() if k in FIELDS}


def _categories(table: Any, name: str, problems: _Problems) -> CategoryPolicy:
    table = table if isinstance(table, dict) else {}
    known = {"parent", "parent_name", "kind", "create", "codes"}
    for key in sorted(set(table) - known):
        problems.add(f"categories.{key}", f"unknown key categories.{key}; known: {', '.join(sorted(known))}")
    default_parent = re.sub(r"[^A-Z0-9]+", "", name.upper())[:12] or "HISTORY"
    parent = table.get("parent", default_parent)
    if not isinstance(parent, str) or not CATEGORY_CODE.match(parent):
        problems.add("categories.parent", "categories.parent must be a category code of at most 20 upper-case "
                                          "letters, digits, '-' or '_'")
    kind = table.get("kind", "event")
    if kind not in CATEGORY_KINDS:
        problems.add("categories.kind", f"categories.kind must be one of {', '.join(CATEGORY_KINDS)}")
    create = table.get("create", True)
    if not isinstance(create, bool):
        problems.add("categories.create", "categories.create must be true or false")
    return CategoryPolicy(parent=str(parent), kind=str(kind), create=bool(create),
                          parent_name=str(table.get("parent_name") or f"{name} (imported history)"),
                          codes=_text_table(table.get("codes", {}), "categories.codes", problems))


def _compare(table: Any, problems: _Problems) -> tuple[CompareSpec, ...]:
    specs = []
    for target, value in _flatten(table if isinstance(table, dict) else {}).items():
        where = f"compare.{target}"
        if target not in COMPARE_TARGETS:
            problems.add(where, f"cannot compare {target!r}; known: {', '.join(COMPARE_TARGETS)}")
            continue
        if isinstance(value, str) and value.strip():
            specs.append(CompareSpec(target=target, column=value.strip()))
            continue
        if not isinstance(value, dict) or not isinstance(value.get("column"), str):
            problems.add(where, f"{where} must be a column name or a table with a column")
            continue
        for key in sorted(set(value) - {"column", "pattern", "template", "lookup"}):
            problems.add(f"{where}.{key}", f"unknown key {key!r}; known: column, pattern, template, lookup")
        pattern = None
        if value.get("pattern") is not None:
            try:
                pattern = re.compile(str(value["pattern"]))
            except re.error as exc:
                problems.add(f"{where}.pattern", f"not a regular expression: {exc}")
        lookup_table = value.get("lookup", {})
        lookup = {str(k): _text_table(v, f"{where}.lookup.{k}", problems)
                  for k, v in (lookup_table.items() if isinstance(lookup_table, dict) else ())}
        template = value.get("template")
        if pattern is not None and pattern.groups and template is None:
            problems.add(f"{where}.template", "a pattern with groups needs a template saying how to join them")
        specs.append(CompareSpec(target=target, column=value["column"], pattern=pattern,
                                 template=str(template) if template is not None else None, lookup=lookup))
    return tuple(specs)


def parse_mapping(text: str) -> HistoryMapping:
    """A mapping from TOML text; every problem is reported at once in ``InvalidFile.extra``."""
    problems = _Problems()
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InvalidFile(f"the mapping is not valid TOML: {exc}", field="mapping") from exc
    for key in sorted(set(document) - TABLES):
        problems.add(key, f"unknown table [{key}]; known: {', '.join(sorted(TABLES))}")
    source = _source(document.get("source"), problems)
    fields = _fields(document.get("fields"), problems)
    channels: dict[str, Channel] = {}
    for key, value in _text_table(document.get("channels", {}), "channels", problems).items():
        if value not in set(Channel):
            problems.add(f"channels.{key}", f"channels.{key}: {value!r} is not one of {', '.join(Channel)}")
        else:
            channels[key] = Channel(value)
    departments = document.get("departments", {})
    if not isinstance(departments, dict):
        departments = {}
        problems.add("departments", "[departments] must hold the tables codes and names")
    for key in sorted(set(departments) - {"codes", "names"}):
        problems.add(f"departments.{key}", f"unknown key departments.{key}; known: codes, names")
    department_codes = _text_table(departments.get("codes", {}), "departments.codes", problems)
    department_names = _text_table(departments.get("names", {}), "departments.names", problems)
    categories = _categories(document.get("categories"), source.get("name", "history"), problems)
    compare = _compare(document.get("compare", {}), problems)
    problems.raise_any("the mapping is refused")
    return HistoryMapping(
        name=source["name"], timezone=source["timezone"], datetime_formats=source["datetime_formats"],
        fields=fields, categories=categories, placeholder_points=source["placeholder_points"],
        encoding=source["encoding"], delimiter=source["delimiter"], crs=source["crs"],
        default_channel=source["default_channel"], channels=channels,
        department_codes=department_codes, department_names=department_names, compare=compare)


def parse_datetime(text: str, mapping: HistoryMapping) -> datetime:
    """``text`` as an aware UTC datetime; ValueError naming the formats tried when none fits."""
    for fmt in mapping.datetime_formats:
        try:
            if fmt == ISO:
                parsed = datetime.fromisoformat(text)
            elif (plain := _plain_format(fmt)) is not None and (match := plain[0].fullmatch(text)) is not None:
                parsed = datetime(**dict(zip(plain[1], map(int, match.groups()), strict=True)))
            else:
                parsed = datetime.strptime(text, fmt)
        except ValueError:
            continue
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=mapping.timezone)
        return parsed.astimezone(UTC)
    raise ValueError(f"{text!r} matches none of the formats {', '.join(mapping.datetime_formats)}")


_PLAIN_FIELDS = {"%Y": ("year", r"(\d{4})"), "%m": ("month", r"(0[1-9]|1[0-2])"),
                 "%d": ("day", r"(0[1-9]|[12]\d|3[01])"), "%H": ("hour", r"([01]\d|2[0-3])"),
                 "%M": ("minute", r"([0-5]\d)"), "%S": ("second", r"([0-5]\d)")}


@cache
def _plain_format(fmt: str) -> tuple[re.Pattern[str], tuple[str, ...]] | None:
    """For a format of zero-padded numbers and separators only (``%Y-%m-%d %H:%M:%S``), a pattern that
    reads a subset of what ``strptime`` reads with it, the same way, and the datetime fields of its
    groups; None for any other format. ``strptime`` costs several µs a call, most of a row's reading;
    a time the pattern does not match still goes to ``strptime``."""
    pattern, names = [], []
    for token in re.split(r"(%.)", fmt):
        if token in _PLAIN_FIELDS and _PLAIN_FIELDS[token][0] not in names:
            name, group = _PLAIN_FIELDS[token]
            names.append(name)
            pattern.append(group)
        elif token and not token.startswith("%") and set(token) <= set("-/:.T "):
            pattern.append(re.escape(token))
        elif token:
            return None
    if not {"year", "month", "day"} <= set(names):
        return None
    return re.compile("".join(pattern)), tuple(names)
