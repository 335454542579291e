"""A rule's stored definition (``alerting.rule_from_json``): a definition that is not the shape
``rule_to_json`` writes, or a duration that is not a number of seconds, is refused with its own code
and the field at fault, so the rule form can say why in the user's language."""

from __future__ import annotations

from typing import Any

import pytest

from cityops.errors import InvalidInput
from cityops.sensing import alerting
from tests.unit.sensing.builders import water_rule

DEFINITION = alerting.rule_to_json(water_rule())


def test_a_definition_as_written_reads_back_as_the_rule() -> None:
    assert alerting.rule_from_json("water-level", DEFINITION) == water_rule()


@pytest.mark.parametrize(("definition", "field"), [
    ("threshold", "definition"), (DEFINITION | {"scope": None}, "definition"),
    (DEFINITION | {"scope": {"device_type": "water_gauge", "street": "x"}}, "scope"),
    (DEFINITION | {"levels": {"level": "yellow", "fire_at": 3.0}}, "levels"),
    (DEFINITION | {"silence_levels": ["yellow"]}, "silence_levels")])
def test_a_definition_of_another_shape_is_refused(definition: Any, field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        alerting.rule_from_json("water-level", definition)
    assert (caught.value.code, caught.value.field) == ("bad_rule_definition", field)


@pytest.mark.parametrize(("name", "attribute", "seconds"), [
    ("for_s", "for_duration", -60), ("clear_for_s", "clear_for", "60"), ("for_s", "for_duration", True),
    ("allowed_lateness_s", "allowed_lateness", alerting.MAX_SECONDS + 1)])
def test_a_duration_is_a_number_of_seconds_within_the_limit(name: str, attribute: str, seconds: Any) -> None:
    with pytest.raises(InvalidInput) as caught:
        alerting.rule_from_json("water-level", DEFINITION | {name: seconds})
    assert (caught.value.code, caught.value.field, caught.value.extra) == ("bad_duration", name, {"max_days": 11574})
    longest = alerting.rule_from_json("water-level", DEFINITION | {name: alerting.MAX_SECONDS})
    assert getattr(longest, attribute).total_seconds() == alerting.MAX_SECONDS
