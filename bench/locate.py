"""Locator.locate_many against a bare STRtree point-in-polygon query on the same polygons.

    .venv/bin/python bench/locate.py [--points N] [--polygons M] [--seed S]

The polygons are an irregular grid layer: a Voronoi tessellation clipped to Shanghai's districts
(converted from GCJ-02) when ../shared/data is present, else to a box of Shanghai's size. Points
are uniform over the polygons' extent, so some fall outside every polygon (sea, neighbouring
provinces), as stray reports do. Both sides start from lon/lat arrays, so the baseline's time
includes making shapely points from them. Human lines first, one JSON object on the last line.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
import shapely
from shapely.geometry.base import BaseGeometry

from cityops.geo.coords import Crs
from cityops.geo.geojson import read_feature_collection
from cityops.geo.levels import AreaLevel
from cityops.geo.locator import AreaShape, Locator, make_valid_polygonal

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
SHANGHAI = SHARED_DATA / "china" / "shanghai_310000_districts.json"
SHANGHAI_EXTENT = (120.85, 30.67, 122.24, 31.87)
POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"
RUNS = 3


def land() -> tuple[BaseGeometry, str]:
    """The region to tessellate, and a description of it."""
    if SHANGHAI.is_file():
        districts = read_feature_collection(SHANGHAI.read_bytes(), code_field="adcode", name_field="name",
                                            crs=Crs.gcj02)
        return (shapely.union_all([d.geometry for d in districts]),
                f"Shanghai's {len(districts)} districts (GCJ-02 → WGS84)")
    return shapely.box(*SHANGHAI_EXTENT), f"a box of Shanghai's extent ({SHANGHAI} is absent)"


def grid_layer(region: BaseGeometry, count: int, rng: np.random.Generator) -> np.ndarray:
    """``count`` irregular polygons tiling ``region``: the Voronoi cells of seeds inside it, clipped."""
    shapely.prepare(region)
    lon0, lat0, lon1, lat1 = region.bounds
    seeds = np.empty((0, 2))
    while len(seeds) < count:
        candidates = rng.uniform((lon0, lat0), (lon1, lat1), size=(2 * count, 2))
        inside = shapely.contains_xy(region, candidates[:, 0], candidates[:, 1])
        seeds = np.vstack([seeds, candidates[inside]])
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(seeds[:count]),
                                                       extend_to=shapely.box(lon0, lat0, lon1, lat1)))
    clipped = [make_valid_polygonal(cell) for cell in shapely.intersection(cells, region)]
    return np.array([cell for cell in clipped if not cell.is_empty], dtype=object)


def best_of(runs: int, work: Callable[[], Any]) -> tuple[float, Any]:
    """Shortest wall-clock time of ``runs`` runs of ``work``, and its result."""
    times, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = work()
        times.append(time.perf_counter() - started)
    return min(times), result


def postgis_unavailable() -> str | None:
    """Why ST_Contains cannot be timed here, or None when PostGIS is available."""
    try:
        with psycopg.connect(POSTGRES_URL, connect_timeout=3) as connection:
            try:
                connection.execute("CREATE EXTENSION IF NOT EXISTS postgis")
            except psycopg.Error as exc:
                return f"{str(exc).splitlines()[0]} on {POSTGRES_URL}"
            finally:
                connection.rollback()  # a probe: leave the database as it was
    except psycopg.OperationalError as exc:
        return f"no PostgreSQL server at {POSTGRES_URL} ({str(exc).splitlines()[0]})"
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--polygons", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=20240601)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)

    region, described = land()
    polygons = grid_layer(region, args.polygons, rng)
    median_km2 = np.median(shapely.area(polygons)) * 111.2**2 * np.cos(np.radians(region.centroid.y))
    print(f"polygons: {len(polygons):,} Voronoi cells clipped to {described}, median {median_km2:.2f} km²")
    lon0, lat0, lon1, lat1 = shapely.total_bounds(polygons)
    points = rng.uniform((lon0, lat0), (lon1, lat1), size=(args.points, 2))
    lons, lats = points[:, 0].copy(), points[:, 1].copy()
    print(f"points: {args.points:,} uniform over lon {lon0:.3f}–{lon1:.3f}, lat {lat0:.3f}–{lat1:.3f}")

    shapes = [AreaShape(id=i, code=f"G{i}", name=f"grid {i}", level=AreaLevel.grid, parent_id=None,
                        geometry=polygon) for i, polygon in enumerate(polygons)]
    build_s, locator = best_of(1, lambda: Locator(shapes))
    locator_s, batch = best_of(RUNS, lambda: locator.locate_many(lons, lats))
    print(f"locator: index built in {build_s:.2f} s; locate_many best of {RUNS}: {locator_s:.3f} s "
          f"({args.points / locator_s / 1e6:.2f} M points/s); "
          f"{batch.near_boundary.mean():.1%} of points near a boundary")

    tree = shapely.STRtree(polygons)
    strtree_s, (point_at, polygon_at) = best_of(
        RUNS, lambda: tree.query(shapely.points(lons, lats), predicate="within"))
    query_only = shapely.points(lons, lats)
    query_s, _ = best_of(RUNS, lambda: tree.query(query_only, predicate="within"))
    print(f"STRtree: query(points(lons, lats), predicate='within') best of {RUNS}: {strtree_s:.3f} s "
          f"({args.points / strtree_s / 1e6:.2f} M points/s; the query alone {query_s:.3f} s)")

    expected = np.full(args.points, -1, dtype=np.int64)
    expected[point_at] = polygon_at
    agreement = float(np.mean(batch.area_ids == expected))
    ratio = strtree_s / locator_s
    print(f"locator is {ratio:.2f}× the STRtree's speed; they agree on {agreement:.6%} of points "
          f"({(expected >= 0).mean():.1%} of points are inside a polygon)")

    print(f"load average over the last minute: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs "
          f"(other work on the machine slows both sides)")
    reason = postgis_unavailable()
    print(f"PostGIS ST_Contains: skipped, {reason}" if reason else
          "PostGIS ST_Contains: PostGIS is available, but this bench does not time it yet")
    print(json.dumps({"points": args.points, "polygons": len(polygons),
                      "locator_points_per_s": round(args.points / locator_s),
                      "strtree_points_per_s": round(args.points / strtree_s), "ratio": round(ratio, 3),
                      "agreement": agreement, "index_build_s": round(build_s, 3)}))


if __name__ == "__main__":
    main()
