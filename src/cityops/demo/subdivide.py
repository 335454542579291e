"""Split a polygon into parts that tile it exactly: the demo city's synthetic streets, grids and
communities. Pure: shapely and numpy only.

How: sample points uniformly inside the polygon (so every part gets a similar share of its area),
cluster them with k-means, take each cluster's member nearest its mean as a generator (so every
generator lies inside the polygon), and clip the generators' Voronoi cells to the polygon. A cell
clipped by a concave or multi-part polygon can fall apart; every piece that does not hold its
generator is handed to the part it shares the longest border with, or, for an island, to the nearest
part. Parts are returned in a chain that walks from the north-west to nearest neighbours, so parts
numbered one after the other lie next to each other.
"""

from __future__ import annotations

import math

import numpy as np
import shapely
from shapely.geometry import MultiPoint, MultiPolygon, Point, Polygon, box
from shapely.geometry.base import BaseGeometry

Polygonal = Polygon | MultiPolygon

SAMPLES_PER_PART = 60
MIN_SAMPLES = 240
KMEANS_ROUNDS = 40
TOUCH_TOLERANCE_RATIO = 1e-9


def subdivide(geometry: BaseGeometry, parts: int, *, seed: int, x_scale: float = 1.0,
              samples_per_part: int = SAMPLES_PER_PART) -> list[Polygonal]:
    """``parts`` non-overlapping polygonal parts whose union is ``geometry``, each non-empty.

    ``x_scale`` stretches x before clustering so that parts look compact where a degree of x is
    shorter than a degree of y (``cos(latitude)`` for longitude/latitude). The same ``seed`` gives
    the same parts."""
    if parts < 1:
        raise ValueError("parts must be at least 1")
    if x_scale <= 0:
        raise ValueError("x_scale must be positive")
    geometry = _polygonal(geometry)
    if not geometry.is_empty and not geometry.is_valid:
        raise ValueError(f"cannot subdivide an invalid geometry: {shapely.is_valid_reason(geometry)}")
    if geometry.is_empty or geometry.area <= 0:
        raise ValueError("cannot subdivide an empty or zero-area geometry")
    if parts == 1:
        return [geometry]
    rng = np.random.default_rng(seed)
    samples = sample_inside(geometry, max(MIN_SAMPLES, samples_per_part * parts), rng)
    scaled = samples * np.array([x_scale, 1.0])
    medoids = _kmeans_medoids(scaled, parts, rng)
    generators = medoids[_chain_order(scaled[medoids])]
    min_x, min_y, max_x, max_y = geometry.bounds
    cells = _voronoi_cells(scaled[generators], (min_x * x_scale, min_y, max_x * x_scale, max_y), x_scale)
    return _clip_and_settle(geometry, cells, [Point(p) for p in samples[generators]])


def sample_inside(geometry: BaseGeometry, count: int, rng: np.random.Generator) -> np.ndarray:
    """``count`` points drawn uniformly from the interior of ``geometry`` (rejection sampling)."""
    min_x, min_y, max_x, max_y = geometry.bounds
    fill = geometry.area / max((max_x - min_x) * (max_y - min_y), 1e-300)
    shapely.prepare(geometry)
    found: list[np.ndarray] = []
    total = 0
    while total < count:
        batch = int(math.ceil((count - total) / max(fill, 1e-3) * 1.3)) + 16
        xs = rng.uniform(min_x, max_x, batch)
        ys = rng.uniform(min_y, max_y, batch)
        inside = shapely.contains_xy(geometry, xs, ys)
        kept = np.column_stack([xs[inside], ys[inside]])
        found.append(kept)
        total += len(kept)
    return np.concatenate(found)[:count]


def _polygonal(geometry: BaseGeometry) -> Polygonal:
    if isinstance(geometry, Polygon | MultiPolygon):
        return geometry
    polygons = [g for g in shapely.get_parts(geometry) if isinstance(g, Polygon | MultiPolygon)]
    if not polygons:
        raise ValueError(f"cannot subdivide a {geometry.geom_type}")
    merged = shapely.union_all(polygons)
    return merged if isinstance(merged, Polygon | MultiPolygon) else _polygonal(merged)


def _kmeans_medoids(points: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """Indexes of ``k`` distinct points, one per k-means cluster: the member nearest the mean."""
    if len(points) < k:
        raise ValueError(f"need at least {k} sample points, got {len(points)}")
    centres = _kmeans_plus_plus(points, k, rng)
    labels = np.full(len(points), -1)
    for _ in range(KMEANS_ROUNDS):
        distances = _squared_distances(points, centres)
        new_labels = _fill_empty_clusters(distances.argmin(axis=1), distances, k)
        if np.array_equal(new_labels, labels):
            break
        labels = new_labels
        sizes = np.bincount(labels, minlength=k)[:, None]
        centres = np.column_stack([np.bincount(labels, weights=points[:, axis], minlength=k)
                                   for axis in (0, 1)]) / sizes
    offsets = ((points - centres[labels]) ** 2).sum(axis=1)
    medoids = np.empty(k, dtype=int)
    for cluster in range(k):
        members = np.flatnonzero(labels == cluster)
        medoids[cluster] = members[offsets[members].argmin()]
    return medoids


def _fill_empty_clusters(labels: np.ndarray, distances: np.ndarray, k: int) -> np.ndarray:
    """Give each empty cluster the point worst served by its centre, never emptying another."""
    sizes = np.bincount(labels, minlength=k)
    if sizes.all():
        return labels
    cost = distances[np.arange(len(labels)), labels]
    for cluster in np.flatnonzero(sizes == 0):
        cost[sizes[labels] <= 1] = -1.0
        worst = int(cost.argmax())
        sizes[labels[worst]] -= 1
        labels[worst] = cluster
        sizes[cluster] = 1
        cost[worst] = -1.0
    return labels


def _kmeans_plus_plus(points: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    chosen = [int(rng.integers(len(points)))]
    nearest = ((points - points[chosen[0]]) ** 2).sum(axis=1)
    for _ in range(1, k):
        total = nearest.sum()
        index = int(rng.choice(len(points), p=nearest / total) if total > 0 else rng.integers(len(points)))
        chosen.append(index)
        nearest = np.minimum(nearest, ((points - points[index]) ** 2).sum(axis=1))
    return points[chosen].copy()


def _squared_distances(points: np.ndarray, centres: np.ndarray) -> np.ndarray:
    return ((points[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2)


def _chain_order(points: np.ndarray) -> np.ndarray:
    """An order of ``points`` that walks from the north-west corner to each nearest unvisited one."""
    current = int((points[:, 0] - points[:, 1]).argmin())
    order = [current]
    left = np.ones(len(points), dtype=bool)
    left[current] = False
    while left.any():
        distances = ((points - points[current]) ** 2).sum(axis=1)
        distances[~left] = np.inf
        current = int(distances.argmin())
        order.append(current)
        left[current] = False
    return np.array(order)


def _voronoi_cells(points: np.ndarray, bounds: tuple[float, float, float, float],
                   x_scale: float) -> list[Polygon]:
    """The Voronoi cell of each point (in input order), reaching past ``bounds`` and mapped back to
    unscaled coordinates."""
    min_x, min_y, max_x, max_y = bounds
    span = max(max_x - min_x, max_y - min_y, 1e-9)
    frame = box(min_x - span, min_y - span, max_x + span, max_y + span)
    diagram = shapely.voronoi_polygons(MultiPoint(points), extend_to=frame)
    polygons = list(shapely.get_parts(diagram))
    tree = shapely.STRtree(polygons)
    cells: list[Polygon] = []
    for x, y in points:
        hits = [i for i in tree.query(Point(x, y)) if polygons[i].covers(Point(x, y))]
        if not hits:
            raise ValueError("a Voronoi generator fell outside every cell")
        cells.append(polygons[hits[0]])
    unscale = np.array([1.0 / x_scale, 1.0])
    return [shapely.transform(cell, lambda coords: coords * unscale) for cell in cells]


def _clip_and_settle(geometry: Polygonal, cells: list[Polygon], generators: list[Point]) -> list[Polygonal]:
    """Clip each cell to ``geometry``; keep the piece that holds its generator and hand every other
    piece to the part it borders most (or, when it borders none, to the nearest part)."""
    kept: list[list[Polygon]] = []
    loose: list[Polygon] = []
    for cell, generator in zip(cells, generators, strict=True):
        pieces = _polygons(shapely.intersection(cell, geometry))
        if not pieces:
            raise ValueError("a Voronoi cell misses the polygon")
        home = _piece_holding(pieces, generator)
        kept.append([pieces[home]])
        loose.extend(p for i, p in enumerate(pieces) if i != home)
    tolerance = TOUCH_TOLERANCE_RATIO * max(_diagonal(geometry), 1e-12)
    while loose:
        claims = [_best_neighbour(piece, kept, tolerance) for piece in loose]
        if all(claim is None for claim in claims):
            for piece in loose:
                kept[_nearest_part(piece, kept)].append(piece)
            break
        still_loose = []
        for piece, claim in zip(loose, claims, strict=True):
            if claim is None:
                still_loose.append(piece)
            else:
                kept[claim].append(piece)
        loose = still_loose
    return [_merge(pieces) for pieces in kept]


def _polygons(geometry: BaseGeometry) -> list[Polygon]:
    return [p for p in shapely.get_parts(shapely.get_parts(geometry))
            if isinstance(p, Polygon) and p.area > 0]


def _piece_holding(pieces: list[Polygon], point: Point) -> int:
    for index, piece in enumerate(pieces):
        if piece.covers(point):
            return index
    return min(range(len(pieces)), key=lambda i: pieces[i].distance(point))


def _diagonal(geometry: BaseGeometry) -> float:
    min_x, min_y, max_x, max_y = geometry.bounds
    return math.hypot(max_x - min_x, max_y - min_y)


def _best_neighbour(piece: Polygon, kept: list[list[Polygon]], tolerance: float) -> int | None:
    """The part whose pieces share the longest border with ``piece``; None if it touches none."""
    best, best_length = None, 0.0
    halo = piece.buffer(tolerance)
    for index, pieces in enumerate(kept):
        length = sum(shapely.intersection(halo, p.boundary).length for p in pieces
                     if p.distance(piece) <= tolerance)
        if length > best_length:
            best, best_length = index, length
    return best


def _nearest_part(piece: Polygon, kept: list[list[Polygon]]) -> int:
    return min(range(len(kept)), key=lambda i: min(p.distance(piece) for p in kept[i]))


def _merge(pieces: list[Polygon]) -> Polygonal:
    merged = pieces[0] if len(pieces) == 1 else shapely.union_all(pieces)
    if not merged.is_valid:
        merged = shapely.make_valid(merged)
    polygons = _polygons(merged)
    return polygons[0] if len(polygons) == 1 else MultiPolygon(polygons)
