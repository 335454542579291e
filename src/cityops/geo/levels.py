"""The five-level application system (五级应用体系)."""

from enum import StrEnum


class AreaLevel(StrEnum):
    city = "city"
    district = "district"
    street = "street"
    grid = "grid"
    community = "community"

    @property
    def rank(self) -> int:
        return LEVEL_ORDER.index(self)

    def child(self) -> "AreaLevel | None":
        return LEVEL_ORDER[self.rank + 1] if self.rank + 1 < len(LEVEL_ORDER) else None

    def parent(self) -> "AreaLevel | None":
        return LEVEL_ORDER[self.rank - 1] if self.rank > 0 else None


LEVEL_ORDER: tuple[AreaLevel, ...] = tuple(AreaLevel)
