"""The performance report over the API: a department that returned a case which another then took over
has 0 cases and a return rate of 1 ÷ 1, both counts given beside it; the totals are the figures of all
the cases together, the same as the dashboard's for the same period; the spreadsheet is Chinese, its
rates formatted as percentages, with a 合计 row."""

from __future__ import annotations

import io
from typing import Any

import openpyxl
from fastapi.testclient import TestClient

from tests.api.conftest import IN_STREET, act


def returned_and_taken_over(client: TestClient, loop: dict[str, Any]) -> int:
    case = client.post("/api/v1/cases", headers=loop["op"], json={
        "channel": "hotline_12345", "title": "暴露垃圾", "category_code": "E0102", **IN_STREET}).json()
    assert act(client, loop["op"], case["id"], "register").status_code == 200
    assert act(client, loop["disp"], case["id"], "dispatch", data={"lead": "greening-990101"}).status_code == 200
    assert act(client, loop["greener"], case["id"], "return", reason="不属于本单位").status_code == 200
    moved = act(client, loop["disp"], case["id"], "reassign", reason="改派街道", data={"lead": "street-99010101"})
    assert moved.status_code == 200, moved.text
    return case["id"]


def test_a_department_that_returned_its_case_shows_the_dispatch_and_the_return(client: TestClient,
                                                                               loop: dict[str, Any]) -> None:
    returned_and_taken_over(client, loop)
    answer = client.get("/api/v1/reports/performance", headers=loop["op"]).json()
    rows = {row["group"]: row for row in answer["rows"]}
    greening, street = rows["greening-990101"], rows["street-99010101"]
    assert (greening["cases"], greening["dispatches"], greening["returns"], greening["return_rate"]) == (0, 1, 1, 1.0)
    assert greening["registered"] == 0 and greening["closure_rate"] is None
    assert (street["cases"], street["dispatches"], street["returns"], street["return_rate"]) == (1, 1, 0, 0.0)
    assert (street["registered"], street["closed"], street["closure_rate"]) == (1, 0, 0.0)
    total = answer["total"]
    assert (total["group"], total["cases"], total["dispatches"], total["returns"]) == ("all", 1, 2, 1)
    assert total["return_rate"] == 0.5 and total["closure_rate"] == 0.0


def test_the_totals_are_the_dashboards_figures(client: TestClient, loop: dict[str, Any]) -> None:
    returned_and_taken_over(client, loop)
    closure = client.get("/api/v1/dashboard/summary", headers=loop["op"]).json()["closure"]
    total = client.get("/api/v1/reports/performance", headers=loop["op"], params={
        "start": closure["start"], "end": closure["end"]}).json()["total"]
    assert (total["cases"], total["closure_rate"], total["on_time_closure_rate"]) == (
        closure["cases"], closure["closure_rate"], closure["on_time_closure_rate"])


def test_the_spreadsheet_is_chinese_with_percentages_and_totals(client: TestClient, loop: dict[str, Any]) -> None:
    returned_and_taken_over(client, loop)
    answer = client.get("/api/v1/reports/performance", headers=loop["op"], params={
        "format": "xlsx", "start": "2020-01-01T00:00:00+08:00", "end": "2100-01-01T00:00:00+08:00"})
    assert answer.status_code == 200, answer.text
    book = openpyxl.load_workbook(io.BytesIO(answer.content))
    assert book.sheetnames == ["按部门", "说明"]
    sheet = book["按部门"]
    headings = [cell.value for cell in sheet[1]]
    rows = [dict(zip(headings, row, strict=True)) for row in sheet.iter_rows(min_row=2)]
    assert [row["部门"].value for row in rows] == ["greening-990101", "street-99010101", "合计"]  # names as given
    assert [row["编码"].value for row in rows] == ["greening-990101", "street-99010101", None]
    assert [(row["派遣次数"].value, row["退单次数"].value, row["退单率"].value) for row in rows] == [
        (1, 1, 1), (1, 0, 0), (2, 1, 0.5)]
    assert all(row["退单率"].number_format == "0.0%" for row in rows)
    about = {row[0]: row[1] for row in book["说明"].iter_rows(values_only=True) if row and row[0]}
    assert about["统计周期"] == "2020-01-01 至 2099-12-31（含首尾两日）"


def test_the_report_says_what_each_figure_counts_in_the_language_asked_for(client: TestClient,
                                                                           loop: dict[str, Any]) -> None:
    """The console's column help reads these: one wording for the screen, the CLI and the spreadsheet."""
    chinese = client.get("/api/v1/reports/performance", headers=loop["op"]).json()["explanations"]
    english = client.get("/api/v1/reports/performance", headers=loop["op"], params={"lang": "en"}).json()
    row_figures = set(english["total"]) - {"group", "name"}
    assert row_figures <= set(chinese) and set(chinese) == set(english["explanations"])
    assert "group" in chinese and "退单" in chinese["group"]
    assert "缓办" in chinese["closed_on_time"] and "deferral" in english["explanations"]["closed_on_time"]
    refused = client.get("/api/v1/reports/performance", headers=loop["op"], params={"lang": "fr"})
    assert refused.status_code == 422 and refused.headers["content-type"] == "application/problem+json"
