"""The demo city's area tree: the real city and districts, then synthetic streets, grids and
communities that subdivide them exactly. The city, districts and streets go through the geo
service's create and import use cases; the thousands of grids and communities are rows built by
the same function the geo service uses (``area_row``) and added level by level in bulk.

Streets carry their real names and codes; their polygons are made up (no free street boundaries
exist for these cities), and so are every grid and community. All of those are ``synthetic``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import shapely
from shapely.geometry.base import BaseGeometry
from sqlalchemy.orm import Session

from cityops.demo import catalogue
from cityops.demo.catalogue import ORIGIN, CityPlan
from cityops.demo.sources import CitySource, StreetRecord
from cityops.demo.subdivide import subdivide
from cityops.geo import service as geo_service
from cityops.geo.geojson import ParsedFeature
from cityops.geo.levels import AreaLevel
from cityops.geo.models import Area

Progress = Callable[[str, int, int], None]

DISTRICT_SOURCE = "DataV.GeoAtlas boundaries (GCJ-02, converted to WGS84)"
STREET_SOURCE = "synthetic polygon; official name and code from the AreaCity street listing"
SYNTHETIC_SOURCE = "synthetic (demo city)"


@dataclass(frozen=True)
class AreaRef:
    """What later steps need of an area: enough to name units and bind users."""

    code: str
    name: str
    level: AreaLevel


@dataclass
class DemoAreas:
    city: AreaRef
    districts: list[AreaRef] = field(default_factory=list)
    streets: dict[str, list[AreaRef]] = field(default_factory=dict)
    """District code → its streets, in code order."""

    def all_streets(self) -> list[AreaRef]:
        return [street for district in self.districts for street in self.streets.get(district.code, [])]


def build_areas(session: Session, *, city: CityPlan, source: CitySource, progress: Progress) -> DemoAreas:
    city_geometry = shapely.union_all([f.geometry for f in source.districts])
    x_scale = math.cos(math.radians(city_geometry.centroid.y))
    city_area = geo_service.create_area(session, code=city.code, name=city.name, level=AreaLevel.city,
                                        parent=None, geometry=city_geometry, origin=ORIGIN,
                                        source=DISTRICT_SOURCE)
    built = DemoAreas(city=_ref(city_area))
    geo_service.import_areas(session, features=source.districts, level=AreaLevel.district,
                             parent_code=city.code, origin=ORIGIN, source=DISTRICT_SOURCE)
    built.districts = [AreaRef(f.code, f.name, AreaLevel.district) for f in source.districts]
    progress("districts", len(source.districts), len(source.districts))

    total_streets = sum(len(found) for found in source.streets.values())
    done = 0
    street_parts: list[tuple[StreetRecord, BaseGeometry]] = []
    for district in source.districts:
        streets = source.streets.get(district.code, [])
        if not streets:
            continue
        parts = subdivide(district.geometry, len(streets), seed=catalogue.seed_of(district.code),
                          x_scale=x_scale)
        pairs = list(zip(streets, parts, strict=True))
        features = [_feature(i, street.code, street.name, part) for i, (street, part) in enumerate(pairs)]
        geo_service.import_areas(session, features=features, level=AreaLevel.street,
                                 parent_code=district.code, origin=ORIGIN, source=STREET_SOURCE,
                                 synthetic=True)
        built.streets[district.code] = [AreaRef(s.code, s.name, AreaLevel.street) for s in streets]
        street_parts.extend(pairs)
        done += len(streets)
        progress("streets", done, total_streets)

    _build_grids_and_communities(session, city_area, street_parts, x_scale, progress)
    return built


def _build_grids_and_communities(session: Session, city_area: Area,
                                 street_parts: list[tuple[StreetRecord, BaseGeometry]], x_scale: float,
                                 progress: Progress) -> None:
    """Grids under every street and communities under every grid, written level by level in bulk:
    thousands of areas one call each would take most of the load's time."""
    streets = {a.code: a for a in geo_service.list_areas(session, within_path=city_area.path,
                                                          level=AreaLevel.street, limit=len(street_parts))[0]}
    grids_of: list[tuple[StreetRecord, list[Area]]] = []
    for number, (record, geometry) in enumerate(street_parts, start=1):
        parts = subdivide(geometry, catalogue.grid_count(record.code), seed=catalogue.seed_of(record.code),
                          x_scale=x_scale)
        street = streets[record.code]
        grids_of.append((record, [
            _synthetic(catalogue.grid_code(record.code, i + 1), catalogue.grid_name(record.name, i + 1),
                       AreaLevel.grid, street, part) for i, part in enumerate(parts)]))
        progress("grids", number, len(street_parts))
    session.add_all(grid for _, grids in grids_of for grid in grids)
    session.flush()
    communities: list[Area] = []
    for number, (record, grids) in enumerate(grids_of, start=1):
        counts = [catalogue.community_count(grid.code) for grid in grids]
        names = iter(catalogue.community_names(record.code, record.name, sum(counts)))
        for grid, count in zip(grids, counts, strict=True):
            parts = subdivide(geo_service.geometry_of(grid), count, seed=catalogue.seed_of(grid.code),
                              x_scale=x_scale)
            communities.extend(_synthetic(catalogue.community_code(grid.code, i + 1), next(names),
                                          AreaLevel.community, grid, part) for i, part in enumerate(parts))
        progress("communities", number, len(grids_of))
    session.add_all(communities)
    session.flush()
    geo_service.bump_areas_stamp(session)


def _synthetic(code: str, name: str, level: AreaLevel, parent: Area, geometry: BaseGeometry) -> Area:
    return geo_service.area_row(code=code, name=name, level=level, parent=parent, geometry=geometry,
                                synthetic=True, origin=ORIGIN, source=SYNTHETIC_SOURCE)


def _feature(index: int, code: str, name: str, geometry: BaseGeometry) -> ParsedFeature:
    return ParsedFeature(index=index, code=code, name=name, geometry=geometry, repaired=None,
                         properties={"synthetic": True})


def _ref(area: Area) -> AreaRef:
    return AreaRef(area.code, area.name, AreaLevel(area.level))
