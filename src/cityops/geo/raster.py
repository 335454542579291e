"""The cell raster that resolves most points by array lookup.

Square cells laid over the areas on an equirectangular plane, classified once: a cell is resolved
(it stores the deepest area holding it), empty, or mixed (a boundary passes within reach of it, so
it keeps the boundary segments near it). The locator (``cityops.geo.locator``) looks points up here
and tests only the points in mixed cells against polygons.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import shapely

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


@dataclass(frozen=True)
class Plane:
    """Equirectangular plane in metres about (lon0, lat0); cityops.geo.locator's docstring gives its error."""

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
class Grid:
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
class Segments:
    """Edges of the areas' rings on the plane, (n, 4): x_a, y_a, x_b, y_b in metres; and their areas."""

    xy: np.ndarray
    area: np.ndarray


@dataclass(frozen=True)
class MixedCells:
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

    def build(self) -> MixedCells:
        mixed = FIRST_MIXED - self.codes[np.concatenate(self.pair_cells)].astype(np.intp)
        segments = np.concatenate(self.pair_segments)
        order = np.lexsort((segments, mixed))
        first = np.concatenate([[0], np.cumsum(np.bincount(mixed, minlength=self.count))])
        return MixedCells(level=np.concatenate(self.levels).astype(np.int8),
                          centre=np.concatenate(self.centres).astype(np.int32),
                          first=first, segments=segments[order].astype(np.int32))


def choose_grid(bounds, plane: Plane, polygons: np.ndarray, levels: list[np.ndarray],
                boundary_distance_m: float) -> Grid:
    """Cells small against the deepest level's typical area, but never more than MAX_CELLS, nor
    so small that the boundary distance reaches across more than MAX_REACH_CELLS of them (a mixed
    cell lists every segment within reach: a long reach would multiply the lists). ``levels`` as
    for ``classify_cells``."""
    lon0, lat0, lon1, lat1 = bounds
    width_m = max(lon1 - lon0, 1e-9) * plane.metres_per_degree_lon
    height_m = max(lat1 - lat0, 1e-9) * METRES_PER_DEGREE
    cell_m = MIN_CELL_M
    if levels:
        areas_m2 = shapely.area(polygons[levels[0]]) * plane.metres_per_degree_lon * METRES_PER_DEGREE
        cell_m = max(cell_m, float(np.median(np.sqrt(areas_m2))) / CELLS_PER_AREA_SIDE)
    cell_m = max(cell_m, math.sqrt(width_m * height_m / MAX_CELLS), boundary_distance_m / MAX_REACH_CELLS)
    cols, rows = math.ceil(width_m / cell_m), math.ceil(height_m / cell_m)
    # One extra row and column so that points on the top and right edges of the extent fall inside.
    return Grid(lon0=lon0, lat0=lat0, cell_lon=cell_m / plane.metres_per_degree_lon,
                cell_lat=cell_m / METRES_PER_DEGREE, rows=rows + 1, cols=cols + 1)


def classify_cells(grid: Grid, plane: Plane, polygons: np.ndarray, levels: list[np.ndarray],
                   boundary_distance_m: float,
                   placeholder_boxes: np.ndarray) -> tuple[np.ndarray, MixedCells, Segments]:
    """Code per cell (an area index, EMPTY, or FIRST_MIXED - k), the mixed cells, all segments.
    ``levels`` holds each level's area indices (ascending) into ``polygons``, deepest level first."""
    codes = np.full(grid.rows * grid.cols, EMPTY, dtype=np.int32)
    undecided = np.ones(grid.rows * grid.cols, dtype=bool)
    mixed = _MixedCellsBuilder(codes)
    # How far the boundary distance reaches along each axis of the plane, in cells.
    reach_u = boundary_distance_m / plane.metres_per_degree_lon / grid.cell_lon
    reach_v = boundary_distance_m / METRES_PER_DEGREE / grid.cell_lat
    segments_xy, segments_area = [np.empty((0, 4))], [np.empty(0, dtype=np.intp)]
    for position, area_index in enumerate(levels):  # deepest first
        ends_a, ends_b, owner = _ring_segments(polygons[area_index])
        (ua, va), (ub, vb) = grid.uv(*ends_a.T), grid.uv(*ends_b.T)
        cell, segment = _cells_near_segments(ua, va, ub, vb, grid, reach_u, reach_v)
        near_boundary = np.zeros(len(codes), dtype=bool)
        near_boundary[cell] = True
        centre = _centre_owner(ua, va, ub, vb, owner, grid)
        centre = np.where(centre >= 0, area_index[centre.clip(min=0)], centre).astype(np.int32)
        is_mixed = undecided & (near_boundary | (centre == OVERLAP))
        resolved = undecided & ~near_boundary & (centre >= 0)
        codes[resolved] = centre[resolved]
        undecided &= ~(is_mixed | resolved)
        keep = is_mixed[cell]
        first_segment = sum(map(len, segments_area))
        mixed.add(np.flatnonzero(is_mixed), position, centre[is_mixed], cell[keep],
                  segment[keep] + first_segment)
        segments_xy.append(np.column_stack((*plane.xy(*ends_a.T), *plane.xy(*ends_b.T))))
        segments_area.append(area_index[owner])
    # Cells a placeholder's circle reaches are mixed too, so that their points get checked.
    boxed = _cells_in_boxes(placeholder_boxes, grid)
    boxed = boxed[codes[boxed] >= EMPTY]
    # One spare slot: ``area.clip(min=0)`` indexes it for empty cells, even when there are no areas.
    level_of_area = np.zeros(len(polygons) + 1, dtype=np.intp)
    for position, area_index in enumerate(levels):
        level_of_area[area_index] = position
    area = codes[boxed]
    no_pairs = np.empty(0, dtype=np.intp)
    mixed.add(boxed, np.where(area >= 0, level_of_area[area.clip(min=0)], len(levels)), area.copy(),
              no_pairs, no_pairs)
    return codes, mixed.build(), Segments(np.concatenate(segments_xy), np.concatenate(segments_area))


def _ring_segments(polygons: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Edges of the polygons' rings: lon/lat of their two ends, and the polygon each belongs to."""
    parts, part_owner = shapely.get_parts(polygons, return_index=True)
    rings, ring_part = shapely.get_rings(parts, return_index=True)
    coords, coord_ring = shapely.get_coordinates(rings, return_index=True)
    start = np.flatnonzero(coord_ring[1:] == coord_ring[:-1])
    return coords[start], coords[start + 1], part_owner[ring_part[coord_ring[start]]]


def _cells_near_segments(ua, va, ub, vb, grid: Grid, reach_u: float, reach_v: float):
    """(cell, segment) pairs: each cell holding a point within (reach_u, reach_v) cell units, per
    axis, of the segment. Exact: row by row, the part of the segment that can reach the row gives
    the span of columns it reaches."""
    reach_u, reach_v = reach_u + 1e-9, reach_v + 1e-9  # rounding must not lose a cell
    first_row = np.floor(np.minimum(va, vb) - reach_v).astype(np.intp)
    last_row = np.floor(np.maximum(va, vb) + reach_v).astype(np.intp)
    segment, nth = expand(last_row - first_row + 1)
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
    span, nth = expand(np.where(inside, last_col - first_col + 1, 0).clip(min=0))
    return row[span] * grid.cols + first_col[span] + nth, segment[span]


def _centre_owner(ua, va, ub, vb, owner, grid: Grid) -> np.ndarray:
    """Per cell (flat), the polygon holding the cell's centre: its ``owner`` number, EMPTY, or
    OVERLAP for several. A scanline fill: each row's centre line crosses a polygon's rings an even
    number of times, and the centres between the 1st and 2nd, 3rd and 4th, … crossings are inside."""
    v_lo, v_hi = np.minimum(va, vb), np.maximum(va, vb)
    # Half-open [v_lo, v_hi) so that a vertex on a centre line is counted once, not twice.
    first_row = np.ceil(v_lo - 0.5).astype(np.intp)
    segment, nth = expand(np.ceil(v_hi - 0.5).astype(np.intp) - first_row)
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


def _cells_in_boxes(boxes: np.ndarray, grid: Grid) -> np.ndarray:
    """Flat indices of the cells that boxes (n × [lon0, lat0, lon1, lat1]) touch, each once."""
    u0, v0 = grid.uv(boxes[:, 0], boxes[:, 1])
    u1, v1 = grid.uv(boxes[:, 2], boxes[:, 3])
    first_col = np.floor(u0).astype(np.intp).clip(min=0)
    last_col = np.floor(u1).astype(np.intp).clip(max=grid.cols - 1)
    first_row = np.floor(v0).astype(np.intp).clip(min=0)
    last_row = np.floor(v1).astype(np.intp).clip(max=grid.rows - 1)
    box, row = expand(last_row - first_row + 1)
    span, col = expand((last_col - first_col + 1)[box])
    return np.unique((first_row[box] + row)[span] * grid.cols + first_col[box][span] + col)


def squared_distance(x: np.ndarray, y: np.ndarray, segments: np.ndarray) -> np.ndarray:
    """Squared distance from each point to its segment (rows of x_a, y_a, x_b, y_b)."""
    xa, ya, xb, yb = segments.T
    dx, dy = xb - xa, yb - ya
    length2 = dx * dx + dy * dy
    t = np.clip(((x - xa) * dx + (y - ya) * dy) / np.where(length2 > 0, length2, 1.0), 0.0, 1.0)
    ex, ey = x - xa - t * dx, y - ya - t * dy
    return ex * ex + ey * ey


def distinct(sorted_values: np.ndarray) -> np.ndarray:
    """``np.unique`` for values already sorted (or grouped), without its sort."""
    keep = np.ones(len(sorted_values), dtype=bool)
    keep[1:] = sorted_values[1:] != sorted_values[:-1]
    return sorted_values[keep]


def expand(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For items wanting ``counts[i]`` copies each: every copy's item and its place among them."""
    item = np.repeat(np.arange(len(counts)), counts)
    return item, np.arange(len(item)) - np.repeat(np.cumsum(counts) - counts, counts)
