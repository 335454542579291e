"""Reading (text, label) pairs from a labelled CSV: encodings, joined text fields, bad files."""

from __future__ import annotations

import pytest

from cityops.classify.model import read_labelled_csv
from cityops.errors import InvalidFile
from tests.unit.classify.synthetic import csv_text

ROWS = [["路灯坏了", "A1区幸福小区的路灯坏了", "城乡建设"], ["", "河水发臭", "环境保护"], ["学费", "", "教育文体"]]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
def test_subject_and_body_are_joined_in_every_encoding(encoding: str) -> None:
    rows = read_labelled_csv(csv_text(ROWS).encode(encoding), text_fields=["主题", "详情"], label_field="分类")
    assert rows.texts == ["路灯坏了\nA1区幸福小区的路灯坏了", "河水发臭", "学费"]
    assert rows.labels == ["城乡建设", "环境保护", "教育文体"] and rows.skipped == []


def test_rows_without_text_or_label_are_skipped_with_their_row_numbers() -> None:
    data = csv_text([["路灯坏了", "x", " 城乡建设 "], ["噪音", "y", ""], [" ", "&nbsp;", "环境保护"]])
    rows = read_labelled_csv(data, text_fields=["主题"], label_field="分类")
    assert rows.texts == ["路灯坏了"] and rows.labels == ["城乡建设"]
    assert rows.skipped == [(3, "no label"), (4, "no text")]


def test_embedded_line_breaks_and_short_rows_are_read() -> None:
    data = "主题,详情,分类\n\"第一行\n第二行\",body,城乡建设\n只有主题\n"
    rows = read_labelled_csv(data.encode(), text_fields=["主题", "详情"], label_field="分类")
    assert rows.texts == ["第一行\n第二行\nbody"] and rows.skipped == [(3, "no label")]


def test_a_missing_column_names_the_available_ones() -> None:
    with pytest.raises(InvalidFile, match="no column '类别'; the file's columns are: 主题, 详情, 分类") as caught:
        read_labelled_csv(csv_text(ROWS).encode(), text_fields=["主题"], label_field="类别")
    assert caught.value.field == "类别"


@pytest.mark.parametrize(("data", "message"), [
    (b"", "the file is empty"),
    (b"\xef\xbb\xbf\n\n", "the file is empty"),
    ("主题,详情,分类\n".encode(), "no row with both a text and a label"),
    ("主题,详情,分类\n路灯,,\n".encode(), r"no row with both a text and a label \(1 row\(s\) skipped\)"),
    (b"\xff\xfe\x00\xd8\x00", "neither UTF-8 nor GB18030"),
])
def test_unusable_files_are_refused(data: bytes, message: str) -> None:
    with pytest.raises(InvalidFile, match=message):
        read_labelled_csv(data, text_fields=["主题"], label_field="分类")


def test_a_file_the_csv_reader_cannot_parse_is_refused() -> None:
    data = "主题,分类\n" + "长" * 200_000 + ",城乡建设\n"
    with pytest.raises(InvalidFile, match="cannot be parsed near line"):
        read_labelled_csv(data, text_fields=["主题"], label_field="分类")
