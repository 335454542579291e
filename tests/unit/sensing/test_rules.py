"""Rule semantics, one behaviour at a time: for durations, hysteresis, levels, rate, no data, late
readings and the dry run."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

from cityops.errors import InvalidInput
from cityops.sensing.rules import (
    Comparison,
    LevelThreshold,
    Reading,
    RuleState,
    Scope,
    SilenceLevel,
    Source,
    WarningLevel,
    advance,
    applies_to,
    dry_run,
    evaluate,
    provisional,
    state_from_json,
    state_to_json,
)
from tests.unit.sensing.builders import at, minutes, rate_rule, series, silence_rule, water_rule

YELLOW, ORANGE, RED = WarningLevel.yellow, WarningLevel.orange, WarningLevel.red


def moves(events):
    """Events as (kind, minute, level) for short assertions."""
    return [(event.kind.value, round((event.at - at(0)) / minutes(1), 3), event.level and event.level.value)
            for event in events]


def run(rule, readings):
    return dry_run(rule, readings).events


class TestValidation:
    def test_naive_times_and_non_finite_values_are_refused(self):
        with pytest.raises(InvalidInput) as error:
            Reading(datetime(2026, 7, 1, 8, 0), 1.0)
        assert error.value.field == "at"
        for value in (float("nan"), float("inf"), True, "3.2"):
            with pytest.raises(InvalidInput) as error:
                Reading(at(0), value)
            assert error.value.field == "value"

    def test_times_with_an_offset_are_kept_in_utc(self):
        reading = Reading("2026-07-01T16:00:00+08:00", 2)
        assert reading.at == at(0) and reading.at.utcoffset() == timedelta(0)

    def test_levels_accept_chinese_names(self):
        assert LevelThreshold("红", 4.0).level is RED
        with pytest.raises(InvalidInput) as error:
            LevelThreshold("purple", 4.0)
        assert error.value.field == "level"

    @pytest.mark.parametrize(("levels", "field"), [
        ((), "levels"),
        ((LevelThreshold("yellow", 3.0, 3.2),), "levels[0].clear_at"),
        ((LevelThreshold("yellow", 3.0), LevelThreshold("red", 2.0)), "levels[1].fire_at"),
        ((LevelThreshold("yellow", 3.0, 2.9), LevelThreshold("red", 4.0, 2.5)), "levels[1].clear_at"),
        ((LevelThreshold("yellow", 3.0), LevelThreshold("yellow", 4.0)), "levels"),
    ])
    def test_levels_must_rise_with_their_clear_values_not_past_their_fire_values(self, levels, field):
        with pytest.raises(InvalidInput) as error:
            water_rule(levels=levels)
        assert error.value.field == field

    def test_below_rules_mirror_the_order(self):
        rule = water_rule(comparison=Comparison.below,
                          levels=(LevelThreshold("red", 0.5, 0.7), LevelThreshold("yellow", 1.0, 1.2)))
        assert [threshold.level for threshold in rule.levels] == [YELLOW, RED]
        with pytest.raises(InvalidInput):
            water_rule(comparison="below", levels=(LevelThreshold("yellow", 1.0, 0.8),))

    def test_kind_specific_settings(self):
        with pytest.raises(InvalidInput) as error:
            rate_rule(rate_window=None)
        assert error.value.field == "rate_window"
        with pytest.raises(InvalidInput) as error:
            water_rule(rate_window=minutes(5), rate_per=minutes(60))
        assert error.value.field == "rate_window"
        with pytest.raises(InvalidInput) as error:
            silence_rule(levels=(LevelThreshold("yellow", 1),))
        assert error.value.field == "silence_levels"
        with pytest.raises(InvalidInput) as error:
            silence_rule(silence_levels=(SilenceLevel("yellow", minutes(30)), SilenceLevel("red", minutes(20))))
        assert error.value.field == "silence_levels[1]"
        with pytest.raises(InvalidInput) as error:
            water_rule(kind="sometimes")
        assert error.value.field == "kind"
        with pytest.raises(InvalidInput) as error:
            water_rule(for_duration=-minutes(1))
        assert error.value.field == "for_duration"

    def test_scope_and_metric(self):
        with pytest.raises(InvalidInput) as error:
            Scope()
        assert error.value.field == "scope"
        with pytest.raises(InvalidInput):
            Scope(device_type="water_gauge", indicator="hotline_per_hour")
        with pytest.raises(InvalidInput) as error:
            water_rule(metric=None)
        assert error.value.field == "metric"
        with pytest.raises(InvalidInput) as error:
            water_rule(scope=Scope(indicator="hotline_per_hour"))
        assert error.value.field == "metric"

    def test_a_batch_holds_readings_only(self):
        with pytest.raises(InvalidInput) as error:
            evaluate(water_rule(), RuleState(), [Reading(at(0), 1), (at(1), 2)])
        assert error.value.field == "readings[1]"


class TestScope:
    gauge = Source(metric="level_m", area_path=("sh", "putuo", "changfeng"), device_type="water_gauge")

    def test_device_type_and_metric_must_match(self):
        assert applies_to(water_rule(), self.gauge)
        assert not applies_to(water_rule(metric="flow"), self.gauge)
        assert not applies_to(water_rule(), Source("level_m", ("sh",), device_type="air_station"))

    def test_an_area_scope_covers_everything_within_it(self):
        assert applies_to(water_rule(scope=Scope(area="putuo")), self.gauge)
        assert applies_to(water_rule(scope=Scope(area="changfeng", device_type="water_gauge")), self.gauge)
        assert not applies_to(water_rule(scope=Scope(area="jingan")), self.gauge)

    def test_an_indicator_scope_watches_the_indicator_series_only(self):
        rule = water_rule(scope=Scope(indicator="hotline_per_hour", area="putuo"), metric=None)
        assert applies_to(rule, Source(None, ("sh", "putuo", "changfeng"), indicator="hotline_per_hour"))
        assert not applies_to(rule, Source(None, ("sh", "jingan"), indicator="hotline_per_hour"))
        assert not applies_to(rule, self.gauge)
        assert not applies_to(water_rule(), Source("level_m", ("sh",), indicator="hotline_per_hour"))


class TestForDuration:
    def test_fires_once_the_condition_has_held_for_the_duration(self):
        events = run(water_rule(for_duration=minutes(3)), series([2.0, 3.1, 3.2, 3.1, 3.2, 3.1]))
        assert moves(events) == [("fired", 4, "yellow")]
        assert events[0].value == 3.2 and events[0].reading == Reading(at(4), 3.2)

    def test_a_single_reading_below_restarts_the_count(self):
        events = run(water_rule(for_duration=minutes(3)), series([3.1, 3.2, 2.9, 3.1, 3.2, 3.1, 3.3]))
        assert moves(events) == [("fired", 6, "yellow")]

    def test_never_fires_when_the_condition_is_shorter_than_the_duration(self):
        assert run(water_rule(for_duration=minutes(5)), series([3.1, 3.2, 3.1, 3.2, 2.0] * 3)) == ()

    def test_zero_fires_on_the_first_reading(self):
        assert moves(run(water_rule(), series([2.0, 3.0]))) == [("fired", 1, "yellow")]

    def test_each_level_counts_its_own_run(self):
        events = run(water_rule(for_duration=minutes(2)), series([3.1, 3.2, 4.1, 4.2, 4.3, 4.4]))
        assert moves(events) == [("fired", 2, "yellow"), ("level_changed", 4, "red")]

    def test_sparse_readings_count_elapsed_time_not_readings(self):
        events = run(water_rule(for_duration=minutes(10)), series([3.2, 3.2], every=10))
        assert moves(events) == [("fired", 10, "yellow")]


class TestHysteresis:
    def test_stays_active_between_the_clear_and_the_fire_values(self):
        events = run(water_rule(), series([3.1, 2.9, 2.85, 2.8, 2.79, 2.9]))
        assert moves(events) == [("fired", 0, "yellow"), ("cleared", 4, None)]
        assert events[1].value == 2.79 and events[1].previous_level is YELLOW

    def test_refires_only_at_the_fire_value(self):
        events = run(water_rule(), series([3.1, 2.7, 2.9, 2.99, 3.0]))
        assert moves(events) == [("fired", 0, "yellow"), ("cleared", 1, None), ("fired", 4, "yellow")]

    def test_without_a_clear_value_it_clears_just_below_the_fire_value(self):
        rule = water_rule(levels=(LevelThreshold("yellow", 3.0),))
        assert moves(run(rule, series([3.0, 2.999]))) == [("fired", 0, "yellow"), ("cleared", 1, None)]

    def test_clear_for_waits_for_the_value_to_stay_down(self):
        rule = water_rule(clear_for=minutes(3))
        events = run(rule, series([3.1, 2.5, 2.5, 3.1, 2.5, 2.5, 2.5, 2.5]))
        assert moves(events) == [("fired", 0, "yellow"), ("cleared", 7, None)]

    def test_below_rules_clear_above_their_clear_value(self):
        rule = water_rule(comparison="below",
                          levels=(LevelThreshold("yellow", 1.0, 1.2), LevelThreshold("red", 0.5, 0.7)))
        events = run(rule, series([1.5, 0.9, 0.4, 0.6, 0.71, 1.1, 1.21]))
        assert moves(events) == [("fired", 1, "yellow"), ("level_changed", 2, "red"), ("level_changed", 4, "yellow"),
                                 ("cleared", 6, None)]


class TestLevels:
    def test_one_warning_moves_up_and_down_through_the_levels(self):
        events = run(water_rule(), series([2.0, 3.1, 3.6, 4.2, 3.9, 3.7, 3.4, 3.2, 2.7]))
        assert moves(events) == [("fired", 1, "yellow"), ("level_changed", 2, "orange"), ("level_changed", 3, "red"),
                                 ("level_changed", 5, "orange"), ("level_changed", 7, "yellow"), ("cleared", 8, None)]
        assert [event.previous_level for event in events] == [None, YELLOW, ORANGE, RED, ORANGE, YELLOW]

    def test_jumps_straight_to_the_highest_level_and_steps_down_through_held_ones(self):
        events = run(water_rule(), series([4.5, 3.35, 1.0]))
        assert moves(events) == [("fired", 0, "red"), ("level_changed", 1, "orange"), ("cleared", 2, None)]


class TestRate:
    def test_fires_on_a_steep_rise_measured_over_the_window(self):
        levels = [1.0 + 0.02 * minute for minute in range(0, 21)]  # 1.2 m per hour
        events = run(rate_rule(), series(levels))
        assert moves(events)[0] == ("fired", 10, "red")
        assert events[0].value == pytest.approx(1.2)

    def test_needs_a_base_a_whole_window_earlier(self):
        assert run(rate_rule(), series([1.0, 1.5, 2.0, 2.5], every=3)) == ()

    def test_jitter_between_neighbours_is_not_a_rise(self):
        noisy = [1.0 + (0.05 if minute % 2 else -0.05) for minute in range(30)]
        assert run(rate_rule(), series(noisy)) == ()

    def test_clears_when_the_rise_slows_past_the_clear_rate(self):
        rising = [1.0 + 0.01 * minute for minute in range(15)]  # 0.6 m per hour
        flat = [rising[-1]] * 15  # the rate over 10 minutes falls by 0.06 m/h a minute: 0.36 at 18, 0.30 at 19
        rule = rate_rule(levels=(LevelThreshold("yellow", 0.5, 0.35), LevelThreshold("red", 1.0, 0.8)))
        assert moves(run(rule, series(rising + flat))) == [("fired", 10, "yellow"), ("cleared", 19, None)]

    def test_out_of_order_arrival_within_the_window_is_evaluated_in_time_order(self):
        """A slow rise (0.06 m/h) arriving out of order: taken in arrival order, neighbours would show
        steep rises and falls; taken in time order there is nothing to warn about."""
        readings = series([1.0 + 0.001 * minute for minute in range(30)], every=0.5)
        arrival = readings[:12] + [readings[13], readings[12]] + readings[14:20] + readings[21:24] + [readings[20]]
        arrival += readings[24:]
        rule = rate_rule(allowed_lateness=minutes(5), rate_window=minutes(1))
        state, events = RuleState(), []
        for reading in arrival:
            evaluation = evaluate(rule, state, [reading])
            assert not evaluation.too_late
            state, events = evaluation.state, events + list(evaluation.events)
        events += advance(rule, state, now=at(60)).events
        assert events == [] == list(dry_run(rule, readings).events)


class TestNoData:
    def test_fires_at_the_end_of_the_silence_and_clears_on_the_next_reading(self):
        events = dry_run(silence_rule(), series([1.0, 1.0, 1.0], every=20)).events
        assert moves(events) == [("fired", 15, "yellow"), ("cleared", 20, None), ("fired", 35, "yellow"),
                                 ("cleared", 40, None)]
        assert events[0].reading is None and events[1].reading == Reading(at(20), 1.0)

    def test_the_clock_fires_it_with_no_reading_and_raises_the_level(self):
        rule = silence_rule()
        state = evaluate(rule, RuleState(), [Reading(at(0), 1.0)]).state
        assert advance(rule, state, now=at(14)).events == ()
        first = advance(rule, state, now=at(16))
        assert moves(first.events) == [("fired", 15, "yellow")]
        later = advance(rule, first.state, now=at(70))
        assert moves(later.events) == [("level_changed", 60, "red")]
        assert advance(rule, later.state, now=at(80)).events == ()
        assert moves(evaluate(rule, later.state, [Reading(at(75), 1.0)]).events) == [("cleared", 75, None)]

    def test_older_readings_change_nothing(self):
        rule = silence_rule()
        state = evaluate(rule, RuleState(), series([1.0, 1.0], every=5)).state
        evaluation = evaluate(rule, state, [Reading(at(2), 1.0), Reading(at(5), 1.0)])
        assert evaluation.events == () and evaluation.state.last_at == at(5)
        assert evaluation.too_late == (Reading(at(2), 1.0),) and evaluation.duplicates == (Reading(at(5), 1.0),)

    def test_nothing_fires_before_the_first_reading(self):
        assert advance(silence_rule(), RuleState(), now=at(600)).events == ()

    def test_dry_run_counts_the_trailing_silence_up_to_until(self):
        assert moves(dry_run(silence_rule(), series([1.0]), until=at(90)).events) == [
            ("fired", 15, "yellow"), ("level_changed", 60, "red")]


class TestLateReadings:
    def test_without_a_window_an_older_reading_is_too_late_and_not_evaluated(self):
        rule = water_rule()
        state = evaluate(rule, RuleState(), series([2.0, 2.0])).state
        evaluation = evaluate(rule, state, [Reading(at(0.5), 9.0)])
        assert evaluation.events == () and evaluation.too_late == (Reading(at(0.5), 9.0),)

    def test_within_the_window_readings_wait_and_are_evaluated_in_time_order(self):
        rule = water_rule(allowed_lateness=minutes(5), for_duration=minutes(2))
        first = evaluate(rule, RuleState(), [Reading(at(0), 3.1), Reading(at(2), 3.1)])
        assert first.events == () and len(first.state.pending) == 2
        assert moves(provisional(rule, first.state)) == [("fired", 2, "yellow")]
        late = evaluate(rule, first.state, [Reading(at(1), 2.0)])
        assert late.events == () and provisional(rule, late.state) == () and not late.too_late
        settled = evaluate(rule, late.state, [Reading(at(7), 3.1)])
        assert settled.events == () and [reading.at for reading in settled.state.pending] == [at(7)]
        assert moves(advance(rule, settled.state, now=at(20)).events) == [("fired", 7, "yellow")]

    def test_past_the_window_a_reading_is_too_late(self):
        rule = water_rule(allowed_lateness=minutes(5))
        state = evaluate(rule, RuleState(), [Reading(at(10), 1.0)]).state
        evaluation = evaluate(rule, state, [Reading(at(5), 9.0), Reading(at(5.5), 9.0)])
        assert evaluation.too_late == (Reading(at(5), 9.0),)
        assert [reading.at for reading in evaluation.state.pending] == [at(5.5), at(10)]

    def test_the_clock_settles_readings_of_a_device_that_went_quiet(self):
        rule = water_rule(allowed_lateness=minutes(5))
        state = evaluate(rule, RuleState(), [Reading(at(0), 4.2)]).state
        assert advance(rule, state, now=at(4)).events == ()
        settled = advance(rule, state, now=at(5))
        assert moves(settled.events) == [("fired", 0, "red")] and settled.state.pending == ()
        assert evaluate(rule, settled.state, [Reading(at(-1), 1.0)]).too_late

    def test_duplicates_are_ignored_the_first_value_wins(self):
        rule = water_rule(allowed_lateness=minutes(5))
        evaluation = evaluate(rule, RuleState(), [Reading(at(0), 1.0), Reading(at(0), 9.0)])
        assert evaluation.duplicates == (Reading(at(0), 9.0),)
        assert evaluation.state.pending == (Reading(at(0), 1.0),)
        assert evaluate(rule, evaluation.state, [Reading(at(0), 9.0)]).duplicates == (Reading(at(0), 9.0),)

    def test_a_repeat_of_an_evaluated_reading_is_a_duplicate_while_the_state_holds_its_time(self):
        rule = rate_rule()
        state = evaluate(rule, RuleState(), series([1.0] * 20)).state
        evaluation = evaluate(rule, state, [Reading(at(19), 5.0), Reading(at(12), 5.0), Reading(at(12.5), 5.0)])
        assert evaluation.duplicates == (Reading(at(19), 5.0), Reading(at(12), 5.0))
        assert evaluation.too_late == (Reading(at(12.5), 5.0),) and evaluation.state == state

    def test_advance_never_moves_the_clock_back(self):
        rule = water_rule(allowed_lateness=minutes(5))
        state = advance(rule, RuleState(), now=at(30)).state
        assert advance(rule, state, now=at(10)).state.clock_at == at(30)
        with pytest.raises(InvalidInput) as error:
            advance(rule, state, now=datetime(2026, 7, 1))
        assert error.value.field == "now"


class TestDryRun:
    def test_replays_unordered_history_and_sums_up_episodes(self):
        readings = series([2.0, 3.1, 4.2, 3.0, 2.0, 3.6, 3.0])
        result = dry_run(water_rule(), reversed(readings))
        assert [(episode.fired_at, episode.cleared_at, episode.first_level, episode.peak_level)
                for episode in result.episodes] == [(at(1), at(4), YELLOW, RED), (at(5), None, ORANGE, ORANGE)]

    def test_reports_duplicates(self):
        result = dry_run(water_rule(), [Reading(at(0), 3.1), Reading(at(0), 1.0)])
        assert len(result.duplicates) == 1 and moves(result.events) == [("fired", 0, "yellow")]

    def test_lateness_does_not_change_what_a_dry_run_finds(self):
        readings = series([2.0, 3.1, 4.2, 3.0, 2.0, 3.6, 3.0])
        patient = water_rule(allowed_lateness=minutes(30))
        assert dry_run(patient, readings).events == dry_run(water_rule(), readings).events

    def test_until_before_the_history_ends_is_refused(self):
        with pytest.raises(InvalidInput) as error:
            dry_run(water_rule(), series([1.0, 2.0]), until=at(0))
        assert error.value.field == "until"

    def test_an_empty_history_finds_nothing(self):
        assert dry_run(silence_rule(), [], until=at(100)).events == ()
        assert dry_run(water_rule(), []).events == ()


class TestFallingRate:
    def test_a_below_rate_rule_watches_a_fast_fall(self):
        rule = rate_rule(comparison="below", levels=(LevelThreshold("yellow", -0.5, -0.3),))
        falling = [3.0 - 0.02 * minute for minute in range(21)]  # -1.2 m per hour
        events = run(rule, series(falling + [falling[-1]] * 10))  # over 10 minutes: -0.36 at 27, -0.24 at 28
        assert moves(events) == [("fired", 10, "yellow"), ("cleared", 28, None)]
        assert events[0].value == pytest.approx(-1.2)


class TestCaseOpening:
    def test_a_rule_that_opens_cases_names_the_level_and_the_category(self):
        rule = water_rule(open_case_from="橙", case_category="drainage.waterlogging")
        assert rule.open_case_from is ORANGE
        with pytest.raises(InvalidInput) as error:
            water_rule(open_case_from="orange")
        assert error.value.field == "case_category"
        with pytest.raises(InvalidInput) as error:
            water_rule(case_category="drainage.waterlogging")
        assert error.value.field == "open_case_from"


class TestStateStorage:
    def test_a_state_survives_json_and_goes_on_the_same_way(self):
        rule = rate_rule(allowed_lateness=minutes(3), for_duration=minutes(2))
        readings = series([1.0 + 0.03 * minute for minute in range(20)])
        state = evaluate(rule, RuleState(), readings[:15]).state
        stored = json.loads(json.dumps(state_to_json(state)))
        assert state_from_json(stored) == state
        assert evaluate(rule, state_from_json(stored), readings[15:]) == evaluate(rule, state, readings[15:])

    @pytest.mark.parametrize("data", [None, {}, {"level": "red"}, "state"])
    def test_anything_else_is_bad_input(self, data):
        with pytest.raises(InvalidInput) as error:
            state_from_json(data)
        assert error.value.field == "state"

    def test_bad_values_inside_are_bad_input(self):
        good = state_to_json(evaluate(water_rule(allowed_lateness=minutes(3)), RuleState(), series([1.0])).state)
        for key, value in (("level", "purple"), ("pending", [["yesterday", 1.0]]), ("pending", [[good["last_at"]]]),
                           ("fire_since", "x"), ("history", [["2026-07-01T08:00:00+00:00", "NaN"]])):
            with pytest.raises(InvalidInput) as error:
                state_from_json(good | {key: value})
            assert error.value.field == "state", key
