"""The console's city pages on a served demo city, against the API's own answers.

Warnings board: a rule on a device type of its own and readings over it raise warnings in a street,
and open a case for the red one; the street's operator sees on the board exactly the warnings (ids,
levels, statuses, cases by tracking code) and the per-status and with-a-case counts the API lists; the
warning whose rule opened its case is still firing, links to its case and offers no conversion, like a
converted one; a reading reads as its metric's name, a colon and its value; the operator acknowledges
one on the screen and the API has it acknowledged; closing one as a false alarm without a reason
shows the API's reason error and leaves the warning as it was; a silence set on the screen is the
API's and ends from the screen; converting one opens the API's case of the chosen category, named by
its tracking code; a warning raised while the board is open appears on it from the live stream,
without a reload.

Devices page: the table's rows are the API's devices for the chosen type; the map's legend counts
them by health; a device's details show the API's latest values, and maintenance on and off
round-trips through the API, and the street's operator (who may not) gets no such button.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from tests.e2e.conftest import PHONE, Screenshots, ServedCity, settled, sign_in_to_console
from tests.factories import PASSWORD

LAPTOP = {"viewport": {"width": 1366, "height": 768}}
WALL = {"viewport": {"width": 1920, "height": 1080}}
LIVE_WAIT_MS = 30_000
TYPE = "e2e_city_gauge"
RULE = "e2e-city-water"
LEVEL_NAMES = {"blue": "蓝色", "yellow": "黄色", "orange": "橙色", "red": "红色"}
STATUS_NAMES = {"firing": "告警中", "acknowledged": "已确认", "resolved": "已恢复", "false_alarm": "误报关闭",
                "converted": "已转案件"}
TABS = {"firing": {"status": "firing"}, "acknowledged": {"status": "acknowledged"}, "resolved": {"status": "resolved"},
        "false_alarm": {"status": "false_alarm"}, "hasCase": {"has_case": "true"}}
"""The board's tabs and the API's filter for each: a warning with a case, however it came, is under hasCase."""


@dataclass(frozen=True)
class Sensors:
    api: httpx.Client
    admin: dict[str, str]
    operator: dict[str, str]
    devices: tuple[str, ...]
    """The first three have fired; the fourth is kept quiet for the live test."""

    def send(self, device: str, value: float, *, ago_s: int = 0) -> None:
        ts = (datetime.now(UTC) - timedelta(seconds=ago_s)).isoformat()
        sent = self.api.post("/api/v1/readings", headers=self.admin,
                             json=[{"device": device, "metric": "water_level", "ts": ts, "value": value}])
        assert sent.status_code == 200 and sent.json()["accepted"] == 1, sent.text

    def warnings(self, **params: str) -> dict:
        listed = self.api.get("/api/v1/warnings", headers=self.operator, params={"limit": 100, **params})
        assert listed.status_code == 200, listed.text
        return listed.json()

    def warning_of(self, device: str) -> dict:
        return next(w for w in self.warnings()["items"] if w["origin"] == device and w["rule"] == RULE)


@pytest.fixture(scope="module")
def sensors(served_city: ServedCity) -> Iterator[Sensors]:
    """Four gauges of a type of their own in the street of the street's staff, and a rule on that type
    (nothing else reads it) that opens a case from red; three gauges have broken it: yellow then orange,
    red (its case opened), and yellow."""
    if not served_city.demo:
        pytest.skip("the test city has no administrator; the demo city has")
    api = httpx.Client(base_url=served_city.url, timeout=30)
    admin = served_city.bearer("admin.city")
    operator = served_city.bearer(served_city.staff("operator"))
    created = api.post("/api/v1/device-types", headers=admin, json={
        "code": TYPE, "name": "河道水位计（浏览器测试）", "metrics": {"water_level": "m", "battery": "V"}})
    assert created.status_code == 201, created.text
    lon, lat, _ = served_city.street
    codes = tuple(f"E2E-CITY-{n}" for n in range(1, 5))
    for n, code in enumerate(codes):
        device = api.post("/api/v1/devices", headers=admin, json={
            "code": code, "name": f"测试水位计{n + 1}号", "type": TYPE, "lon": lon + 0.0003 * n, "lat": lat})
        assert device.status_code == 201, device.text
    rule = api.post("/api/v1/rules", headers=admin, json={
        "code": RULE, "name": "测试河道水位超限", "definition": {
            "kind": "threshold", "metric": "water_level", "scope": {"device_type": TYPE},
            "levels": [{"level": "yellow", "fire_at": 3.0, "clear_at": 2.8},
                       {"level": "orange", "fire_at": 4.0, "clear_at": 3.7},
                       {"level": "red", "fire_at": 5.0, "clear_at": 4.6}],
            "open_case_from": "red", "case_category": "E0111"}})
    assert rule.status_code == 201, rule.text
    found = Sensors(api=api, admin=admin, operator=operator, devices=codes)
    found.send(codes[0], 3.3, ago_s=120)
    found.send(codes[0], 4.4, ago_s=60)
    found.send(codes[1], 5.6, ago_s=60)
    found.send(codes[2], 3.1, ago_s=30)
    ours = [w for w in found.warnings(rule=RULE)["items"]]
    assert sorted((w["origin"], w["level"], w["status"], w["case_id"] is not None) for w in ours) == [
        (codes[0], "orange", "firing", False), (codes[1], "red", "firing", True),
        (codes[2], "yellow", "firing", False)], ours
    yield found
    api.close()


def _choose(page: Page, label: str, option: str) -> None:
    """Pick an option of an Element Plus select found by its label (its placeholder covers the input)."""
    page.get_by_label(label, exact=True).click(force=True)
    page.get_by_role("option", name=option, exact=True).click()


def _clear(select: Locator) -> None:
    """Empty an Element Plus select with its clear button (shown while the pointer is over it)."""
    select.hover()
    select.locator(".el-select__clear").click()


def _row(page: Page, warning_id: int) -> Locator:
    return page.locator(f"tr[data-warning='{warning_id}']")


def _name(warning: dict) -> str:
    """A warning as the board, its messages and the inbox name it: its area, its rule's name and level."""
    return f"{warning['area_name']} {warning['rule_name']}{LEVEL_NAMES[warning['level']]}预警"


def _board_equals_the_api(page: Page, sensors: Sensors) -> list[dict]:
    """The board (all statuses) shows the API's warnings in its order, with their levels, statuses and
    cases (by tracking code, no conversion offered), and each tab's count is the API's."""
    listed = sensors.warnings()
    rows = page.locator("tr[data-warning]")
    expect(rows).to_have_count(len(listed["items"]), timeout=LIVE_WAIT_MS)
    expect(page.locator(".board .total")).to_have_text(f"共 {listed['total']} 条")
    assert [int(r) for r in rows.evaluate_all("rows => rows.map(r => r.dataset.warning)")] == [
        w["id"] for w in listed["items"]]
    for warning in listed["items"]:
        row = _row(page, warning["id"])
        expect(row.locator("[data-level]").first).to_have_attribute("data-level", warning["level"])
        expect(row.locator("[data-level]").first).to_have_text(LEVEL_NAMES[warning["level"]])
        expect(row.locator("td.status .status-name")).to_have_text(STATUS_NAMES[warning["status"]])
        expect(row.locator("td.area")).to_have_text(warning["area_name"])
        link = row.locator("td.status").get_by_role("link")
        if warning["case_id"] is None:
            expect(link).to_have_count(0)
        else:
            expect(link).to_have_text(f"案件 {warning['case_tracking_code']}")
            expect(link).to_have_attribute("href", f"/console/cases/{warning['case_id']}")
            expect(row.get_by_role("button", name="转案件")).to_have_count(0)
    expect(page.locator(".status-tabs [data-status=all] .count")).to_have_text(str(listed["total"]))
    for tab, params in TABS.items():
        expect(page.locator(f".status-tabs [data-status={tab}] .count")).to_have_text(
            str(sensors.warnings(**params, limit="1")["total"]))
    return listed["items"]


def test_the_warnings_board(browser: Browser, served_city: ServedCity, sensors: Sensors,
                            screenshots: Screenshots) -> None:
    page = browser.new_page(base_url=served_city.url, locale="zh-CN", **LAPTOP)
    sign_in_to_console(page, served_city.staff("operator"), "warnings")
    expect(page.get_by_role("heading", name="预警看板")).to_be_visible()
    expect(page.locator(".live")).to_have_text("实时", timeout=LIVE_WAIT_MS)
    _board_equals_the_api(page, sensors)
    # staff never see a warning's internal id: no 编号 column, and no cell holds only the id
    expect(page.locator(".warning-table thead th")).to_have_text(
        ["级别", "状态", "设备 / 来源", "监测项 / 数值", "区域", "级别变化", "首次告警 / 最近变化", "操作"])
    rising = sensors.warning_of(sensors.devices[0])
    street = sensors.api.get(f"/api/v1/areas/{rising['area_code']}", headers=sensors.operator).json()["name"]
    assert rising["area_name"] == street and street != rising["area_code"], rising
    cells = _row(page, rising["id"]).locator("td").all_inner_texts()
    assert str(rising["id"]) not in [cell.strip() for cell in cells], cells
    assert [e["to_level"] for e in rising["entries"]] == ["yellow", "orange"]
    expect(_row(page, rising["id"])).to_contain_text("黄色→橙色")
    expect(_row(page, rising["id"])).to_contain_text("测试水位计1号")
    # the rule by its name and the reading by the metric's name with its unit, not by codes
    expect(_row(page, rising["id"])).to_contain_text("测试河道水位超限")
    # the metric's name and the value apart: "水位：4.4 m", never "水位4.4 m"
    expect(_row(page, rising["id"]).locator("td.reading")).to_have_text("水位：4.4 m")
    expect(_row(page, rising["id"]).get_by_role("button", name="转案件")).to_be_visible()
    screenshots.take(page, "1-board")

    # the level filter is the API's
    _choose(page, "级别", "红色预警（Ⅰ级）")
    red = sensors.warnings(level="red")["items"]
    expect(page.locator("tr[data-warning]")).to_have_count(len(red))
    assert [int(r) for r in page.locator("tr[data-warning]").evaluate_all(
        "rows => rows.map(r => r.dataset.warning)")] == [w["id"] for w in red]
    _clear(page.locator(".filters .el-select").first)
    expect(page.locator("tr[data-warning]")).to_have_count(len(sensors.warnings()["items"]))

    # acknowledge on the screen: the API has it acknowledged
    row = _row(page, rising["id"])
    row.get_by_role("button", name="确认").click()
    # named by its area, rule and level, as its row and the inbox name it, not by its id
    assert _name(rising) == f"{street} 测试河道水位超限橙色预警"
    expect(page.locator(".notice")).to_have_text(f"{_name(rising)} 已确认")
    expect(row.locator("td.status .status-name")).to_have_text("已确认")
    assert sensors.warning_of(sensors.devices[0])["status"] == "acknowledged"
    expect(row.get_by_role("button", name="确认")).to_have_count(0)

    # close as a false alarm without a reason: the API's reason error, and the warning as it was
    red_warning = sensors.warning_of(sensors.devices[1])
    refused = sensors.api.post(f"/api/v1/warnings/{red_warning['id']}/false-alarm", headers=sensors.operator,
                               json={"reason": ""})
    assert refused.status_code == 422 and refused.json()["field"] == "reason", refused.text
    _row(page, red_warning["id"]).get_by_role("button", name="误报关闭").click()
    dialog = settled(page.get_by_role("dialog", name=f"误报关闭：{_name(red_warning)}"))
    dialog.get_by_role("button", name="提交").click()
    assert refused.json()["errors"][0]["type"] == "string_too_short"
    expect(dialog.get_by_role("alert")).to_have_text("出错了：至少需要 1 个字符")
    expect(dialog.get_by_text("请填写误报原因")).to_be_visible()
    expect(dialog.get_by_label("误报原因")).to_have_attribute("aria-invalid", "true")
    screenshots.take(page, "2-false-alarm-needs-a-reason")
    assert sensors.warning_of(sensors.devices[1]) == red_warning
    dialog.get_by_role("button", name="取消").click()
    expect(dialog).to_be_hidden()
    expect(_row(page, red_warning["id"]).locator("td.status .status-name")).to_have_text("告警中")

    # a silence for the red gauge: the API's, listed, and ended from the screen
    _row(page, red_warning["id"]).get_by_role("button", name="静默").click()
    dialog = settled(page.get_by_role("dialog", name="静默预警通知"))
    dialog.get_by_label("静默原因").fill("现场抢修，已通知水务")
    dialog.get_by_role("button", name="提交").click()
    expect(dialog).to_be_hidden()
    silences = [s for s in sensors.api.get("/api/v1/silences", headers=sensors.operator).json()
                if s["matchers"].get("rule") == RULE and s["matchers"].get("origin") == sensors.devices[1]]
    assert len(silences) == 1 and silences[0]["reason"] == "现场抢修，已通知水务", silences
    span = datetime.fromisoformat(silences[0]["ends_at"]) - datetime.fromisoformat(silences[0]["starts_at"])
    assert timedelta(hours=3, minutes=59) < span <= timedelta(hours=4, minutes=1)
    listed = page.locator(f"[data-silence='{silences[0]['id']}']")
    # what it matches, in words: 规则：…，设备 / 来源：…, never label=value
    expect(listed.locator("strong")).to_contain_text(f"规则：{RULE}")
    expect(listed.locator("strong")).to_contain_text(f"设备 / 来源：{sensors.devices[1]}")
    expect(listed).not_to_contain_text("=")
    # its author by name (the demo's staff have display names of their own), the login name on hovering it
    operator = served_city.staff("operator")
    shown = sensors.api.get(f"/api/v1/users/{operator}", headers=sensors.admin).json()["display_name"]
    assert shown != operator and silences[0]["author"] == operator, silences
    expect(listed.locator(".author-name")).to_have_text(shown)
    expect(listed.locator(".author-name")).to_have_attribute("title", f"登录名：{operator}")
    expect(listed).not_to_contain_text(operator)
    screenshots.take(page, "3-silenced")
    listed.get_by_role("button", name=re.compile(rf"^结束静默：.*{re.escape(sensors.devices[1])}")).click()
    expect(listed).to_have_count(0)
    expect(page.get_by_text(re.compile(rf"已结束静默：.*{re.escape(sensors.devices[1])}"))).to_be_visible()
    assert all(s["id"] != silences[0]["id"]
               for s in sensors.api.get("/api/v1/silences", headers=sensors.operator).json())

    # the red gauge's rule opened its case: still firing, linked to its case by tracking code, no conversion
    opened = sensors.warning_of(sensors.devices[1])
    assert (opened["status"], [e["action"] for e in opened["entries"]][-1]) == ("firing", "open_case"), opened
    red_row = _row(page, opened["id"])
    expect(red_row.locator("td.status .status-name")).to_have_text("告警中")
    expect(red_row.locator("td.status").get_by_role("link")).to_have_text(f"案件 {opened['case_tracking_code']}")
    expect(red_row.get_by_role("button", name="转案件")).to_have_count(0)
    # and is under the with-a-case tab, as the API's has_case lists it
    page.locator(".status-tabs [data-status=hasCase]").click()
    with_case = sensors.warnings(has_case="true")
    assert opened["id"] in [w["id"] for w in with_case["items"]], with_case
    expect(page.locator("tr[data-warning]")).to_have_count(len(with_case["items"]))
    expect(page.locator(".status-tabs [data-status=hasCase] .count")).to_have_text(str(with_case["total"]))
    screenshots.take(page, "3b-with-a-case")
    page.locator(".status-tabs [data-status=all]").click()
    expect(page.locator("tr[data-warning]")).to_have_count(len(sensors.warnings()["items"]))

    # convert the yellow gauge's warning into a case of a chosen category: the API's case, on its channel
    yellow = sensors.warning_of(sensors.devices[2])
    yellow_actions = page.get_by_role("group", name=f"{_name(yellow)}（测试水位计3号）的操作")
    expect(yellow_actions).to_have_count(1)
    yellow_actions.get_by_role("button", name="转案件").click()
    dialog = settled(page.get_by_role("dialog", name=f"{_name(yellow)} 转为案件"))
    dialog.get_by_label("案件分类").click(force=True)
    dialog.get_by_label("案件分类").fill("道路积水")
    page.get_by_role("option", name="道路积水（E0111）").click()
    dialog.get_by_role("button", name="提交").click()
    expect(dialog).to_be_hidden()
    converted = sensors.warning_of(sensors.devices[2])
    assert converted["status"] == "converted" and converted["case_id"], converted
    code = converted["case_tracking_code"]
    expect(page.locator(".notice")).to_have_text(
        re.compile(rf"^{re.escape(_name(yellow))} 已转为案件 {code}\s*查看案件 {code}$"))
    expect(_row(page, yellow["id"]).locator("td.status .status-name")).to_have_text("已转案件")
    expect(_row(page, yellow["id"]).locator("td.status").get_by_role("link")).to_have_text(f"案件 {code}")
    case = sensors.api.get(f"/api/v1/cases/{converted['case_id']}", headers=sensors.operator).json()
    assert (case["channel"], case["category_code"]) == ("iot_warning", "E0111"), case
    assert case["title"] == "测试水位计3号：测试河道水位超限黄色预警", case["title"]
    assert case["tracking_code"] == code
    case_link = page.locator(".notice").get_by_role("link", name=f"查看案件 {code}")
    expect(case_link).to_have_attribute("href", f"/console/cases/{converted['case_id']}")

    # the details: the API's history, level by level, and the readings around it
    _row(page, rising["id"]).get_by_role("button", name="详情").click()
    drawer = page.get_by_role("dialog", name="预警详情")
    expect(drawer).to_be_visible()
    history = sensors.warning_of(sensors.devices[0])["entries"]
    expect(drawer.locator(".history li")).to_have_count(len(history))
    assert [e["action"] for e in history] == ["fire", "change_level", "acknowledge"]
    acknowledged = drawer.locator(".history li[data-action=acknowledge]")
    assert (history[-1]["actor_name"], history[-1]["actor_display_name"]) == (operator, shown), history[-1]
    expect(acknowledged).to_contain_text(f"{shown}（受理员）")
    expect(acknowledged.locator(".actor-name")).to_have_attribute("title", f"登录名：{operator}")
    expect(acknowledged).not_to_contain_text(operator)
    expect(drawer.locator(".history li[data-action=fire] .actor")).to_have_text("系统")
    expect(drawer.locator(".series figcaption")).to_have_text("2 个读数，最低 3.3，最高 4.4")
    expect(drawer.locator(".facts")).to_contain_text("测试河道水位超限")
    expect(drawer.locator(".facts")).to_contain_text("4.4 m")
    drawer.locator(".series").scroll_into_view_if_needed()
    screenshots.take(page, "4-details")
    page.keyboard.press("Escape")
    expect(drawer).to_be_hidden()

    # the red warning's details name its case by tracking code too
    red_row.get_by_role("button", name="详情").click()
    expect(drawer).to_be_visible()
    expect(drawer.get_by_role("link", name=f"查看案件 {opened['case_tracking_code']}")).to_have_attribute(
        "href", f"/console/cases/{opened['case_id']}")
    page.keyboard.press("Escape")
    expect(drawer).to_be_hidden()

    # a warning raised while the board is open comes from the stream, without a reload
    page.evaluate("window.__stillTheSamePage = true")
    sensors.send(sensors.devices[3], 4.2)
    raised = sensors.warning_of(sensors.devices[3])
    row = _row(page, raised["id"])
    expect(row).to_be_visible(timeout=LIVE_WAIT_MS)
    expect(row.locator("[data-level]").first).to_have_text("橙色")
    expect(row).to_contain_text("有更新")
    assert page.evaluate("window.__stillTheSamePage") is True
    _board_equals_the_api(page, sensors)
    screenshots.take(page, "5-live")
    page.close()

    wall = browser.new_page(base_url=served_city.url, locale="zh-CN", **WALL)
    sign_in_to_console(wall, served_city.staff("operator"), "warnings")
    _board_equals_the_api(wall, sensors)
    screenshots.take(wall, "6-wall")
    wall.get_by_role("button", name="English").click()
    expect(wall.get_by_role("heading", name="Warnings board")).to_be_visible()
    expect(wall.locator(".status-tabs [data-status=firing]")).to_contain_text("Firing")
    wall.get_by_role("button", name="中文").click()
    wall.close()

    # on a phone the board scrolls inside its frame, not the page
    phone = browser.new_page(base_url=served_city.url, locale="zh-CN", **PHONE)
    sign_in_to_console(phone, served_city.staff("operator"), "warnings")
    expect(phone.locator("tr[data-warning]")).to_have_count(len(sensors.warnings()["items"]), timeout=LIVE_WAIT_MS)
    screenshots.take(phone, "7-phone")
    assert phone.locator(".warnings-board").evaluate("board => board.scrollWidth <= board.clientWidth")
    phone.close()


def test_the_devices_page(browser: Browser, served_city: ServedCity, sensors: Sensors,
                          screenshots: Screenshots) -> None:
    page = browser.new_page(base_url=served_city.url, locale="zh-CN", **LAPTOP)
    sign_in_to_console(page, "admin.city", "devices")
    expect(page.get_by_role("heading", name="感知设备")).to_be_visible()
    _choose(page, "设备类型", f"河道水位计（浏览器测试）（{TYPE}）")

    listed = sensors.api.get("/api/v1/devices", headers=sensors.admin, params={"type": TYPE, "limit": 50}).json()
    assert listed["total"] == len(sensors.devices)
    rows = page.locator("tr[data-device]")
    expect(rows).to_have_count(listed["total"])
    assert rows.evaluate_all("rows => rows.map(r => r.dataset.device)") == [d["code"] for d in listed["items"]]
    health = {"online": 0, "offline": 0, "maintenance": 0, "retired": 0}
    for device in listed["items"]:
        state = "maintenance" if device["status"] == "maintenance" else "online" if device["online"] else "offline"
        health[state] += 1
        row = page.locator(f"tr[data-device='{device['code']}']")
        expect(row).to_contain_text(device["name"])
        expect(row.locator("[data-health]")).to_have_attribute("data-health", state)
    for state, count in health.items():
        expect(page.locator(f"[data-legend={state}] dd")).to_have_text(str(count))
    expect(page.locator(".map-panel canvas").first).to_be_visible()
    screenshots.take(page, "1-devices")

    # the online filter is the API's too
    _choose(page, "在线", "离线")
    offline = sensors.api.get("/api/v1/devices", headers=sensors.admin,
                              params={"type": TYPE, "online": "false"}).json()["items"]
    expect(rows).to_have_count(len(offline))
    _clear(page.locator(".filters .el-select").nth(2))
    expect(rows).to_have_count(listed["total"])

    # the details: the API's latest values; maintenance on and off through the API
    code = sensors.devices[0]
    page.get_by_role("button", name="测试水位计1号 的详情").click()
    drawer = page.get_by_role("dialog", name="设备详情 · 测试水位计1号")
    expect(drawer).to_be_visible()
    detail = sensors.api.get(f"/api/v1/devices/{code}", headers=sensors.admin).json()
    latest = {value["metric"]: value for value in detail["latest"]}
    assert latest["water_level"]["value"] == 4.4
    expect(drawer.locator("tr[data-metric=water_level] .value")).to_contain_text("4.4 m")
    expect(drawer.locator(".series figcaption")).to_have_text("2 个读数，最低 3.3，最高 4.4")

    drawer.get_by_role("button", name="进入维护").click()
    expect(page.get_by_text(f"{code} 已进入维护")).to_be_visible()
    assert sensors.api.get(f"/api/v1/devices/{code}", headers=sensors.admin).json()["status"] == "maintenance"
    expect(page.locator(f"tr[data-device='{code}'] [data-health]")).to_have_text("维护中")
    expect(page.locator("[data-legend=maintenance] dd")).to_have_text("1")
    screenshots.take(page, "2-maintenance")
    drawer.get_by_role("button", name="结束维护").click()
    expect(page.get_by_text(f"{code} 已结束维护")).to_be_visible()
    assert sensors.api.get(f"/api/v1/devices/{code}", headers=sensors.admin).json()["status"] == "active"
    expect(page.locator(f"tr[data-device='{code}'] [data-health]")).not_to_have_text("维护中")
    page.keyboard.press("Escape")
    page.close()

    # the street's operator reads the registry but may not put a device in maintenance (the API's rule)
    page = browser.new_page(base_url=served_city.url, locale="zh-CN", **LAPTOP)
    sign_in_to_console(page, served_city.staff("operator"), "devices")
    page.get_by_role("button", name="测试水位计1号 的详情").click()
    drawer = page.get_by_role("dialog", name="设备详情 · 测试水位计1号")
    expect(drawer.locator("tr[data-metric=water_level]")).to_be_visible()
    expect(drawer.get_by_role("button", name="进入维护")).to_have_count(0)
    refused = sensors.api.patch(f"/api/v1/devices/{code}", headers=sensors.operator, json={"status": "maintenance"})
    assert refused.status_code == 403, refused.text
    page.close()

    # on a phone, in English: the map above the table, which scrolls inside its frame
    phone = browser.new_page(base_url=served_city.url, locale="zh-CN", **PHONE)
    sign_in_to_console(phone, served_city.staff("operator"), "devices")
    phone.get_by_role("button", name="English").click()
    expect(phone.get_by_role("heading", name="Devices", exact=True)).to_be_visible()
    ours = sensors.api.get("/api/v1/devices", headers=sensors.operator, params={"limit": 50}).json()
    expect(phone.locator("tr[data-device]")).to_have_count(len(ours["items"]))
    expect(phone.locator(".table-panel .total")).to_have_text(f"{ours['total']} in all")
    assert phone.locator(".devices").evaluate("page => page.scrollWidth <= page.clientWidth")
    screenshots.take(phone, "3-phone")
    phone.close()


def test_a_case_the_rule_could_not_open_is_explained_in_the_users_language(
        browser: Browser, served_city: ServedCity, sensors: Sensors, screenshots: Screenshots) -> None:
    """A rule whose case category went out of service after it was made cannot open its case: the warning's
    history says why in Chinese, from the problem texts as a refused call says it, never in the API's
    English; in English the API's words stand."""
    category, device_type, device = "E0187", "e2e_city_gauge_b", "E2E-CITY-B1"
    made = sensors.api.post("/api/v1/categories", headers=sensors.admin, json={
        "code": category, "name": "浏览器测试分类（将停用）", "kind": "event", "parent_code": "E01"})
    assert made.status_code == 201, made.text
    assert sensors.api.post("/api/v1/device-types", headers=sensors.admin, json={
        "code": device_type, "name": "河道水位计（立案失败测试）", "metrics": {"water_level": "m"}}).status_code == 201
    lon, lat, _ = served_city.street
    assert sensors.api.post("/api/v1/devices", headers=sensors.admin, json={
        "code": device, "name": "立案失败水位计", "type": device_type, "lon": lon, "lat": lat + 0.0003}
    ).status_code == 201
    rule = sensors.api.post("/api/v1/rules", headers=sensors.admin, json={
        "code": "e2e-city-no-case", "name": "停用分类水位超限", "definition": {
            "kind": "threshold", "metric": "water_level", "scope": {"device_type": device_type},
            "levels": [{"level": "yellow", "fire_at": 3.0, "clear_at": 2.8}],
            "open_case_from": "yellow", "case_category": category}})
    assert rule.status_code == 201, rule.text
    off = sensors.api.patch(f"/api/v1/categories/{category}", headers=sensors.admin, json={"active": False})
    assert off.status_code == 200, off.text
    sent = sensors.api.post("/api/v1/readings", headers=sensors.admin, json=[
        {"device": device, "metric": "water_level", "ts": datetime.now(UTC).isoformat(), "value": 3.4}])
    assert sent.status_code == 200, sent.text
    warning = next(w for w in sensors.warnings()["items"] if w["origin"] == device)
    failed = warning["entries"][-1]
    assert (failed["action"], failed["cause"]["code"]) == ("case_not_opened", "inactive_category"), warning
    assert failed["reason"].startswith("case not opened (failure 1 in a row): category E0187 is out of service")

    page = browser.new_page(base_url=served_city.url, locale="zh-CN", **LAPTOP)
    sign_in_to_console(page, served_city.staff("operator"), "warnings")
    _row(page, warning["id"]).get_by_role("button", name="详情").click()
    drawer = page.get_by_role("dialog", name="预警详情")
    entry = drawer.locator(".history li[data-action=case_not_opened]")
    expect(entry.locator("strong")).to_have_text("自动立案失败，稍后重试")
    expect(entry.locator("q")).to_have_text(re.compile(
        r"^连续第 1 次：该案件分类已停用；\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2} 起重试$"))
    expect(entry).not_to_contain_text("case not opened")
    expect(entry).not_to_contain_text("out of service")
    screenshots.take(page, "case-not-opened")
    page.keyboard.press("Escape")
    expect(drawer).to_be_hidden()

    # the English screens have no problem texts of their own: the API's words, as they are
    page.get_by_role("button", name="English").click()
    _row(page, warning["id"]).get_by_role("button", name="Details").click()
    entry = page.get_by_role("dialog", name="Warning details").locator(".history li[data-action=case_not_opened]")
    expect(entry.locator("q")).to_have_text(failed["reason"])
    page.close()

    # the dashboard's details of the warning say it in the same words
    wall = browser.new_page(base_url=served_city.url, locale="zh-CN", **WALL)
    wall.goto("/")
    wall.get_by_label("用户名").fill(served_city.staff("operator"))
    wall.get_by_label("密码").fill(PASSWORD)
    wall.get_by_role("button", name="登录").click()
    wall.locator(".feed .events li.warning", has_text="停用分类水位超限").first.get_by_role("button").click()
    drawer = wall.get_by_role("dialog", name="预警详情")
    expect(drawer.locator(".el-timeline-item", has_text="连续第 1 次：该案件分类已停用")).to_have_count(1)
    expect(drawer).not_to_contain_text("out of service")
    wall.close()
