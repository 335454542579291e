"""Random series through the rules, checked against what the rules promise, computed here the slow
way: nothing fires before its condition has held for the ``for`` duration and everything that has held
that long is firing; nothing clears or steps down before its clear value is passed for ``clear_for``;
arrival order within the lateness window, batching and clock ticks change no event."""

from __future__ import annotations

import json
from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from cityops.sensing.rules import (
    EventKind,
    LevelThreshold,
    Reading,
    Rule,
    RuleEvent,
    RuleState,
    advance,
    dry_run,
    evaluate,
    provisional,
    state_from_json,
    state_to_json,
)
from tests.unit.sensing.builders import histories, rate_rule, silence_rule, water_rule

DURATIONS = st.sampled_from([0, 60, 180, 600]).map(lambda seconds: timedelta(seconds=seconds))


@st.composite
def value_rules(draw) -> Rule:
    lateness = draw(st.sampled_from([0, 30, 120, 600]))
    settings_ = {"for_duration": draw(DURATIONS), "clear_for": draw(DURATIONS),
                 "allowed_lateness": timedelta(seconds=lateness)}
    if draw(st.booleans()):
        return rate_rule(**settings_, rate_window=timedelta(seconds=draw(st.sampled_from([60, 300, 900]))))
    return water_rule(**settings_)


def level_after_each(readings: list[Reading], events: tuple[RuleEvent, ...]) -> list[int]:
    """The active level's rank (0: none) after each reading, from the events it caused."""
    caused = {event.reading.at: event.level for event in events if event.reading is not None}
    ranks, rank = [], 0
    for reading in readings:
        if reading.at in caused:
            rank = caused[reading.at].rank if caused[reading.at] else 0
        ranks.append(rank)
    return ranks


def held_since(readings: list[Reading], index: int, condition) -> timedelta | None:
    """How long ``condition`` has held, reading after reading, up to readings[index]; None if not now."""
    if not condition(readings[index].value):
        return None
    start = index
    while start > 0 and condition(readings[start - 1].value):
        start -= 1
    return readings[index].at - readings[start].at


def check_well_formed(events: tuple[RuleEvent, ...]) -> None:
    level = None
    for before, event in zip((None, *events), events, strict=False):
        assert event.previous_level is level and event.level is not level
        assert event.kind is (EventKind.fired if level is None else EventKind.cleared if event.level is None
                              else EventKind.level_changed)
        assert before is None or before.at <= event.at
        level = event.level


@settings(max_examples=300, deadline=None)
@given(readings=histories(), for_duration=DURATIONS, clear_for=DURATIONS)
def test_levels_fire_exactly_when_their_condition_has_held_for_the_duration(readings, for_duration, clear_for):
    rule = water_rule(for_duration=for_duration, clear_for=clear_for)
    events = dry_run(rule, readings).events
    check_well_formed(events)
    ranks = level_after_each(readings, events)
    for index in range(len(readings)):
        for threshold in rule.levels:
            held = held_since(readings, index, lambda value, fire_at=threshold.fire_at: value >= fire_at)
            if held is not None and held >= for_duration:
                assert ranks[index] >= threshold.level.rank
    for event in events:
        rising = event.level is not None and (event.previous_level is None
                                              or event.level.rank > event.previous_level.rank)
        if rising:
            threshold = next(t for t in rule.levels if t.level is event.level)
            index = readings.index(event.reading)
            held = held_since(readings, index, lambda value, fire_at=threshold.fire_at: value >= fire_at)
            assert held is not None and held >= for_duration


@settings(max_examples=300, deadline=None)
@given(readings=histories(), clear_for=DURATIONS)
def test_a_warning_clears_or_steps_down_only_past_the_clear_value_for_clear_for(readings, clear_for):
    rule = water_rule(clear_for=clear_for)
    lowest = rule.levels[0]
    events = dry_run(rule, readings).events
    clear_at = {threshold.level: threshold.clear_at for threshold in rule.levels}
    for event in events:
        falling = event.kind is EventKind.cleared or (event.kind is EventKind.level_changed
                                                       and event.level.rank < event.previous_level.rank)
        if not falling:
            continue
        left = event.previous_level
        index = readings.index(event.reading)
        below = held_since(readings, index, lambda value, limit=clear_at[left]: value < limit)
        assert below is not None and below >= clear_for
        if event.kind is EventKind.cleared:
            assert event.reading.value < lowest.clear_at
            assert held_since(readings, index, lambda value: value < lowest.clear_at) >= clear_for


@settings(max_examples=300, deadline=None)
@given(data=st.data(), rule=value_rules(), readings=histories())
def test_any_arrival_order_within_the_window_gives_the_dry_runs_events(data, rule, readings):
    """Each reading arrives up to (not including) the lateness after its time; arrivals come in random
    batches, and the clock ticks at each batch's arrival time."""
    window = int(rule.allowed_lateness.total_seconds())
    delays = [data.draw(st.integers(0, max(window - 1, 0))) for _ in readings]
    arrivals = sorted(zip(readings, delays, strict=True),
                      key=lambda pair: (pair[0].at + timedelta(seconds=pair[1]), pair[0].at))
    state, events = RuleState(), []
    position = 0
    while position < len(arrivals):
        size = data.draw(st.integers(1, 4))
        batch = arrivals[position:position + size]
        position += size
        evaluation = evaluate(rule, state, [reading for reading, _ in reversed(batch)])
        assert evaluation.too_late == () and evaluation.duplicates == ()
        events += evaluation.events
        if data.draw(st.booleans()):
            last, delay = batch[-1]
            evaluation = advance(rule, evaluation.state, now=last.at + timedelta(seconds=delay))
            events += evaluation.events
        state = evaluation.state
    if readings:
        events += advance(rule, state, now=readings[-1].at + rule.allowed_lateness).events
    expected = dry_run(rule, readings).events
    check_well_formed(expected)
    assert tuple(events) == expected


@settings(max_examples=200, deadline=None)
@given(readings=histories(min_size=2), window=st.sampled_from([60, 300, 900]))
def test_a_rate_is_the_change_since_a_base_at_least_a_window_earlier(readings, window):
    rule = rate_rule(rate_window=timedelta(seconds=window),
                     levels=(LevelThreshold("yellow", 0.5, 0.3), LevelThreshold("red", 1.0, 0.8)))
    for event in dry_run(rule, readings).events:
        reading = event.reading
        base = [earlier for earlier in readings if earlier.at <= reading.at - rule.rate_window][-1]
        expected = (reading.value - base.value) / ((reading.at - base.at) / rule.rate_per)
        assert abs(event.value - expected) < 1e-9


@settings(max_examples=200, deadline=None)
@given(data=st.data(), readings=histories(min_size=1, values=st.just(1.0)))
def test_clock_ticks_between_readings_do_not_change_no_data_events(data, readings):
    rule = silence_rule()
    state, events = RuleState(), []
    for index, reading in enumerate(readings):
        evaluation = evaluate(rule, state, [reading])
        events += evaluation.events
        state = evaluation.state
        following = readings[index + 1].at if index + 1 < len(readings) else reading.at + timedelta(hours=3)
        span = int((following - reading.at).total_seconds())
        for offset in sorted(data.draw(st.lists(st.integers(0, span), max_size=3))):
            evaluation = advance(rule, state, now=reading.at + timedelta(seconds=offset))
            events += evaluation.events
            state = evaluation.state
    until = readings[-1].at + timedelta(hours=3)
    events += advance(rule, state, now=until).events
    expected = dry_run(rule, readings, until=until).events
    check_well_formed(expected)
    assert tuple(events) == expected
    for event in expected:
        if event.kind is not EventKind.cleared:
            silence = next(level.after for level in rule.silence_levels if level.level is event.level)
            last = [reading for reading in readings if reading.at < event.at][-1]
            assert event.at == last.at + silence


@settings(max_examples=200, deadline=None)
@given(data=st.data(), rule=value_rules(), readings=histories())
def test_a_state_stored_as_json_between_batches_changes_nothing(data, rule, readings):
    cut = data.draw(st.integers(0, len(readings)))
    state = evaluate(rule, RuleState(), readings[:cut]).state
    stored = state_from_json(json.loads(json.dumps(state_to_json(state))))
    assert stored == state
    assert evaluate(rule, stored, readings[cut:]) == evaluate(rule, state, readings[cut:])


@settings(max_examples=200, deadline=None)
@given(data=st.data(), rule=value_rules(), readings=histories(min_size=1))
def test_the_provisional_events_are_what_the_clock_makes_final_if_nothing_else_comes(data, rule, readings):
    cut = data.draw(st.integers(1, len(readings)))
    state = evaluate(rule, RuleState(), readings[:cut]).state
    assert provisional(rule, state) == advance(rule, state, now=readings[cut - 1].at + rule.allowed_lateness).events
