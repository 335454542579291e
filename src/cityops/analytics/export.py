"""Performance tables as a spreadsheet (with a sheet saying what each figure counts) or as CSV."""

from __future__ import annotations

import csv
import io

from openpyxl import Workbook
from openpyxl.styles import Font

from cityops.analytics.figures import DEFINITIONS, HEADINGS

DEFINITIONS_SHEET = "说明 definitions"


def to_xlsx(rows: list[dict[str, object]], *, title: str) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = title[:31]
    sheet.append(list(HEADINGS.values()))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append([row[key] for key in HEADINGS])
    for column in sheet.columns:
        sheet.column_dimensions[column[0].column_letter].width = 18
    notes = book.create_sheet(DEFINITIONS_SHEET)
    for key, heading in HEADINGS.items():
        notes.append([heading, DEFINITIONS[key]])
        notes.cell(notes.max_row, 1).font = Font(bold=True)
    notes.column_dimensions["A"].width = 30
    notes.column_dimensions["B"].width = 120
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def to_csv(rows: list[dict[str, object]]) -> bytes:
    """One header row of the figures' names, one row per group; a figure with no case it applies to is
    left empty. UTF-8 with a byte-order mark, without which Excel reads the Chinese names as another code page."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADINGS.values())
    for row in rows:
        writer.writerow("" if row[key] is None else row[key] for key in HEADINGS)
    return out.getvalue().encode("utf-8-sig")
