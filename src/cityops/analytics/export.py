"""Performance reports as a spreadsheet, as CSV or as the API's JSON rows, in Chinese (the default) or English.

The spreadsheet is for people: a sheet of figures (each group by its name, its code in a column of its
own, each rate beside the two counts it divides, as a number formatted as a percentage so that it can be
calculated with, and a 合计 row read off the same timelines), with its header frozen and its columns as
wide as their contents; a second sheet says what was reported (period, jurisdiction, grouping) and what
each figure counts. The CSV is for machines: the same columns and rows, the 合计 row last (the report's
totals, the same as the spreadsheet's). The JSON gives the group of the cases with no department, area or
category as ``group: null`` with its name (未分派, 未指定) in ``name``.
"""

from __future__ import annotations

import csv
import io
import unicodedata
from datetime import datetime, time, timedelta, tzinfo

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from cityops.analytics.figures import (
    EXPLANATIONS,
    FIGURES,
    GROUP_HEADINGS,
    HEADINGS,
    HOURS,
    RATE_PARTS,
    TOTAL,
    UNASSIGNED,
    Language,
)
from cityops.analytics.rates import NO_GROUP
from cityops.analytics.service import Report

NAMED = ("department", "area", "category")
PERCENT = "0.0%"
WHOLE = "0"
DECIMAL = "0.00"
INFO_SHEET: dict[Language, str] = {"zh-CN": "说明", "en": "About"}
LEVELS: dict[Language, dict[str, str]] = {
    "zh-CN": {"city": "市", "district": "区", "street": "街镇", "grid": "网格", "community": "社区"},
    "en": {"city": "city", "district": "district", "street": "street", "grid": "grid", "community": "community"},
}
WORDS: dict[Language, dict[str, str]] = {
    "zh-CN": {"title": "绩效报表", "period": "统计周期", "scope": "统计范围", "by": "分组方式", "level": "区域层级",
              "cases": "统计口径", "cases_text": "周期内受理的案件（按受理时间统计，不含被合并的重复上报）",
              "generated": "导出时间", "figure": "指标", "meaning": "含义", "to": "至", "days": "（含首尾两日）",
              "times": "（含开始时刻，不含结束时刻）", "by_prefix": "按"},
    "en": {"title": "Performance report", "period": "Period", "scope": "Jurisdiction", "by": "Grouped by",
           "level": "Area level", "cases": "Cases counted",
           "cases_text": "Cases opened in the period (by the time they were opened; merged duplicate reports left out)",
           "generated": "Exported at", "figure": "Figure", "meaning": "What it counts", "to": "to",
           "days": " (both days included)", "times": " (from the start, up to but not including the end)",
           "by_prefix": "By "},
}


def columns(by: str) -> list[str]:
    """The report's columns: the group (by its name, then its code, when it has both), then every figure."""
    return ["name", "code", *FIGURES] if by in NAMED else ["group", *FIGURES]


def headings(by: str, *, language: Language) -> list[str]:
    words = HEADINGS[language]
    return [GROUP_HEADINGS[language][by] if key in ("name", "group") else words[key] for key in columns(by)]


def group_name(row: dict[str, object], *, by: str, language: Language) -> str:
    """A group as people know it: by its name, the unassigned group by what it is (未分派, 未指定)."""
    if row["group"] == NO_GROUP:
        return UNASSIGNED[language].get(by, UNASSIGNED[language]["area"])
    return str(row.get("name") or row["group"])


def _cells(row: dict[str, object], *, by: str, language: Language, total: bool = False) -> list[object]:
    first = TOTAL[language] if total else group_name(row, by=by, language=language)
    code = "" if total or row["group"] == NO_GROUP else row["group"]
    return [first, *([code] if by in NAMED else []), *(row[key] for key in FIGURES)]


def _table(report: Report, *, language: Language) -> list[list[object]]:
    """The rows of the figures under the headings, the spreadsheet's and the CSV's alike: a row per group,
    then the 合计 row of the report's totals (read off the timelines, never summed from the rows)."""
    return [*(_cells(row, by=report.by, language=language) for row in report.rows),
            _cells(report.total, by=report.by, language=language, total=True)]


def json_rows(report: Report, *, language: Language = "zh-CN") -> list[dict[str, object]]:
    """The report's rows as the API's JSON gives them: the group of the cases with no department, area or
    category is ``None`` (null), named as the spreadsheet names it (未分派, 未指定) in ``language``."""
    return [{**row, "group": None, "name": group_name(row, by=report.by, language=language)}
            if row["group"] == NO_GROUP else row for row in report.rows]


def _format_of(key: str) -> str | None:
    if key in RATE_PARTS:
        return PERCENT
    if key in HOURS or key == "mean_rating":
        return DECIMAL
    return WHOLE if key in FIGURES else None


def _width(value: object, number_format: str | None) -> int:
    """How many character widths a cell's value takes as shown (a Chinese character takes two)."""
    if value is None or value == "":
        return 0
    if isinstance(value, float) and number_format == PERCENT:
        text = f"{value * 100:.1f}%"
    elif isinstance(value, float) and number_format == DECIMAL:
        text = f"{value:.2f}"
    else:
        text = str(value)
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def period_text(start: datetime, end: datetime, *, zone: tzinfo, language: Language) -> str:
    """[start, end) as read in ``zone``: whole days as their first and last day, otherwise the two times."""
    words = WORDS[language]
    first, after = start.astimezone(zone), end.astimezone(zone)
    if first.time() == time(0) and after.time() == time(0):
        return f"{first:%Y-%m-%d} {words['to']} {after - timedelta(days=1):%Y-%m-%d}{words['days']}"
    return f"{first:%Y-%m-%d %H:%M} {words['to']} {after:%Y-%m-%d %H:%M}{words['times']}"


def _by_words(by: str, language: Language) -> str:
    words = WORDS[language]
    return f"{words['by_prefix']}{GROUP_HEADINGS[language][by]}"


def _figures_sheet(sheet: Worksheet, report: Report, *, language: Language) -> None:
    keys = columns(report.by)
    sheet.append(headings(report.by, language=language))
    for cells in _table(report, language=language):
        sheet.append(cells)
    header_fill = PatternFill("solid", fgColor="DDE6F0")
    for cell in sheet[1]:
        cell.font = Font(bold=True)
        cell.fill = header_fill
        cell.alignment = Alignment(horizontal="center", vertical="center")
    rule = Side(style="thin", color="4A5668")
    for cell in sheet[sheet.max_row]:
        cell.font = Font(bold=True)
        cell.border = Border(top=rule)
    for index, key in enumerate(keys, start=1):
        number_format = _format_of(key)
        column = list(sheet.iter_cols(min_col=index, max_col=index))[0]
        if number_format is not None:
            for cell in column[1:]:
                cell.number_format = number_format
        widest = max(_width(cell.value, number_format) for cell in column)
        sheet.column_dimensions[get_column_letter(index)].width = min(max(widest + 2, 8), 48)
    sheet.freeze_panes = "B2"


def _info_sheet(sheet: Worksheet, report: Report, *, language: Language, zone: tzinfo,
                generated_at: datetime) -> None:
    words = WORDS[language]
    sheet.append([words["title"]])
    sheet["A1"].font = Font(bold=True, size=14)
    facts = [(words["period"], period_text(report.start, report.end, zone=zone, language=language)),
             (words["scope"], report.scope or "—"), (words["by"], _by_words(report.by, language))]
    if report.by == "area":
        facts.append((words["level"], LEVELS[language][report.area_level.value]))
    facts += [(words["cases"], words["cases_text"]),
              (words["generated"], f"{generated_at.astimezone(zone):%Y-%m-%d %H:%M}")]
    for fact in facts:
        sheet.append(fact)
        sheet.cell(sheet.max_row, 1).font = Font(bold=True)
    sheet.append([])
    sheet.append([words["figure"], words["meaning"]])
    for cell in sheet[sheet.max_row]:
        cell.font = Font(bold=True)
    explained = EXPLANATIONS[language]
    for key in ("group", *FIGURES):
        heading = GROUP_HEADINGS[language][report.by] if key == "group" else HEADINGS[language][key]
        sheet.append([heading, explained[key]])
    sheet.column_dimensions["A"].width = 26
    sheet.column_dimensions["B"].width = 110
    for row in sheet.iter_rows(min_col=2, max_col=2):
        row[0].alignment = Alignment(wrap_text=True, vertical="top")


def to_xlsx(report: Report, *, language: Language = "zh-CN", zone: tzinfo, generated_at: datetime) -> bytes:
    """The report as a workbook: its figures on the first sheet (named by the grouping, 按部门), what it
    covers and what each figure counts on the second; times are read in ``zone``."""
    book = Workbook()
    figures_sheet = book.active
    figures_sheet.title = _by_words(report.by, language)[:31]
    _figures_sheet(figures_sheet, report, language=language)
    _info_sheet(book.create_sheet(INFO_SHEET[language]), report, language=language, zone=zone,
                generated_at=generated_at)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def to_csv(report: Report, *, language: Language = "zh-CN") -> bytes:
    """One header row, then the spreadsheet's rows in its columns: one per group, and last the totals,
    named 合计 (Total) in the first column, which a program summing a column leaves out; a figure with no
    case it applies to is left empty, a rate is a fraction. UTF-8 with a byte-order mark, without which
    Excel reads the Chinese names as another code page."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(headings(report.by, language=language))
    for cells in _table(report, language=language):
        writer.writerow("" if cell is None else cell for cell in cells)
    return out.getvalue().encode("utf-8-sig")
