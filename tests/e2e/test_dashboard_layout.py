"""The dashboard laid out on the screens it is watched on: one screen (a 1920×1080 wall, a 1366×768 laptop)
holds every panel without the page scrolling, the map the largest; every district's name on the city map
readable and none printed over another (the city centre's small districts crowd together), the trend's
dates clear of the heading below them and today's date written under its last day, the category mix's
legend naming every slice (未分类 included), and a map whose box vanishes for a moment (a hidden panel, a
page squeezed by a full-page screenshot) drawn again without an error. The city keeps its shape on the map
(a degree of longitude as long as it is at the city's latitude), and each name stands out from whatever fill
it lies on, the top of the colour scale included."""

from __future__ import annotations

import math
import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.canvas_text import canvas_text, record_canvas_text, record_charts
from tests.e2e.conftest import Screenshots, ServedCity
from tests.factories import PASSWORD

GAP_BELOW_DATES = 12
"""Pixels at least between the trend's dates and the next heading."""
SHAPE_TOLERANCE = 0.02
"""How far the drawn city's width/height may be from its true ratio (ECharts' default is 12% off here)."""
TEXT_CONTRAST = 4.5
"""WCAG 2 AA for text of normal size."""
HALO_WIDTH = 3
"""The least text outline (pixels, half of it outside each glyph) that the glyphs are read against instead
of the fill under them."""
CITY_ZONE = ZoneInfo("Asia/Shanghai")
"""The demo city's time zone: the trend's days are its local days."""
MAP_WIDTH, MAP_HEIGHT = 0.4, 0.65
"""The least part of the screen's width and of its height the map's box takes (the other panels share the
columns beside it)."""
PANELS = (".counters", ".trends", ".map-panel", ".feed", ".vital-signs")
TOP_CATEGORIES = ("C0101", "C0201", "C0301", "C0401", "C0501", "C0601", "C0701", "E0101")
"""A category under each of eight top-level classes: more than the category mix names on its own."""
SCREENS = pytest.mark.parametrize(("width", "height"), [(1920, 1080), (1366, 768)], ids=["1920x1080", "1366x768"])

LABELS_AND_FILLS = """element => {
  const chart = window.__chartOf(element);
  const scale = chart.getOption().visualMap?.[0]?.inRange?.color ?? [];
  const coloured = scale.length > 0;
  const data = chart.getModel().getSeriesByIndex(0).getData();
  const areas = Array.from({ length: data.count() }, (_, i) => {
    const item = data.getItemModel(i);
    const label = (state) => ({
      text: item.get([...state, 'label', 'color']) ?? item.get(['label', 'color']),
      halo: item.get([...state, 'label', 'textBorderColor']) ?? item.get(['label', 'textBorderColor']) ?? null,
      haloWidth: item.get([...state, 'label', 'textBorderWidth']) ?? item.get(['label', 'textBorderWidth']) ?? 0,
    });
    return [
      { area: data.getName(i), state: 'normal', ...label([]),
        fill: coloured ? data.getItemVisual(i, 'style').fill : item.get(['itemStyle', 'areaColor']) },
      { area: data.getName(i), state: 'emphasis', ...label(['emphasis']),
        fill: item.get(['emphasis', 'itemStyle', 'areaColor']) },
    ];
  }).flat();
  // every colour of the scale, whichever areas carry it today
  return [...areas, ...scale.map((fill) => ({ ...areas[0], area: 'scale', fill }))];
}"""


def _luminance(colour: str) -> float:
    """WCAG 2's relative luminance of an opaque CSS colour (#rgb, #rrggbb, rgb(), rgba())."""
    colour = colour.strip().lower()
    if colour.startswith("#"):
        digits = colour[1:] if len(colour) == 7 else "".join(c * 2 for c in colour[1:])
        channels = [int(digits[i:i + 2], 16) for i in (0, 2, 4)]
    else:
        found = re.fullmatch(r"rgba?\(([^)]*)\)", colour)
        assert found, colour
        parts = [float(p) for p in found.group(1).split(",")]
        assert len(parts) == 3 or parts[3] == 1, f"{colour} is not opaque"
        channels = parts[:3]
    linear = [c / 255 / 12.92 if c / 255 <= 0.04045 else ((c / 255 + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def _contrast(a: str, b: str) -> float:
    light, dark = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def _signed_in_dashboard(browser: Browser, served_city: ServedCity, width: int, height: int) -> Page:
    page = browser.new_page(base_url=served_city.url, locale="zh-CN", viewport={"width": width, "height": height})
    record_canvas_text(page)
    record_charts(page)
    page.goto("/")
    page.get_by_label("用户名").fill("operator.city")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    return page


@SCREENS
def test_the_city_map_and_trend_are_readable(browser: Browser, served_city: ServedCity, screenshots: Screenshots,
                                            width: int, height: int) -> None:
    if not served_city.demo:
        pytest.skip("the test city has no city-level staff; the demo city has")
    districts = httpx.get(f"{served_city.url}/api/v1/public/areas",
                          params={"level": "district", "parent": "310000"}).json()["features"]
    names = sorted(d["properties"]["name"] for d in districts)
    errors: list[str] = []
    page = _signed_in_dashboard(browser, served_city, width, height)
    page.on("pageerror", lambda error: errors.append(str(error)))
    expect(page.locator(".map-panel h2")).to_have_text(f"全市区域 {len(names)} 个区")
    # the region is named as its heading reads
    trends = page.get_by_role("region", name="近30天上报趋势")
    expect(trends.get_by_role("heading", name="近30天上报趋势")).to_be_visible()
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


@SCREENS
def test_the_city_keeps_its_shape_and_every_name_stands_out(browser: Browser, served_city: ServedCity,
                                                            screenshots: Screenshots, width: int, height: int) -> None:
    if not served_city.demo:
        pytest.skip("the test city has no city-level staff; the demo city has")
    districts = httpx.get(f"{served_city.url}/api/v1/public/areas",
                          params={"level": "district", "parent": "310000"}).json()["features"]
    points = [point for d in districts for ring in (d["geometry"]["coordinates"] if d["geometry"]["type"] == "Polygon"
                                                    else [r for p in d["geometry"]["coordinates"] for r in p])
              for point in ring]
    lons, lats = [p[0] for p in points], [p[1] for p in points]
    lon, lat, _ = served_city.inside  # an open case in 黄浦: an area at the top of the colour scale
    served_city.citizen_report({"title": "地图配色：路灯不亮", "category_code": "E0102", "lon": lon, "lat": lat})
    page = _signed_in_dashboard(browser, served_city, width, height)
    expect(page.locator(".map-panel h2")).to_have_text(f"全市区域 {len(districts)} 个区")
    chart = page.locator(".map-panel .chart")
    expect(chart.locator("canvas")).to_be_visible()
    page.wait_for_function("element => window.__chartOf(element)?.getOption().visualMap?.length > 0",
                           arg=chart.element_handle())

    # the city's extent drawn: as wide against its height as it is on the ground at its latitude
    corners = chart.evaluate("(element, corners) => corners.map(c => "
                             "window.__chartOf(element).convertToPixel({ seriesIndex: 0 }, c))",
                             [[min(lons), max(lats)], [max(lons), min(lats)]])
    (left, top), (right, bottom) = corners
    drawn = (right - left) / (bottom - top)
    middle = math.radians((min(lats) + max(lats)) / 2)
    true = (max(lons) - min(lons)) * math.cos(middle) / (max(lats) - min(lats))
    assert drawn == pytest.approx(true, rel=SHAPE_TOLERANCE), f"drawn {drawn:.3f}, true {true:.3f}"

    # each name (at rest and under the pointer) against what its glyphs lie on: a wide enough outline, or the
    # fill of its area, whichever measure colours the map
    for measure in ("未结案件", "活动预警"):
        page.get_by_role("group", name="地图着色").get_by_role("button", name=measure).click()
        labels = chart.evaluate(LABELS_AND_FILLS)
        assert len(labels) > 2 * len(districts)
        faint = [(label["area"], label["state"], label["text"], backdrop, round(_contrast(label["text"], backdrop), 2))
                 for label in labels
                 for backdrop in [label["halo"] if label["haloWidth"] >= HALO_WIDTH else label["fill"]]
                 if _contrast(label["text"], backdrop) < TEXT_CONTRAST]
        assert faint == [], measure
    page.get_by_role("button", name="未结案件").click()
    page.mouse.move(1, 1)
    screenshots.take(page, "map-colours")
    page.close()


def _wait_for_text(page: Page, selector: str, text: str) -> None:
    page.wait_for_function("([selector, text]) => window.__canvasText(document.querySelector(selector))"
                           ".some(t => t.text === text)", arg=[selector, text])


@SCREENS
def test_one_screen_holds_every_panel(browser: Browser, served_city: ServedCity, screenshots: Screenshots,
                                      width: int, height: int) -> None:
    if not served_city.demo:
        pytest.skip("the test city has no city-level staff; the demo city has")
    page = _signed_in_dashboard(browser, served_city, width, height)
    for panel in PANELS:
        expect(page.locator(panel)).to_be_visible()
    expect(page.locator(".map-panel .chart canvas")).to_be_visible()
    page.wait_for_timeout(300)  # the charts follow their boxes' last size

    # the page itself does not scroll: every panel inside the screen, the map with the most room
    scroll = page.evaluate("() => ({ height: document.documentElement.scrollHeight, width: "
                           "document.documentElement.scrollWidth, innerHeight, innerWidth })")
    assert scroll["height"] <= scroll["innerHeight"] and scroll["width"] <= scroll["innerWidth"], scroll
    for panel in PANELS:
        box = page.locator(panel).bounding_box()
        assert box is not None
        assert box["x"] >= 0 and box["x"] + box["width"] <= width, (panel, box)
        assert box["y"] >= 0 and box["y"] + box["height"] <= height, (panel, box)
    chart = page.locator(".map-panel .chart").bounding_box()
    assert chart is not None
    assert chart["width"] >= MAP_WIDTH * width and chart["height"] >= MAP_HEIGHT * height, chart
    screenshots.take(page, "one-screen")
    page.close()


def test_a_phone_scrolls_through_the_panels(browser: Browser, served_city: ServedCity,
                                           screenshots: Screenshots) -> None:
    if not served_city.demo:
        pytest.skip("the test city has no city-level staff; the demo city has")
    page = _signed_in_dashboard(browser, served_city, 390, 844)
    for panel in PANELS:
        expect(page.locator(panel)).to_be_visible()
    # one panel below another, each as wide as the screen allows: the page scrolls down, never sideways
    assert page.evaluate("() => document.documentElement.scrollWidth <= innerWidth")
    tops = []
    for panel in (".map-panel", ".trends", ".feed", ".vital-signs"):
        box = page.locator(panel).bounding_box()
        assert box is not None
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390 and box["width"] >= 300, (panel, box)
        tops.append(box["y"])
    assert tops == sorted(tops)
    chart = page.locator(".map-panel .chart").bounding_box()
    assert chart is not None and chart["height"] >= 360, chart
    screenshots.take(page, "phone")
    page.close()


@SCREENS
def test_the_trend_writes_today_and_the_mix_names_every_slice(browser: Browser, served_city: ServedCity,
                                                              screenshots: Screenshots, width: int,
                                                              height: int) -> None:
    if not served_city.demo:
        pytest.skip("the demo city's categories")
    lon, lat, _ = served_city.inside
    for code in TOP_CATEGORIES:
        served_city.citizen_report({"title": f"类别构成：{code}", "category_code": code, "lon": lon, "lat": lat})
    served_city.citizen_report({"title": "类别构成：未分类", "lon": lon, "lat": lat})
    operator = served_city.bearer("operator.city")
    trends = httpx.get(f"{served_city.url}/api/v1/dashboard/trends", params={"days": 30}, headers=operator).json()
    assert any(c["code"] is None for c in trends["categories"])
    assert len(trends["categories"]) > 6

    page = _signed_in_dashboard(browser, served_city, width, height)
    region = page.get_by_role("region", name="近30天上报趋势")
    days = region.get_by_role("img", name="近30天上报趋势")
    mix = region.get_by_role("img", name="案件类别构成")
    expect(mix.locator("canvas")).to_be_visible()

    # the trend's last date written is today's in the city, its first the first day's; no two dates touch
    today = datetime.now(CITY_ZONE).date()
    _wait_for_text(page, ".trends .chart canvas", today.strftime("%m-%d"))
    dates = sorted((t for t in canvas_text(days) if re.fullmatch(r"\d\d-\d\d", t.text)), key=lambda t: t.left)
    assert dates[-1].text == today.strftime("%m-%d")
    assert dates[0].text == (today - timedelta(days=29)).strftime("%m-%d")
    assert len(dates) >= 3
    assert [(a.text, b.text) for a, b in zip(dates, dates[1:], strict=False) if a.intersects(b)] == []

    # every slice of the category mix named in its legend, 未分类 among them, none on a second page; the
    # smaller categories share 其他, whose tooltip names them
    mix_canvas = ".trends .chart[aria-label='案件类别构成'] canvas"
    _wait_for_text(page, mix_canvas, "未分类")
    slices = mix.evaluate("element => window.__chartOf(element).getOption().series[0].data")
    names = [s["name"] for s in slices]
    assert "未分类" in names and "其他" in names, names
    assert len(names) == len(set(names)), names
    drawn = [t.text for t in canvas_text(mix)]
    assert [name for name in names if name not in drawn] == []
    assert not any(re.fullmatch(r"\d+/\d+", text) for text in drawn), drawn  # no legend pages
    legend = [t for t in canvas_text(mix) if t.text in names]
    assert [(a.text, b.text) for i, a in enumerate(legend) for b in legend[i + 1:] if a.intersects(b)] == []
    mix_box = mix.bounding_box()
    assert mix_box is not None
    assert all(mix_box["y"] <= t.top and t.bottom <= mix_box["y"] + mix_box["height"] for t in legend), legend
    others = next(s for s in slices if s["name"] == "其他")
    mix.evaluate("(element, index) => window.__chartOf(element).dispatchAction("
                 "{ type: 'showTip', seriesIndex: 0, dataIndex: index })", names.index("其他"))
    tooltip = page.locator(".mix-tooltip")
    expect(tooltip).to_be_visible()
    lines = tooltip.inner_text().split("\n")
    assert lines[0].startswith(f"其他: {others['value']} (")
    assert len(lines) > 2 and sum(int(line.rsplit(": ", 1)[1]) for line in lines[1:]) == others["value"], lines
    screenshots.take(page, "trend-and-mix")
    page.close()
