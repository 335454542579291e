"""Draw areas as an SVG map: no tiles are reachable offline, so the polygons are the map."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from shapely.geometry.base import BaseGeometry

PALETTE = ("#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7",
           "#9c755f", "#bab0ac")


@dataclass(frozen=True)
class MapArea:
    code: str
    name: str
    geometry: BaseGeometry  # WGS84
    group: str = ""         # areas of one group share a colour (e.g. their district)


def _path(geometry: BaseGeometry, project) -> str:  # noqa: ANN001
    parts = []
    for polygon in getattr(geometry, "geoms", [geometry]):
        for ring in (polygon.exterior, *polygon.interiors):
            points = " L".join(f"{x:.1f},{y:.1f}" for x, y in (project(lon, lat) for lon, lat in ring.coords))
            parts.append(f"M{points}Z")
    return " ".join(parts)


def areas_svg(areas: Sequence[MapArea], *, width: int = 1200, title: str = "", labels: bool = True) -> str:
    """An SVG drawing of ``areas`` in an equirectangular projection true to scale at their centre."""
    if not areas:
        raise ValueError("nothing to draw")
    min_lon = min(a.geometry.bounds[0] for a in areas)
    min_lat = min(a.geometry.bounds[1] for a in areas)
    max_lon = max(a.geometry.bounds[2] for a in areas)
    max_lat = max(a.geometry.bounds[3] for a in areas)
    x_scale = math.cos(math.radians((min_lat + max_lat) / 2))
    scale = (width - 20) / ((max_lon - min_lon) * x_scale)
    height = int((max_lat - min_lat) * scale) + 20 + (30 if title else 0)
    top = 30 if title else 10

    def project(lon: float, lat: float) -> tuple[float, float]:
        return 10 + (lon - min_lon) * x_scale * scale, top + (max_lat - lat) * scale

    groups = sorted({a.group for a in areas})
    colour = {g: PALETTE[i % len(PALETTE)] for i, g in enumerate(groups)}
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" font-family="sans-serif">',
           f'<rect width="{width}" height="{height}" fill="#0b1d2e"/>']
    if title:
        out.append(f'<text x="10" y="20" fill="#e0e6ed" font-size="16">{escape(title)}</text>')
    for area in areas:
        out.append(f'<path d="{_path(area.geometry, project)}" fill="{colour[area.group]}" fill-opacity="0.55" '
                   f'stroke="#e0e6ed" stroke-width="0.6" fill-rule="evenodd"><title>{escape(area.code)} '
                   f'{escape(area.name)}</title></path>')
    if labels:
        for area in areas:
            point = area.geometry.representative_point()
            x, y = project(point.x, point.y)
            out.append(f'<text x="{x:.1f}" y="{y:.1f}" fill="#ffffff" font-size="9" text-anchor="middle">'
                       f'{escape(area.name)}</text>')
    out.append("</svg>")
    return "\n".join(out)
