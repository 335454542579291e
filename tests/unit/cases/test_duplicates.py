"""Duplicate scoring, without a database."""

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cityops.cases.duplicates import DuplicateRule, Sighting, priority_for, rank, score, text_similarity

RULE = DuplicateRule(radius_m=100, window=timedelta(hours=72))
T0 = datetime(2025, 5, 6, 9, 0, tzinfo=UTC)
METRE_LAT = 1 / 111_320


def sighting(case_id=1, code="E0102", parent="E01", north_m=0.0, hours=0.0, text="路边暴露垃圾很多"):  # noqa: ANN001, ANN201
    return Sighting(case_id=case_id, category_code=code, parent_code=parent, lon=121.0, lat=31.0 + north_m * METRE_LAT,
                    at=T0 + timedelta(hours=hours), text=text)


def test_the_same_problem_reported_twice_scores_high() -> None:
    match = score(sighting(None), sighting(7, north_m=10, hours=1, text="路边有暴露垃圾很多"), RULE)
    assert match.case_id == 7 and match.score > 0.75 and match.same_category
    assert match.text_similarity == pytest.approx(12 / 15, abs=1e-3)  # Dice: 6 shared of 7 + 8 bigrams
    assert match.distance_m == pytest.approx(10, abs=0.1) and match.minutes == 60


def test_too_far_too_late_or_unrelated_is_no_match() -> None:
    new = sighting(None)
    assert score(new, sighting(2, north_m=150), RULE) is None
    assert score(new, sighting(3, hours=80), RULE) is None
    assert score(new, sighting(4, code="C0101", parent="C01"), RULE) is None
    assert score(sighting(None, code=None), sighting(5), RULE) is None


def test_a_sibling_category_counts_but_less() -> None:
    same = score(sighting(None), sighting(2), RULE)
    sibling = score(sighting(None), sighting(3, code="E0103"), RULE)
    assert sibling.score == pytest.approx(same.score * 0.8, abs=1e-3) and not sibling.same_category


def test_rank_puts_the_best_first() -> None:
    new = sighting(None)
    ranked = rank(new, [sighting(2, north_m=90, text="井盖"), sighting(3, north_m=5), sighting(4, hours=100)], RULE)
    assert [m.case_id for m in ranked] == [3, 2]


def test_text_similarity_ignores_punctuation_width_and_case() -> None:
    assert text_similarity("路灯不亮！", "路灯 不亮") == 1.0
    assert text_similarity("ＡＢＣ", "abc") == 1.0
    assert text_similarity("", "abc") == 0.0


@given(st.floats(0, 100), st.floats(0, 72), st.text(max_size=30))
def test_scores_stay_between_zero_and_one_and_fall_with_distance(metres: float, hours: float, text: str) -> None:
    near = score(sighting(None, text=text), sighting(2, north_m=metres * 0.5, hours=hours, text=text), RULE)
    far = score(sighting(None, text=text), sighting(2, north_m=metres, hours=hours, text=text), RULE)
    assert 0 <= far.score <= near.score + 1e-6 <= 1 + 1e-6


def test_priority_rises_with_each_doubling_of_reports() -> None:
    assert [priority_for(n) for n in (1, 2, 3, 4, 8, 1000)] == [0, 1, 1, 2, 3, 5]
