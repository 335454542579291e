"""Use cases of the geo domain: areas, placeholder points, import and locate."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import shapely
from shapely.geometry.base import BaseGeometry
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from cityops import reference, stamps
from cityops.errors import Conflict, InvalidInput, NotFound, OutsideJurisdiction
from cityops.geo.geojson import ParsedFeature, assign_parents
from cityops.geo.levels import AreaLevel
from cityops.geo.locator import AreaShape, Locator, Placeholder
from cityops.geo.models import Area, ChangeStamp, PlaceholderPoint
from cityops.org.access import Principal, require_jurisdiction

AREAS_STAMP = "areas"


def geometry_of(area: Area) -> BaseGeometry:
    return shapely.from_wkb(area.geometry_wkb)


def get_area(session: Session, *, code: str) -> Area:
    area = session.scalar(select(Area).where(Area.code == code))
    if area is None:
        raise NotFound(f"no area with code {code!r}", code="unknown_area", field="area_code")
    return area


def get_area_by_id(session: Session, *, area_id: int) -> Area:
    area = session.get(Area, area_id)
    if area is None:
        raise NotFound(f"no area with id {area_id}", code="unknown_area")
    return area


@dataclass(frozen=True)
class AreaKey:
    """What other domains file a record under: an area's id, code, path and level."""

    id: int
    code: str
    path: str
    level: str


def area_key(session: Session, *, area_id: int) -> AreaKey:
    """The id, code, path and level of area ``area_id`` (kept until areas change; the polygon is not read)."""
    memo = reference.memo(session)
    if ("area", area_id) not in memo:
        row = session.execute(select(Area.id, Area.code, Area.path, Area.level).where(Area.id == area_id)).first()
        if row is None:
            raise NotFound(f"no area with id {area_id}", code="unknown_area")
        memo["area", area_id] = AreaKey(*row)
    return memo["area", area_id]


def chain_keys(session: Session, *, code: str) -> list[AreaKey]:
    """Area ``code`` and its ancestors, city first, as keys (kept until areas change)."""
    memo = reference.memo(session)
    if ("chain", code) not in memo:
        path = session.scalar(select(Area.path).where(Area.code == code))
        if path is None:
            raise NotFound(f"no area with code {code!r}", code="unknown_area", field="area_code")
        codes = [c for c in path.strip("/").split("/") if c]
        by_code = {row.code: AreaKey(*row) for row in session.execute(
            select(Area.id, Area.code, Area.path, Area.level).where(Area.code.in_(codes)))}
        memo["chain", code] = [by_code[c] for c in codes if c in by_code]
    return list(memo["chain", code])


def area_keys(session: Session, *, within_path: str, level: str) -> list[AreaKey]:
    """The areas of ``level`` under ``within_path`` (itself included), by path; kept until areas change."""
    memo = reference.memo(session)
    if ("level", within_path, level) not in memo:
        rows = session.execute(select(Area.id, Area.code, Area.path, Area.level).where(
            Area.path.startswith(within_path, autoescape=True), Area.level == level).order_by(Area.path))
        memo["level", within_path, level] = [AreaKey(*row) for row in rows]
    return list(memo["level", within_path, level])


def path_within(session: Session, *, viewer: Principal, area_code: str | None) -> str:
    """The area path a list is filtered to: the viewer's jurisdiction, or the area ``area_code`` inside
    it (an area outside it is not found, field ``area``)."""
    if area_code is None:
        return viewer.area_path
    area = get_area(session, code=area_code)
    if not viewer.covers(area.path):
        raise NotFound(f"no area with code {area_code!r}", code="unknown_area", field="area")
    return area.path


def area_chain(session: Session, *, area: Area) -> list[Area]:
    """The area and its ancestors, city first."""
    codes = [c for c in area.path.strip("/").split("/") if c]
    by_code = {a.code: a for a in session.scalars(select(Area).where(Area.code.in_(codes)))}
    return [by_code[c] for c in codes if c in by_code]


def list_areas(session: Session, *, within_path: str, level: AreaLevel | None = None,
               parent_code: str | None = None, limit: int = 500, offset: int = 0) -> tuple[list[Area], int]:
    query = select(Area).where(Area.path.startswith(within_path, autoescape=True))
    if level is not None:
        query = query.where(Area.level == level.value)
    if parent_code is not None:
        parent = session.scalar(select(Area).where(Area.code == parent_code))
        query = query.where(Area.parent_id == (parent.id if parent else -1))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(Area.path).limit(limit).offset(offset)).all()
    return list(rows), total


def has_areas(session: Session) -> bool:
    return session.scalar(select(func.count()).select_from(Area)) > 0


def bump_areas_stamp(session: Session) -> None:
    """Tell every process's locator that areas or placeholders changed."""
    updated = session.execute(
        update(ChangeStamp).where(ChangeStamp.name == AREAS_STAMP).values(version=ChangeStamp.version + 1))
    if updated.rowcount == 0:
        session.add(ChangeStamp(name=AREAS_STAMP, version=1))
    session.flush()


def areas_stamp(session: Session) -> int:
    return stamps.current(session).get(AREAS_STAMP, 0)


@dataclass
class ImportSummary:
    level: str
    imported: int
    repaired: list[dict[str, str]] = field(default_factory=list)
    parents: dict[str, int] = field(default_factory=dict)
    created_city: str | None = None
    seconds: float = 0.0


def count_areas_not_from(session: Session, *, origin: str) -> int:
    return session.scalar(select(func.count()).select_from(Area).where(Area.origin != origin)) or 0


def area_row(*, code: str, name: str, level: AreaLevel, parent: Area | None, geometry: BaseGeometry,
             synthetic: bool, origin: str, source: str | None) -> Area:
    """An unsaved area row with its path, bounding box and centre computed: the one place an area's
    derived columns are worked out, for single creates and bulk loads alike."""
    min_lon, min_lat, max_lon, max_lat = geometry.bounds
    centre = geometry.representative_point()
    return Area(code=code, name=name, level=level.value, parent_id=parent.id if parent else None,
                path=(parent.path if parent else "/") + code + "/", geometry_wkb=shapely.to_wkb(geometry),
                min_lon=min_lon, min_lat=min_lat, max_lon=max_lon, max_lat=max_lat,
                center_lon=centre.x, center_lat=centre.y, synthetic=synthetic, origin=origin, source=source)


def create_area(session: Session, *, code: str, name: str, level: AreaLevel, parent: Area | None,
                geometry: BaseGeometry, synthetic: bool = False, origin: str = "api",
                source: str | None = None) -> Area:
    _check_nesting(level, parent)
    if session.scalar(select(Area.id).where(Area.code == code)) is not None:
        raise Conflict(f"area code {code!r} already exists", code="duplicate_code", field="code")
    area = area_row(code=code, name=name, level=level, parent=parent, geometry=geometry,
                     synthetic=synthetic, origin=origin, source=source)
    session.add(area)
    session.flush()
    bump_areas_stamp(session)
    return area


def _check_nesting(level: AreaLevel, parent: Area | None) -> None:
    if parent is None:
        if level is not AreaLevel.city:
            raise InvalidInput(f"a {level.value} needs a parent {level.parent().value}", field="parent")
        return
    if AreaLevel(parent.level) is not level.parent():
        raise InvalidInput(f"a {level.value} cannot sit under a {parent.level} ({parent.code}); "
                           f"its parent must be a {level.parent().value}", field="parent")


MUNICIPALITY_PREFIXES = {"11", "12", "31", "50"}  # 北京, 天津, 上海, 重庆: the city is the province


def city_code_for(district_codes: set[str], name: str) -> str:
    """The city's administrative code from its districts' six-digit codes (320102 → 320100; for a
    municipality, 310101 → 310000); the name when the codes are not administrative codes."""
    if not district_codes or not all(len(c) == 6 and c.isdigit() for c in district_codes):
        return name
    prefixes = {c[:4] for c in district_codes}
    if len(prefixes) != 1:
        return name
    prefix = prefixes.pop()
    return prefix[:2] + "0000" if prefix[:2] in MUNICIPALITY_PREFIXES else prefix + "00"


def import_areas(session: Session, *, features: Sequence[ParsedFeature], level: AreaLevel,
                 parent_code: str | None = None, city_name: str | None = None, origin: str = "import",
                 source: str | None = None, synthetic: bool = False,
                 actor: Principal | None = None) -> ImportSummary:
    """Add one level of areas, all or nothing: the caller's unit of work rolls back on any error.

    Each feature nests under ``parent_code`` when given, else under the existing area one level up
    that covers most of it; ``city_name`` nests districts under that city, created on first use
    as the union of the features. With an ``actor``, every parent must lie in its jurisdiction
    (so an API caller can never create a new city); the command line passes none."""
    started = time.perf_counter()
    if not features:
        raise InvalidInput("the file holds no features", field="features")
    clashes = session.scalars(select(Area.code).where(Area.code.in_([f.code for f in features]))).all()
    if clashes:
        raise Conflict(f"{len(clashes)} area code(s) already exist: {', '.join(sorted(clashes)[:10])}",
                       code="duplicate_code", field="code", extra={"codes": sorted(clashes)})
    summary = ImportSummary(level=level.value, imported=0)
    parents: list[Area | None]
    if parent_code is not None:
        parent = get_area(session, code=parent_code)
        _check_nesting(level, parent)
        parents = [parent] * len(features)
    elif city_name is not None:
        if level is not AreaLevel.district:
            raise InvalidInput("--city nests districts under a city; use --parent for other levels",
                               field="city")
        city = session.scalar(select(Area).where(Area.level == AreaLevel.city.value, Area.name == city_name))
        if city is None:
            if actor is not None:
                raise OutsideJurisdiction(f"there is no city named {city_name!r} in your jurisdiction")
            union = shapely.union_all([f.geometry for f in features])
            city = create_area(session, code=city_code_for({f.code for f in features}, city_name), name=city_name,
                               level=AreaLevel.city, parent=None, geometry=union, origin=origin, source=source)
            summary.created_city = city.code
        parents = [city] * len(features)
    elif level is AreaLevel.city:
        parents = [None] * len(features)
    else:
        parents = _parents_by_containment(session, features, level)
    for parent in {p.id: p for p in parents if p is not None}.values():
        if actor is not None:
            require_jurisdiction(actor, parent.path, what="parent area")
    if actor is not None and any(p is None for p in parents):
        raise OutsideJurisdiction("only the command line may create a city")
    for feature, parent in zip(features, parents, strict=True):
        _check_nesting(level, parent)
        session.add(area_row(code=feature.code, name=feature.name, level=level, parent=parent,
                              geometry=feature.geometry, synthetic=synthetic, origin=origin, source=source))
        summary.imported += 1
        if parent is not None:
            summary.parents[parent.code] = summary.parents.get(parent.code, 0) + 1
        if feature.repaired:
            summary.repaired.append({"code": feature.code, "name": feature.name, "reason": feature.repaired})
    session.flush()
    bump_areas_stamp(session)
    summary.seconds = round(time.perf_counter() - started, 3)
    return summary


def _parents_by_containment(session: Session, features: Sequence[ParsedFeature],
                            level: AreaLevel) -> list[Area | None]:
    parent_level = level.parent()
    candidates = session.scalars(select(Area).where(Area.level == parent_level.value)).all()
    if not candidates:
        raise InvalidInput(f"no {parent_level.value} exists to hold these {level.value} areas; import "
                           f"that level first or pass --parent", field="parent")
    shapes = [AreaShape(id=a.id, code=a.code, name=a.name, level=AreaLevel(a.level), parent_id=a.parent_id,
                        geometry=geometry_of(a)) for a in candidates]
    by_id = {a.id: a for a in candidates}
    parent_ids = assign_parents(features, shapes)
    orphans = [f for f, pid in zip(features, parent_ids, strict=True) if pid is None]
    if orphans:
        names = ", ".join(f"{f.code} {f.name}" for f in orphans[:10])
        raise InvalidInput(f"{len(orphans)} feature(s) lie in no {parent_level.value}: {names}",
                           code="no_parent", field=f"features[{orphans[0].index}]")
    return [by_id[pid] for pid in parent_ids]


def add_placeholder(session: Session, *, name: str, lon: float, lat: float, radius_m: float,
                    area: Area | None, origin: str = "api") -> PlaceholderPoint:
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise InvalidInput("longitude/latitude out of range", field="lon")
    if radius_m <= 0:
        raise InvalidInput("radius must be positive", field="radius_m")
    point = PlaceholderPoint(name=name, lon=lon, lat=lat, radius_m=radius_m,
                             area_id=area.id if area else None, origin=origin)
    session.add(point)
    session.flush()
    bump_areas_stamp(session)
    return point


def list_placeholders(session: Session, *, within_path: str | None = None) -> list[PlaceholderPoint]:
    query = select(PlaceholderPoint).order_by(PlaceholderPoint.id)
    if within_path is not None:
        query = query.join(Area, PlaceholderPoint.area_id == Area.id).where(
            Area.path.startswith(within_path, autoescape=True))
    return list(session.scalars(query))


def build_locator(session: Session, *, boundary_distance_m: float) -> Locator:
    areas = session.execute(select(Area.id, Area.code, Area.name, Area.level, Area.parent_id,
                                   Area.geometry_wkb)).all()
    shapes = [AreaShape(id=row.id, code=row.code, name=row.name, level=AreaLevel(row.level),
                        parent_id=row.parent_id, geometry=shapely.from_wkb(row.geometry_wkb)) for row in areas]
    placeholders = [Placeholder(name=p.name, lon=p.lon, lat=p.lat, radius_m=p.radius_m)
                    for p in session.scalars(select(PlaceholderPoint))]
    return Locator(shapes, placeholders, boundary_distance_m=boundary_distance_m)


class LocatorCache:
    """One locator per process, rebuilt when the areas stamp moves (in this or another process)."""

    def __init__(self, *, boundary_distance_m: float) -> None:
        self.boundary_distance_m = boundary_distance_m
        self._version = -1
        self._locator: Locator | None = None

    def get(self, session: Session) -> Locator:
        version = areas_stamp(session)
        if self._locator is None or version != self._version:
            self._locator = build_locator(session, boundary_distance_m=self.boundary_distance_m)
            self._version = version
        return self._locator
