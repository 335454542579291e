"""Routing: which department leads a case, from its category and its place. Pure rules over plain
data, tested without a database (the service in ``responsibility.py`` loads the data).

The responsibility matrix (权责清单) maps (category, area) to a lead department and assisting ones.
A case is routed by the **most specific area first** — community → grid → street → district →
city — and, within one area, by the most specific category first (the subclass before its major
class). So a street's entry for a whole major class beats a district's entry for the exact
subclass: the closer owner wins. When no entry matches anywhere in the chain, the street's own
fallback department takes the case (属地兜底). A case is never routed nowhere: if there is no
street, or the street has no fallback department, ``route`` raises ``Unroutable``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from cityops.errors import Conflict
from cityops.geo.levels import AreaLevel


class JointMode(StrEnum):
    """How lead and assisting departments work together (联办): at once, or one after another in
    the listed order."""

    parallel = "parallel"
    serial = "serial"


class Unroutable(Conflict):
    """No department can take the case. A 409, not a 422: the request is sound, but the
    configuration (a matrix entry, or the street's fallback department) is missing; the case waits
    for manual dispatch until an administrator fills the gap."""

    code = "unroutable"
    title = "Unroutable"


class AreaLike(Protocol):
    @property
    def code(self) -> str: ...

    @property
    def level(self) -> str: ...


@dataclass(frozen=True)
class AreaRef:
    code: str
    level: AreaLevel


@dataclass(frozen=True)
class MatrixEntry:
    lead: str
    assisting: tuple[str, ...] = ()
    joint_mode: JointMode = JointMode.parallel


@dataclass(frozen=True)
class RouteDecision:
    lead: str
    assisting: tuple[str, ...]
    joint_mode: JointMode
    matched_area: str
    matched_category: str | None
    """None when the case fell back to the street's department."""
    fallback: bool
    reason: str


def _check_chain(area_chain: Sequence[AreaLike]) -> None:
    ranks = [AreaLevel(a.level).rank for a in area_chain]
    if any(later <= earlier for earlier, later in zip(ranks, ranks[1:], strict=False)):
        raise ValueError("area_chain must run from the widest area to the deepest (city first), "
                         "one area per level")


def route(*, category_chain: Sequence[str], area_chain: Sequence[AreaLike],
          matrix: Mapping[tuple[str, str], MatrixEntry], fallbacks: Mapping[str, str]) -> RouteDecision:
    """Decide who leads a case.

    ``category_chain``: category codes, most specific first (the subclass, then its major class).
    ``area_chain``: the case's areas **city first**, down to the deepest known (as ``locate`` and
    ``geo.service.area_chain`` give them); anything with ``code`` and ``level``.
    ``matrix``: ``(category_code, area_code)`` → entry. ``fallbacks``: area code → the code of the
    department taking unowned cases there.
    """
    _check_chain(area_chain)
    for area in reversed(area_chain):
        for category in category_chain:
            entry = matrix.get((category, area.code))
            if entry is not None:
                return RouteDecision(
                    lead=entry.lead, assisting=tuple(entry.assisting), joint_mode=entry.joint_mode,
                    matched_area=area.code, matched_category=category, fallback=False,
                    reason=f"responsibility matrix: {category} in {area.level} {area.code}")
    searched = f"{'/'.join(category_chain)} in {' → '.join(a.code for a in area_chain) or 'no area'}"
    street = next((a for a in area_chain if a.level == AreaLevel.street), None)
    if street is None:
        raise Unroutable(f"no matrix entry for {searched}, and the place lies in no street to fall back on",
                         field="area_code")
    lead = fallbacks.get(street.code)
    if lead is None:
        raise Unroutable(f"no matrix entry for {searched}, and street {street.code} has no fallback "
                         f"department (属地兜底)", field="area_code")
    return RouteDecision(lead=lead, assisting=(), joint_mode=JointMode.parallel, matched_area=street.code,
                         matched_category=None, fallback=True,
                         reason=f"属地兜底: no matrix entry for {searched}; street {street.code}'s fallback "
                                f"department")
