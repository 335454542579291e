"""Duplicate reports (重复件): pure scoring of how likely a new report describes the same problem as
an open case — distance, time apart, text similarity, and whether their categories are the same or
related (siblings under one parent). Tested without a database."""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta

from cityops.geo.locator import equirectangular_m

RELATED_CATEGORY_FACTOR = 0.8
WEIGHTS = {"distance": 0.35, "time": 0.15, "text": 0.5}
_NOT_WORDS = re.compile(r"[\W_]+", re.UNICODE)


@dataclass(frozen=True)
class DuplicateRule:
    radius_m: float
    window: timedelta


@dataclass(frozen=True)
class Sighting:
    """What duplicate detection knows of a report or a case."""

    case_id: int | None
    category_code: str | None
    parent_code: str | None
    lon: float
    lat: float
    at: datetime
    text: str


@dataclass(frozen=True)
class Match:
    case_id: int
    score: float
    distance_m: float
    minutes: float
    text_similarity: float
    same_category: bool


def normalise(text: str) -> str:
    return _NOT_WORDS.sub("", unicodedata.normalize("NFKC", text).lower())


def bigrams(text: str) -> frozenset[str]:
    plain = normalise(text)
    if len(plain) < 2:
        return frozenset({plain}) if plain else frozenset()
    return frozenset(plain[i:i + 2] for i in range(len(plain) - 1))


def text_similarity(a: str, b: str) -> float:
    """Dice coefficient of character bigrams: works for Chinese without a word segmenter, and is
    kinder than Jaccard to the short texts reports are (小区门口暴露垃圾 / 小区门口有暴露垃圾: 0.80)."""
    left, right = bigrams(a), bigrams(b)
    if not left or not right:
        return 0.0
    return 2 * len(left & right) / (len(left) + len(right))


def related(a: Sighting, b: Sighting) -> bool | None:
    """True for the same category, False for siblings under one parent, None when unrelated or unknown."""
    if a.category_code is None or b.category_code is None:
        return None
    if a.category_code == b.category_code:
        return True
    if a.parent_code is not None and a.parent_code == b.parent_code:
        return False
    return None


def score(new: Sighting, candidate: Sighting, rule: DuplicateRule) -> Match | None:
    """How alike the two are, 0–1; None when they are too far apart in space, time or kind."""
    same = related(new, candidate)
    if same is None or candidate.case_id is None:
        return None
    distance = float(equirectangular_m(new.lon, new.lat, candidate.lon, candidate.lat))
    apart = abs(new.at - candidate.at)
    if distance > rule.radius_m or apart > rule.window:
        return None
    closeness = 1.0 - distance / rule.radius_m if rule.radius_m else 1.0
    recency = 1.0 - apart / rule.window if rule.window else 1.0
    similarity = text_similarity(new.text, candidate.text)
    total = WEIGHTS["distance"] * closeness + WEIGHTS["time"] * recency + WEIGHTS["text"] * similarity
    if not same:
        total *= RELATED_CATEGORY_FACTOR
    return Match(case_id=candidate.case_id, score=round(total, 4), distance_m=round(distance, 1),
                 minutes=round(apart.total_seconds() / 60, 1), text_similarity=round(similarity, 4),
                 same_category=same)


def rank(new: Sighting, candidates: list[Sighting], rule: DuplicateRule, *, limit: int = 5) -> list[Match]:
    matches = [m for m in (score(new, c, rule) for c in candidates) if m is not None]
    return sorted(matches, key=lambda m: (-m.score, m.distance_m))[:limit]


def priority_for(report_count: int) -> int:
    """More reports of one problem raise its priority: 0 for one report, +1 per doubling, at most 5."""
    return min(5, int(math.log2(max(report_count, 1))))
