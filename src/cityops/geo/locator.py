"""The locator: which areas a point lies in, answered in memory.

Built once from the area tree (WGS84 lon/lat polygons at up to five levels), it resolves a point
to its deepest containing area and that area's chain of ancestors. Deeper levels need not cover
their parent (a district may have streets only in part of it): a point in such a gap resolves to
the next level up. A point on a boundary belongs to every area it touches, so among areas of one
level that all hold it (neighbours sharing the edge, or areas that overlap) the one given first
wins. Either neighbour on a shared edge is at distance 0, so such a point is always ``near_boundary``.

How it is fast: a raster of square cells laid over the areas is classified once. A cell whose
every point is more than ``boundary_distance_m`` from every boundary of the levels that matter is
*resolved* (its deepest containing area is stored) or *empty*. The other cells are *mixed*; each
keeps the boundary segments that pass within reach of it, so a point there is tested only against
the few areas those segments belong to, and its distance to the boundary comes from those same
segments. Points that none of them holds (in a gap between the areas of a level) continue to the
levels above through an STRtree.

Distances are measured on an equirectangular plane about the middle of the areas. East–west
distances at latitude φ are off by a factor cos φ / cos φ0 of the truth there, under 1 % for areas
spanning less than 1.5° of latitude around 31° N (0.3 m at 30 m); north–south distances are exact
on the sphere of mean radius.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from cityops.errors import InvalidInput, NotFound
from cityops.geo.levels import AreaLevel

EARTH_RADIUS_M = 6_371_008.8
METRES_PER_DEGREE = EARTH_RADIUS_M * math.pi / 180.0

EMPTY = -1
OVERLAP = -2
FIRST_MIXED = -2  # mixed cell k is coded FIRST_MIXED - k
# A cell edge of about 1/16 of a typical deepest-level area's side leaves most points of an area
# in resolved cells; the cap keeps the raster to 32 MB of int32 codes however large the extent.
CELLS_PER_AREA_SIDE = 16
MAX_CELLS = 1 << 23
MIN_CELL_M = 1.0
MAX_REACH_CELLS = 2.0
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
class _Plane:
    """Equirectangular plane in metres about (lon0, lat0); see the module docstring for its error."""

    lon0: float
    lat0: float

    @property
    def metres_per_degree_lon(self) -> float:
        return METRES_PER_DEGREE * math.cos(math.radians(self.lat0))

    def xy(self, lons, lats):
        return (lons - self.lon0) * self.metres_per_degree_lon, (lats - self.lat0) * METRES_PER_DEGREE

    def geometry(self, geometry):
        return shapely.transform(geometry, lambda c: np.column_stack(self.xy(c[:, 0], c[:, 1])))


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


@dataclass(frozen=True)
class _Grid:
    """Cells of ``cell_lon`` × ``cell_lat`` degrees from (lon0, lat0); row = latitude band."""

    lon0: float
    lat0: float
    cell_lon: float
    cell_lat: float
    rows: int
    cols: int

    def uv(self, lons, lats):
        """Positions in cell units: cell (row, col) spans v ∈ [row, row+1), u ∈ [col, col+1)."""
        return (lons - self.lon0) / self.cell_lon, (lats - self.lat0) / self.cell_lat


@dataclass(frozen=True)
class _Segments:
    """Edges of the areas' rings on the plane, (n, 4): x_a, y_a, x_b, y_b in metres; and their areas."""

    xy: np.ndarray
    area: np.ndarray


@dataclass(frozen=True)
class _MixedCells:
    """For mixed cell k: the level it is decided at (a position in the deepest-first list; past the
    end when none), the area holding its centre there (or EMPTY, or OVERLAP when several do, which
    sends its points to the STRtree), and its boundary segments: ``segments[first[k]:first[k + 1]]``."""

    level: np.ndarray
    centre: np.ndarray
    first: np.ndarray
    segments: np.ndarray


class _MixedCellsBuilder:
    """Numbers mixed cells as they are found (writing their codes) and gathers what they need."""

    def __init__(self, codes: np.ndarray) -> None:
        self.codes = codes
        self.count = 0
        self.levels: list[np.ndarray] = []
        self.centres: list[np.ndarray] = []
        self.pair_cells: list[np.ndarray] = []
        self.pair_segments: list[np.ndarray] = []

    def add(self, cells: np.ndarray, level, centre: np.ndarray, pair_cells: np.ndarray,
            pair_segments: np.ndarray) -> None:
        """Mixed ``cells`` decided at ``level``, and (cell, segment) pairs: the segments near them."""
        self.codes[cells] = FIRST_MIXED - (self.count + np.arange(len(cells)))
        self.count += len(cells)
        self.levels.append(np.broadcast_to(level, cells.shape))
        self.centres.append(centre)
        self.pair_cells.append(pair_cells)
        self.pair_segments.append(pair_segments)

    def build(self) -> _MixedCells:
        mixed = FIRST_MIXED - self.codes[np.concatenate(self.pair_cells)].astype(np.intp)
        segments = np.concatenate(self.pair_segments)
        order = np.lexsort((segments, mixed))
        first = np.concatenate([[0], np.cumsum(np.bincount(mixed, minlength=self.count))])
        return _MixedCells(level=np.concatenate(self.levels).astype(np.int8),
                           centre=np.concatenate(self.centres).astype(np.int32),
                           first=first, segments=segments[order].astype(np.int32))


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
        self._placeholder_lon = np.array([p.lon for p in self._placeholders], dtype=np.float64)
        self._placeholder_lat = np.array([p.lat for p in self._placeholders], dtype=np.float64)
        self._placeholder_radius = np.array([p.radius_m for p in self._placeholders], dtype=np.float64)

        self._polygons = _polygonal(shapes)
        boxes = _circle_boxes(self._placeholder_lon, self._placeholder_lat, self._placeholder_radius)
        bounds = _extent(np.vstack([shapely.bounds(self._polygons).reshape(-1, 4), boxes]))
        self._plane = _Plane((bounds[0] + bounds[2]) / 2, (bounds[1] + bounds[3]) / 2)
        self._boundaries_m = self._plane.geometry(shapely.boundary(self._polygons))
        shapely.prepare(self._polygons)
        # Prepared distance pays off only on long boundaries; on a grid's few dozen edges it costs 4×.
        shapely.prepare(self._boundaries_m[shapely.get_num_coordinates(self._boundaries_m)
                                           > PREPARED_BOUNDARY_MIN_VERTICES])
        ranks = np.array([ref.level.rank for ref in self._refs], dtype=np.int64)
        self._levels = [_Level.of(np.flatnonzero(ranks == rank), self._polygons)
                        for rank in sorted(set(ranks.tolist()), reverse=True)]
        self._grid = _choose_grid(bounds, self._levels, self._plane, self.boundary_distance_m)
        self._codes, self._mixed, self._segments = self._classify_cells(boxes)

    def __len__(self) -> int:
        return len(self._refs)

    def chain(self, area_id: int) -> tuple[AreaRef, ...]:
        """The area and its ancestors by parent link, city first."""
        index = self._index_of.get(area_id)
        if index is None:
            raise NotFound(f"area {area_id} is not in the locator", code="unknown_area")
        return self._chains[index]

    def locate(self, lon: float, lat: float) -> Location:
        """One WGS84 point: its area chain, boundary distance and placeholder."""
        if not (math.isfinite(lon) and -180 <= lon <= 180):
            raise InvalidInput(f"longitude {lon} is not in [-180, 180]", field="lon")
        if not (math.isfinite(lat) and -90 <= lat <= 90):
            raise InvalidInput(f"latitude {lat} is not in [-90, 90]", field="lat")
        lons, lats = np.array([lon], dtype=np.float64), np.array([lat], dtype=np.float64)
        area_index, near, _ = self._resolve(lons, lats)
        placeholder = self._nearest_placeholder(lons, lats)[0]
        placeholder_name = self._placeholders[placeholder].name if placeholder >= 0 else None
        if area_index[0] < 0:
            return Location(lon=lon, lat=lat, chain=(), near_boundary=False, boundary_distance_m=None,
                            placeholder=placeholder_name)
        index = int(area_index[0])
        distance = shapely.distance(self._boundaries_m[index], shapely.points(*self._plane.xy(lon, lat)))
        return Location(lon=lon, lat=lat, chain=self._chains[index], near_boundary=bool(near[0]),
                        boundary_distance_m=float(distance), placeholder=placeholder_name)

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
        point, nth = _expand(self._mixed.first[cell[listed] + 1] - self._mixed.first[cell[listed]])
        segment = self._mixed.segments[self._mixed.first[cell[listed]][point] + nth]
        point = listed[point]
        # Candidates: every area with a boundary segment here, and the one holding the cell's centre.
        with_centre = listed[centre[listed] >= 0]
        areas = len(self._refs)
        candidates = np.sort(np.concatenate([_distinct(point * areas + self._segments.area[segment]),
                                             with_centre * areas + centre[with_centre]]))
        candidate_point, candidate_area = np.divmod(_distinct(candidates), areas)
        holds = shapely.intersects_xy(self._polygons[candidate_area], lons[candidate_point],
                                      lats[candidate_point])
        holder_point, holder_area = candidate_point[holds], candidate_area[holds]
        first = np.ones(len(holder_point), dtype=bool)  # sorted by point, then area: the first given wins
        first[1:] = holder_point[1:] != holder_point[:-1]
        area_index[holder_point[first]] = holder_area[first]
        # Every boundary segment within reach of the cell is listed, so these distances are complete.
        own = self._segments.area[segment] == area_index[point]
        x, y = self._plane.xy(lons[point[own]], lats[point[own]])
        within = _squared_distance(x, y, self._segments.xy[segment[own]]) <= self.boundary_distance_m ** 2
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

    def _classify_cells(self, placeholder_boxes: np.ndarray) -> tuple[np.ndarray, _MixedCells, _Segments]:
        """Code per cell (an area index, EMPTY, or FIRST_MIXED - k), the mixed cells, all segments."""
        grid = self._grid
        codes = np.full(grid.rows * grid.cols, EMPTY, dtype=np.int32)
        undecided = np.ones(grid.rows * grid.cols, dtype=bool)
        mixed = _MixedCellsBuilder(codes)
        # How far the boundary distance reaches along each axis of the plane, in cells.
        reach_u = self.boundary_distance_m / self._plane.metres_per_degree_lon / grid.cell_lon
        reach_v = self.boundary_distance_m / METRES_PER_DEGREE / grid.cell_lat
        segments_xy, segments_area = [np.empty((0, 4))], [np.empty(0, dtype=np.intp)]
        for position, level in enumerate(self._levels):  # deepest first
            ends_a, ends_b, owner = _ring_segments(level.polygons)
            (ua, va), (ub, vb) = grid.uv(*ends_a.T), grid.uv(*ends_b.T)
            cell, segment = _cells_near_segments(ua, va, ub, vb, grid, reach_u, reach_v)
            near_boundary = np.zeros(len(codes), dtype=bool)
            near_boundary[cell] = True
            centre = _centre_owner(ua, va, ub, vb, owner, grid)
            centre = np.where(centre >= 0, level.area_index[centre.clip(min=0)], centre).astype(np.int32)
            is_mixed = undecided & (near_boundary | (centre == OVERLAP))
            resolved = undecided & ~near_boundary & (centre >= 0)
            codes[resolved] = centre[resolved]
            undecided &= ~(is_mixed | resolved)
            keep = is_mixed[cell]
            first_segment = sum(map(len, segments_area))
            mixed.add(np.flatnonzero(is_mixed), position, centre[is_mixed], cell[keep],
                      segment[keep] + first_segment)
            segments_xy.append(np.column_stack((*self._plane.xy(*ends_a.T), *self._plane.xy(*ends_b.T))))
            segments_area.append(level.area_index[owner])
        # Cells a placeholder's circle reaches are mixed too, so that their points get checked.
        boxed = _cells_in_boxes(placeholder_boxes, grid)
        boxed = boxed[codes[boxed] >= EMPTY]
        level_of_area = np.zeros(len(self._refs), dtype=np.intp)
        for position, level in enumerate(self._levels):
            level_of_area[level.area_index] = position
        area = codes[boxed]
        no_pairs = np.empty(0, dtype=np.intp)
        mixed.add(boxed, np.where(area >= 0, level_of_area[area.clip(min=0)], len(self._levels)), area.copy(),
                  no_pairs, no_pairs)
        return codes, mixed.build(), _Segments(np.concatenate(segments_xy), np.concatenate(segments_area))


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


def _choose_grid(bounds, levels: list[_Level], plane: _Plane, boundary_distance_m: float) -> _Grid:
    """Cells small against the deepest level's typical area, but never more than MAX_CELLS, nor
    so small that the boundary distance reaches across more than MAX_REACH_CELLS of them (a mixed
    cell lists every segment within reach: a long reach would multiply the lists)."""
    lon0, lat0, lon1, lat1 = bounds
    width_m = max(lon1 - lon0, 1e-9) * plane.metres_per_degree_lon
    height_m = max(lat1 - lat0, 1e-9) * METRES_PER_DEGREE
    cell_m = MIN_CELL_M
    if levels:
        areas_m2 = shapely.area(levels[0].polygons) * plane.metres_per_degree_lon * METRES_PER_DEGREE
        cell_m = max(cell_m, float(np.median(np.sqrt(areas_m2))) / CELLS_PER_AREA_SIDE)
    cell_m = max(cell_m, math.sqrt(width_m * height_m / MAX_CELLS), boundary_distance_m / MAX_REACH_CELLS)
    cols, rows = math.ceil(width_m / cell_m), math.ceil(height_m / cell_m)
    # One extra row and column so that points on the top and right edges of the extent fall inside.
    return _Grid(lon0=lon0, lat0=lat0, cell_lon=cell_m / plane.metres_per_degree_lon,
                 cell_lat=cell_m / METRES_PER_DEGREE, rows=rows + 1, cols=cols + 1)


def _ring_segments(polygons: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Edges of the polygons' rings: lon/lat of their two ends, and the polygon each belongs to."""
    parts, part_owner = shapely.get_parts(polygons, return_index=True)
    rings, ring_part = shapely.get_rings(parts, return_index=True)
    coords, coord_ring = shapely.get_coordinates(rings, return_index=True)
    start = np.flatnonzero(coord_ring[1:] == coord_ring[:-1])
    return coords[start], coords[start + 1], part_owner[ring_part[coord_ring[start]]]


def _cells_near_segments(ua, va, ub, vb, grid: _Grid, reach_u: float, reach_v: float):
    """(cell, segment) pairs: each cell holding a point within (reach_u, reach_v) cell units, per
    axis, of the segment. Exact: row by row, the part of the segment that can reach the row gives
    the span of columns it reaches."""
    reach_u, reach_v = reach_u + 1e-9, reach_v + 1e-9  # rounding must not lose a cell
    first_row = np.floor(np.minimum(va, vb) - reach_v).astype(np.intp)
    last_row = np.floor(np.maximum(va, vb) + reach_v).astype(np.intp)
    segment, nth = _expand(last_row - first_row + 1)
    row = first_row[segment] + nth
    ua, va, du, dv = ua[segment], va[segment], ub[segment] - ua[segment], vb[segment] - va[segment]
    # Row r holds v in [r, r + 1); points of the segment with v in [r - reach, r + 1 + reach] reach it.
    steep = dv != 0
    safe_dv = np.where(steep, dv, 1.0)
    t0 = np.where(steep, (row - reach_v - va) / safe_dv, 0.0)
    t1 = np.where(steep, (row + 1 + reach_v - va) / safe_dv, 1.0)
    u0 = ua + np.clip(np.minimum(t0, t1), 0.0, 1.0) * du
    u1 = ua + np.clip(np.maximum(t0, t1), 0.0, 1.0) * du
    first_col = np.maximum(np.floor(np.minimum(u0, u1) - reach_u).astype(np.intp), 0)
    last_col = np.minimum(np.floor(np.maximum(u0, u1) + reach_u).astype(np.intp), grid.cols - 1)
    inside = (row >= 0) & (row < grid.rows)
    span, nth = _expand(np.where(inside, last_col - first_col + 1, 0).clip(min=0))
    return row[span] * grid.cols + first_col[span] + nth, segment[span]


def _centre_owner(ua, va, ub, vb, owner, grid: _Grid) -> np.ndarray:
    """Per cell (flat), the polygon holding the cell's centre: its ``owner`` number, EMPTY, or
    OVERLAP for several. A scanline fill: each row's centre line crosses a polygon's rings an even
    number of times, and the centres between the 1st and 2nd, 3rd and 4th, … crossings are inside."""
    v_lo, v_hi = np.minimum(va, vb), np.maximum(va, vb)
    # Half-open [v_lo, v_hi) so that a vertex on a centre line is counted once, not twice.
    first_row = np.ceil(v_lo - 0.5).astype(np.intp)
    segment, nth = _expand(np.ceil(v_hi - 0.5).astype(np.intp) - first_row)
    row = first_row[segment] + nth
    u = ua[segment] + (row + 0.5 - va[segment]) * (ub[segment] - ua[segment]) / (vb[segment] - va[segment])
    order = np.lexsort((u, row, owner[segment]))
    u, row, owner = u[order], row[order], owner[segment][order]
    span_row, span_owner = row[0::2], owner[0::2]
    span_first = np.maximum(np.floor(u[0::2] - 0.5).astype(np.intp) + 1, 0)
    span_last = np.minimum(np.ceil(u[1::2] - 0.5).astype(np.intp) - 1, grid.cols - 1)
    keep = (span_last >= span_first) & (span_row >= 0) & (span_row < grid.rows)
    span_row, span_owner = span_row[keep], span_owner[keep].astype(np.int32)
    # Difference arrays along each row: +1 where a span starts, -1 just after it ends; a running
    # sum then counts the spans over each cell and sums their owners (exact when the count is 1).
    width = grid.cols + 1
    starts, ends = span_row * width + span_first[keep], span_row * width + span_last[keep] + 1
    count = np.zeros(grid.rows * width, dtype=np.int32)
    owner_sum = np.zeros(grid.rows * width, dtype=np.int32)
    np.add.at(count, starts, 1)
    np.add.at(count, ends, -1)
    np.add.at(owner_sum, starts, span_owner)
    np.add.at(owner_sum, ends, -span_owner)
    # Every span ends inside its row, so each row's differences sum to zero and one running sum
    # over the flat array equals a running sum per row (and is several times faster).
    count = np.cumsum(count, dtype=np.int32).reshape(grid.rows, width)[:, :-1].ravel()
    owner_sum = np.cumsum(owner_sum, dtype=np.int32).reshape(grid.rows, width)[:, :-1].ravel()
    return np.where(count == 1, owner_sum, np.where(count == 0, EMPTY, OVERLAP))


def _cells_in_boxes(boxes: np.ndarray, grid: _Grid) -> np.ndarray:
    """Flat indices of the cells that boxes (n × [lon0, lat0, lon1, lat1]) touch, each once."""
    u0, v0 = grid.uv(boxes[:, 0], boxes[:, 1])
    u1, v1 = grid.uv(boxes[:, 2], boxes[:, 3])
    first_col = np.floor(u0).astype(np.intp).clip(min=0)
    last_col = np.floor(u1).astype(np.intp).clip(max=grid.cols - 1)
    first_row = np.floor(v0).astype(np.intp).clip(min=0)
    last_row = np.floor(v1).astype(np.intp).clip(max=grid.rows - 1)
    box, row = _expand(last_row - first_row + 1)
    span, col = _expand((last_col - first_col + 1)[box])
    return np.unique((first_row[box] + row)[span] * grid.cols + first_col[box][span] + col)


def _squared_distance(x: np.ndarray, y: np.ndarray, segments: np.ndarray) -> np.ndarray:
    """Squared distance from each point to its segment (rows of x_a, y_a, x_b, y_b)."""
    xa, ya, xb, yb = segments.T
    dx, dy = xb - xa, yb - ya
    length2 = dx * dx + dy * dy
    t = np.clip(((x - xa) * dx + (y - ya) * dy) / np.where(length2 > 0, length2, 1.0), 0.0, 1.0)
    ex, ey = x - xa - t * dx, y - ya - t * dy
    return ex * ex + ey * ey


def _distinct(sorted_values: np.ndarray) -> np.ndarray:
    """``np.unique`` for values already sorted (or grouped), without its sort."""
    keep = np.ones(len(sorted_values), dtype=bool)
    keep[1:] = sorted_values[1:] != sorted_values[:-1]
    return sorted_values[keep]


def _expand(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For items wanting ``counts[i]`` copies each: every copy's item and its place among them."""
    item = np.repeat(np.arange(len(counts)), counts)
    return item, np.arange(len(item)) - np.repeat(np.cumsum(counts) - counts, counts)
