"""The warning lifecycle, silences, inhibition and grouping, as plain functions."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from cityops.errors import Conflict, InvalidInput, PermissionDenied
from cityops.org.roles import Role
from cityops.sensing.rules import RuleKind, dry_run
from cityops.sensing.warnings import (
    SYSTEM,
    Actor,
    Labels,
    Matcher,
    Silence,
    WarningAction,
    WarningStatus,
    apply,
    case_retry_delay,
    follow,
    group_for_notification,
    inhibiting_station,
    next_case_attempt,
    notification_key,
    open_warning,
    should_open_case,
    suppression,
)
from tests.unit.sensing.builders import at, series, water_rule

OPERATOR = Actor(Role.operator, "Wang Li", "17")
DISPATCHER = Actor(Role.dispatcher, "Zhao Min", "18")
HANDLER = Actor(Role.handler, "Sun Qiang", "40")
GAUGE = Labels(rule="water-level", kind=RuleKind.threshold, origin="WG-001", area_path=("sh", "putuo", "changfeng"),
               device_type="water_gauge", station="ST-7")


def follow_all(events, labels=GAUGE):
    """Feed rule events through ``follow`` as the service would: every warning and every entry."""
    warnings, entries, active = [], [], None
    for event in events:
        result = follow(active, event, labels=labels)
        if result is None:
            continue
        warning, entry = result
        if entry.action is WarningAction.fire:
            warnings.append(warning)
        else:
            warnings[-1] = warning
        entries.append(entry)
        active = warning
    return warnings, entries


def firing(values=(3.1,)):
    """A firing warning from a dry run over ``values``, and the rule events."""
    events = dry_run(water_rule(), series(values)).events
    warnings, _ = follow_all(events)
    return warnings[-1], events


class TestFollow:
    def test_level_changes_update_the_one_warning_and_the_clear_resolves_it(self):
        events = dry_run(water_rule(), series([3.1, 3.6, 4.2, 3.4, 2.0])).events
        warnings, entries = follow_all(events)
        assert len(warnings) == 1
        warning = warnings[0]
        assert (warning.status, warning.level, warning.peak_level) == (WarningStatus.resolved, "orange", "red")
        assert [(entry.action, entry.from_level, entry.to_level) for entry in entries] == [
            ("fire", None, "yellow"), ("change_level", "yellow", "orange"), ("change_level", "orange", "red"),
            ("change_level", "red", "orange"), ("resolve", "orange", "orange")]
        assert [entry.version for entry in entries] == [1, 2, 3, 4, 5] and warning.version == 5
        assert entries[-1].value == 2.0 and entries[2].value == 4.2
        assert warning.fired_at == at(0) and warning.updated_at == at(4) and all(e.actor == SYSTEM for e in entries)

    def test_a_new_episode_is_a_new_warning(self):
        events = dry_run(water_rule(), series([3.1, 2.0, 3.2])).events
        warnings, _ = follow_all(events)
        assert [(warning.status, warning.fired_at) for warning in warnings] == [
            (WarningStatus.resolved, at(0)), (WarningStatus.firing, at(2))]

    def test_a_fired_event_for_an_active_warning_updates_it(self):
        warning, events = firing([4.2])
        again = follow(warning, events[0], labels=GAUGE)
        assert again is None
        _, orange = firing([3.6])
        updated, entry = follow(warning, orange[0], labels=GAUGE)
        assert entry.action is WarningAction.change_level and updated.level == "orange" and updated.peak_level == "red"

    def test_a_closed_warning_stays_closed_unless_the_danger_rises(self):
        events = dry_run(water_rule(), series([3.6, 3.2, 4.1, 2.0])).events
        opened, _ = follow(None, events[0], labels=GAUGE)
        closed, _ = apply(opened, "close_false_alarm", actor=OPERATOR, at=at(0.5), reason="gauge being cleaned")
        assert follow(closed, events[1], labels=GAUGE) is None
        risen, entry = follow(closed, events[2], labels=GAUGE)
        assert entry.action is WarningAction.fire and risen.level == "red" and risen.status is WarningStatus.firing
        assert follow(closed, events[3], labels=GAUGE) is None

    def test_the_event_and_warning_must_belong_to_the_labels(self):
        warning, events = firing()
        with pytest.raises(InvalidInput) as error:
            follow(warning, events[0], labels=Labels("other", RuleKind.threshold, "WG-001", ("sh",)))
        assert error.value.field == "event"
        with pytest.raises(InvalidInput) as error:
            follow(warning, events[0], labels=Labels("water-level", RuleKind.threshold, "WG-002", ("sh",)))
        assert error.value.field == "active"
        with pytest.raises(InvalidInput) as error:
            open_warning(events[0], labels={"rule": "water-level"})
        assert error.value.field == "labels"


class TestLifecycle:
    def test_acknowledge_then_convert_into_a_case(self):
        warning, _ = firing()
        acknowledged, entry = apply(warning, WarningAction.acknowledge, actor=OPERATOR, at=at(1), reason="研判中")
        assert acknowledged.status is WarningStatus.acknowledged
        assert entry.reason == "研判中" and entry.actor == OPERATOR
        converted, entry = apply(acknowledged, "convert_to_case", actor=DISPATCHER, at=at(2), case_id=812)
        assert converted.status is WarningStatus.converted and converted.case_id == entry.case_id == 812
        assert not converted.active and converted.version == 3

    def test_the_rule_opening_a_case_links_it_and_the_warning_follows_on(self):
        warning, _ = firing()
        linked, entry = apply(warning, "open_case", actor=SYSTEM, at=at(0), case_id=9)
        assert (linked.status, linked.case_id, linked.version) == (WarningStatus.firing, 9, 2)
        assert (entry.action, entry.from_status, entry.to_status, entry.case_id) == (
            WarningAction.open_case, WarningStatus.firing, WarningStatus.firing, 9)
        with pytest.raises(PermissionDenied):
            apply(warning, "open_case", actor=OPERATOR, at=at(0), case_id=9)
        for action, actor in (("open_case", SYSTEM), ("convert_to_case", OPERATOR)):
            with pytest.raises(Conflict) as refused:
                apply(linked, action, actor=actor, at=at(1), case_id=10)
            assert refused.value.code == "has_case"
        _, later = firing([3.1, 4.5])
        risen, _ = follow(linked, later[-1], labels=GAUGE)
        assert (risen.level, risen.case_id, risen.status) == ("red", 9, WarningStatus.firing)

    def test_an_acknowledged_warning_follows_its_rule(self):
        warning, _ = firing()
        acknowledged, _ = apply(warning, "acknowledge", actor=DISPATCHER, at=at(1))
        _, later = firing([3.1, 2.0])
        resolved, entry = follow(acknowledged, later[1], labels=GAUGE)
        assert (entry.from_status, resolved.status) == (WarningStatus.acknowledged, WarningStatus.resolved)

    def test_a_reading_taken_before_a_person_s_move_but_arriving_after_it_still_moves_the_warning(self):
        warning, _ = firing()  # fired at minute 0
        acknowledged, _ = apply(warning, "acknowledge", actor=DISPATCHER, at=at(5))  # by the clock
        risen = dry_run(water_rule(), series([3.1, 4.2])).events[1]  # the reading of minute 1, arriving late
        moved, entry = follow(acknowledged, risen, labels=GAUGE)
        assert (moved.level, moved.status, entry.at, moved.updated_at) == ("red", WarningStatus.acknowledged,
                                                                             at(5), at(5))
        cleared = dry_run(water_rule(), series([3.1, 2.0])).events[1]
        resolved, entry = follow(acknowledged, cleared, labels=GAUGE)
        assert (resolved.status, entry.at) == (WarningStatus.resolved, at(5))

    @pytest.mark.parametrize(("action", "actor"), [
        ("acknowledge", HANDLER), ("acknowledge", SYSTEM), ("resolve", OPERATOR), ("change_level", DISPATCHER),
        ("close_false_alarm", SYSTEM), ("convert_to_case", HANDLER), ("close_false_alarm", Actor(Role.leader, "x")),
    ])
    def test_each_move_belongs_to_its_roles(self, action, actor):
        warning, _ = firing()
        with pytest.raises(PermissionDenied) as error:
            apply(warning, action, actor=actor, at=at(1), reason="because", level="red", case_id=3)
        assert error.value.code == "role_not_allowed"

    def test_closed_warnings_do_not_move(self):
        warning, _ = firing()
        closed, _ = apply(warning, "close_false_alarm", actor=OPERATOR, at=at(1), reason="test water poured")
        for action, actor in (("acknowledge", OPERATOR), ("resolve", SYSTEM), ("convert_to_case", DISPATCHER),
                              ("close_false_alarm", OPERATOR)):
            with pytest.raises(Conflict) as error:
                apply(closed, action, actor=actor, at=at(2), reason="again", case_id=4)
            assert error.value.code == "illegal_transition"
        acknowledged, _ = apply(warning, "acknowledge", actor=OPERATOR, at=at(1))
        with pytest.raises(Conflict):
            apply(acknowledged, "acknowledge", actor=OPERATOR, at=at(2))

    def test_bad_input_names_its_field(self):
        warning, _ = firing()
        cases = [
            ({"action": "close_false_alarm", "actor": OPERATOR, "reason": "  "}, "reason"),
            ({"action": "convert_to_case", "actor": OPERATOR, "case_id": 0}, "case_id"),
            ({"action": "convert_to_case", "actor": OPERATOR, "case_id": True}, "case_id"),
            ({"action": "change_level", "actor": SYSTEM}, "level"),
            ({"action": "change_level", "actor": SYSTEM, "level": "purple"}, "level"),
            ({"action": "snooze", "actor": OPERATOR}, "action"),
            ({"action": "acknowledge", "actor": OPERATOR, "at": datetime(2026, 7, 1, 9)}, "at"),
            ({"action": "acknowledge", "actor": OPERATOR, "at": at(-1)}, "at"),
            ({"action": "acknowledge", "actor": "operator"}, "actor"),
        ]
        for kwargs, field in cases:
            kwargs.setdefault("at", at(1))
            with pytest.raises(InvalidInput) as error:
                apply(warning, kwargs.pop("action"), **kwargs)
            assert error.value.field == field, kwargs

    def test_changing_to_the_same_level_is_a_conflict(self):
        warning, _ = firing()
        with pytest.raises(Conflict) as error:
            apply(warning, "change_level", actor=SYSTEM, at=at(1), level="黄")
        assert error.value.code == "same_level"


def silence(*matchers, start=0, end=60, **changes):
    fields = {"matchers": tuple(Matcher(label, value) for label, value in matchers), "starts_at": at(start),
              "ends_at": at(end), "author": "Wang Li", "reason": "pump station maintenance"}
    return Silence(**(fields | changes))


class TestSilences:
    def test_a_silence_mutes_matching_warnings_within_its_time_box(self):
        mute = silence(("area", "putuo"), ("device_type", "water_gauge"), start=10, end=70)
        assert suppression(GAUGE, silences=[mute], offline_stations=(), at=at(10)).silences == (mute,)
        assert suppression(GAUGE, silences=[mute], offline_stations=(), at=at(69)).suppressed
        assert not suppression(GAUGE, silences=[mute], offline_stations=(), at=at(70)).suppressed
        assert not suppression(GAUGE, silences=[mute], offline_stations=(), at=at(9)).suppressed

    def test_every_matcher_must_match(self):
        for matchers in ([("area", "jingan")], [("area", "putuo"), ("rule", "air-pm25")], [("origin", "WG-002")],
                         [("kind", "no_data")]):
            assert not silence(*matchers).mutes(GAUGE, at=at(1)), matchers
        for matchers in ([("area", "changfeng")], [("rule", "water-level")], [("origin", "WG-001")],
                         [("kind", "threshold"), ("station", "ST-7")]):
            assert silence(*matchers).mutes(GAUGE, at=at(1)), matchers

    @pytest.mark.parametrize(("changes", "field"), [
        ({"matchers": ()}, "matchers"), ({"ends_at": at(0)}, "ends_at"), ({"reason": " "}, "reason"),
        ({"author": ""}, "author"), ({"starts_at": datetime(2026, 7, 1)}, "starts_at"),
    ])
    def test_a_silence_is_time_boxed_and_says_who_and_why(self, changes, field):
        with pytest.raises(InvalidInput) as error:
            silence(("area", "putuo"), **changes)
        assert error.value.field == field

    def test_matchers_name_known_labels(self):
        with pytest.raises(InvalidInput) as error:
            Matcher("colour", "red")
        assert error.value.field == "matchers"
        with pytest.raises(InvalidInput):
            Matcher("area", "")


class TestInhibition:
    sensor = Labels("gauge-silent", RuleKind.no_data, "WG-001", ("sh", "putuo"), device_type="water_gauge",
                    station="ST-7")

    def test_an_offline_station_inhibits_its_sensors_no_data_warnings(self):
        assert inhibiting_station(self.sensor, offline_stations={"ST-7"}) == "ST-7"
        assert suppression(self.sensor, silences=(), offline_stations={"ST-7"}, at=at(0)).inhibited_by == "ST-7"

    def test_only_no_data_warnings_of_other_devices_under_an_offline_station(self):
        assert inhibiting_station(self.sensor, offline_stations={"ST-8"}) is None
        assert inhibiting_station(GAUGE, offline_stations={"ST-7"}) is None
        station = Labels("gauge-silent", RuleKind.no_data, "ST-7", ("sh", "putuo"), station="ST-7")
        assert inhibiting_station(station, offline_stations={"ST-7"}) is None
        alone = Labels("gauge-silent", RuleKind.no_data, "WG-9", ("sh", "putuo"))
        assert inhibiting_station(alone, offline_stations={"ST-7"}) is None


class TestGrouping:
    def make(self, origin, area_path, level_values, device_type="water_gauge", rule="water-level"):
        labels = Labels(rule, RuleKind.threshold, origin, area_path, device_type=device_type)
        events = dry_run(water_rule(code=rule), series(level_values)).events
        return follow_all(events, labels)[0][-1]

    def test_groups_by_area_and_type_most_severe_first(self):
        a = self.make("WG-1", ("sh", "putuo", "changfeng"), [3.1])
        b = self.make("WG-2", ("sh", "putuo", "changfeng"), [4.1])
        c = self.make("WG-3", ("sh", "putuo", "ganquan"), [3.6])
        d = self.make("AQ-1", ("sh", "putuo", "changfeng"), [3.1], device_type="air_station")
        groups = group_for_notification([a, b, c, d])
        assert [(group.area, group.subject, group.level, [w.origin for w in group.warnings]) for group in groups] == [
            ("changfeng", "water_gauge", "red", ["WG-2", "WG-1"]), ("ganquan", "water_gauge", "orange", ["WG-3"]),
            ("changfeng", "air_station", "yellow", ["AQ-1"])]
        by_district = group_for_notification([a, b, c, d], area_depth=1)
        assert [(group.area, group.subject, len(group.warnings)) for group in by_district] == [
            ("putuo", "water_gauge", 3), ("putuo", "air_station", 1)]

    def test_the_subject_falls_back_to_the_indicator_then_the_rule(self):
        indicator = Labels("hotline-surge", RuleKind.threshold, "changfeng", ("sh", "putuo", "changfeng"),
                           indicator="hotline_per_hour")
        bare = Labels("custom", RuleKind.threshold, "X", ("sh",))
        assert notification_key(indicator) == ("changfeng", "hotline_per_hour")
        assert notification_key(bare, area_depth=5) == ("sh", "custom")
        with pytest.raises(InvalidInput) as error:
            notification_key(bare, area_depth=-1)
        assert error.value.field == "area_depth"

    def test_labels_are_checked(self):
        with pytest.raises(InvalidInput) as error:
            Labels("r", "sometimes", "X", ("sh",))
        assert error.value.field == "labels.kind"
        with pytest.raises(InvalidInput) as error:
            Labels("r", RuleKind.threshold, "X", ())
        assert error.value.field == "labels.area_path"


class TestCaseOpening:
    rule = water_rule(open_case_from="orange", case_category="drainage.waterlogging")

    def test_opens_a_case_from_the_rules_level_for_an_active_warning_without_one(self):
        yellow, _ = firing([3.1])
        orange, _ = firing([3.6])
        assert not should_open_case(yellow, self.rule) and should_open_case(orange, self.rule)
        acknowledged, _ = apply(orange, "acknowledge", actor=OPERATOR, at=at(1))
        assert should_open_case(acknowledged, self.rule)
        converted, _ = apply(acknowledged, "convert_to_case", actor=SYSTEM, at=at(2), case_id=31)
        assert not should_open_case(converted, self.rule)
        closed, _ = apply(orange, "close_false_alarm", actor=OPERATOR, at=at(1), reason="sensor fouled")
        assert not should_open_case(closed, self.rule)

    def test_a_warning_that_cleared_after_reaching_the_level_still_gets_its_case(self):
        warnings, _ = follow_all(dry_run(water_rule(), series([3.6, 2.0])).events)
        resolved = warnings[-1]
        assert (resolved.status, resolved.peak_level) == (WarningStatus.resolved, "orange")
        assert should_open_case(resolved, self.rule)
        linked, _ = apply(resolved, "open_case", actor=SYSTEM, at=resolved.updated_at, case_id=4)
        assert (linked.status, linked.case_id) == (WarningStatus.resolved, 4)
        assert not should_open_case(linked, self.rule)
        below, _ = follow_all(dry_run(water_rule(), series([3.1, 2.0])).events)
        assert not should_open_case(below[-1], self.rule)

    def test_a_rule_without_it_waits_for_an_operator(self):
        red, _ = firing([4.5])
        assert not should_open_case(red, water_rule())
        with pytest.raises(InvalidInput) as error:
            should_open_case(red, water_rule(code="other"))
        assert error.value.field == "rule"

    def test_a_case_that_could_not_be_opened_is_recorded_and_the_warning_stays_due(self):
        orange, _ = firing([3.6])
        failed, entry = apply(orange, "case_not_opened", actor=SYSTEM, at=at(1), reason="calendar unreadable")
        assert (entry.action, entry.from_status, entry.to_status, entry.reason, entry.case_id) == (
            WarningAction.case_not_opened, WarningStatus.firing, WarningStatus.firing, "calendar unreadable", None)
        assert (failed.status, failed.level, failed.version, failed.updated_at) == (
            WarningStatus.firing, orange.level, orange.version + 1, at(1))
        assert should_open_case(failed, self.rule)
        resolved, _ = follow_all(dry_run(water_rule(), series([3.6, 2.0])).events)
        assert apply(resolved[-1], "case_not_opened", actor=SYSTEM, at=at(2), reason="x")[0].status is \
            WarningStatus.resolved
        with pytest.raises(InvalidInput) as error:
            apply(orange, "case_not_opened", actor=SYSTEM, at=at(1))
        assert error.value.field == "reason"
        with pytest.raises(PermissionDenied):
            apply(orange, "case_not_opened", actor=OPERATOR, at=at(1), reason="x")
        closed, _ = apply(orange, "close_false_alarm", actor=OPERATOR, at=at(1), reason="sensor fouled")
        with pytest.raises(Conflict) as refused:
            apply(closed, "case_not_opened", actor=SYSTEM, at=at(2), reason="x")
        assert refused.value.code == "illegal_transition"

    @pytest.mark.parametrize(("failures", "minutes"), [(1, 1), (2, 2), (3, 4), (6, 32), (7, 60), (8, 60),
                                                       (10_000, 60)])
    def test_the_retry_delay_doubles_per_failure_up_to_an_hour(self, failures, minutes):
        assert case_retry_delay(failures) == timedelta(minutes=minutes)
        assert next_case_attempt(failures=failures, last_failed_at=at(5)) == at(5 + minutes)

    @pytest.mark.parametrize("failures", [0, -1, True, 1.5, None])
    def test_the_retry_delay_counts_failures_from_one(self, failures):
        with pytest.raises(InvalidInput) as error:
            case_retry_delay(failures)
        assert error.value.field == "failures"
