"""Routing by the responsibility matrix: the most specific area first, then the most specific
category, then the street's fallback department (属地兜底). Pure, no database."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from cityops.errors import Conflict
from cityops.geo.levels import LEVEL_ORDER, AreaLevel
from cityops.org.routing import AreaRef, JointMode, MatrixEntry, RouteDecision, Unroutable, route

CITY = AreaRef("990000", AreaLevel.city)
DISTRICT = AreaRef("990101", AreaLevel.district)
STREET = AreaRef("99010101", AreaLevel.street)
GRID = AreaRef("9901010101", AreaLevel.grid)
COMMUNITY = AreaRef("990101010101", AreaLevel.community)
CHAIN = [CITY, DISTRICT, STREET, GRID, COMMUNITY]
CATEGORIES = ["E0102", "E01"]  # 暴露垃圾, then its major class 市容环境
FALLBACKS = {STREET.code: "street-office"}


def decide(matrix: dict, *, area_chain: list = CHAIN, fallbacks: dict = FALLBACKS) -> RouteDecision:
    return route(category_chain=CATEGORIES, area_chain=area_chain, matrix=matrix, fallbacks=fallbacks)


def test_the_deepest_area_wins_even_over_a_more_specific_category() -> None:
    matrix = {("E0102", DISTRICT.code): MatrixEntry("district-sanitation"),
              ("E01", STREET.code): MatrixEntry("street-enforcement", ("street-office",), JointMode.serial)}
    decision = decide(matrix)
    assert (decision.lead, decision.assisting, decision.joint_mode) == (
        "street-enforcement", ("street-office",), JointMode.serial)
    assert (decision.matched_area, decision.matched_category) == (STREET.code, "E01")
    assert not decision.fallback
    assert "E01" in decision.reason and STREET.code in decision.reason


def test_within_one_area_the_subclass_wins_over_its_major_class() -> None:
    matrix = {("E01", STREET.code): MatrixEntry("general"), ("E0102", STREET.code): MatrixEntry("sanitation")}
    assert decide(matrix).lead == "sanitation"


def test_entries_for_other_places_and_categories_are_ignored() -> None:
    matrix = {("E0102", "99010102"): MatrixEntry("neighbour"), ("E02", COMMUNITY.code): MatrixEntry("ads"),
              ("E01", CITY.code): MatrixEntry("city-bureau")}
    decision = decide(matrix)
    assert (decision.lead, decision.matched_area) == ("city-bureau", CITY.code)


def test_with_no_entry_the_street_takes_the_case() -> None:
    decision = decide({("E0102", "99010102"): MatrixEntry("neighbour")})
    assert (decision.lead, decision.assisting, decision.fallback) == ("street-office", (), True)
    assert (decision.matched_area, decision.matched_category) == (STREET.code, None)
    assert "属地兜底" in decision.reason


def test_no_street_or_no_fallback_department_is_unroutable_never_silent() -> None:
    with pytest.raises(Unroutable) as caught:
        decide({}, area_chain=[CITY, DISTRICT])
    assert "no street" in caught.value.detail
    with pytest.raises(Unroutable) as caught:
        decide({}, fallbacks={DISTRICT.code: "district-office"})
    assert isinstance(caught.value, Conflict)
    assert (caught.value.status, caught.value.code, caught.value.field) == (409, "unroutable", "area_code")


def test_a_matrix_entry_still_routes_a_place_with_no_street() -> None:
    decision = decide({("E01", DISTRICT.code): MatrixEntry("district")}, area_chain=[CITY, DISTRICT])
    assert decision.lead == "district"


def test_the_area_chain_must_run_city_first() -> None:
    with pytest.raises(ValueError, match="city first"):
        decide({}, area_chain=list(reversed(CHAIN)))
    with pytest.raises(ValueError):
        decide({}, area_chain=[CITY, STREET, STREET])


def test_anything_with_a_code_and_a_level_string_will_do() -> None:
    @dataclass
    class Row:
        code: str
        level: str

    chain = [Row(a.code, a.level.value) for a in CHAIN[:3]]
    assert decide({}, area_chain=chain).lead == "street-office"


# Properties over random chains and matrices.

@st.composite
def situations(draw):  # noqa: ANN001, ANN201
    depth = draw(st.integers(1, len(LEVEL_ORDER)))
    areas = [AreaRef(f"A{i}", level) for i, level in enumerate(LEVEL_ORDER[:depth])]
    categories = [f"K{i}" for i in range(draw(st.integers(1, 3)))]
    keys = st.tuples(st.sampled_from([*categories, "K-other"]),
                     st.sampled_from([a.code for a in areas] + ["A-x"]))
    matrix = {key: MatrixEntry(lead=f"lead-{key[0]}-{key[1]}") for key in draw(st.sets(keys, max_size=8))}
    fallbacks = {code: f"fallback-{code}" for code in draw(st.sets(st.sampled_from([a.code for a in areas])))}
    return categories, areas, matrix, fallbacks


def matches(categories: list, areas: list, matrix: dict) -> list[tuple[int, int]]:
    """(area index, category index) of every entry in the chain."""
    return [(ai, ci) for ai, a in enumerate(areas) for ci, c in enumerate(categories)
            if (c, a.code) in matrix]


def attempt(categories: list, areas: list, matrix: dict, fallbacks: dict) -> RouteDecision | None:
    try:
        return route(category_chain=categories, area_chain=areas, matrix=matrix, fallbacks=fallbacks)
    except Unroutable:
        return None


@given(situations())
def test_the_decision_comes_from_the_deepest_area_with_any_matching_entry(situation) -> None:  # noqa: ANN001
    categories, areas, matrix, fallbacks = situation
    found = matches(categories, areas, matrix)
    assume(found)
    deepest = max(ai for ai, _ in found)
    best = min(ci for ai, ci in found if ai == deepest)
    decision = attempt(categories, areas, matrix, fallbacks)
    assert decision is not None and not decision.fallback
    assert (decision.matched_area, decision.matched_category) == (areas[deepest].code, categories[best])
    assert decision.lead == matrix[(categories[best], areas[deepest].code)].lead


@given(situations(), st.data())
def test_an_entry_at_a_shallower_area_never_changes_a_deeper_decision(situation, data) -> None:  # noqa: ANN001
    categories, areas, matrix, fallbacks = situation
    decision = attempt(categories, areas, matrix, fallbacks)
    assume(decision is not None and not decision.fallback)
    depth = [a.code for a in areas].index(decision.matched_area)
    assume(depth > 0)
    shallower = data.draw(st.sampled_from(areas[:depth]))
    category = data.draw(st.sampled_from(categories))
    widened = {**matrix, (category, shallower.code): MatrixEntry("newcomer")}
    assert attempt(categories, areas, widened, fallbacks) == decision


@given(situations())
def test_fallback_only_when_no_entry_matches_anywhere_in_the_chain(situation) -> None:  # noqa: ANN001
    categories, areas, matrix, fallbacks = situation
    decision = attempt(categories, areas, matrix, fallbacks)
    if matches(categories, areas, matrix):
        assert decision is not None and not decision.fallback
        return
    street = next((a for a in areas if a.level is AreaLevel.street), None)
    if street is None or street.code not in fallbacks:
        assert decision is None
    else:
        assert decision is not None and decision.fallback and decision.lead == fallbacks[street.code]
