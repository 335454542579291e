"""The map on the console's case page keeps drawing without an error when its box vanishes for a moment
(the side column hidden, the page squeezed by a full-page screenshot, as a QA walk's screenshots did
right after sign-in): ECharts cannot lay a map out in a box with no width."""

from __future__ import annotations

from playwright.sync_api import Browser, expect

from tests.e2e.conftest import Screenshots, ServedCity, sign_in_to_console

DESKTOP = {"viewport": {"width": 1366, "height": 768}}


def test_the_case_map_survives_its_box_vanishing(browser: Browser, served_city: ServedCity,
                                                 screenshots: Screenshots) -> None:
    lon, lat, _ = served_city.street
    code = served_city.citizen_report({"title": "人行道地砖松动", "lon": lon + 0.0003, "lat": lat + 0.0002})[
        "tracking_code"]
    page = browser.new_page(base_url=served_city.url, locale="zh-CN", **DESKTOP)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    sign_in_to_console(page, served_city.staff("operator"))
    page.get_by_role("link", name=f"打开案件 {code}").click()
    expect(page.get_by_role("main").get_by_role("heading", level=2)).to_contain_text(code)
    chart = page.locator(".city-map .chart")
    expect(chart.locator("canvas")).to_be_visible()
    screenshots.take(page, "case-map")  # a full-page screenshot squeezes the page for a moment

    chart.evaluate("element => { element.style.width = '0px' }")
    page.wait_for_timeout(300)
    chart.evaluate("element => { element.style.width = '' }")
    # drawn again at its box's width
    page.wait_for_function("() => { const box = document.querySelector('.city-map .chart');"
                           " const canvas = box.querySelector('canvas');"
                           " return box.clientWidth > 0 && canvas.clientWidth === box.clientWidth }")
    assert errors == []
    page.close()
