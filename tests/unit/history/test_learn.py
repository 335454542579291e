"""Proposing matrix cells from history (pure): the city's majority per category, exceptions where an
area's own majority differs, thresholds, and the CSV the matrix import reads."""

from __future__ import annotations

from cityops.geo.levels import AreaLevel
from cityops.history.catalogue import new_category_codes
from cityops.history.learn import Sighting, matrix_csv, propose
from cityops.org.responsibility import parse_csv


def seen(category: str, street: str | None, lead: str | None, times: int) -> list[Sighting]:
    path = f"/LA/CD1/{street}/" if street else None
    return [Sighting(category, path, lead)] * times


HISTORY = (seen("BULKY", "NC1", "BOS", 20) + seen("BULKY", "NC2", "BOS", 9) + seen("BULKY", "NC2", "OCB", 1)
           + seen("BULKY", "NC3", "OCB", 8) + seen("BULKY", "NC3", "BOS", 2)
           + seen("GRAFFITI", "NC1", "OCB", 4) + seen("GRAFFITI", None, "OCB", 6) + seen("GRAFFITI", "NC2", None, 3))


def cells(history: list[Sighting], **options) -> set[tuple[str, str, str, int, int]]:
    return {(c.category_code, c.area_code, c.lead, c.support, c.cases)
            for c in propose(history, level=AreaLevel.street, **options).cells}


def test_one_cell_per_category_at_the_city_and_exceptions_where_an_area_differs() -> None:
    assert cells(HISTORY) == {("BULKY", "LA", "BOS", 31, 40), ("BULKY", "NC3", "OCB", 8, 10)}


def test_every_area_when_asked() -> None:
    assert cells(HISTORY, compact=False) == {("BULKY", "NC1", "BOS", 20, 20), ("BULKY", "NC2", "BOS", 9, 10),
                                             ("BULKY", "NC3", "OCB", 8, 10)}


def test_weak_cells_are_left_to_wider_ones_and_skips_are_counted() -> None:
    result = propose(HISTORY, level=AreaLevel.street, min_support=4, min_share=0.9)
    # Bulky items: BOS has 78 % city-wide, too few for a city cell, so the clear streets get their own.
    assert {(c.category_code, c.area_code, c.lead) for c in result.cells} == {
        ("GRAFFITI", "LA", "OCB"), ("BULKY", "NC1", "BOS"), ("BULKY", "NC2", "BOS")}
    assert result.read == len(HISTORY)
    # Bulky items: no clear majority in the city, CD1 and NC3.
    assert result.skipped == {"no_area": 6, "no_department": 3, "no_clear_majority": 3}


def test_a_case_in_a_gap_between_streets_still_counts_for_its_district_and_city() -> None:
    gap = [Sighting("X", "/LA/CD1/", "BOS")] * 5
    compact = propose(gap, level=AreaLevel.street)
    assert [(c.area_code, c.support) for c in compact.cells] == [("LA", 5)]
    assert compact.skipped == {"no_street": 5}
    assert propose(gap, level=AreaLevel.street, compact=False).cells == []


def test_a_tie_goes_to_the_first_code_and_names_the_runner_up() -> None:
    [cell] = propose(seen("X", "NC1", "B", 5) + seen("X", "NC1", "A", 5), level=AreaLevel.street,
                     min_share=0.5).cells
    assert (cell.lead, cell.runner_up, cell.share) == ("A", "B", 0.5)
    assert cell.note == "learnt from history: 5 of 10 cases (50%); next B"


def test_a_lead_gets_cells_only_where_it_serves() -> None:
    history = seen("BULKY", "NC1", "BOS", 6) + seen("BULKY", "NC2", "STREET2", 6) + seen("BULKY", "NC3", "BOS", 1)
    result = propose(history, level=AreaLevel.street, serves={"BOS": "/LA/CD1/", "STREET2": "/LA/CD1/NC2/"})
    # BOS has the city's and the district's majority but serves the district only; NC2's own office
    # leads there.
    assert {(c.area_code, c.level, c.lead) for c in result.cells} == {("CD1", "district", "BOS"),
                                                                     ("NC2", "street", "STREET2")}
    assert result.skipped == {"lead_does_not_serve_area": 1}  # NC3 is covered by the district's cell


def test_the_file_is_the_matrix_import_format() -> None:
    result = propose(HISTORY, level=AreaLevel.street)
    specs, problems = parse_csv(matrix_csv(result.cells))
    assert problems == []
    assert {(s.category_code, s.area_code, s.lead_department_code) for s in specs} == {
        ("BULKY", "LA", "BOS"), ("BULKY", "NC3", "OCB")}
    assert all(s.note.startswith("learnt from history:") for s in specs)


def test_new_category_codes_are_readable_and_unique() -> None:
    codes = new_category_codes("NYC311", ["Noise - Street/Sidewalk", "Noise Street Sidewalk", "HEATING",
                                          "Request Large Bulky Item Collection", "???", "Taken"],
                               taken={"NYC311-TAKEN"})
    assert codes["HEATING"] == "NYC311-HEATING"
    assert codes["Noise - Street/Sidewalk"] != codes["Noise Street Sidewalk"]
    assert codes["Noise - Street/Sidewalk"].startswith("NYC311-NOISE-STREET-SIDEW")
    assert codes["Taken"].startswith("NYC311-TAKEN-") and codes["???"].startswith("NYC311-")
    assert all(len(code) <= 32 for code in codes.values())
    assert len(set(codes.values())) == len(codes)
    assert new_category_codes("NYC311", ["HEATING"], taken=set()) == {"HEATING": "NYC311-HEATING"}
