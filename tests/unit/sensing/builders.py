"""Small builders for the sensing tests: times in minutes from a fixed start, rules with sensible defaults."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import strategies as st

from cityops.sensing.rules import LevelThreshold, Reading, Rule, RuleKind, Scope, SilenceLevel

VALUES = st.integers(0, 50).map(lambda tenth: tenth / 10)
"""Water levels in tenths of a metre, so that thresholds and clear values are met exactly."""
START = datetime(2026, 7, 1, 8, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return START + timedelta(minutes=minutes)


def minutes(count: float) -> timedelta:
    return timedelta(minutes=count)


def series(values: Iterable[float], *, every: float = 1, start: float = 0) -> list[Reading]:
    """One reading per ``every`` minutes from ``start``."""
    return [Reading(at(start + index * every), value) for index, value in enumerate(values)]


def water_rule(**changes: Any) -> Rule:
    """A water-level gauge rule: yellow at 3.0 (clears below 2.8), orange at 3.5 (3.3), red at 4.0 (3.8)."""
    fields: dict[str, Any] = {
        "code": "water-level",
        "kind": RuleKind.threshold,
        "scope": Scope(device_type="water_gauge"),
        "metric": "level_m",
        "levels": (LevelThreshold("yellow", 3.0, 2.8), LevelThreshold("orange", 3.5, 3.3),
                   LevelThreshold("red", 4.0, 3.8)),
    }
    return Rule(**(fields | changes))


def rate_rule(**changes: Any) -> Rule:
    """A rise of more than 0.5 m per hour, measured over at least 10 minutes, is yellow; 1 m per hour red."""
    fields: dict[str, Any] = {
        "code": "water-rise",
        "kind": RuleKind.rate,
        "scope": Scope(device_type="water_gauge"),
        "metric": "level_m",
        "levels": (LevelThreshold("yellow", 0.5, 0.3), LevelThreshold("red", 1.0, 0.8)),
        "rate_window": minutes(10),
        "rate_per": timedelta(hours=1),
    }
    return Rule(**(fields | changes))


def silence_rule(**changes: Any) -> Rule:
    """Yellow after 15 minutes without a reading, red after an hour."""
    fields: dict[str, Any] = {
        "code": "gauge-silent",
        "kind": RuleKind.no_data,
        "scope": Scope(device_type="water_gauge"),
        "metric": "level_m",
        "silence_levels": (SilenceLevel("yellow", minutes(15)), SilenceLevel("red", minutes(60))),
    }
    return Rule(**(fields | changes))


@st.composite
def histories(draw, *, values=VALUES, min_size=0) -> list[Reading]:
    """Readings in time order, 1 second to 5 minutes apart."""
    gaps = draw(st.lists(st.integers(1, 300), min_size=min_size, max_size=40))
    elapsed, readings = 0, []
    for gap in gaps:
        elapsed += gap
        readings.append(Reading(at(elapsed / 60), draw(values)))
    return readings
