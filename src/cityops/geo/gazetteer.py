"""Placing a report by its address when it comes without coordinates (a hotline call, a letter):
the deepest area whose full name the address contains, chosen so that the other names it contains
agree with it.

"上海市黄浦区南京东路街道云南中路100号" names 上海市, 黄浦区 and 南京东路街道, one chain: the case
belongs to 南京东路街道. A street name shared by two districts is settled by the district named
beside it; when nothing settles it, the answer is the deepest area the candidates have in common
below the city, or nothing — a guess would send the case to the wrong department. Only full names
count (黄浦区, not 黄浦): a road called 南京东路 is not the street 南京东路街道.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from cityops.geo.locator import AreaRef

MIN_NAME_LENGTH = 2


@dataclass(frozen=True)
class AddressMatch:
    chain: tuple[AreaRef, ...]
    """The area the address places the case in, with its ancestors, city first."""
    named: tuple[str, ...]
    """The area names found in the address that agree with it, city first."""
    ambiguous: bool
    """True when the address named areas in different places and only their common ancestor is given."""


def _normal(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).split())


class Gazetteer:
    def __init__(self, chains: Sequence[tuple[AreaRef, ...]]) -> None:
        self._chains = [c for c in chains if c]
        self._names = [_normal(c[-1].name) for c in self._chains]

    def match(self, address: str) -> AddressMatch | None:
        text = _normal(address or "")
        found = [i for i, name in enumerate(self._names) if len(name) >= MIN_NAME_LENGTH and name in text]
        if not found:
            return None
        named_ids = {self._chains[i][-1].id for i in found}

        def support(index: int) -> int:
            return sum(ref.id in named_ids for ref in self._chains[index])

        best = max(support(i) for i in found)
        leaders = [i for i in found if support(i) == best]
        deepest = max(len(self._chains[i]) for i in leaders)
        leaders = [i for i in leaders if len(self._chains[i]) == deepest]
        if len(leaders) == 1:
            chain = self._chains[leaders[0]]
            return AddressMatch(chain=chain, named=tuple(r.name for r in chain if r.id in named_ids), ambiguous=False)
        common = _common_prefix([self._chains[i] for i in leaders])
        if len(common) < 2:  # only the city, or nothing, in common: no place worth routing to
            return None
        return AddressMatch(chain=common, named=tuple(r.name for r in common if r.id in named_ids), ambiguous=True)


def _common_prefix(chains: Sequence[tuple[AreaRef, ...]]) -> tuple[AreaRef, ...]:
    common: list[AreaRef] = []
    for refs in zip(*chains, strict=False):
        if any(r.id != refs[0].id for r in refs):
            break
        common.append(refs[0])
    return tuple(common)
