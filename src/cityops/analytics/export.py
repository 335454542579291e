"""Performance tables as a spreadsheet."""

from __future__ import annotations

import io

from openpyxl import Workbook
from openpyxl.styles import Font

HEADINGS = {
    "group": "分组 group", "cases": "案件数 cases", "closure_rate": "结案率 closure",
    "on_time_closure_rate": "按期结案率 on-time closure", "rework_rate": "返工率 rework",
    "return_rate": "退单率 return", "satisfaction_rate": "满意率 satisfaction", "mean_rating": "平均评分 rating",
    "median_handling_hours": "处置时长中位数(小时) median hours",
    "mean_handling_hours": "平均处置时长(小时) mean hours",
}


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
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
