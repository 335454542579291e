"""The exported workbook a leader opens (QA: rates as 0 and 1 in General format, "(none)", a sheet called
"by department", bilingual headings): a Chinese workbook by default — sheets named 按部门 and 说明,
each group by its name with its code in a column of its own, the unassigned group 未分派, rates as
numbers formatted as percentages beside the counts they divide, hours with two decimals, the header
frozen, a 合计 row read off the timelines, and the period and filters on the second sheet; English on
request."""

import csv
import io
from datetime import UTC, datetime, timedelta, timezone

import openpyxl
import pytest

from cityops.analytics.export import json_rows, to_csv, to_xlsx
from cityops.analytics.rates import facts_from, overall, tabulate
from cityops.analytics.service import Report
from cityops.geo.levels import AreaLevel

SHANGHAI = timezone(timedelta(hours=8))
START, END = datetime(2026, 11, 2, tzinfo=SHANGHAI), datetime(2026, 12, 2, tzinfo=SHANGHAI)
T0 = datetime(2026, 11, 3, 1, tzinfo=UTC)
NAMES = {"310101-enforcement": "黄浦区城管执法局", "310101002-street_office": "南京东路街道办事处"}


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def the_qa_cases() -> Report:
    """The tester's demo: a case returned by the enforcement team and closed by the street office, rated
    4, and three cases not yet dispatched."""
    opened = [("intake", "reported", T0, {}, None), ("register", "registered", at(0.1), {}, None)]
    returned = facts_from(1, T0, [
        *opened, ("dispatch", "dispatched", at(0.2), {"lead": "310101-enforcement"}, None),
        ("return", "returned", at(0.3), {}, "310101-enforcement"),
        ("reassign", "dispatched", at(0.4), {"lead": "310101002-street_office"}, None),
        ("acknowledge", "in_progress", at(0.5), {}, "310101002-street_office"),
        ("report", "handled", at(0.5 + 0.03), {}, "310101002-street_office"),
        ("verify", "closed", at(1), {"passed": True}, None), ("rate", "closed", at(2), {"score": 4}, None)],
        category="E0102", area="310101", now=at(48))
    waiting = [facts_from(n, T0, opened[:1], category="E0102", area="310101", now=at(48)) for n in (2, 3, 4)]
    facts = [returned, *waiting]
    rows = [{**row, "name": NAMES.get(str(row["group"]))} for row in tabulate(facts, by="department")]
    return Report(by="department", start=START.astimezone(UTC), end=END.astimezone(UTC),
                  area_level=AreaLevel.district, scope="黄浦区", rows=rows, total={**overall(facts), "name": None})


def workbook(report: Report, **options: object) -> openpyxl.Workbook:
    return openpyxl.load_workbook(io.BytesIO(to_xlsx(report, zone=SHANGHAI, generated_at=at(72), **options)))


def by_heading(sheet: openpyxl.worksheet.worksheet.Worksheet) -> list[dict[str, openpyxl.cell.Cell]]:
    headings = [cell.value for cell in sheet[1]]
    return [dict(zip(headings, row, strict=True)) for row in sheet.iter_rows(min_row=2)]


def test_the_workbook_is_chinese_with_percentages_names_codes_and_a_totals_row() -> None:
    book = workbook(the_qa_cases())
    assert book.sheetnames == ["按部门", "说明"]
    sheet = book["按部门"]
    headings = [cell.value for cell in sheet[1]]
    assert headings[:6] == ["部门", "编码", "案件数", "已立案件数", "已结案件数", "结案率"]
    assert {"派遣次数", "退单次数", "退单率", "满意率", "平均处置时长（小时）"} <= set(headings)
    assert not any(ch.isascii() and ch.isalpha() for h in headings for ch in h)  # no English words
    assert sheet.freeze_panes == "B2"
    unassigned, enforcement, office, total = by_heading(sheet)
    assert (unassigned["部门"].value, unassigned["编码"].value, unassigned["案件数"].value) == ("未分派", None, 3)
    assert (enforcement["部门"].value, enforcement["编码"].value) == ("黄浦区城管执法局", "310101-enforcement")
    # 0 cases and 100% returns, with the one dispatch and the one return it divides right beside it
    assert [enforcement[h].value for h in ("案件数", "派遣次数", "退单次数", "退单率")] == [0, 1, 1, 1]
    assert enforcement["结案率"].value is None  # no case to close: empty, not 0
    assert office["结案率"].value == 1 and office["结案率"].number_format == "0.0%"
    for rate in ("结案率", "按期结案率", "逾期率", "返工率", "退单率", "满意率"):
        assert all(row[rate].number_format == "0.0%" for row in (enforcement, office, total)), rate
    assert office["退单率"].value == 0 and isinstance(office["退单率"].value, int | float)
    assert office["处置时长中位数（小时）"].number_format == "0.00"
    assert office["平均处置时长（小时）"].value == pytest.approx(0.13)  # reassigned at 0.4 h, reported at 0.53 h
    assert office["案件数"].number_format == "0"
    # the totals: every case once, every dispatch and return once, rates from those counts
    assert total["部门"].value == "合计" and total["部门"].font.b
    assert [total[h].value for h in ("案件数", "已立案件数", "已结案件数", "派遣次数", "退单次数")] == [4, 1, 1, 2, 1]
    assert (total["结案率"].value, total["退单率"].value) == (1, 0.5)
    # columns as wide as their contents
    widths = {cell.value: sheet.column_dimensions[cell.column_letter].width for cell in sheet[1]}
    assert widths["部门"] >= len("南京东路街道办事处") * 2 and widths["编码"] >= len("310101002-street_office")
    assert widths["平均处置时长（小时）"] >= len("平均处置时长（小时）") * 2


def test_the_second_sheet_says_what_was_reported_and_what_each_figure_counts() -> None:
    notes = workbook(the_qa_cases())["说明"]
    lines = {row[0]: row[1] for row in notes.iter_rows(values_only=True) if row and row[0]}
    assert lines["统计周期"] == "2026-11-02 至 2026-12-01（含首尾两日）"
    assert (lines["统计范围"], lines["分组方式"]) == ("黄浦区", "按部门")
    assert lines["导出时间"] == "2026-11-06 09:00"
    assert "派遣" in lines["退单率"] and "案件数为 0" in lines["部门"]


def test_english_on_request() -> None:
    book = workbook(the_qa_cases(), language="en")
    assert book.sheetnames == ["By Department", "About"]
    rows = by_heading(book["By Department"])
    assert [rows[0]["Department"].value, rows[-1]["Department"].value] == ["(not dispatched)", "Total"]
    assert rows[1]["Return rate"].number_format == "0.0%"
    about = {row[0]: row[1] for row in book["About"].iter_rows(values_only=True) if row and row[0]}
    assert about["Period"] == "2026-11-02 to 2026-12-01 (both days included)"


def test_a_period_not_of_whole_days_is_given_by_its_times() -> None:
    report = the_qa_cases()
    report = Report(**{**report.__dict__, "end": datetime(2026, 11, 5, 9, 30, tzinfo=UTC)})
    lines = {row[0]: row[1] for row in workbook(report)["说明"].iter_rows(values_only=True) if row and row[0]}
    assert lines["统计周期"] == "2026-11-02 00:00 至 2026-11-05 17:30（含开始时刻，不含结束时刻）"


def test_the_csv_has_the_workbooks_columns_and_rows_with_its_totals_row() -> None:
    report = the_qa_cases()
    lines = list(csv.reader(io.StringIO(to_csv(report).decode("utf-8-sig"))))
    assert ",".join(lines[0]).startswith("部门,编码,案件数,已立案件数,已结案件数,结案率,")
    assert lines[1][:3] == ["未分派", "", "3"] and lines[2][:3] == ["黄浦区城管执法局", "310101-enforcement", "0"]
    assert len(lines) == 5 and [line[0] for line in lines[1:]].count("合计") == 1
    total = dict(zip(lines[0], lines[-1], strict=True))
    assert (total["部门"], total["编码"]) == ("合计", "")
    counts = ("案件数", "已立案件数", "已结案件数", "派遣次数", "退单次数")
    assert [total[h] for h in counts] == ["4", "1", "1", "2", "1"]
    assert (total["结案率"], total["退单率"]) == ("1.0", "0.5")
    # the totals are the report's, read off the timelines, not the rows added up: a rate is not summed
    assert total["平均评分"] == "4.0" and total["逾期率"] == str(report.total["overdue_rate"])
    # the workbook's rows, cell for cell (a number as a number, empty for none)
    def read(value: object) -> object:
        if value is None or value == "":
            return None
        try:
            return float(value)
        except ValueError:
            return value

    sheet = workbook(report)["按部门"]
    assert [[read(cell) for cell in line] for line in lines] == [
        [read(value) for value in row] for row in sheet.iter_rows(values_only=True)]
    english = to_csv(report, language="en").decode("utf-8-sig").splitlines()
    assert english[-1].startswith("Total,,4,")


def test_the_unassigned_group_is_null_in_json_and_named_as_in_the_workbook() -> None:
    report = the_qa_cases()
    rows = json_rows(report)
    assert [(row["group"], row["name"]) for row in rows] == [
        (None, "未分派"), ("310101-enforcement", "黄浦区城管执法局"), ("310101002-street_office", "南京东路街道办事处")]
    assert [(row["group"], row["name"]) for row in json_rows(report, language="en")][0] == (None, "(not dispatched)")
    assert rows[0]["cases"] == 3 and rows[1:] == report.rows[1:]
    by_area = Report(**{**report.__dict__, "by": "area"})
    assert json_rows(by_area)[0]["name"] == "未指定"
    assert report.rows[0]["group"] == "(none)"  # the report itself is left as it was
