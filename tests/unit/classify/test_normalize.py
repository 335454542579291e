"""What the model sees of a text: entities decoded, tags dropped, full width made half width."""

from __future__ import annotations

import pytest

from cityops.classify.model import normalize


@pytest.mark.parametrize(("raw", "clean"), [
    ("  路灯坏了\t\n ", "路灯坏了"),
    ("路灯\u3000\u3000坏了", "路灯 坏了"),
    ("ＡＢＣ１２３，路灯", "abc123,路灯"),
    ("噪音&nbsp;扰民&amp;污染", "噪音 扰民&污染"),
    ("第一行<br>第二行<BR/>第三行<p class=\"x\">段落</p>", "第一行 第二行 第三行 段落"),
    ("多次打过<12345>的电话", "多次打过<12345>的电话"),
    ("依据<<土壤环境质量标准>>", "依据<<土壤环境质量标准>>"),
    ("零宽\u200b字符\ufeff", "零宽字符"),
    ("&lt;br&gt;转义的标签", "转义的标签"),
    ("", ""),
    (" \u3000&nbsp; ", ""),
])
def test_normalize(raw: str, clean: str) -> None:
    assert normalize(raw) == clean


def test_normalize_is_stable_on_its_own_output() -> None:
    once = normalize("Ａ市　噪音&nbsp;扰民<br/>ＣＮＣＣ")
    assert once == "a市 噪音 扰民 cncc"
    assert normalize(once) == once
