"""A map point's tooltip shows a citizen's words as text: ECharts writes a tooltip's text as HTML, and a
case's title on the case page's map is whatever the citizen typed. A title made of markup must show as
that markup, and run nothing, when staff hover the point."""

from __future__ import annotations

import httpx
from playwright.sync_api import Browser, expect

from tests.e2e.conftest import ServedCity, sign_in_to_console

DESKTOP = {"viewport": {"width": 1366, "height": 768}}
MARKUP = '<img src="/no-such-photo.png" onerror="window.cityopsRan = true">井盖缺失'
STEP_PX = 9  # under the point's 14 px symbol: one probe of the grid lands on it
# what the tooltip under the pointer says, if one shows: ECharts keeps its tooltip in a div of the chart's
TOOLTIP_TEXT = """(chart) => [...chart.querySelectorAll('div')]
    .filter((d) => d.style.position === 'absolute' && d.style.display !== 'none' && d.style.opacity !== '0')
    .map((d) => d.textContent).join('|')"""


def test_a_case_title_made_of_markup_shows_as_text_on_the_map(served_city: ServedCity, browser: Browser) -> None:
    lon, lat, _ = served_city.street
    case = served_city.citizen_report({"title": MARKUP, "lon": lon, "lat": lat})
    operator = served_city.bearer(served_city.staff("operator"))
    found = httpx.get(f"{served_city.url}/api/v1/cases", headers=operator,
                      params={"q": "井盖缺失", "limit": 50}).json()["items"]
    case_id = next(item["id"] for item in found if item["tracking_code"] == case["tracking_code"])

    context = browser.new_context(base_url=served_city.url, locale="zh-CN", **DESKTOP)
    page = context.new_page()
    try:
        sign_in_to_console(page, served_city.staff("operator"), f"cases/{case_id}")
        chart = page.get_by_role("img", name="地图：", exact=False).first
        expect(chart).to_be_visible()
        page.wait_for_timeout(500)  # the outline loaded and drawn
        box = chart.bounding_box()
        assert box is not None
        shown = ""
        y = box["y"] + STEP_PX / 2
        while "井盖缺失" not in shown and y < box["y"] + box["height"]:
            x = box["x"] + STEP_PX / 2
            while x < box["x"] + box["width"]:
                page.mouse.move(x, y)
                shown = chart.evaluate(TOOLTIP_TEXT)
                if "井盖缺失" in shown:
                    break
                x += STEP_PX
            y += STEP_PX
        assert "井盖缺失" in shown, "no probe of the map showed the case's tooltip"
        assert '<img src="/no-such-photo.png"' in shown  # the markup as text, not an element
        assert chart.evaluate("(chart) => chart.querySelectorAll('img').length") == 0
        assert page.evaluate("() => window.cityopsRan === true") is False
    finally:
        context.close()
