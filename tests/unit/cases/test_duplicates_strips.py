"""The latitude strips the duplicate check seeks: every latitude of the box falls in one of them,
as each store casts it, and no strip outside the box is read (without a database)."""

import math

from hypothesis import given
from hypothesis import strategies as st

from cityops.cases.dedup import LAT_STRIPS_PER_DEGREE, lat_strips

# How each store computes CAST(lat * 1000 AS INTEGER): SQLite truncates toward zero, PostgreSQL
# rounds half to even (rint); a store we do not know may do either, or floor, or ceil.
CASTS = {"sqlite": [math.trunc], "postgresql": [round], "other": [math.trunc, round, math.floor, math.ceil]}
latitudes = st.floats(-89.0, 89.0, allow_nan=False)


@given(latitudes, st.floats(0, 0.05), st.floats(0, 1), st.sampled_from(sorted(CASTS)))
def test_every_latitude_of_the_box_lies_in_a_listed_strip(low: float, height: float, at: float, dialect: str) -> None:
    high = low + height
    lat = min(high, low + at * height)
    strips = lat_strips(low, high, dialect=dialect)
    assert strips == list(range(strips[0], strips[-1] + 1))
    for cast in CASTS[dialect]:
        assert cast(lat * LAT_STRIPS_PER_DEGREE) in strips


@given(latitudes, st.floats(0, 0.05), st.sampled_from(["sqlite", "postgresql"]))
def test_the_known_stores_read_no_strip_outside_the_box(low: float, height: float, dialect: str) -> None:
    high = low + height
    strips = lat_strips(low, high, dialect=dialect)
    assert len(strips) <= math.ceil(high * LAT_STRIPS_PER_DEGREE - low * LAT_STRIPS_PER_DEGREE) + 1


def test_strips_on_both_sides_of_the_equator_and_on_exact_multiples() -> None:
    assert lat_strips(31.0495, 31.0515, dialect="sqlite") == [31049, 31050, 31051]
    assert lat_strips(31.0495, 31.0515, dialect="postgresql") == [31050, 31051, 31052]  # 31049.5 → 31050
    assert lat_strips(-0.0015, 0.0005, dialect="sqlite") == [-1, 0]  # truncation folds -0.9 and 0.4 into 0
    assert lat_strips(-0.0015, 0.0005, dialect="postgresql") == [-2, -1, 0]
    assert lat_strips(31.05, 31.05, dialect="sqlite") == [31050]
