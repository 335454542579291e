"""Where imported rows lie, and how often the platform's answer agrees with the source's own.

The import locates each case with the store's areas and placeholders plus the mapping's placeholder
points. A ``[compare]`` entry ``area.<level>`` asks which area *of that level* holds the row's point,
answered by a locator of that level alone: with a tree whose levels nest (a street inside one
district) this is the area on the case's chain, but boundary sets drawn independently (Los Angeles'
neighbourhood councils straddle council districts) nest only approximately, and the case's chain then
follows its street's parent. Those cases are counted as ``chain_differs`` instead of being hidden.

Each share is over the rows the source gives an answer for and whose point is real (not missing,
(0, 0) or a placeholder): a point outside every area of the level counts against agreement.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sqlalchemy.orm import Session

from cityops.errors import InvalidInput
from cityops.geo import service as geo_service
from cityops.geo.levels import AreaLevel
from cityops.geo.locator import AreaShape, Locator, Placeholder
from cityops.history.mapping import CompareSpec, HistoryMapping

ALL = 10**9


def _shapes(session: Session, level: AreaLevel | None = None, *, nested: bool = True) -> list[AreaShape]:
    areas, _ = geo_service.list_areas(session, within_path="/", level=level, limit=ALL)
    return [AreaShape(id=a.id, code=a.code, name=a.name, level=AreaLevel(a.level),
                      parent_id=a.parent_id if nested else None, geometry=geo_service.geometry_of(a)) for a in areas]


def import_locator(session: Session, *, mapping: HistoryMapping, boundary_distance_m: float,
                   placeholder_radius_m: float) -> Locator:
    """The store's areas and placeholder points, plus the mapping's placeholders (which the store
    need not know: they describe the source system, not the city)."""
    placeholders = [Placeholder(name=p.name, lon=p.lon, lat=p.lat, radius_m=p.radius_m)
                    for p in geo_service.list_placeholders(session)]
    placeholders += [Placeholder(name=f"{mapping.name} default point ({p.lon:.5f}, {p.lat:.5f})", lon=p.lon,
                                 lat=p.lat, radius_m=p.radius_m or placeholder_radius_m)
                     for p in mapping.placeholder_points]
    return Locator(_shapes(session), placeholders, boundary_distance_m=boundary_distance_m)


def level_locators(session: Session, *, specs: Sequence[CompareSpec],
                   boundary_distance_m: float) -> dict[AreaLevel, Locator]:
    """One locator per compared level, over that level's areas alone. Refuses a level the store has
    no areas of, before anything is imported: its agreement would mean nothing."""
    locators = {}
    for spec in specs:
        level = spec.level
        if level is None or level in locators:
            continue
        shapes = _shapes(session, level, nested=False)
        if not shapes:
            raise InvalidInput(f"compare {spec.target}: the store has no {level.value} areas; import the "
                               "boundaries to compare against first (cityops areas import)",
                               field=f"compare.{spec.target}")
        locators[level] = Locator(shapes, boundary_distance_m=boundary_distance_m)
    return locators


def chain_code(area_path: str | None, level: AreaLevel) -> str | None:
    codes = (area_path or "").strip("/").split("/")
    return codes[level.rank] if area_path and len(codes) > level.rank else None


@dataclass
class Agreement:
    target: str
    compared: int = 0
    agree: int = 0
    platform_none: int = 0
    """Compared rows the platform has no answer for: the point lies in no area of the level, or the
    matrix cannot route the case (counted as disagreeing)."""
    no_location: int = 0
    """Rows the source answers for that have no real point (none, (0, 0) or a placeholder)."""
    no_source_value: int = 0
    chain_differs: int = 0
    """Rows whose case's chain names another area at this level than the one holding the point."""

    @property
    def share(self) -> float | None:
        return round(self.agree / self.compared, 4) if self.compared else None

    def counts(self) -> dict[str, int]:
        counts = {"compared": self.compared, "agree": self.agree, "platform_none": self.platform_none,
                  "no_location": self.no_location, "no_source_value": self.no_source_value}
        return counts | ({"chain_differs": self.chain_differs} if self.target.startswith("area.") else {})


@dataclass(frozen=True, slots=True)
class Placed:
    """What the platform made of one imported row."""

    lon: float | None
    lat: float | None
    """The point, when it is real (not missing, (0, 0) or a placeholder)."""
    area_path: str | None
    routed_lead: str | None
    source: tuple[str | None, ...]


def agreements(placed: Sequence[Placed], *, specs: Sequence[CompareSpec],
               locators: dict[AreaLevel, Locator]) -> list[Agreement]:
    results = []
    for index, spec in enumerate(specs):
        agreement = Agreement(spec.target)
        platform: list[str | None]
        if spec.level is not None:
            platform = _codes_at(placed, locators[spec.level])
        else:
            platform = [p.routed_lead for p in placed]
        for row, answer in zip(placed, platform, strict=True):
            expected = row.source[index]
            if expected is None:
                agreement.no_source_value += 1
            elif spec.level is not None and row.lon is None:
                agreement.no_location += 1
            else:
                agreement.compared += 1
                agreement.agree += answer == expected
                agreement.platform_none += answer is None
            if spec.level is not None and answer is not None:
                on_chain = chain_code(row.area_path, spec.level)
                agreement.chain_differs += on_chain is not None and on_chain != answer
        results.append(agreement)
    return results


def _codes_at(placed: Sequence[Placed], locator: Locator) -> list[str | None]:
    real = [i for i, p in enumerate(placed) if p.lon is not None]
    codes: list[str | None] = [None] * len(placed)
    if not real:
        return codes
    batch = locator.locate_many(np.array([placed[i].lon for i in real]), np.array([placed[i].lat for i in real]))
    for i, area_id in zip(real, batch.area_ids.tolist(), strict=True):
        codes[i] = locator.chain(area_id)[-1].code if area_id >= 0 else None
    return codes
