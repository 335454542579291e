"""The city dashboard on a served demo city: a city operator signs in; the counters equal the API's own
figures for that user; a district's tooltip follows the API's figures when a case is reported in it,
and a click on it drills down to its streets and its counters, and back; a reading that breaks a rule
brings a warning to the live feed (and the active-warnings counter up) without a reload; clicking the
warning opens its details."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import Screenshots, ServedCity
from tests.factories import PASSWORD

WALL = {"viewport": {"width": 1920, "height": 1080}}
LIVE_WAIT_MS = 30_000
"""The stream sends changed counters every few seconds; a loaded machine may take longer."""
COUNTERS = ("reported_today", "dispatched", "in_progress", "overdue", "warnings_active")


def _cases_in_the_street(api: httpx.Client, served_city: ServedCity) -> None:
    """Two citizen reports in a street, one of them registered and dispatched, so the counters are not all 0."""
    lon, lat, office = served_city.street
    codes = []
    for title in ("路边垃圾堆", "井盖缺失"):
        codes.append(served_city.citizen_report({"title": title, "category_code": "E0102", "lon": lon,
                                                 "lat": lat})["tracking_code"])
    operator = served_city.bearer(served_city.staff("operator"))
    dispatcher = served_city.bearer(served_city.staff("dispatcher"))
    case_id = next(c["id"] for c in api.get("/api/v1/cases", params={"queue": "to_register", "limit": 200},
                                            headers=operator).json()["items"] if c["tracking_code"] == codes[0])
    for who, action, body in ((operator, "register", {}), (dispatcher, "dispatch", {"data": {"lead": office}})):
        moved = api.post(f"/api/v1/cases/{case_id}/actions/{action}", headers=who, json=body)
        assert moved.status_code == 200, moved.text


def _percent(rate: float | None) -> str:
    return "–" if rate is None else f"{rate * 100:.1f}".removesuffix(".0") + "%"


def _counter(page: Page, key: str) -> str:
    return page.locator(f"[data-counter={key}] .value").inner_text()


def _spot_on_an_area(page: Page) -> tuple[float, float, str]:
    """A spot of the map inside an area (the map has water and islands: try a few), and what the map's
    tooltip says there."""
    box = page.locator(".map-panel .chart").bounding_box()
    assert box is not None
    tooltip = page.locator(".area-tooltip")
    for x, y in ((0.5, 0.5), (0.55, 0.6), (0.45, 0.6), (0.5, 0.7), (0.4, 0.5), (0.6, 0.45)):
        spot = (box["x"] + box["width"] * x, box["y"] + box["height"] * y)
        page.mouse.move(*spot)
        try:
            expect(tooltip).to_be_visible(timeout=3000)
        except AssertionError:
            continue
        return *spot, tooltip.inner_text()
    raise AssertionError("no spot of the map is inside an area")


def _tooltip_at(page: Page, x: float, y: float, wanted: list[str]) -> list[str]:
    """The tooltip's lines at (x, y) once they are ``wanted`` (the map's figures follow the stream's
    counters), or as they last were."""
    lines: list[str] = []
    for _ in range(60):
        page.mouse.move(1, 1)
        page.mouse.move(x, y)
        lines = page.locator(".area-tooltip").inner_text().split("\n")
        if lines == wanted:
            break
        page.wait_for_timeout(500)
    return lines


def test_an_operator_watches_the_city(browser: Browser, served_city: ServedCity, screenshots: Screenshots) -> None:
    if not served_city.demo:
        pytest.skip("the test city has no city-level staff or device types; the demo city has")
    api = httpx.Client(base_url=served_city.url, timeout=30)
    _cases_in_the_street(api, served_city)
    operator, admin = served_city.bearer("operator.city"), served_city.bearer("admin.city")

    page = browser.new_page(base_url=served_city.url, locale="zh-CN", **WALL)
    page.goto("/")
    page.get_by_label("用户名").fill("operator.city")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_text("实时", exact=True)).to_be_visible(timeout=LIVE_WAIT_MS)  # the stream is open

    # the counters are the API's own figures for the same user
    expect(page.locator("[data-counter=reported_today] .value")).not_to_have_text("–")
    counts = api.get("/api/v1/stream", headers=operator).json()["counts"]
    assert counts["reported_today"] >= 2 and counts["dispatched"] >= 1, counts
    for key in COUNTERS:
        expect(page.locator(f"[data-counter={key}] .value")).to_have_text(str(counts[key]))
    summary = api.get("/api/v1/dashboard/summary", headers=operator).json()
    expect(page.locator("[data-counter=on_time_closure_rate] .value")).to_have_text(
        _percent(summary["closure"]["on_time_closure_rate"]))
    district_features = api.get("/api/v1/public/areas", params={"level": "district", "parent": "310000"}).json()
    districts = {d["properties"]["code"]: d["properties"] for d in district_features["features"]}
    expect(page.get_by_role("heading", name=f"全市区域 {len(districts)} 个区")).to_be_visible()
    screenshots.take(page, "1-signed-in")

    # a report in the district under a spot of the map: its colour and tooltip follow the API's figures
    x, y, said = _spot_on_an_area(page)
    name = said.split("\n")[0]
    code = next(code for code, district in districts.items() if district["name"] == name)
    center = districts[code]["center"]
    reported = served_city.citizen_report({"title": "人行道破损", "lon": center[0], "lat": center[1]})
    # the new case comes down the stream to the newest cases, without a reload
    expect(page.locator(".feed .cases li", has_text=reported["tracking_code"])).to_contain_text(
        "人行道破损", timeout=LIVE_WAIT_MS)
    figures = next(area for area in api.get("/api/v1/dashboard/areas", params={"parent": "310000"},
                                            headers=operator).json()["areas"] if area["code"] == code)
    assert figures["open"] >= 1
    wanted = [name, f"未结案件: {figures['open']}", f"超期案件: {figures['overdue']}",
              f"活动预警: {figures['warnings_active']}"]
    assert _tooltip_at(page, x, y, wanted) == wanted
    screenshots.take(page, "2-figures")

    # a click there goes down to the district's streets
    page.mouse.click(x, y)
    streets = api.get("/api/v1/public/areas", params={"level": "street", "parent": code}).json()["total"]
    assert streets > 0
    expect(page.locator(".map-panel h2")).to_have_text(f"{name} {streets} 个街镇")
    # the counters are then the district's, as the API counts them
    expect(page.get_by_text(f"当前区域：{name}")).to_be_visible()
    district = api.get("/api/v1/dashboard/summary", params={"area": code}, headers=operator).json()["counts"]
    assert district["reported_today"] >= 1
    for key in COUNTERS:
        expect(page.locator(f"[data-counter={key}] .value")).to_have_text(str(district[key]))
    screenshots.take(page, "3-district")

    # back to the whole city: its counters again
    page.get_by_role("navigation", name="下钻路径").get_by_role("button", name="全市区域").click()
    expect(page.locator(".map-panel h2")).to_have_text(f"全市区域 {len(districts)} 个区")
    expect(page.get_by_text("当前区域：上海市")).to_be_visible()
    counts = api.get("/api/v1/stream", headers=operator).json()["counts"]
    for key in COUNTERS:
        expect(page.locator(f"[data-counter={key}] .value")).to_have_text(str(counts[key]))

    # a reading over a rule's threshold: the warning comes down the stream to the feed and the counter
    lon, lat, _ = served_city.inside
    device = api.post("/api/v1/devices", headers=admin, json={
        "code": "E2E-DASH-WL", "name": "苏州河水位计", "type": "sim_water_gauge", "lon": lon, "lat": lat})
    assert device.status_code == 201, device.text
    rule = api.post("/api/v1/rules", headers=admin, json={
        "code": "e2e-dash-water-high", "name": "河道水位超限", "definition": {
            "kind": "threshold", "metric": "water_level", "scope": {"device_type": "sim_water_gauge"},
            "levels": [{"level": "orange", "fire_at": 4.0, "clear_at": 3.5}]}})
    assert rule.status_code == 201, rule.text
    warnings_before = int(_counter(page, "warnings_active"))
    sent = api.post("/api/v1/readings", headers=admin, json=[
        {"device": "E2E-DASH-WL", "metric": "water_level", "ts": datetime.now(UTC).isoformat(), "value": 4.6}])
    assert sent.status_code == 200 and sent.json()["accepted"] == 1, sent.text
    warning = page.locator(".feed .events li.warning", has_text="4.6").first
    expect(warning).to_be_visible(timeout=LIVE_WAIT_MS)
    expect(warning).to_contain_text("橙色预警")
    expect(warning).to_contain_text("告警中")
    expect(warning).to_contain_text("河道水位超限 4.6 m")  # the rule's name and the value's unit, not codes
    expect(page.locator("[data-counter=warnings_active] .value")).to_have_text(str(warnings_before + 1),
                                                                            timeout=LIVE_WAIT_MS)
    screenshots.take(page, "4-warning")

    # the city's operator acknowledges it: the drawer names them, the login name on hovering it, and the system
    warning_id = next(w["id"] for w in api.get("/api/v1/warnings", params={"rule": "e2e-dash-water-high"},
                                                headers=operator).json()["items"])
    acknowledged = api.post(f"/api/v1/warnings/{warning_id}/acknowledge", headers=operator)
    assert acknowledged.status_code == 200, acknowledged.text
    shown = api.get("/api/v1/users/operator.city", headers=admin).json()["display_name"]
    assert acknowledged.json()["entries"][-1]["actor_display_name"] == shown != "operator.city"
    warning.get_by_role("button").click()
    drawer = page.get_by_role("dialog", name="预警详情")
    expect(drawer).to_be_visible()
    history = drawer.locator(".el-timeline-item")
    expect(history).to_have_count(2)
    expect(history.first).to_contain_text("系统")
    expect(history.last.locator(".actor-name")).to_have_text(shown)
    expect(history.last.locator(".actor-name")).to_have_attribute("title", "登录名：operator.city")
    expect(drawer).to_contain_text("苏州河水位计")
    expect(drawer).to_contain_text("水位")
    expect(drawer).not_to_contain_text("water_level")
    expect(drawer).to_contain_text("4.6 m")
    expect(drawer).to_be_in_viewport(ratio=1)  # slid in: the screenshot shows it whole
    screenshots.take(page, "5-details")
    page.keyboard.press("Escape")
    expect(drawer).to_be_hidden()

    # a recent case's details in words: its channel, category and steps by name, not by code
    dispatched = page.locator(".feed .events.cases li", has_text="路边垃圾堆").filter(has_text="已派遣").first
    dispatched.get_by_role("button").click()
    drawer = page.get_by_role("dialog", name="案件详情")
    expect(drawer).to_contain_text("随手拍")
    category = api.get("/api/v1/categories/E0102", headers=operator).json()["name"]
    expect(drawer).to_contain_text(category)
    expect(drawer.locator("li", has_text="派遣（")).to_have_count(1)
    expect(drawer).not_to_contain_text("citizen_photo")
    # the dispatcher by name, the login name on hovering it; the citizen's report in words
    dispatcher = served_city.staff("dispatcher")
    shown = api.get(f"/api/v1/users/{dispatcher}", headers=admin).json()["display_name"]
    history = drawer.locator(".el-timeline-item")
    dispatch = history.filter(has_text="派遣 · 已派遣").locator(".actor-name")
    expect(dispatch).to_have_text(shown)
    expect(dispatch).to_have_attribute("title", f"登录名：{dispatcher}")
    expect(history.first).to_contain_text("市民")
    page.keyboard.press("Escape")
    expect(drawer).to_be_hidden()

    # a warning converted into a case leads to that case's details
    converted = api.post(f"/api/v1/warnings/{warning_id}/convert-to-case", headers=operator,
                         json={"category_code": "E0102"})
    assert converted.status_code == 200, converted.text
    case_id, tracking_code = converted.json()["case_id"], converted.json()["case_tracking_code"]
    title = api.get(f"/api/v1/cases/{case_id}", headers=operator).json()["title"]
    warning.get_by_role("button").click()
    drawer = page.get_by_role("dialog", name="预警详情")
    # named by its tracking code, as the queues and case pages name it
    assert tracking_code == api.get(f"/api/v1/cases/{case_id}", headers=operator).json()["tracking_code"]
    drawer.get_by_role("button", name=tracking_code).click()
    drawer = page.get_by_role("dialog", name="案件详情")
    expect(drawer).to_contain_text(title)
    page.close()
    api.close()
