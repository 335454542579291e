"""The screens' Chinese texts for API problems (``problem.*`` in web/src/locales/zh-CN.json) are keyed
by problem codes the API really answers with: a code renamed or dropped in the API would otherwise
leave its text unused and the screen back on the English detail."""

from __future__ import annotations

import json
import re

from tests.conftest import REPO

SOURCE = REPO / "src" / "cityops"
# ``code="…"`` where an error is raised, ``code = "…"`` where an error class sets its own
RAISED = re.compile(r"""\bcode\s*=\s*["']([a-z_]+)["']""")


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


def test_the_codes_looked_for_are_found() -> None:
    """The search itself: codes known to be raised in each form are among those found."""
    codes = _codes_in_source()
    assert {"outside_jurisdiction", "illegal_transition", "duplicate_username", "not_found"} <= codes
