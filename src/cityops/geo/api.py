"""HTTP API of the geo domain: areas, locate, import and placeholder points."""

from __future__ import annotations

from typing import Annotated, Literal

import orjson
import shapely
from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import Response

from cityops.deps import DbSession, Reader, requires
from cityops.errors import NotFound
from cityops.files import MEGABYTE, read_limited
from cityops.geo import outlines, service
from cityops.geo.coords import Crs, convert
from cityops.geo.geojson import read_feature_collection
from cityops.geo.levels import AreaLevel
from cityops.geo.models import Area
from cityops.geo.schemas import (
    AreaDetail,
    AreaOut,
    AreaPage,
    AreaRefOut,
    GeoJsonFeatureCollection,
    ImportSummaryOut,
    LocateOut,
    PlaceholderIn,
    PlaceholderOut,
)
from cityops.org.access import Principal, require_jurisdiction
from cityops.org.roles import Permission

router = APIRouter(prefix="/api/v1", tags=["places"])
METRES_PER_DEGREE = 111_320.0
MAX_UPLOAD_BYTES = 50 * MEGABYTE
GEOJSON = "application/geo+json"
MAX_OUTLINES = 2000
Manager = Annotated[Principal, requires(Permission.manage_areas)]


def _area_out(area: Area, viewer: Principal) -> AreaOut:
    """The parent's code is shown only when the parent itself lies in the viewer's jurisdiction."""
    codes = area.path.strip("/").split("/")
    parent_path = "/" + "/".join(codes[:-1]) + "/" if len(codes) > 1 else None
    parent_code = codes[-2] if parent_path and viewer.covers(parent_path) else None
    return AreaOut(code=area.code, name=area.name, level=AreaLevel(area.level), parent_code=parent_code,
                   synthetic=area.synthetic, center=(area.center_lon, area.center_lat),
                   bbox=(area.min_lon, area.min_lat, area.max_lon, area.max_lat))


def _geometry(area: Area, simplify_m: float | None) -> dict:
    geometry = service.geometry_of(area)
    if simplify_m:
        geometry = shapely.simplify(geometry, simplify_m / METRES_PER_DEGREE, preserve_topology=True)
    return shapely.geometry.mapping(geometry)


@router.get("/areas", response_model=AreaPage, summary="List areas in your jurisdiction",
            responses={200: {"content": {GEOJSON: {"schema": GeoJsonFeatureCollection.model_json_schema()}},
                             "description": "a page of areas, or a GeoJSON FeatureCollection"}})
def list_areas(
    session: DbSession,
    viewer: Reader,
    level: AreaLevel | None = None,
    parent: Annotated[str | None, Query(max_length=64, description="code of the parent area")] = None,
    format: Annotated[Literal["json", "geojson"], Query(description="geojson includes geometry")] = "json",
    simplify: Annotated[float | None, Query(ge=0, le=10_000,
                                            description="simplify geometry to this tolerance in metres")] = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
):  # noqa: ANN201
    """Areas whose place lies in your jurisdiction's subtree, widest first. With
    ``format=geojson`` the answer is a FeatureCollection (WGS84), simplified when asked."""
    areas, total = service.list_areas(session, within_path=viewer.area_path, level=level, parent_code=parent,
                                      limit=limit, offset=offset)
    if format == "geojson":
        features = [{"type": "Feature", "id": a.code,
                     "properties": _area_out(a, viewer).model_dump(mode="json"),
                     "geometry": _geometry(a, simplify)} for a in areas]
        body = {"type": "FeatureCollection", "features": features, "total": total}
        return Response(orjson.dumps(body), media_type=GEOJSON)
    return AreaPage(items=[_area_out(a, viewer) for a in areas], total=total, limit=limit,
                    offset=offset)


def _visible_area(session: DbSession, viewer: Principal, code: str) -> Area:
    area = service.get_area(session, code=code)
    if not viewer.covers(area.path):
        raise NotFound(f"no area with code {code!r}", code="unknown_area", field="code")
    return area


@router.get("/public/areas", tags=["citizens"], summary="Area outlines for a map, simplified for a zoom level",
            responses={200: {"content": {GEOJSON: {"schema": GeoJsonFeatureCollection.model_json_schema()}},
                             "description": "a GeoJSON FeatureCollection (WGS84) of code, name and level"}})
def public_outlines(
    session: DbSession,
    level: AreaLevel = AreaLevel.district,
    parent: Annotated[str | None, Query(max_length=64, description="code of the parent area")] = None,
    zoom: Annotated[int, Query(ge=outlines.MIN_ZOOM, le=outlines.MAX_ZOOM,
                               description="web-map zoom level the shapes are drawn at")] = 10,
) -> Response:
    """The shapes citizens tap on to place a report, without an account: names, outlines (each
    simplified to about one pixel at ``zoom``) and a point inside each area (``center``)."""
    areas, total = service.list_areas(session, within_path="/", level=level, parent_code=parent,
                                      limit=MAX_OUTLINES)
    features = [{"type": "Feature", "id": a.code,
                 "properties": {"code": a.code, "name": a.name, "level": a.level,
                                "center": [a.center_lon, a.center_lat]},
                 "geometry": shapely.geometry.mapping(outlines.simplified(service.geometry_of(a), zoom=zoom))}
                for a in areas]
    body = {"type": "FeatureCollection", "features": features, "total": total}
    return Response(orjson.dumps(body), media_type=GEOJSON, headers={"Cache-Control": "public, max-age=300"})


@router.get("/areas/{code}", response_model=AreaDetail, summary="One area, with its chain")
def get_area(
    session: DbSession,
    viewer: Reader,
    code: str,
    geometry: bool = False,
    simplify: Annotated[float | None, Query(ge=0, le=10_000)] = None,
) -> AreaDetail:
    area = _visible_area(session, viewer, code)
    chain = [AreaRefOut(code=a.code, name=a.name, level=AreaLevel(a.level))
             for a in service.area_chain(session, area=area) if viewer.covers(a.path)]
    out = _area_out(area, viewer)
    return AreaDetail(**out.model_dump(), chain=chain, geometry=_geometry(area, simplify) if geometry else None)


@router.get("/locate", response_model=LocateOut, summary="Locate a point: its whole area chain")
def locate(
    request: Request,
    session: DbSession,
    viewer: Reader,
    lon: Annotated[float, Query(ge=-180, le=180)],
    lat: Annotated[float, Query(ge=-90, le=90)],
    crs: Crs = Crs.wgs84,
) -> LocateOut:
    """Resolve a point given in WGS84, GCJ-02 or BD-09 to its areas. Points near a boundary and
    known placeholder locations are flagged; a placeholder is never ``routable``. A point that lies
    outside your jurisdiction answers 403 ``outside_jurisdiction``."""
    wgs_lon, wgs_lat = convert(lon, lat, source=crs, target=Crs.wgs84)
    location = request.app.state.locators.get(session).locate(wgs_lon, wgs_lat)
    if location.leaf is not None:
        leaf = service.get_area_by_id(session, area_id=location.leaf.id)
        require_jurisdiction(viewer, leaf.path, what="point")
    elif viewer.area_level != AreaLevel.city:
        require_jurisdiction(viewer, "/", what="point")
    paths = {a.id: a.path for a in service.area_chain(session, area=leaf)} if location.leaf else {}
    chain = [AreaRefOut(code=ref.code, name=ref.name, level=ref.level) for ref in location.chain
             if viewer.covers(paths.get(ref.id, "/"))]
    return LocateOut(lon=location.lon, lat=location.lat, input_crs=crs, chain=chain,
                     area_code=location.leaf.code if location.leaf else None,
                     near_boundary=location.near_boundary, boundary_distance_m=location.boundary_distance_m,
                     placeholder=location.placeholder, routable=location.routable)


@router.post("/areas/import", response_model=ImportSummaryOut, status_code=201,
             summary="Import one level of areas from GeoJSON (all or nothing)")
async def import_areas(
    session: DbSession,
    manager: Manager,
    file: Annotated[UploadFile, File(description="a GeoJSON FeatureCollection")],
    level: Annotated[AreaLevel, Form()],
    code_field: Annotated[str, Form(min_length=1, max_length=100)],
    name_field: Annotated[str, Form(min_length=1, max_length=100)],
    parent: Annotated[str | None, Form(max_length=64)] = None,
    city: Annotated[str | None, Form(max_length=200)] = None,
    crs: Annotated[Crs, Form()] = Crs.wgs84,
) -> ImportSummaryOut:
    raw = read_limited(file.file, max_bytes=MAX_UPLOAD_BYTES)
    features = read_feature_collection(raw, code_field=code_field, name_field=name_field, crs=crs)
    summary = service.import_areas(session, features=features, level=level, parent_code=parent or None,
                                   city_name=city or None, source=file.filename, actor=manager)
    return ImportSummaryOut(**summary.__dict__)


@router.get("/placeholders", response_model=list[PlaceholderOut], summary="Placeholder locations")
def list_placeholders(session: DbSession, viewer: Reader) -> list[PlaceholderOut]:
    return [PlaceholderOut(id=p.id, name=p.name, lon=p.lon, lat=p.lat, radius_m=p.radius_m)
            for p in service.list_placeholders(session, within_path=viewer.area_path)]


@router.post("/placeholders", response_model=PlaceholderOut, status_code=201,
             summary="Register a placeholder location (never routed as a real place)")
def add_placeholder(session: DbSession, manager: Manager, body: PlaceholderIn) -> PlaceholderOut:
    area = service.get_area(session, code=body.area_code) if body.area_code else \
        service.get_area_by_id(session, area_id=manager.area_id)
    require_jurisdiction(manager, area.path, what="area")
    lon, lat = convert(body.lon, body.lat, source=body.crs, target=Crs.wgs84)
    point = service.add_placeholder(session, name=body.name, lon=lon, lat=lat, radius_m=body.radius_m,
                                    area=area)
    return PlaceholderOut(id=point.id, name=point.name, lon=point.lon, lat=point.lat, radius_m=point.radius_m)

