"""The console's performance reports and four administration pages, as the demo city's administrator: what
each screen shows is what the API says, what is changed on screen is what the API then says, and a bad
change gets a clear message and changes nothing."""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from urllib.parse import parse_qs, urlparse

import httpx
import openpyxl
import pytest
from playwright.sync_api import Browser, Page, Route, expect

from cityops.analytics.figures import FIGURES as ALL_FIGURES
from cityops.analytics.figures import HEADINGS as API_HEADINGS
from cityops.analytics.figures import RATE_PARTS
from tests.e2e.conftest import Screenshots, ServedCity, settled
from tests.factories import PASSWORD

LAPTOP = {"viewport": {"width": 1366, "height": 768}}
ADMIN = "admin.city"
# the figures in the order the API's spreadsheet and CSV give them, with the console's Chinese headings
HEADINGS = {"cases": "案件数", "closure_rate": "结案率", "on_time_closure_rate": "按期结案率",
            "overdue_cases": "逾期案件数", "overdue_rate": "逾期率", "overdue_now": "当前逾期", "rework_rate": "返工率",
            "return_rate": "退单率", "satisfaction_rate": "满意率", "mean_rating": "平均评分",
            "median_handling_hours": "处置时长中位数（小时）", "mean_handling_hours": "平均处置时长（小时）"}
FIGURES = list(HEADINGS)
RATES = {"closure_rate", "on_time_closure_rate", "overdue_rate", "rework_rate", "return_rate", "satisfaction_rate"}


@pytest.fixture
def api(served_city: ServedCity) -> Iterator[httpx.Client]:
    """The API as the demo city's administrator."""
    if not served_city.demo:
        pytest.skip("the administration pages are checked on the demo city, whose administrator they need")
    with httpx.Client(base_url=served_city.url, timeout=30) as client:
        token = client.post("/api/v1/auth/token", data={"username": ADMIN, "password": PASSWORD})
        assert token.status_code == 200, token.text
        client.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
        yield client


@pytest.fixture
def admin(browser: Browser, served_city: ServedCity, api: httpx.Client) -> Iterator[Page]:
    """A laptop-sized console page signed in as the administrator."""
    context = browser.new_context(base_url=served_city.url, locale="zh-CN", accept_downloads=True, **LAPTOP)
    page = context.new_page()
    page.goto("/console/")
    page.get_by_label("用户名").fill(ADMIN)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("navigation", name="工作台导航")).to_be_visible()
    yield page
    context.close()


def _pick(page: Page, label: str, option: str) -> None:
    """Choose an option of an Element Plus select by its label."""
    page.locator(".el-select", has=page.get_by_label(label, exact=True)).click()
    page.get_by_role("option", name=option, exact=True).click()


# ---- performance reports ----------------------------------------------------------------------------------

def _cases_through_the_loop(served_city: ServedCity) -> None:
    """Four reports in the street: one closed after a rework and rated 4, one returned, one only registered,
    and one dispatched whose summons of the street's enforcement team gave it seconds to report in, which
    it has not: overdue now."""
    lon, lat, office = served_city.street
    enforcement = f"{office.split('-')[0]}-enforcement"
    deadline = datetime.now(UTC)
    with httpx.Client(base_url=served_city.url, timeout=30) as client:
        def signed_in(role: str) -> dict[str, str]:
            token = client.post("/api/v1/auth/token", data={"username": served_city.staff(role), "password": PASSWORD})
            return {"Authorization": f"Bearer {token.json()['access_token']}"}

        operator, dispatcher, handler, inspector = (signed_in(r) for r in ("operator", "dispatcher", "handler",
                                                                            "inspector"))

        def summons() -> dict:
            """The summons as it is sent: its deadline two seconds later."""
            nonlocal deadline
            deadline = datetime.now(UTC) + timedelta(seconds=2)
            return {"data": {"departments": {enforcement: deadline.isoformat()}}, "reason": "占道经营，吹哨执法"}

        plans = {"closed": [(dispatcher, "dispatch", {"data": {"lead": office}}), (handler, "acknowledge", {}),
                            (handler, "report", {"reason": "已清运"}),
                            (inspector, "verify", {"data": {"passed": False}, "reason": "仍有残留"}),
                            (handler, "report", {"reason": "已彻底清理"}),
                            (inspector, "verify", {"data": {"passed": True}})],
                 "returned": [(dispatcher, "dispatch", {"data": {"lead": office}}),
                              (handler, "return", {"reason": "不属于本部门职责"})],
                 "registered": [],
                 "overdue": [(dispatcher, "dispatch", {"data": {"lead": office}}),
                             (dispatcher, "summon", summons)]}
        for number, (outcome, steps) in enumerate(plans.items()):
            code = served_city.citizen_report({"title": f"报表测试 {outcome}", "category_code": "E0102",
                                               "lon": lon + number * 0.0005, "lat": lat})["tracking_code"]
            case_id = next(c["id"] for c in client.get("/api/v1/cases", params={"queue": "to_register", "limit": 200},
                                                       headers=operator).json()["items"] if c["tracking_code"] == code)
            for who, action, body in [(operator, "register", {}), *steps]:
                if callable(body):
                    body = body()
                moved = client.post(f"/api/v1/cases/{case_id}/actions/{action}", headers=who, json=body)
                assert moved.status_code == 200, moved.text
            if outcome == "closed":
                assert client.post(f"/api/v1/public/cases/{code}/rating", json={"score": 4}).status_code == 200
    time.sleep(max(0.0, (deadline - datetime.now(UTC)).total_seconds()) + 0.5)


def _shown(figure: str, value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value * 100:.1f}%" if figure in RATES else str(value).removesuffix(".0") if value == int(value) \
        else str(value)


def _number(cell: str) -> float | None:
    """A CSV cell as a number (1 and 1.0 alike), or None when empty: no case it applies to."""
    return None if cell == "" else float(cell)


def _check_table(page: Page, api: httpx.Client, query: dict[str, list[str]], names: dict[str, str]) -> list[dict]:
    """The table shows the API's rows for the query the page made, in order, each group by its name (as
    ``names``, the department, category or area lists, have it), figure by figure, each rate with the two
    counts it divides beneath it, and then the API's totals as 合计."""
    answer = api.get("/api/v1/reports/performance", params={k: v[0] for k, v in query.items()}).json()
    rows = answer["rows"]
    assert rows, "the report has rows to compare"
    unassigned = "未分派" if query["by"] == ["department"] else "未指定"
    assert [row["name"] for row in rows] == [unassigned if row["group"] is None else names.get(row["group"])
                                             for row in rows]
    table = page.get_by_test_id("report-table")
    body_rows = table.locator(".el-table__body-wrapper tbody tr")
    expect(body_rows).to_have_count(len(rows) + 1)
    shown_unassigned = f"（{unassigned}）"
    for shown, row in zip(body_rows.all(), [*rows, answer["total"]], strict=True):
        # cases with no group (no department yet, say) are the API's null group, named in the page's words
        first = shown.locator("td").first
        if row is answer["total"]:
            expect(first).to_have_text("合计")
        else:
            expect(first.locator(".group-name")).to_have_text(
                shown_unassigned if row["group"] is None else names[row["group"]])
        for figure in FIGURES:
            expect(shown.locator(f"[data-figure='{figure}']")).to_have_text(_shown(figure, row[figure]))
            if figure in RATE_PARTS:
                part, whole = RATE_PARTS[figure]
                expect(shown.locator(f"[data-parts='{figure}']")).to_have_text(f"{row[part]}/{row[whole]}")
    return rows


def test_the_performance_report_shows_and_exports_the_apis_figures(admin: Page, api: httpx.Client,
                                                                  served_city: ServedCity,
                                                                  screenshots: Screenshots) -> None:
    _cases_through_the_loop(served_city)
    departments = {d["code"]: d["name"] for d in api.get("/api/v1/departments").json()}
    with admin.expect_response(lambda r: "/api/v1/reports/performance?" in r.url) as answered:
        admin.get_by_role("link", name="绩效报表").click()
    query = parse_qs(urlparse(answered.value.url).query)
    assert query["by"] == ["department"]
    rows = _check_table(admin, api, query, departments)
    office = served_city.street[2]
    mine = next(r for r in rows if r["group"] == office)
    assert mine["rework_rate"] is not None and mine["return_rate"] is not None  # the loop above counts
    assert mine["overdue_now"] >= 1 and mine["overdue_cases"] >= mine["overdue_now"] and mine["overdue_rate"] > 0
    expect(admin.get_by_role("img", name="按期结案率（按部门）")).to_be_visible()
    # the grouping chosen is readable in its select, not cut to its first character
    grouping = admin.locator(".el-select").filter(has=admin.locator("#report-by"))
    expect(grouping).to_contain_text("按部门")
    assert grouping.bounding_box()["width"] >= 140  # Element Plus alone gave it the width of its label (56 px)
    # each figure says what it counts
    admin.get_by_role("button", name="返工率的说明").hover()
    expect(admin.get_by_role("tooltip")).to_contain_text("核查不通过")
    # in the words the API gives (cityops.analytics.figures), with the screen's note on reading the table
    admin.get_by_role("button", name="按期结案率的说明").hover()
    expect(admin.get_by_role("tooltip").filter(has_text="按期结案件 ÷ 已结案件")).to_contain_text("缓办")
    admin.get_by_role("button", name="分组的说明").hover()
    expect(admin.get_by_role("tooltip").filter(has_text="最后一次派遣")).to_contain_text("合计行")
    screenshots.take(admin, "1-by-department")

    with admin.expect_download() as downloaded:
        admin.get_by_role("button", name="导出 Excel").click()
    assert downloaded.value.suggested_filename.startswith("performance-by-department-")
    assert downloaded.value.suggested_filename.endswith(".xlsx")
    book = openpyxl.load_workbook(io.BytesIO(downloaded.value.path().read_bytes()))
    assert book.sheetnames == ["按部门", "说明"]
    sheet = book.active
    exported = [list(r) for r in sheet.iter_rows(min_row=2, values_only=True)]
    total = api.get("/api/v1/reports/performance", params={k: v[0] for k, v in query.items()}).json()["total"]
    assert [row[:2] for row in exported] == [
        [r["name"], r["group"]] for r in rows] + [["合计", None]]
    assert [row[2:] for row in exported] == [[r[f] for f in ALL_FIGURES] for r in [*rows, total]]
    headings = [cell.value for cell in sheet[1]]
    assert headings[:3] == ["部门", "编码", "案件数"]
    assert sheet.cell(2, headings.index("结案率") + 1).number_format == "0.0%"
    expect(admin.get_by_role("status")).to_contain_text(".xlsx")

    # the CSV is the API's, each group by its code and its name
    with admin.expect_download() as downloaded:
        admin.get_by_role("button", name="导出 CSV").click()
    assert downloaded.value.suggested_filename.endswith(".csv")
    raw = downloaded.value.path().read_bytes()
    answer = api.get("/api/v1/reports/performance", params={**{k: v[0] for k, v in query.items()}, "format": "csv"})
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv"), answer.text
    assert raw == answer.content and raw.startswith(b"\xef\xbb\xbf")
    lines = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert lines[0] == ["部门", "编码", *(API_HEADINGS["zh-CN"][f] for f in ALL_FIGURES)]
    assert [[line[0], line[1] or None, *map(_number, line[2:])] for line in lines[1:]] == [
        [r["name"], r["group"], *(None if r[f] is None else float(r[f]) for f in ALL_FIGURES)]
        for r in rows] + [["合计", None, *(None if total[f] is None else float(total[f]) for f in ALL_FIGURES)]]
    expect(admin.get_by_role("status")).to_contain_text(".csv")

    categories = {c["code"]: c["name"] for c in api.get("/api/v1/categories", params={"limit": 1000}).json()["items"]}
    with admin.expect_response(lambda r: "by=category" in r.url) as answered:
        _pick(admin, "分组方式", "按事项分类")
    _check_table(admin, api, parse_qs(urlparse(answered.value.url).query), categories)
    with admin.expect_response(lambda r: "area_level=street" in r.url) as answered:
        _pick(admin, "分组方式", "按区域")
        _pick(admin, "区域层级", "街镇")
    streets = {a["code"]: a["name"] for a in api.get("/api/v1/areas", params={"level": "street", "limit": 5000})
               .json()["items"]}
    _check_table(admin, api, parse_qs(urlparse(answered.value.url).query), streets)
    screenshots.take(admin, "2-by-street")


# ---- categories and time limits ---------------------------------------------------------------------------

def test_a_time_limit_edited_on_screen_is_what_the_api_says(admin: Page, api: httpx.Client,
                                                            screenshots: Screenshots) -> None:
    before = api.get("/api/v1/categories/E0102").json()
    admin.get_by_role("link", name="事项分类与时限").click()
    admin.get_by_label("查找分类").fill("E0102")
    admin.locator(".node", has_text="暴露垃圾").click()
    expect(admin.get_by_role("heading", name="E0102 暴露垃圾")).to_be_visible()
    handle = admin.get_by_label("处置时限")
    expect(handle).to_have_value(before["time_limits"].get("handle", ""))

    handle.fill("3wh")
    admin.get_by_role("button", name="保存").click()
    expect(admin.get_by_role("status")).to_have_text("已保存 E0102")
    after = api.get("/api/v1/categories/E0102").json()
    assert after["time_limits"]["handle"] == "3wh"
    assert after["effective_limits"]["handle"] == {"limit": "3wh", "words": "3 working hours", "working_time": True,
                                                   "source": "E0102"}
    expect(admin.get_by_test_id("effective-handle")).to_contain_text("3 个工作小时")
    expect(admin.get_by_test_id("effective-handle")).to_contain_text("工作时间")
    screenshots.take(admin, "1-saved")

    # not a limit at all: refused on screen, nothing sent
    handle.fill("abc")
    admin.get_by_role("button", name="保存").click()
    expect(admin.get_by_role("alert")).to_contain_text("“abc”不是有效的时限")
    expect(handle).to_have_attribute("aria-invalid", "true")
    screenshots.take(admin, "2-refused")
    # well formed but too long: the API's reason, in Chinese with the API's limit
    handle.fill("999wd")
    admin.get_by_role("button", name="保存").click()
    expect(admin.get_by_role("alert")).to_contain_text("“999wd”超出范围：这一单位的时限须在 1 到 250 之间")
    assert api.get("/api/v1/categories/E0102").json()["time_limits"] == after["time_limits"]

    # empty: back to inheriting from the major class
    handle.fill("")
    admin.get_by_role("button", name="保存").click()
    expect(admin.get_by_role("status")).to_have_text("已保存 E0102")
    inherited = api.get("/api/v1/categories/E0102").json()
    assert "handle" not in inherited["time_limits"] and inherited["effective_limits"]["handle"]["source"] == "E01"
    expect(admin.get_by_test_id("effective-handle")).to_contain_text("来自 E01")

    restored = api.patch("/api/v1/categories/E0102", json={"time_limits": {"handle": before["time_limits"].get(
        "handle")}})
    assert restored.json()["time_limits"] == before["time_limits"]


# ---- the responsibility matrix ----------------------------------------------------------------------------

def test_a_matrix_cell_edit_round_trips_and_a_refused_one_changes_nothing(admin: Page, api: httpx.Client,
                                                                           served_city: ServedCity,
                                                                           screenshots: Screenshots) -> None:
    street = served_city.street[2].split("-")[0]
    admin.get_by_role("link", name="责任清单").click()
    _pick(admin, "事项大类", "E05 街面秩序")
    grid = admin.get_by_role("grid")
    expect(grid).to_contain_text("E0502")

    # a cell with no entry of its own shows whom the router would choose, labelled inherited
    cell = grid.locator(f"[data-category='E0502'][data-area='{street}']")
    route = api.get("/api/v1/responsibilities/route", params={"category": "E0502", "area": street}).json()
    assert api.get(f"/api/v1/responsibilities/E0502/{street}").status_code == 404
    expect(cell).to_have_attribute("data-state", "inherited")
    expect(cell).to_contain_text(route["lead"]["name"])
    expect(cell).to_contain_text("继承")

    # keyboard: arrows move, Enter edits, Escape cancels
    cell.click()
    expect(cell).to_be_focused()
    admin.keyboard.press("ArrowUp")
    expect(grid.locator(f"[data-category='E0501'][data-area='{street}']")).to_be_focused()
    admin.keyboard.press("ArrowDown")
    admin.keyboard.press("Enter")
    where = f"E0502 {_category_name(api, 'E0502')} 在 {_area_name(api, street)}"
    editor = admin.get_by_role("combobox", name=f"选择 {where} 的主办部门")
    expect(editor).to_be_focused()
    admin.keyboard.type("城管执法")
    admin.keyboard.press("Escape")
    expect(cell).to_be_focused()
    expect(cell).to_have_attribute("data-state", "inherited")

    enforcement = api.get(f"/api/v1/departments/{street}-enforcement").json()["name"]
    admin.keyboard.press("Enter")
    admin.keyboard.type(enforcement)
    admin.get_by_role("option", name=enforcement, exact=True).click()
    expect(admin.get_by_role("status")).to_contain_text(f"已保存：E0502 {_category_name(api, 'E0502')}")
    saved = api.get(f"/api/v1/responsibilities/E0502/{street}")
    assert saved.status_code == 200 and saved.json()["lead_department_code"] == f"{street}-enforcement"
    expect(cell).to_have_attribute("data-state", "own")
    expect(cell).to_contain_text(enforcement)
    screenshots.take(admin, "1-saved")

    # the lead of a cell cannot also assist in it: refused, the cell put back, nothing changed
    refused = grid.locator(f"[data-category='E0501'][data-area='{street}']")
    before = api.get(f"/api/v1/responsibilities/E0501/{street}").json()
    assistant = api.get(f"/api/v1/departments/{before['assisting_department_codes'][0]}").json()["name"]
    refused.click()
    admin.keyboard.press("Enter")
    admin.keyboard.type(assistant)
    admin.get_by_role("option", name=assistant, exact=True).click()
    expect(admin.get_by_role("alert")).to_contain_text("the lead department cannot also assist")
    expect(refused).to_contain_text(before["lead_department_name"])
    expect(refused).to_have_attribute("data-state", "own")
    assert api.get(f"/api/v1/responsibilities/E0501/{street}").json() == before
    screenshots.take(admin, "2-refused")

    # taking the cell's own entry away asks first, naming the category, the area and who leads there now;
    # cancelling leaves the cell as it was
    cell.click()
    admin.keyboard.press("Enter")
    admin.get_by_role("option", name="清除本级设定（改为继承）", exact=True).click()
    question = settled(admin.get_by_role("dialog", name="清除本级设定"))
    expect(question).to_contain_text(f"确定清除 {where} 的本级设定（现由 {enforcement} 主办）？")
    screenshots.take(admin, "3-clear-question")
    question.get_by_role("button", name="取消", exact=True).click()
    expect(question).to_be_hidden()
    expect(cell).to_be_focused()
    expect(cell).to_have_attribute("data-state", "own")
    expect(cell).to_contain_text(enforcement)
    kept = api.get(f"/api/v1/responsibilities/E0502/{street}")
    assert kept.status_code == 200 and kept.json() == saved.json()

    # Delete asks the same; confirmed, the entry is gone: the cell inherits again
    admin.keyboard.press("Delete")
    question = settled(admin.get_by_role("dialog", name="清除本级设定"))
    expect(question).to_contain_text(where)
    question.get_by_role("button", name="清除", exact=True).click()
    expect(question).to_be_hidden()
    expect(cell).to_have_attribute("data-state", "inherited")
    expect(admin.get_by_role("status")).to_contain_text("已清除")
    assert api.get(f"/api/v1/responsibilities/E0502/{street}").status_code == 404
    expect(cell).to_contain_text(route["lead"]["name"])


def test_the_matrix_shows_the_class_chosen_while_the_first_one_still_loads(admin: Page, api: httpx.Client,
                                                                           served_city: ServedCity) -> None:
    """On a busy server the first class's cells can come after another class was chosen: the grid must
    show the chosen class's cells, not the late ones (it showed every cell as the street's fallback)."""
    street = served_city.street[2].split("-")[0]
    first = api.get("/api/v1/categories/tree").json()["items"][0]["code"]
    assert first != "E05"
    held: list[Route] = []
    admin.route("**/api/v1/responsibilities?*", lambda route: held.append(route)
                if f"category={first}" in route.request.url else route.continue_())
    admin.get_by_role("link", name="责任清单").click()
    expect(admin.get_by_role("grid")).to_be_visible()
    _pick(admin, "事项大类", "E05 街面秩序")
    cell = admin.get_by_role("grid").locator(f"[data-category='E0502'][data-area='{street}']")
    expect(cell).to_have_attribute("data-state", "inherited")
    assert held, f"the first class ({first}) was asked for"
    for route in held:
        route.continue_()
    admin.wait_for_load_state("networkidle")
    expect(cell).to_have_attribute("data-state", "inherited")
    expect(cell).to_contain_text("继承")


def test_an_import_refused_during_the_first_load_stays_on_screen(admin: Page, api: httpx.Client) -> None:
    """On a busy server an administrator can import a file before the page has loaded; finishing the load
    must not wipe the refusal (it did, and the refused rows vanished without a word)."""
    exported = list(csv.DictReader(io.StringIO(
        api.get("/api/v1/responsibilities/export").content.decode("utf-8-sig"))))
    bad = {**exported[0], "lead_department_code": "no-such-department"}
    body = io.StringIO()
    writer = csv.DictWriter(body, fieldnames=list(bad))
    writer.writeheader()
    writer.writerow(bad)
    held: list[Route] = []
    admin.route("**/api/v1/categories/tree", lambda route: held.append(route))
    admin.get_by_role("link", name="责任清单").click()
    expect(admin.get_by_role("heading", name="责任清单")).to_be_visible()
    admin.locator("#matrix-import").set_input_files(
        files=[{"name": "matrix.csv", "mimeType": "text/csv", "buffer": body.getvalue().encode()}])
    refusal = admin.get_by_test_id("matrix-problem")
    expect(refusal).to_contain_text("导入被拒绝，未写入任何数据")
    assert held, "the first load was held back while the file was refused"
    for route in held:
        route.continue_()
    expect(admin.get_by_role("grid")).to_be_visible()
    admin.wait_for_load_state("networkidle")
    expect(refusal).to_contain_text("导入被拒绝，未写入任何数据")
    expect(refusal.get_by_role("listitem")).to_contain_text("第 2 行 lead_department_code")


def _category_name(api: httpx.Client, code: str) -> str:
    return api.get(f"/api/v1/categories/{code}").json()["name"]


def _area_name(api: httpx.Client, code: str) -> str:
    return api.get(f"/api/v1/areas/{code}").json()["name"]


# ---- the work calendar ------------------------------------------------------------------------------------

def test_a_calendar_day_set_on_screen_is_what_the_api_says(admin: Page, api: httpx.Client,
                                                           screenshots: Screenshots) -> None:
    year = date.today().year + 5  # a year the holiday library does not know yet
    admin.get_by_role("link", name="工作日历").click()
    expect(admin.get_by_test_id("working-days")).to_have_text(
        f"全年工作日 {api.get(f'/api/v1/calendar/{date.today().year}').json()['working_days']} 天")
    screenshots.take(admin, "1-this-year")
    admin.get_by_label("年份").fill(str(year))
    admin.get_by_label("年份").press("Enter")
    before = api.get(f"/api/v1/calendar/{year}").json()
    assert before["coverage"] == "weekday_rule_only"
    expect(admin.get_by_test_id("calendar-summary")).to_contain_text("未确认")

    wednesday = next(date(year, 10, d) for d in range(1, 8) if date(year, 10, d).weekday() == 2)
    saturday = next(date(year, 10, d) for d in range(8, 15) if date(year, 10, d).weekday() == 5)
    admin.locator(f"[data-date='{wednesday}']").click()
    admin.get_by_label("休息日", exact=True).check()
    admin.get_by_label("说明", exact=True).fill(f"{year} 国庆节")
    admin.get_by_role("button", name="保存").click()
    expect(admin.get_by_role("status")).to_contain_text(f"已保存 {wednesday}")
    after = api.get(f"/api/v1/calendar/{year}").json()
    set_day = {"day": wednesday.isoformat(), "working": False, "name": f"{year} 国庆节", "source": "override",
               "holiday": None}
    assert set_day in after["days"]
    assert after["working_days"] == before["working_days"] - 1 and after["coverage"] == "overridden"
    day = admin.locator(f"[data-date='{wednesday}']")
    expect(day).to_have_attribute("data-kind", "holiday")
    expect(day).to_contain_text("休")
    expect(day).to_contain_text("改")
    expect(admin.get_by_test_id("working-days")).to_have_text(f"全年工作日 {after['working_days']} 天")

    # a make-up working day, reached with the arrow keys from the holiday
    day.focus()
    for _ in range((saturday - wednesday).days):
        admin.keyboard.press("ArrowRight")
    expect(admin.locator(f"[data-date='{saturday}']")).to_be_focused()
    admin.keyboard.press("Enter")
    expect(admin.get_by_test_id("chosen-day")).to_contain_text(saturday.isoformat())
    admin.get_by_label("说明", exact=True).fill("")
    admin.get_by_role("button", name="保存").click()  # no note: refused on screen
    expect(admin.get_by_text("请填写说明（1–200 字）")).to_be_visible()
    assert api.get(f"/api/v1/calendar/{year}").json() == after
    admin.get_by_label("工作日", exact=True).check()
    admin.get_by_label("说明", exact=True).fill("调休上班")
    admin.get_by_role("button", name="保存").click()
    expect(admin.locator(f"[data-date='{saturday}']")).to_have_attribute("data-kind", "makeup")
    assert {"day": saturday.isoformat(), "working": True, "name": "调休上班", "source": "override",
            "holiday": None} in api.get(f"/api/v1/calendar/{year}").json()["days"]
    screenshots.take(admin, "2-set")

    # removing a setting asks first; keeping it changes nothing
    admin.get_by_role("button", name="取消设定（恢复节假日库或按星期）").click()
    question = settled(admin.get_by_role("dialog", name="取消设定"))
    expect(question).to_contain_text(f"确定取消 {saturday}（调休上班）的设定？")
    question.get_by_role("button", name="保留").click()
    expect(question).to_be_hidden()
    assert saturday.isoformat() in {d["day"] for d in api.get(f"/api/v1/calendar/{year}").json()["days"]}
    admin.get_by_role("button", name="取消设定（恢复节假日库或按星期）").click()
    settled(admin.get_by_role("dialog", name="取消设定")).get_by_role("button", name="取消设定").click()
    expect(admin.get_by_role("status")).to_contain_text(f"已取消 {saturday} 的设定")
    assert saturday.isoformat() not in {d["day"] for d in api.get(f"/api/v1/calendar/{year}").json()["days"]}
    expect(admin.locator(f"[data-date='{saturday}']")).to_have_attribute("data-kind", "weekend")
    assert api.delete(f"/api/v1/calendar/days/{wednesday}").status_code == 204


def test_a_street_dispatcher_sees_the_matrix_of_their_street_as_the_router_decides(
        browser: Browser, served_city: ServedCity, screenshots: Screenshots) -> None:
    """Below the city the page cannot see the wider areas' entries: what it shows is what the router says."""
    if not served_city.demo:
        pytest.skip("the demo city's matrix has entries at the city and district levels")
    username = served_city.staff("dispatcher")
    with httpx.Client(base_url=served_city.url, timeout=30) as client:
        token = client.post("/api/v1/auth/token", data={"username": username, "password": PASSWORD}).json()
        headers = {"Authorization": f"Bearer {token['access_token']}"}
        me = client.get("/api/v1/me", headers=headers).json()
        assert "manage_responsibility" in me["permissions"]
        grid_area = client.get("/api/v1/areas", params={"level": "grid", "parent": me["area_code"], "limit": 1},
                               headers=headers).json()["items"][0]
        routes = {code: client.get("/api/v1/responsibilities/route", headers=headers,
                                   params={"category": code, "area": grid_area["code"]}).json()
                  for code in ("C0101", "C0107")}
    context = browser.new_context(base_url=served_city.url, locale="zh-CN", **LAPTOP)
    page = context.new_page()
    page.goto("/console/")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.get_by_role("link", name="责任清单").click()
    _pick(page, "事项大类", "C01 公用设施")
    for code, route in routes.items():
        cell = page.locator(f"[data-category='{code}'][data-area='{grid_area['code']}']")
        expect(cell).to_have_attribute("data-state", "fallback" if route["fallback"] else "inherited")
        expect(cell).to_contain_text(route["lead"]["name"])
        expect(cell).to_contain_text("属地兜底" if route["fallback"] else "继承")
    screenshots.take(page, "street")
    context.close()


def test_the_matrix_and_the_categories_go_out_and_come_back_as_csv(admin: Page, api: httpx.Client,
                                                                  screenshots: Screenshots) -> None:
    admin.get_by_role("link", name="责任清单").click()
    with admin.expect_download() as downloaded:
        admin.get_by_role("button", name="导出 CSV").click()
    exported = list(csv.DictReader(io.StringIO(downloaded.value.path().read_text(encoding="utf-8-sig"))))
    assert len(exported) == api.get("/api/v1/responsibilities", params={"limit": 1}).json()["total"]
    expect(admin.get_by_role("status")).to_have_text("已下载 responsibilities.csv")

    # one bad row refuses the whole file: every bad row named, nothing written
    first = exported[0]
    before = api.get(f"/api/v1/responsibilities/{first['category_code']}/{first['area_code']}").json()
    header = list(first)
    good = {**first, "note": "经导入修改"}
    bad = {**first, "category_code": "E0102", "lead_department_code": "no-such-department"}
    body = io.StringIO()
    writer = csv.DictWriter(body, fieldnames=header)
    writer.writeheader()
    writer.writerows([good, bad])
    admin.locator("#matrix-import").set_input_files(
        files=[{"name": "matrix.csv", "mimeType": "text/csv", "buffer": body.getvalue().encode()}])
    alert = admin.get_by_role("alert")
    expect(alert).to_contain_text("导入被拒绝，未写入任何数据")
    expect(alert.get_by_role("listitem")).to_have_count(1)
    expect(alert.get_by_role("listitem")).to_contain_text("第 3 行 lead_department_code")
    assert api.get(f"/api/v1/responsibilities/{first['category_code']}/{first['area_code']}").json() == before
    screenshots.take(admin, "matrix-import-refused")

    # the categories' file round trip changes nothing
    admin.get_by_role("link", name="事项分类与时限").click()
    # the matrix page (with its own export button) stays until the categories page has loaded
    expect(admin.get_by_role("heading", name="事项分类与时限")).to_be_visible()
    with admin.expect_download() as downloaded:
        admin.get_by_role("button", name="导出 CSV").click()
    categories = downloaded.value.path().read_bytes()
    admin.locator("#categories-import").set_input_files(
        files=[{"name": "categories.csv", "mimeType": "text/csv", "buffer": categories}])
    total = api.get("/api/v1/categories", params={"limit": 1}).json()["total"]
    expect(admin.get_by_role("status")).to_have_text(
        f"导入完成：{total} 行，新增 0，更新 0，未变 {total}，随上级停用 0")
