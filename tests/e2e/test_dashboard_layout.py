"""The dashboard laid out on the screens it is watched on: every district's name on the city map readable
and none printed over another (the city centre's small districts crowd together), the trend's dates clear
of the heading below them, and a map whose box vanishes for a moment (a hidden panel, a page squeezed by
a full-page screenshot) drawn again without an error."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import Browser, expect

from tests.e2e.canvas_text import canvas_text, record_canvas_text
from tests.e2e.conftest import Screenshots, ServedCity
from tests.factories import PASSWORD

GAP_BELOW_DATES = 12
"""Pixels at least between the trend's dates and the next heading."""


@pytest.mark.parametrize(("width", "height"), [(1920, 1080), (1366, 768)], ids=["1920x1080", "1366x768"])
def test_the_city_map_and_trend_are_readable(browser: Browser, served_city: ServedCity, screenshots: Screenshots,
                                            width: int, height: int) -> None:
    if not served_city.demo:
        pytest.skip("the test city has no city-level staff; the demo city has")
    districts = httpx.get(f"{served_city.url}/api/v1/public/areas",
                          params={"level": "district", "parent": "310000"}).json()["features"]
    names = sorted(d["properties"]["name"] for d in districts)
    page = browser.new_page(base_url=served_city.url, locale="zh-CN", viewport={"width": width, "height": height})
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    record_canvas_text(page)
    page.goto("/")
    page.get_by_label("用户名").fill("operator.city")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.locator(".map-panel h2")).to_have_text(f"全市区域 {len(names)} 个区")
    trends = page.locator(".trends")
    days = trends.get_by_role("img", name="近30天上报趋势")
    expect(days.locator("canvas")).to_be_visible()
    page.mouse.move(1, 1)  # no area under the pointer: the labels as they rest

    chart = page.locator(".map-panel .chart")
    page.wait_for_function("names => names.every(name => window.__canvasText(document.querySelector("
                           "'.map-panel .chart canvas')).some(t => t.text === name))", arg=names)
    labels = [t for t in canvas_text(chart) if t.text in names]
    assert sorted(t.text for t in labels) == names
    stacked = [(a.text, b.text) for i, a in enumerate(labels) for b in labels[i + 1:] if a.intersects(b)]
    assert stacked == []
    chart_box = chart.bounding_box()
    assert chart_box is not None
    for label in labels:  # all of each name inside the map's box
        assert chart_box["x"] <= label.left and label.right <= chart_box["x"] + chart_box["width"], label
        assert chart_box["y"] <= label.top and label.bottom <= chart_box["y"] + chart_box["height"], label

    dates = canvas_text(days)
    assert dates
    next_heading = trends.get_by_role("heading", name="案件类别构成").bounding_box()
    assert next_heading is not None
    assert next_heading["y"] - max(t.bottom for t in dates) >= GAP_BELOW_DATES
    screenshots.take(page, "map-and-trend")

    # the map's box gone for a moment and back: drawn again, the same names on it
    chart.evaluate("element => { element.style.display = 'none' }")
    page.wait_for_timeout(300)
    chart.evaluate("element => { element.style.display = '' }")
    page.wait_for_function("names => names.every(name => window.__canvasText(document.querySelector("
                           "'.map-panel .chart canvas')).some(t => t.text === name))", arg=names)
    assert errors == []
    page.close()
