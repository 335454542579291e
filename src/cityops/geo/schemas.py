"""API shapes of the geo domain."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from cityops.geo.coords import Crs
from cityops.geo.levels import AreaLevel


class AreaRefOut(BaseModel):
    code: str
    name: str
    level: AreaLevel


class AreaOut(AreaRefOut):
    parent_code: str | None = Field(description="null for a city, or when the parent lies outside your view")
    synthetic: bool = Field(description="true when the polygon is synthetic (demo data), not an official boundary")
    center: tuple[float, float] = Field(description="a point inside the area, WGS84 lon/lat")
    bbox: tuple[float, float, float, float] = Field(description="min lon, min lat, max lon, max lat (WGS84)")


class AreaDetail(AreaOut):
    chain: list[AreaRefOut] = Field(description="the area's ancestors within your jurisdiction and itself")
    geometry: dict[str, Any] | None = Field(None, description="GeoJSON geometry (WGS84) when requested")


class AreaPage(BaseModel):
    items: list[AreaOut]
    total: int
    limit: int
    offset: int


class GeoJsonFeature(BaseModel):
    type: Literal["Feature"] = "Feature"
    id: str
    properties: dict[str, Any]
    geometry: dict[str, Any]


class GeoJsonFeatureCollection(BaseModel):
    type: Literal["FeatureCollection"] = "FeatureCollection"
    features: list[GeoJsonFeature]
    total: int


class LocateOut(BaseModel):
    lon: float = Field(description="WGS84 longitude of the point")
    lat: float = Field(description="WGS84 latitude of the point")
    input_crs: Crs
    chain: list[AreaRefOut] = Field(description="the point's areas within your jurisdiction, widest first")
    area_code: str | None = Field(description="the deepest area holding the point")
    near_boundary: bool = Field(description="the point lies within the configured distance of a boundary")
    boundary_distance_m: float | None
    placeholder: str | None = Field(description="name of the placeholder location the point matched")
    routable: bool = Field(description="inside an area and not a placeholder: safe to route as a real place")


class ImportSummaryOut(BaseModel):
    level: AreaLevel
    imported: int
    repaired: list[dict[str, str]]
    parents: dict[str, int]
    created_city: str | None
    seconds: float


class PlaceholderIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    lon: float = Field(ge=-180, le=180)
    lat: float = Field(ge=-90, le=90)
    crs: Crs = Crs.wgs84
    radius_m: float = Field(50.0, gt=0, le=5000)
    area_code: str | None = Field(None, description="the area the placeholder belongs to (for scoping)")


class PlaceholderOut(BaseModel):
    id: int
    name: str
    lon: float
    lat: float
    radius_m: float
