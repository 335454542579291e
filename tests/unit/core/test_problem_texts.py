"""The screens' Chinese texts for API problems (``problem.*`` in web/src/locales/zh-CN.json) are keyed
by problem codes the API really answers with: a code renamed or dropped in the API would otherwise
leave its text unused and the screen back on the English detail. And every code the API answers with
has its text, but for the few no screen shows (``UNSHOWN``): a code added without one would put the
API's English words in front of staff."""

from __future__ import annotations

import json
import re

from tests.conftest import REPO

SOURCE = REPO / "src" / "cityops"
# ``code="…"`` where an error is raised, ``code = "…"`` where an error class sets its own
RAISED = re.compile(r"""\bcode\s*=\s*["']([a-z_]+)["']""")
# Codes found that no screen shows, each with why; anything else needs its Chinese text.
UNSHOWN = {
    "code": "not a problem: the device-quality list's sort by code (an enum member the search finds too)",
    "invalid_input": "the generic code of bad input: screens check their fields and say them in their own "
                     "words, and a pydantic refusal by its type (validation.*)",
    "not_a_device_token": "answered to devices, which send readings with their tokens",
    "unknown_request": "Open311 GeoReport, answered to other systems' apps in the standard's English",
    "unknown_service": "Open311 GeoReport, as above",
    "unknown_token": "Open311 GeoReport, as above",
    "api_unreachable": "the fleet simulator's command line (cityops simulate)",
    "batch_refused": "the fleet simulator's command line",
    "broker_unreachable": "the fleet simulator's command line",
    "demo_data_missing": "cityops demo, on the command line",
    "store_not_demo": "cityops demo, on the command line",
}


def _codes_in_source() -> set[str]:
    found: set[str] = set()
    for path in SOURCE.rglob("*.py"):
        found.update(RAISED.findall(path.read_text(encoding="utf-8")))
    return found


def test_every_chinese_problem_text_is_for_a_code_the_api_answers_with() -> None:
    texts = json.loads((REPO / "web" / "src" / "locales" / "zh-CN.json").read_text(encoding="utf-8"))["problem"]
    unknown = sorted(set(texts) - _codes_in_source())
    assert not unknown, f"texts for codes the API never answers with: {unknown}"
    assert all(text.strip() for text in texts.values())


def test_every_code_the_api_answers_with_has_a_chinese_text() -> None:
    texts = json.loads((REPO / "web" / "src" / "locales" / "zh-CN.json").read_text(encoding="utf-8"))["problem"]
    missing = sorted(_codes_in_source() - set(texts) - set(UNSHOWN))
    assert not missing, f"codes the API answers with but the screens cannot say in Chinese: {missing}"
    assert set(UNSHOWN) <= _codes_in_source(), "an exception for a code no longer raised"
    assert not set(UNSHOWN) & set(texts), "a code listed as never shown has a text after all"


def test_the_codes_looked_for_are_found() -> None:
    """The search itself: codes known to be raised in each form are among those found."""
    codes = _codes_in_source()
    assert {"outside_jurisdiction", "illegal_transition", "duplicate_username", "not_found"} <= codes
