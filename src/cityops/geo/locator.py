"""The locator: which areas a point lies in, answered in memory.

Built once from the area tree (WGS84 lon/lat polygons at up to five levels), it resolves a point
to its deepest containing area and that area's chain of ancestors. Deeper levels need not cover
their parent (a district may have streets only in part of it): a point in such a gap resolves to
the next level up. A point on a boundary belongs to every area it touches, so among areas of one
level that all hold it (neighbours sharing the edge, or areas that overlap) the one given first
wins. Either neighbour on a shared edge is at distance 0, so such a point is always ``near_boundary``.

How it is fast: a raster of square cells (``cityops.geo.raster``) laid over the areas is classified
once. A cell whose every point is more than ``boundary_distance_m`` from every boundary of the levels
that matter is *resolved* (its deepest containing area is stored) or *empty*. The other cells are
*mixed*; each keeps the boundary segments that pass within reach of it, so a point there is tested
only against the few areas those segments belong to, and its distance to the boundary comes from
those same segments. Points that none of them holds (in a gap between the areas of a level) continue
to the levels above through an STRtree.

Distances are measured on an equirectangular plane about the middle of the areas. East–west
distances at latitude φ are off by a factor cos φ / cos φ0 of the truth there, under 1 % for areas
spanning less than 1.5° of latitude around 31° N (0.3 m at 30 m); north–south distances are exact
on the sphere of mean radius.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from cityops.errors import InvalidInput, NotFound
from cityops.geo.levels import AreaLevel
from cityops.geo.raster import (
    EMPTY,
    FIRST_MIXED,
    METRES_PER_DEGREE,
    OVERLAP,
    Plane,
    choose_grid,
    classify_cells,
    distinct,
    expand,
    squared_distance,
)

PREPARED_BOUNDARY_MIN_VERTICES = 100


@dataclass(frozen=True)
class AreaShape:
    """What the locator is built from; ``geometry`` is a WGS84 lon/lat (Multi)Polygon."""

    id: int
    code: str
    name: str
    level: AreaLevel
    parent_id: int | None
    geometry: BaseGeometry


@dataclass(frozen=True)
class Placeholder:
    """A default location that reporting systems stamp on records with no real location."""

    name: str
    lon: float
    lat: float
    radius_m: float


@dataclass(frozen=True)
class AreaRef:
    id: int
    code: str
    name: str
    level: AreaLevel


@dataclass(frozen=True)
class Location:
    lon: float
    lat: float
    chain: tuple[AreaRef, ...]
    """City first, deepest last; () when the point is outside every area."""
    near_boundary: bool
    """Within the locator's boundary distance of the deepest area's boundary."""
    boundary_distance_m: float | None
    """Distance to that boundary in metres; None when outside every area."""
    placeholder: str | None
    """Name of the placeholder the point falls on, if any."""

    @property
    def leaf(self) -> AreaRef | None:
        return self.chain[-1] if self.chain else None

    @property
    def routable(self) -> bool:
        """Inside some area and not a placeholder: safe to route to that area's handlers."""
        return bool(self.chain) and self.placeholder is None


@dataclass(frozen=True)
class LocatedBatch:
    area_ids: np.ndarray
    """int64: the deepest containing area's id, -1 when outside every area (or not finite)."""
    near_boundary: np.ndarray
    """bool: within the boundary distance of that area's boundary."""
    placeholder: np.ndarray
    """bool: within the radius of some placeholder."""


def make_valid_polygonal(geometry: BaseGeometry) -> BaseGeometry:
    """``geometry`` as a valid Polygon or MultiPolygon: repaired with ``shapely.make_valid`` if
    invalid, then reduced to its polygonal parts (a repair or a clip can leave stray lines and
    points; they go). Empty when nothing polygonal is left."""
    if geometry.geom_type in ("Polygon", "MultiPolygon") and shapely.is_valid(geometry):
        return geometry
    repaired = geometry if shapely.is_valid(geometry) else shapely.make_valid(geometry)
    polygons = [polygon for part in shapely.get_parts(repaired) for polygon in shapely.get_parts(part)
                if polygon.geom_type == "Polygon"]
    return shapely.union_all(polygons) if polygons else shapely.MultiPolygon()


def equirectangular_m(lon1, lat1, lon2, lat2):
    """Distance in metres on the plane tangent at the two points' mean latitude (fine up to a few km)."""
    mean_lat = np.radians((np.asarray(lat1) + lat2) / 2.0)
    dx = (np.asarray(lon2) - lon1) * np.cos(mean_lat)
    return np.hypot(dx, np.asarray(lat2) - lat1) * METRES_PER_DEGREE


@dataclass(frozen=True)
class _Level:
    """The areas of one level: their indices among all areas (ascending), polygons and STRtree."""

    area_index: np.ndarray
    polygons: np.ndarray
    tree: shapely.STRtree

    @classmethod
    def of(cls, area_index: np.ndarray, all_polygons: np.ndarray) -> _Level:
        polygons = all_polygons[area_index]
        return cls(area_index=area_index, polygons=polygons, tree=shapely.STRtree(polygons))


if TYPE_CHECKING:
    from cityops.geo.gazetteer import AddressMatch, Gazetteer


class Locator:
    def __init__(self, areas: Iterable[AreaShape], placeholders: Iterable[Placeholder] = (), *,
                 boundary_distance_m: float = 30.0) -> None:
        if not boundary_distance_m >= 0:
            raise ValueError(f"boundary_distance_m must be >= 0, not {boundary_distance_m}")
        shapes = list(areas)
        self.boundary_distance_m = float(boundary_distance_m)
        self._ids = np.array([s.id for s in shapes], dtype=np.int64)
        self._index_of = {s.id: i for i, s in enumerate(shapes)}
        if len(self._index_of) != len(shapes):
            raise ValueError("area ids must be unique")
        self._refs = [AreaRef(id=s.id, code=s.code, name=s.name, level=AreaLevel(s.level)) for s in shapes]
        self._chains = _chains(shapes, self._refs, self._index_of)
        self._placeholders = list(placeholders)
        self._gazetteer: Gazetteer | None = None
        self._placeholder_lon = np.array([p.lon for p in self._placeholders], dtype=np.float64)
        self._placeholder_lat = np.array([p.lat for p in self._placeholders], dtype=np.float64)
        self._placeholder_radius = np.array([p.radius_m for p in self._placeholders], dtype=np.float64)

        self._polygons = _polygonal(shapes)
        boxes = _circle_boxes(self._placeholder_lon, self._placeholder_lat, self._placeholder_radius)
        bounds = _extent(np.vstack([shapely.bounds(self._polygons).reshape(-1, 4), boxes]))
        self._plane = Plane((bounds[0] + bounds[2]) / 2, (bounds[1] + bounds[3]) / 2)
        self._boundaries_m = self._plane.geometry(shapely.boundary(self._polygons))
        shapely.prepare(self._polygons)
        # Prepared distance pays off only on long boundaries; on a grid's few dozen edges it costs 4×.
        shapely.prepare(self._boundaries_m[shapely.get_num_coordinates(self._boundaries_m)
                                           > PREPARED_BOUNDARY_MIN_VERTICES])
        ranks = np.array([ref.level.rank for ref in self._refs], dtype=np.int64)
        self._levels = [_Level.of(np.flatnonzero(ranks == rank), self._polygons)
                        for rank in sorted(set(ranks.tolist()), reverse=True)]
        level_areas = [level.area_index for level in self._levels]
        self._grid = choose_grid(bounds, self._plane, self._polygons, level_areas, self.boundary_distance_m)
        self._codes, self._mixed, self._segments = classify_cells(
            self._grid, self._plane, self._polygons, level_areas, self.boundary_distance_m, boxes)

    def __len__(self) -> int:
        return len(self._refs)

    def chain(self, area_id: int) -> tuple[AreaRef, ...]:
        """The area and its ancestors by parent link, city first."""
        index = self._index_of.get(area_id)
        if index is None:
            raise NotFound(f"area {area_id} is not in the locator", code="unknown_area")
        return self._chains[index]

    def by_address(self, address: str) -> AddressMatch | None:
        """The area an address names, for reports without coordinates (``geo.gazetteer``)."""
        if self._gazetteer is None:  # built on first use; two threads at once merely build it twice
            from cityops.geo.gazetteer import Gazetteer

            self._gazetteer = Gazetteer(self._chains)
        return self._gazetteer.match(address)

    def locate(self, lon: float, lat: float) -> Location:
        """One WGS84 point: its area chain, boundary distance and placeholder."""
        if not (math.isfinite(lon) and -180 <= lon <= 180):
            raise InvalidInput(f"longitude {lon} is not in [-180, 180]", field="lon")
        if not (math.isfinite(lat) and -90 <= lat <= 90):
            raise InvalidInput(f"latitude {lat} is not in [-90, 90]", field="lat")
        # A cell resolved when the locator was built holds one area (or none), no boundary within reach
        # and no placeholder's circle: its code says it all.
        index, near, placeholder_name = self._cell_code(lon, lat), False, None
        if index <= FIRST_MIXED:  # a mixed cell: the full test
            lons, lats = np.array([lon], dtype=np.float64), np.array([lat], dtype=np.float64)
            area_index, nears, _ = self._resolve(lons, lats)
            index, near = int(area_index[0]), bool(nears[0])
            placeholder = self._nearest_placeholder(lons, lats)[0]
            placeholder_name = self._placeholders[placeholder].name if placeholder >= 0 else None
        if index < 0:
            return Location(lon=lon, lat=lat, chain=(), near_boundary=False, boundary_distance_m=None,
                            placeholder=placeholder_name)
        distance = shapely.distance(self._boundaries_m[index], shapely.Point(self._plane.xy(lon, lat)))
        return Location(lon=lon, lat=lat, chain=self._chains[index], near_boundary=near,
                        boundary_distance_m=float(distance), placeholder=placeholder_name)

    def _cell_code(self, lon: float, lat: float) -> int:
        """The code of one point's cell (``_resolve`` for one point, in plain numbers: a one-point
        array costs more than the look-up): an area index, EMPTY, or a mixed cell's (≤ FIRST_MIXED)."""
        u, v = self._grid.uv(lon, lat)
        if not (0 <= u < self._grid.cols and 0 <= v < self._grid.rows):
            return EMPTY
        return int(self._codes[int(v) * self._grid.cols + int(u)])

    def locate_many(self, lons: np.ndarray, lats: np.ndarray) -> LocatedBatch:
        """Many WGS84 points at once; points that are not finite come back outside."""
        lons = np.asarray(lons, dtype=np.float64)
        lats = np.asarray(lats, dtype=np.float64)
        if lons.ndim != 1 or lons.shape != lats.shape:
            raise ValueError(f"lons {lons.shape} and lats {lats.shape} must be 1-D arrays of one length")
        area_index, near, placeholder = self._resolve(lons, lats)
        ids = np.append(self._ids, -1)  # so that index -1 (outside) picks -1
        return LocatedBatch(area_ids=ids[area_index], near_boundary=near, placeholder=placeholder)

    def _resolve(self, lons: np.ndarray, lats: np.ndarray):
        """Deepest area index (-1 outside), near-boundary and placeholder flags per point."""
        area_index = np.full(lons.shape, EMPTY, dtype=np.intp)
        u, v = self._grid.uv(lons, lats)
        on_grid = (u >= 0) & (u < self._grid.cols) & (v >= 0) & (v < self._grid.rows)
        area_index[on_grid] = self._codes[v[on_grid].astype(np.intp) * self._grid.cols
                                          + u[on_grid].astype(np.intp)]
        mixed = np.flatnonzero(area_index <= FIRST_MIXED)
        near = np.zeros(lons.shape, dtype=bool)
        placeholder = np.zeros(lons.shape, dtype=bool)
        if len(mixed):
            area_index[mixed], near[mixed] = self._resolve_mixed(lons[mixed], lats[mixed],
                                                                 FIRST_MIXED - area_index[mixed])
            placeholder[mixed] = self._nearest_placeholder(lons[mixed], lats[mixed]) >= 0
        return area_index, near, placeholder

    def _resolve_mixed(self, lons: np.ndarray, lats: np.ndarray, cell: np.ndarray):
        """Points in mixed cells: first the areas whose boundaries cross the cell, at the cell's level."""
        area_index = np.full(lons.shape, EMPTY, dtype=np.intp)
        centre = self._mixed.centre[cell]
        listed = np.flatnonzero(centre != OVERLAP)
        point, nth = expand(self._mixed.first[cell[listed] + 1] - self._mixed.first[cell[listed]])
        segment = self._mixed.segments[self._mixed.first[cell[listed]][point] + nth]
        point = listed[point]
        # Candidates: every area with a boundary segment here, and the one holding the cell's centre.
        with_centre = listed[centre[listed] >= 0]
        areas = len(self._refs)
        candidates = np.sort(np.concatenate([distinct(point * areas + self._segments.area[segment]),
                                             with_centre * areas + centre[with_centre]]))
        candidate_point, candidate_area = np.divmod(distinct(candidates), areas)
        holds = shapely.intersects_xy(self._polygons[candidate_area], lons[candidate_point],
                                      lats[candidate_point])
        holder_point, holder_area = candidate_point[holds], candidate_area[holds]
        first = np.ones(len(holder_point), dtype=bool)  # sorted by point, then area: the first given wins
        first[1:] = holder_point[1:] != holder_point[:-1]
        area_index[holder_point[first]] = holder_area[first]
        # Every boundary segment within reach of the cell is listed, so these distances are complete.
        own = self._segments.area[segment] == area_index[point]
        x, y = self._plane.xy(lons[point[own]], lats[point[own]])
        within = squared_distance(x, y, self._segments.xy[segment[own]]) <= self.boundary_distance_m ** 2
        near = np.bincount(point[own][within], minlength=len(lons)) > 0
        # The rest lie in no area of the cell's level (or the cell is an overlap): ask the levels above.
        start = self._mixed.level[cell] + (centre != OVERLAP)
        pending = area_index == EMPTY
        for position, level in enumerate(self._levels):
            todo = np.flatnonzero(pending & (start <= position))
            if len(todo):
                found, found_area, found_near = self._resolve_by_tree(level, lons[todo], lats[todo])
                area_index[todo[found]], near[todo[found]] = found_area, found_near
                pending[todo[found]] = False
        return area_index, near

    def _resolve_by_tree(self, level: _Level, lons: np.ndarray, lats: np.ndarray):
        """Which points an area of ``level`` holds: (their positions, the first such area, near flags)."""
        point, area = level.tree.query(shapely.points(lons, lats))
        holds = shapely.intersects_xy(level.polygons[area], lons[point], lats[point])
        point, area = point[holds], area[holds]
        order = np.lexsort((area, point))  # the first area given wins among several
        point, area = point[order], area[order]
        first = np.ones(len(point), dtype=bool)
        first[1:] = point[1:] != point[:-1]
        point, area = point[first], level.area_index[area[first]]
        points_m = shapely.points(*self._plane.xy(lons[point], lats[point]))
        return point, area, shapely.dwithin(self._boundaries_m[area], points_m, self.boundary_distance_m)

    def _nearest_placeholder(self, lons: np.ndarray, lats: np.ndarray) -> np.ndarray:
        """Index of the nearest placeholder whose radius holds each point, -1 for none."""
        nearest = np.full(lons.shape, -1, dtype=np.intp)
        best = np.full(lons.shape, np.inf)
        for i in range(len(self._placeholders)):
            distance = equirectangular_m(lons, lats, self._placeholder_lon[i], self._placeholder_lat[i])
            closer = (distance <= self._placeholder_radius[i]) & (distance < best)
            nearest[closer], best[closer] = i, distance[closer]
        return nearest


def _polygonal(shapes: list[AreaShape]) -> np.ndarray:
    """The areas' geometries, each a valid (Multi)Polygon: the scanline fill relies on it."""
    geometries = np.array([s.geometry for s in shapes], dtype=object)
    polygonal = np.isin(shapely.get_type_id(geometries),
                        [shapely.GeometryType.POLYGON, shapely.GeometryType.MULTIPOLYGON])
    for i in np.flatnonzero(~(polygonal & shapely.is_valid(geometries))):
        geometries[i] = make_valid_polygonal(geometries[i])
    for shape, empty in zip(shapes, shapely.is_empty(geometries), strict=True):
        if empty:
            raise ValueError(f"area {shape.id} ({shape.code}) has no polygonal geometry")
    return geometries


def _chains(shapes: list[AreaShape], refs: list[AreaRef],
            index_of: dict[int, int]) -> list[tuple[AreaRef, ...]]:
    """Each area's chain by parent links; a parent missing from the locator ends the chain there."""
    chains: list[tuple[AreaRef, ...] | None] = [None] * len(shapes)
    for start in range(len(shapes)):
        path, index = [], start
        while index is not None and chains[index] is None:
            if index in path:
                raise ValueError(f"area {shapes[index].id} is its own ancestor")
            path.append(index)
            index = index_of.get(shapes[index].parent_id)
        known = chains[index] if index is not None else ()
        for index in reversed(path):
            known = (*known, refs[index])
            chains[index] = known
    return chains


def _extent(boxes: np.ndarray) -> tuple[float, float, float, float]:
    """The box around ``boxes`` (n × [lon0, lat0, lon1, lat1]); points beyond it lie in nothing."""
    if not len(boxes):
        return (0.0, 0.0, 0.0, 0.0)
    return (float(boxes[:, 0].min()), float(boxes[:, 1].min()),
            float(boxes[:, 2].max()), float(boxes[:, 3].max()))


def _circle_boxes(lons: np.ndarray, lats: np.ndarray, radii_m: np.ndarray) -> np.ndarray:
    """Boxes (n × [lon0, lat0, lon1, lat1]) that surely hold each circle, with 1 % to spare."""
    reach_lat = radii_m / METRES_PER_DEGREE * 1.01
    widest = np.minimum(np.abs(lats) + reach_lat, 89.0)
    reach_lon = reach_lat / np.cos(np.radians(widest))
    return np.column_stack((lons - reach_lon, lats - reach_lat, lons + reach_lon, lats + reach_lat))
