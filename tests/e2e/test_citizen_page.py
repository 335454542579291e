"""The citizen page in a phone's browser: report with a photo and a place, get a tracking code, follow
the case by it; categories suggested as they type; Chinese by default, English on request; a report
beyond the address's limit refused in Chinese (提交太频繁)."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import func, select

from cityops.cases.models import Case, CaseEvent
from cityops.db import make_engine, unit_of_work
from tests.e2e.conftest import PHONE, Screenshots, ServedCity, serve_city


def _stored_case(served_city: ServedCity, tracking_code: str) -> tuple[Case, CaseEvent]:
    engine = make_engine(served_city.database_url)
    with unit_of_work(engine, read_only=True) as session:
        case = session.scalars(select(Case).where(Case.tracking_code == tracking_code)).one()
        intake = session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id)
                                 .order_by(CaseEvent.version)).first()
        session.expunge_all()
    engine.dispose()
    return case, intake


def test_a_citizen_reports_with_a_photo_and_a_place_then_follows_the_case(
        phone: Page, served_city: ServedCity, screenshots: Screenshots) -> None:
    phone.goto("/citizen/")
    expect(phone.locator("path.area").first).to_be_visible()
    photo = phone.get_by_test_id("area-map").screenshot()  # any real PNG will do for a photo

    phone.get_by_label("问题简述").fill("小区门口垃圾堆积好几天")
    phone.get_by_label("详细描述").fill("垃圾桶旁堆满了装修垃圾，气味很大")
    # a file that is not a photo: refused once, in Chinese, beside the photos
    phone.get_by_test_id("photo-input").set_input_files(
        files=[{"name": "notes.png", "mimeType": "image/png", "buffer": b"not a picture at all"}])
    expect(phone.get_by_test_id("photo-problem")).to_have_text(
        "出错了：只能上传 JPEG、PNG、WebP、HEIC 格式的照片或 MP4、MOV 格式的视频")
    expect(phone.get_by_role("alert")).to_have_count(1)
    expect(phone.get_by_role("img", name="照片 1")).to_have_count(0)
    phone.get_by_test_id("photo-input").set_input_files(
        files=[{"name": "scene.png", "mimeType": "image/png", "buffer": photo}])
    expect(phone.get_by_role("img", name="照片 1")).to_be_visible()
    expect(phone.get_by_test_id("photo-problem")).to_have_count(0)

    # keyboard: a district is a button; Enter zooms into its streets with a pin inside it
    district = served_city.inside[2]
    phone.get_by_role("button", name=f"{district}：按回车选择").focus()
    phone.keyboard.press("Enter")
    expect(phone.get_by_test_id("map-pin")).to_be_visible()
    expect(phone.locator("path.area.street").first).to_be_visible()
    # then a tap moves the pin to the spot tapped, inside one of the district's streets
    street = phone.locator("path.area.street").first
    street_name = street.locator("title").text_content()
    street.focus()
    phone.keyboard.press("Enter")
    pin = phone.get_by_test_id("map-pin").bounding_box()
    phone.get_by_test_id("area-map").tap(position=_within(phone, pin))
    expect(phone.get_by_test_id("chosen-location")).to_have_text(f"已选位置：{district} {street_name}")
    phone.get_by_label("联系电话").fill("13800000000")
    screenshots.take(phone, "1-form")

    phone.get_by_role("button", name="提交上报").click()
    code = phone.get_by_test_id("tracking-code")
    expect(code).to_have_text(re.compile(r"^[A-Za-z0-9]{6,16}$"), timeout=15_000)
    tracking_code = code.text_content()
    screenshots.take(phone, "2-tracking-code")

    case, intake = _stored_case(served_city, tracking_code)
    assert case.title == "小区门口垃圾堆积好几天" and case.channel == "citizen_photo"
    assert case.area_id is not None and case.lon is not None and case.reporter_phone == "13800000000"
    assert len(intake.attachments) == 1

    phone.get_by_role("link", name="查看进度").click()
    expect(phone).to_have_url(re.compile(f"/citizen/track/{tracking_code}$"))
    followed = phone.get_by_test_id("followed-case")
    expect(followed.get_by_role("heading", name="小区门口垃圾堆积好几天")).to_be_visible()
    expect(followed.get_by_test_id("case-status")).to_have_text(re.compile("^(已受理|已立案|已派遣)$"))
    expect(followed.get_by_role("listitem").first).to_contain_text("已受理")
    screenshots.take(phone, "3-follow")

    # a code typed in by hand, from a fresh visit, finds the same case
    phone.goto("/citizen/track")
    phone.get_by_label("查询码").fill(tracking_code.lower())
    phone.get_by_role("button", name="查询").click()
    expect(phone.get_by_test_id("followed-case")).to_contain_text(tracking_code)


def _within(page: Page, pin: dict | None) -> dict[str, float]:
    """The pin's centre, relative to the map."""
    assert pin is not None
    box = page.get_by_test_id("area-map").bounding_box()
    return {"x": pin["x"] + pin["width"] / 2 - box["x"], "y": pin["y"] + pin["height"] / 2 - box["y"]}


# A spot on the map's background (no district under it) a few pixels from exactly one district, relative to the
# map, with that district's name: the gap a river or a border leaves between outlines.
_BESIDE_ONE_DISTRICT = """(svg) => {
    const box = svg.getBoundingClientRect()
    const areaAt = (x, y) => {
        const hit = document.elementFromPoint(x, y)
        return hit && hit.matches('path.area') ? hit : null
    }
    for (let y = box.top + 12; y < box.bottom - 12; y += 2)
        for (let x = box.left + 12; x < box.right - 12; x += 2) {
            if (document.elementFromPoint(x, y) !== svg) continue
            const near = areaAt(x + 4, y) || areaAt(x - 4, y) || areaAt(x, y + 4) || areaAt(x, y - 4)
            if (!near) continue
            const around = new Set()
            for (let dx = -12; dx <= 12; dx += 2)
                for (let dy = -12; dy <= 12; dy += 2) {
                    const other = areaAt(x + dx, y + dy)
                    if (other) around.add(other)
                }
            if (around.size === 1)
                return {x: x - box.left, y: y - box.top, name: near.querySelector('title').textContent}
        }
    return null
}"""


@pytest.mark.parametrize("size", [PHONE["viewport"], {"width": 1366, "height": 768}], ids=["phone", "laptop"])
def test_the_map_names_its_districts_and_a_tap_beside_one_picks_it(browser: Browser, served_city: ServedCity,
                                                                   screenshots: Screenshots, size: dict) -> None:
    context = browser.new_context(base_url=served_city.url, locale="zh-CN", viewport=size,
                                  has_touch=size == PHONE["viewport"])
    page = context.new_page()
    try:
        page.goto("/citizen/")
        the_map = page.get_by_test_id("area-map")
        expect(page.locator("path.area.district").first).to_be_visible()
        # names where they fit, readable: at least 12 px high on the screen, none overlapping another
        names = the_map.locator(".labels text")
        expect(names.first).to_be_visible()
        boxes = [names.nth(i).bounding_box() for i in range(names.count())]
        assert all(box["height"] >= 12 for box in boxes), boxes
        for i, a in enumerate(boxes):
            for b in boxes[i + 1:]:
                assert (a["x"] + a["width"] <= b["x"] or b["x"] + b["width"] <= a["x"]
                        or a["y"] + a["height"] <= b["y"] or b["y"] + b["height"] <= a["y"]), (a, b)
        # and any district's name where it does not fit, under the pointer
        smallest = min(range(page.locator("path.area").count()),
                       key=lambda i: page.locator("path.area").nth(i).bounding_box()["width"])
        small = page.locator("path.area").nth(smallest)
        small_name = small.locator("title").text_content()
        small.dispatch_event("mouseenter")  # the pointer over it (its box's middle may lie in a neighbour)
        expect(page.get_by_test_id("map-label")).to_have_text(small_name)
        screenshots.take(page, f"map-{size['width']}")

        # the keyboard's focus: a ring a few pixels wide around the district, never the browser's outline
        page.locator("path.area").first.focus()
        page.keyboard.press("Tab")
        focused = page.evaluate("""() => {
            const el = document.activeElement, style = getComputedStyle(el)
            return {area: el.matches('path.area'), outline: style.outlineStyle, visible: el.matches(':focus-visible')}
        }""")
        assert focused == {"area": True, "outline": "none", "visible": True}, focused
        ring = page.get_by_test_id("map-ring")
        expect(ring).to_have_class(re.compile(r"\bkeyboard\b"))
        assert ring.evaluate("(ring) => getComputedStyle(ring).strokeWidth") == "3px"
        ring_box, map_box = ring.bounding_box(), the_map.bounding_box()
        assert (ring_box["x"] >= map_box["x"] - 1 and ring_box["y"] >= map_box["y"] - 1
                and ring_box["x"] + ring_box["width"] <= map_box["x"] + map_box["width"] + 1
                and ring_box["y"] + ring_box["height"] <= map_box["y"] + map_box["height"] + 1), (ring_box, map_box)
        page.keyboard.press("Shift+Tab")

        # a tap in the gap beside a district picks it (to tap the spot inside it next); no point is taken yet
        beside = the_map.evaluate(_BESIDE_ONE_DISTRICT)
        assert beside, "no gap beside a district on the map"
        spot = {"x": beside["x"], "y": beside["y"]}
        the_map.tap(position=spot) if size == PHONE["viewport"] else the_map.click(position=spot)
        expect(page.get_by_test_id("map-district")).to_have_text(beside["name"])
        expect(page.locator("path.area.street").first).to_be_visible()
        expect(page.get_by_test_id("chosen-location")).to_have_text("尚未选择位置")
        expect(page.get_by_test_id("district-list")).to_have_value(
            page.locator("[data-testid=district-list] option", has_text=beside["name"]).get_attribute("value"))
        # a tap on a street takes the spot; the street's shape keeps no outline of the browser's
        street = page.locator("path.area.street").first
        street_box = street.bounding_box()
        centre = {"x": street_box["x"] + street_box["width"] / 2, "y": street_box["y"] + street_box["height"] / 2}
        page.mouse.click(centre["x"], centre["y"])
        expect(page.get_by_test_id("chosen-location")).to_contain_text(beside["name"])
        assert page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle") == "none"

        # the list beside the map reaches every district, the smallest too
        page.get_by_label("按区选择").select_option(label=small_name)
        expect(page.get_by_test_id("map-district")).to_have_text(small_name)
        page.get_by_role("button", name="返回全市").click()
        expect(page.get_by_test_id("district-list")).to_have_value("")
    finally:
        context.close()


def test_the_phones_position_places_the_report(browser: Browser, served_city: ServedCity) -> None:
    lon, lat, district = served_city.inside
    context = browser.new_context(base_url=served_city.url, geolocation={"longitude": lon, "latitude": lat},
                                  permissions=["geolocation"], **PHONE)
    page = context.new_page()
    page.goto("/citizen/")
    expect(page.locator("path.area").first).to_be_visible()
    page.get_by_role("button", name="使用我的位置").click()
    expect(page.get_by_test_id("chosen-location")).to_contain_text(district)
    expect(page.locator("path.area.street").first).to_be_visible()
    context.close()


def test_categories_are_suggested_as_the_citizen_types(phone: Page, served_city: ServedCity,
                                                       screenshots: Screenshots) -> None:
    if not served_city.demo:
        pytest.skip("the test city has no category model; `cityops demo` trains the demo city's")
    phone.goto("/citizen/")
    phone.get_by_label("问题简述").fill("路灯不亮")
    phone.get_by_label("详细描述").fill("小区门口的路灯坏了好几天，晚上一片漆黑")
    text = "路灯不亮\n小区门口的路灯坏了好几天，晚上一片漆黑"
    answer = httpx.get(f"{served_city.url}/api/v1/public/category-suggestions", params={"text": text}).json()
    assert answer["available"] and answer["suggestions"][0]["label"] == "路灯", answer
    chips = phone.locator(".suggestions button")
    expect(chips).to_have_text([s["label"] for s in answer["suggestions"]])
    chips.first.click()
    expect(chips.first).to_have_attribute("aria-pressed", "true")
    expect(phone.locator(".el-select", has=phone.locator("#category"))).to_contain_text("路灯")
    screenshots.take(phone, "suggested")


def test_a_code_nobody_was_given_is_not_found(phone: Page) -> None:
    phone.goto("/citizen/track/NOSUCH123")
    expect(phone.get_by_role("alert")).to_have_text("没有找到这个查询码对应的问题")
    # and none at all is asked for
    phone.get_by_label("查询码").fill("  ")
    phone.get_by_role("button", name="查询", exact=True).click()
    expect(phone.get_by_role("alert")).to_have_text("请输入上报成功后获得的查询码")


def test_the_page_is_in_chinese_until_the_visitor_asks_for_english(
        phone: Page, screenshots: Screenshots) -> None:
    phone.goto("/citizen/")
    expect(phone.get_by_role("heading", level=1)).to_have_text("随手拍 · 城市问题上报")
    expect(phone.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(phone).to_have_title("随手拍 · 城市问题上报")

    phone.get_by_role("button", name="English").click()
    expect(phone.get_by_role("heading", level=1)).to_have_text("Snap & Report · City problems")
    expect(phone.locator("html")).to_have_attribute("lang", "en")
    expect(phone.get_by_label("What is the problem?")).to_be_visible()
    expect(phone.get_by_role("button", name="Send report")).to_be_visible()
    expect(phone.get_by_role("button", name="English")).to_have_attribute("aria-pressed", "true")
    screenshots.take(phone, "english")

    phone.reload()  # the choice is remembered
    expect(phone.get_by_role("link", name="Follow a case")).to_be_visible()
    phone.get_by_role("button", name="中文").click()
    expect(phone.get_by_role("link", name="查询进度")).to_be_visible()


def test_a_report_beyond_the_limit_is_refused_in_chinese_and_nothing_is_stored(browser: Browser,
                                                                               tmp_path: Path) -> None:
    """A citizen whose address has used up its reports is told so in Chinese beside the button (提交太频繁),
    keeps what they wrote and gets no tracking code; nothing is stored. On a test city of its own that
    allows one report at a time: the suite's city allows far more, as all its tests share one address."""
    with serve_city(tmp_path, demo=False, limits={"citizen_reports": {"per_minute": 0.1, "burst": 1}}) as city:
        lon, lat, district = city.inside
        city.citizen_report({"title": "路灯不亮", "lon": lon, "lat": lat})  # the one report allowed, from 127.0.0.1
        context = browser.new_context(base_url=city.url, locale="zh-CN", permissions=["geolocation"],
                                      geolocation={"longitude": lon, "latitude": lat}, **PHONE)
        try:
            page = context.new_page()
            page.goto("/citizen/")
            expect(page.locator("path.area").first).to_be_visible()
            page.get_by_label("问题简述").fill("井盖缺失")
            page.get_by_role("button", name="使用我的位置").click()
            expect(page.get_by_test_id("chosen-location")).to_contain_text(district)
            with page.expect_response(lambda answer: answer.request.method == "POST"
                                      and answer.url.endswith("/api/v1/public/cases")) as sent:
                page.get_by_role("button", name="提交上报").click()
            assert sent.value.status == 429
            expect(page.get_by_role("alert")).to_have_text("出错了：提交太频繁，请稍后再试")
            expect(page.get_by_test_id("tracking-code")).to_have_count(0)
            expect(page.get_by_label("问题简述")).to_have_value("井盖缺失")
        finally:
            context.close()
        engine = make_engine(city.database_url)
        with unit_of_work(engine, read_only=True) as session:
            assert session.scalar(select(func.count()).select_from(Case)) == 1
        engine.dispose()
