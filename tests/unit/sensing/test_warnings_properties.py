"""Random readings through a rule into warnings, with people acting at random in between: there is never
more than one active warning per rule and origin, every move is one the table allows to that role, and
left alone the warnings are exactly the dry run's episodes."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from cityops.errors import Conflict, InvalidInput, PermissionDenied
from cityops.org.roles import Role
from cityops.sensing.rules import RuleKind, dry_run
from cityops.sensing.warnings import (
    ACTIVE,
    SYSTEM,
    TABLE,
    Actor,
    Labels,
    WarningAction,
    WarningStatus,
    apply,
    follow,
)
from tests.unit.sensing.builders import at, histories, water_rule

LABELS = Labels("water-level", RuleKind.threshold, "WG-001", ("sh", "putuo"), device_type="water_gauge")
ACTORS = [SYSTEM, *(Actor(role, role.value) for role in Role if role is not Role.system)]


@settings(max_examples=300, deadline=None)
@given(readings=histories())
def test_left_alone_each_episode_is_one_warning(readings):
    result = dry_run(water_rule(), readings)
    warnings, active = [], None
    for event in result.events:
        step = follow(active, event, labels=LABELS)
        assert step is not None
        active, entry = step
        if entry.action is WarningAction.fire:
            warnings.append(active)
        else:
            warnings[-1] = active
    assert [(w.fired_at, w.peak_level, w.status is WarningStatus.resolved) for w in warnings] == [
        (episode.fired_at, episode.peak_level, episode.cleared_at is not None) for episode in result.episodes]


@settings(max_examples=300, deadline=None)
@given(data=st.data(), readings=histories())
def test_people_and_readings_together_never_break_the_table(data, readings):
    warnings, entries = [], {}
    for event in dry_run(water_rule(), readings).events:
        if warnings and data.draw(st.booleans()):
            current = warnings[-1]
            action = data.draw(st.sampled_from(list(WarningAction)))
            actor = data.draw(st.sampled_from(ACTORS))
            transition = TABLE[action]
            try:
                moved, entry = apply(current, action, actor=actor, at=max(current.updated_at, event.at),
                                     reason=data.draw(st.sampled_from([None, "checked on site"])),
                                     level=data.draw(st.sampled_from([None, "yellow", "red"])),
                                     case_id=data.draw(st.sampled_from([None, 5])))
            except PermissionDenied:
                assert actor.role not in transition.roles
            except Conflict:
                assert actor.role in transition.roles
            except InvalidInput as error:
                assert error.field in {"reason", "level", "case_id"}
            else:
                assert actor.role in transition.roles and current.status in transition.sources
                assert moved.status in (transition.targets or {current.status})
                warnings[-1] = moved
                entries[len(warnings)].append(entry)
        active = warnings[-1] if warnings and warnings[-1].status in ACTIVE else None
        step = follow(active, event, labels=LABELS)
        if step is None:
            continue
        warning, entry = step
        if entry.action is WarningAction.fire:
            warnings.append(warning)
            entries[len(warnings)] = []
        else:
            warnings[-1] = warning
        entries[len(warnings)].append(entry)
        assert sum(w.status in ACTIVE for w in warnings) <= 1
        assert all(w.status not in ACTIVE for w in warnings[:-1])
    for number, warning in enumerate(warnings, start=1):
        history = entries[number]
        assert [entry.version for entry in history] == list(range(1, len(history) + 1)) == list(
            range(1, warning.version + 1))
        assert all(a.to_status is b.from_status for a, b in zip(history, history[1:], strict=False))
        assert warning.peak_level.rank >= warning.level.rank
        if warning.status is WarningStatus.resolved:  # only the readings resolve; its case may be tried after
            resolved_by = [entry for entry in history if entry.from_status is not entry.to_status][-1]
            assert resolved_by.action is WarningAction.resolve and resolved_by.actor == SYSTEM
            assert all(entry.action in {WarningAction.open_case, WarningAction.case_not_opened}
                       for entry in history[history.index(resolved_by) + 1:])
        assert all(entry.at >= at(0) for entry in history)
