"""The departments screen names each department kind in Chinese, the code beside it: every kind the demo
city's departments have (and the API's default one) has its name in the screen's messages, in both
languages, so no administrator reads a bare code such as ``civil_affairs`` again."""

from __future__ import annotations

import re

from cityops.demo.catalogue import DEPARTMENTS
from tests.conftest import REPO

MESSAGES = REPO / "web" / "src" / "console" / "admin" / "DepartmentsAdminMessages.ts"
KINDS_BLOCK = re.compile(r"^ +kinds: \{\n(.*?)^ +\},", re.MULTILINE | re.DOTALL)
ENTRY = re.compile(r"^ +(\w+): '([^']+)',$", re.MULTILINE)


def _names() -> list[dict[str, str]]:
    """The kinds' names, Chinese first, then English, as the messages file lists them."""
    return [dict(ENTRY.findall(block)) for block in KINDS_BLOCK.findall(MESSAGES.read_text(encoding="utf-8"))]


def test_every_kind_of_the_demo_city_has_a_chinese_and_an_english_name() -> None:
    kinds = {unit.kind for units in DEPARTMENTS.values() for unit in units} | {"general"}
    chinese, english = _names()
    assert set(chinese) >= kinds, f"kinds without a Chinese name: {sorted(kinds - set(chinese))}"
    assert set(english) == set(chinese)
    assert all(re.fullmatch(r"[\u4e00-\u9fff]+", name) for name in chinese.values()), chinese
    assert all(re.fullmatch(r"[A-Za-z ]+", name) for name in english.values()), english
