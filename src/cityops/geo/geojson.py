"""Reading area boundaries from GeoJSON, and nesting them under their parents.

Pure: bytes in, checked WGS84 polygons out. Every problem in the file is collected; the first is
raised as :class:`~cityops.errors.InvalidFile` with its JSON path in ``field`` (for example
``features[3].properties.adcode``) and all of them, up to :data:`MAX_REPORTED_PROBLEMS`, in
``extra["problems"]``, so one run of an import tells the user everything to fix.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson
import shapely
from shapely.geometry.base import BaseGeometry

from cityops.errors import InvalidFile
from cityops.geo.coords import Crs, convert_geometry
from cityops.geo.locator import AreaShape, make_valid_polygonal

MAX_REPORTED_PROBLEMS = 100
MIN_PARENT_SHARE = 0.5
_LIMITS = np.array([180.0, 90.0])


@dataclass(frozen=True)
class ParsedFeature:
    index: int
    """Position in the file's ``features`` array."""
    code: str
    name: str
    geometry: BaseGeometry
    """WGS84 lon/lat, a valid Polygon or MultiPolygon."""
    repaired: str | None
    """Why and how the geometry was repaired; None when it was valid as given."""
    properties: dict


class _Problems:
    """Problems found so far, each with the JSON path it concerns."""

    def __init__(self) -> None:
        self.found: list[dict[str, str]] = []

    def add(self, field: str, detail: str) -> None:
        self.found.append({"field": field, "detail": detail})

    def raise_any(self) -> None:
        if self.found:
            first = self.found[0]
            more = f" (and {len(self.found) - 1} more problems)" if len(self.found) > 1 else ""
            raise InvalidFile(first["detail"] + more, field=first["field"],
                              extra={"problems": self.found[:MAX_REPORTED_PROBLEMS]})


def read_feature_collection(raw: bytes | str | dict, *, code_field: str, name_field: str,
                            crs: Crs) -> list[ParsedFeature]:
    """The features of a GeoJSON FeatureCollection of (Multi)Polygons given in ``crs``.

    Codes and names are taken from the properties ``code_field`` and ``name_field`` (numbers are
    turned into text: DataV's ``adcode`` is an integer). Invalid polygons are repaired with
    ``shapely.make_valid``, keeping only their polygonal parts, and say so in ``repaired``.
    """
    document = _parse_json(raw)
    if not isinstance(document, dict) or document.get("type") != "FeatureCollection":
        raise InvalidFile("not a GeoJSON FeatureCollection", field="type")
    features = document.get("features")
    if not isinstance(features, list):
        raise InvalidFile("a FeatureCollection needs a list of features", field="features")
    if not features:
        raise InvalidFile("the FeatureCollection has no features", field="features")
    problems = _Problems()
    parsed = [_read_feature(i, feature, code_field, name_field, Crs(crs), problems)
              for i, feature in enumerate(features)]
    first_with_code: dict[str, int] = {}
    for feature in parsed:
        if feature is None:
            continue
        if feature.code in first_with_code:
            problems.add(f"features[{feature.index}].properties.{code_field}",
                         f"code {feature.code!r} repeats that of features[{first_with_code[feature.code]}]")
        first_with_code.setdefault(feature.code, feature.index)
    problems.raise_any()
    return [feature for feature in parsed if feature is not None]


def assign_parents(features: Sequence[ParsedFeature], parents: Sequence[AreaShape]) -> list[int | None]:
    """For each feature, the id of the parent whose polygon covers the largest share of it.

    None when no parent covers at least half (:data:`MIN_PARENT_SHARE`) of the feature's area: it
    lies outside them all, or straddles several without a clear home. Shares are measured in
    lon/lat degrees, which is exact enough for comparing parts of one small area.
    """
    if not features:
        return []
    if not parents:
        return [None] * len(features)
    geometries = np.array([f.geometry for f in features], dtype=object)
    parent_geometries = np.array([p.geometry for p in parents], dtype=object)
    shapely.prepare(parent_geometries)
    feature_at, parent_at = shapely.STRtree(parent_geometries).query(geometries)
    order = np.lexsort((parent_at, feature_at))  # so that on a tie the parent given first wins
    feature_at, parent_at = feature_at[order], parent_at[order]
    # Most children lie wholly inside one parent; only the rest need a (slower) intersection.
    share = shapely.covers(parent_geometries[parent_at], geometries[feature_at]).astype(np.float64)
    partial = share < 1.0
    overlap = shapely.intersection(parent_geometries[parent_at[partial]], geometries[feature_at[partial]])
    share[partial] = shapely.area(overlap) / shapely.area(geometries[feature_at[partial]])
    best_share = np.zeros(len(features))
    best_parent: list[int | None] = [None] * len(features)
    for feature, parent, part in zip(feature_at.tolist(), parent_at.tolist(), share.tolist(), strict=True):
        if part >= MIN_PARENT_SHARE and part > best_share[feature]:
            best_share[feature], best_parent[feature] = part, parents[parent].id
    return best_parent


def _parse_json(raw: bytes | str | dict) -> Any:
    if isinstance(raw, dict):
        return raw
    if isinstance(raw, str):
        raw = raw.encode("utf-8")
    if raw.startswith(b"\xef\xbb\xbf"):  # a UTF-8 byte-order mark, as some Windows tools write
        raw = raw[3:]
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidFile(f"not valid JSON: {exc}", field="file") from exc


def _read_feature(index: int, feature: Any, code_field: str, name_field: str, crs: Crs,
                  problems: _Problems) -> ParsedFeature | None:
    path = f"features[{index}]"
    if not isinstance(feature, dict) or feature.get("type") != "Feature":
        problems.add(path, "not a GeoJSON Feature")
        return None
    properties = feature.get("properties")
    if not isinstance(properties, dict):
        problems.add(f"{path}.properties", "a feature needs properties holding its code and name")
        return None
    code = _text(properties, code_field, f"{path}.properties", problems)
    name = _text(properties, name_field, f"{path}.properties", problems)
    geometry = _polygonal_geometry(feature.get("geometry"), f"{path}.geometry", problems)
    if code is None or name is None or geometry is None:
        return None
    # Say where the problem is in the file's own coordinates, so that it can be found there.
    problem = None if geometry.is_valid else f"{shapely.is_valid_reason(geometry)} in {crs.value} coordinates"
    geometry = convert_geometry(geometry, source=crs, target=Crs.wgs84)
    if problem is None and not geometry.is_valid:  # the datum shift can close a hair-thin gap
        problem = f"{shapely.is_valid_reason(geometry)} after conversion to WGS84"
    repaired = None
    if problem:
        repaired = f"{problem}; repaired with make_valid, keeping the polygonal parts"
        geometry = make_valid_polygonal(geometry)
    if geometry.is_empty:
        problems.add(f"{path}.geometry", "nothing polygonal is left after repairing the geometry")
        return None
    return ParsedFeature(index=index, code=code, name=name, geometry=geometry, repaired=repaired,
                         properties=properties)


def _text(properties: dict, key: str, path: str, problems: _Problems) -> str | None:
    value = properties.get(key)
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # 310101.0 from a spreadsheet export is the code 310101
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, str) and value.strip():
        return value.strip()
    if value is None or value == "":
        problems.add(f"{path}.{key}", f"property {key!r} is {'missing' if value is None else 'empty'}")
    else:
        problems.add(f"{path}.{key}", f"property {key!r} is not text or a whole number: {value!r}")
    return None


def _polygonal_geometry(geometry: Any, path: str, problems: _Problems) -> BaseGeometry | None:
    if not isinstance(geometry, dict):
        problems.add(path, "the feature has no geometry")
        return None
    kind = geometry.get("type")
    if kind not in ("Polygon", "MultiPolygon"):
        problems.add(f"{path}.type", f"geometry type {kind!r} is not Polygon or MultiPolygon")
        return None
    coordinates = geometry.get("coordinates")
    path = f"{path}.coordinates"
    if kind == "Polygon":
        return _polygon(coordinates, path, problems)
    if not isinstance(coordinates, list) or not coordinates:
        problems.add(path, "a MultiPolygon needs a non-empty list of polygons")
        return None
    polygons = [_polygon(part, f"{path}[{i}]", problems) for i, part in enumerate(coordinates)]
    if any(polygon is None for polygon in polygons):
        return None
    return shapely.MultiPolygon(polygons)


def _polygon(rings: Any, path: str, problems: _Problems) -> shapely.Polygon | None:
    if not isinstance(rings, list) or not rings:
        problems.add(path, "a polygon needs a non-empty list of rings")
        return None
    arrays = [_ring(ring, f"{path}[{i}]", problems) for i, ring in enumerate(rings)]
    if any(array is None for array in arrays):
        return None
    return shapely.Polygon(arrays[0], arrays[1:])


def _ring(ring: Any, path: str, problems: _Problems) -> np.ndarray | None:
    """A ring's lon/lat positions (altitudes dropped), checked position by position."""
    if not isinstance(ring, list) or len(ring) < 4:
        problems.add(path, "a linear ring needs a list of at least 4 positions")
        return None
    for i, position in enumerate(ring):
        if not (isinstance(position, list) and len(position) >= 2
                and all(_is_number(c) for c in position[:2])):
            problems.add(f"{path}[{i}]", f"not a [lon, lat] position: {position!r}")
            return None
    positions = np.array([position[:2] for position in ring], dtype=np.float64)
    out_of_range = np.flatnonzero((np.abs(positions) > _LIMITS).any(axis=1))
    if len(out_of_range):
        i = int(out_of_range[0])
        problems.add(f"{path}[{i}]", f"position {ring[i]!r} is outside lon -180..180, lat -90..90")
        return None
    return positions


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
