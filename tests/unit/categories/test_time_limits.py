"""Time limits: parsing, formatting and inheritance, without a database."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cityops.categories.time_limits import (
    MAX_AMOUNT,
    STEP_ORDER,
    ResolvedLimit,
    Step,
    TimeLimit,
    TimeUnit,
    effective_limits,
    format_limit,
    format_limits,
    parse_limit,
    parse_limits,
)
from cityops.errors import InvalidInput

DEFAULT = {step: TimeLimit(1, TimeUnit.working_days) for step in Step}


@pytest.mark.parametrize(("text", "amount", "unit"), [
    ("30m", 30, TimeUnit.minutes),
    ("4h", 4, TimeUnit.hours),
    ("3d", 3, TimeUnit.days),
    ("2wh", 2, TimeUnit.working_hours),
    ("5wd", 5, TimeUnit.working_days),
    ("  20wd ", 20, TimeUnit.working_days),
])
def test_parses_each_unit(text: str, amount: int, unit: TimeUnit) -> None:
    limit = parse_limit(text)
    assert limit == TimeLimit(amount, unit)
    assert format_limit(limit) == text.strip()


def test_working_units_are_marked_and_spelled_out() -> None:
    assert parse_limit("2wh").unit.working and parse_limit("5wd").unit.working
    assert not any(parse_limit(t).unit.working for t in ("30m", "4h", "3d"))
    assert parse_limit("2wh").words == "2 working hours"


@pytest.mark.parametrize("text", ["", "h", "4", "0h", "04h", "4 h", "4H", "4hours", "1.5h", "-3d", "3x",
                                  "wd5", "4h\n5h", "367d", "2001wh", "251wd", "9999999m", "4h4h"])
def test_refuses_anything_but_the_canonical_form_with_the_field_named(text: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_limit(text, field="handle")
    assert caught.value.field == "handle"
    # an amount out of its unit's range has its own code; anything else is not a limit at all
    out_of_range = text in {"367d", "2001wh", "251wd"}
    assert caught.value.code == ("time_limit_out_of_range" if out_of_range else "bad_time_limit")
    assert caught.value.extra["value"] == text.strip()


def test_an_out_of_range_amount_says_what_the_range_is() -> None:
    with pytest.raises(InvalidInput, match="between 1 and 250") as caught:
        parse_limit(" 300wd ")
    assert (caught.value.code, caught.value.extra) == ("time_limit_out_of_range", {"max": 250, "value": "300wd"})


def test_a_limit_cannot_be_built_with_a_bad_amount() -> None:
    for amount in (0, -1, MAX_AMOUNT[TimeUnit.hours] + 1):
        with pytest.raises(InvalidInput):
            TimeLimit(amount, TimeUnit.hours)
    with pytest.raises(InvalidInput):
        TimeLimit(True, TimeUnit.hours)  # type: ignore[arg-type]


limits = st.sampled_from(list(TimeUnit)).flatmap(
    lambda unit: st.integers(1, MAX_AMOUNT[unit]).map(lambda amount: TimeLimit(amount, unit)))


@given(limits)
def test_format_then_parse_round_trips(limit: TimeLimit) -> None:
    assert parse_limit(format_limit(limit)) == limit
    assert format_limit(parse_limit(str(limit))) == str(limit)


@given(st.text(max_size=12))
def test_any_text_either_parses_to_its_own_canonical_form_or_is_refused(text: str) -> None:
    try:
        limit = parse_limit(text)
    except InvalidInput as exc:
        assert exc.field == "time_limit"
        return
    assert str(limit) == text.strip()


def test_parse_limits_names_the_bad_step_and_drops_empty_ones() -> None:
    assert parse_limits({"verify": "2h", "handle": "4wh", "register": "", "dispatch": None}) == {
        Step.handle: TimeLimit(4, TimeUnit.working_hours), Step.verify: TimeLimit(2, TimeUnit.hours)}
    assert list(parse_limits({"verify": "2h", "handle": "4wh"})) == [Step.handle, Step.verify]
    with pytest.raises(InvalidInput) as caught:
        parse_limits({"handle": "4 hours"})
    assert caught.value.field == "time_limits.handle"
    with pytest.raises(InvalidInput) as caught:
        parse_limits({"close": "4h"})
    assert caught.value.field == "time_limits.close"


def test_format_limits_keeps_workflow_order() -> None:
    typed = {Step.verify: parse_limit("1d"), Step.register: parse_limit("30m")}
    assert list(format_limits(typed).items()) == [("register", "30m"), ("verify", "1d")]


def test_own_value_then_nearest_ancestor_then_platform_default() -> None:
    chain = [("E0102", {Step.handle: parse_limit("4wh")}),
             ("E01", {Step.handle: parse_limit("1wd"), Step.verify: parse_limit("4wh")}),
             ("ROOT", {Step.verify: parse_limit("1d"), Step.register: parse_limit("30m")})]
    resolved = effective_limits(chain, default=DEFAULT)
    assert resolved[Step.handle] == ResolvedLimit(parse_limit("4wh"), "E0102")
    assert resolved[Step.verify] == ResolvedLimit(parse_limit("4wh"), "E01")
    assert resolved[Step.register] == ResolvedLimit(parse_limit("30m"), "ROOT")
    assert resolved[Step.dispatch] == ResolvedLimit(DEFAULT[Step.dispatch], None)
    assert list(resolved) == list(STEP_ORDER)


def test_the_platform_default_must_cover_every_step() -> None:
    with pytest.raises(ValueError, match="verify"):
        effective_limits([], default={s: DEFAULT[s] for s in Step if s is not Step.verify})


own_limits = st.dictionaries(st.sampled_from(list(Step)), limits, max_size=5)


@given(st.lists(own_limits, max_size=5))
def test_each_step_comes_from_the_first_category_in_the_chain_that_sets_it(chain_limits: list) -> None:
    chain = [(f"C{i}", own) for i, own in enumerate(chain_limits)]
    resolved = effective_limits(chain, default=DEFAULT)
    for step in Step:
        setters = [i for i, own in enumerate(chain_limits) if step in own]
        if setters:
            assert resolved[step] == ResolvedLimit(chain_limits[setters[0]][step], f"C{setters[0]}")
        else:
            assert resolved[step] == ResolvedLimit(DEFAULT[step], None)
