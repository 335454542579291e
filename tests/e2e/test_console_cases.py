"""The console's inbox and case view against the API: an operator's queue to register, its text filter
kept in the URL, a case's timeline and its possible duplicate side by side, and a case outside the
operator's jurisdiction refused with a clear message."""

from __future__ import annotations

import re
import struct
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Locator, Page, expect
from sqlalchemy import Select, select

from cityops.cases.models import Case
from cityops.db import make_engine
from cityops.org.models import User
from tests.e2e.conftest import PHONE, Screenshots, ServedCity, sign_in_to_console
from tests.factories import PASSWORD

DESKTOP = {"viewport": {"width": 1366, "height": 768}}
# Two reports of one loose manhole cover, at one spot, worded differently enough to be suggested as
# duplicates (cityops.cases.duplicates: text similarity 0.32, score 0.66) but not merged (0.75).
FIRST = {"title": "河南中路污水井盖破损", "description": "井盖裂开，车辆经过有响声"}
SECOND = {"title": "河南中路井盖松动", "description": "路口的污水井盖松了，晚上很吵"}


def _stored(served_city: ServedCity, query: Select) -> Any:
    """One value as the served city's store holds it."""
    engine = make_engine(served_city.database_url)
    try:
        with engine.connect() as connection:
            return connection.scalar(query)
    finally:
        engine.dispose()


def _case_id(served_city: ServedCity, tracking_code: str) -> int:
    return _stored(served_city, select(Case.id).where(Case.tracking_code == tracking_code))


def _display_name(served_city: ServedCity, username: str) -> str:
    return _stored(served_city, select(User.display_name).where(User.username == username))


def _queue(served_city: ServedCity, who: dict[str, str], **params: str) -> list[dict]:
    answer = httpx.get(f"{served_city.url}/api/v1/cases", params={"limit": 50, **params}, headers=who)
    assert answer.status_code == 200, answer.text
    return answer.json()["items"]


def _png(width: int = 24, height: int = 16) -> bytes:
    """A real PNG of one colour, as a photo of the scene."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    rows = b"".join(b"\x00" + b"\xc0\x39\x2b" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


@pytest.fixture(scope="module")
def reports(served_city: ServedCity) -> dict[str, str]:
    """The two near-identical citizen reports in the operator's street, and a hotline report taken in
    by the operator; their tracking codes."""
    lon, lat, _ = served_city.street
    # a little apart from the spot other tests report at, so only these two are this alike
    spot = {"lon": lon + 0.0004, "lat": lat - 0.0003, "category_code": "C0102" if served_city.demo else "E0102"}
    operator = served_city.bearer(served_city.staff("operator"))
    photo = httpx.post(f"{served_city.url}/api/v1/attachments", headers=operator,
                       files={"file": ("scene.png", _png(), "image/png")})
    assert photo.status_code == 201, photo.text
    codes = {"first": served_city.citizen_report({**FIRST, **spot})["tracking_code"],
             "second": served_city.citizen_report({**SECOND, **spot, "reporter_phone": "13800000000",
                                                   "attachments": [photo.json()["sha256"]]})["tracking_code"]}
    hotline = httpx.post(f"{served_city.url}/api/v1/cases", headers=operator, json={
        "channel": "hotline_12345", "title": "福州路路灯不亮", "description": "晚上整条路都是黑的",
        "lon": lon - 0.0005, "lat": lat + 0.0004, "reporter_name": "王先生"})
    assert hotline.status_code == 201, hotline.text
    codes["hotline"] = hotline.json()["tracking_code"]
    return codes


@pytest.fixture
def desk(browser: Browser, served_city: ServedCity) -> Iterator[Page]:
    context = browser.new_context(base_url=served_city.url, locale="zh-CN", **DESKTOP)
    page = context.new_page()
    yield page
    context.close()


def _rows_are(page: Page, cases: list[dict]) -> None:
    rows = page.locator("table.cases tbody tr")
    expect(rows).to_have_count(len(cases))
    for row, case in zip(rows.all(), cases, strict=True):
        expect(row.locator("td").first).to_have_text(case["tracking_code"])
        expect(row).to_contain_text(case["title"])


def _fact(where: Locator, name: str) -> Locator:
    """The value of a named fact (a <dt>/<dd> pair) inside ``where``."""
    named = where.page.locator("dt", has_text=re.compile(f"^{name}$"))
    return where.locator("dl > div").filter(has=named).locator("dd")


def test_an_operator_sees_the_queue_to_register_and_filters_it(desk: Page, served_city: ServedCity,
                                                                 reports: dict[str, str],
                                                                 screenshots: Screenshots) -> None:
    operator = served_city.bearer(served_city.staff("operator"))
    sign_in_to_console(desk, served_city.staff('operator'))
    # an operator's own queue comes first and is the one shown, with the cases in it counted
    tabs = desk.get_by_role("navigation", name="工作队列").get_by_role("link")
    to_register = _queue(served_city, operator, queue="to_register")
    expect(tabs.first).to_have_text(re.compile(r"^待立案 \d+$"))
    expect(tabs.first).to_have_attribute("aria-current", "page")
    # only the queues an operator works: no handler's queue to acknowledge
    expect(tabs.filter(has_text="待签收")).to_have_count(0)
    assert {reports["first"], reports["second"], reports["hotline"]} <= {c["tracking_code"] for c in to_register}
    _rows_are(desk, to_register)
    expect(desk.get_by_text(f"待立案：已显示 {len(to_register)} 件")).to_be_visible()
    screenshots.take(desk, "inbox")

    # a Chinese word shorter than a trigram, as the API matches it
    desk.get_by_label("搜索", exact=True).fill("井盖")
    desk.get_by_role("button", name="搜索", exact=True).click()
    expect(desk).to_have_url(re.compile(r"/console/inbox/to_register\?q=%E4%BA%95%E7%9B%96$"))
    matching = _queue(served_city, operator, queue="to_register", q="井盖")
    assert {reports["first"], reports["second"]} <= {c["tracking_code"] for c in matching}
    assert reports["hotline"] not in {c["tracking_code"] for c in matching}
    _rows_are(desk, matching)

    # the filter lives in the URL: a reload (or a shared link) shows the same list
    desk.reload()
    expect(desk.get_by_label("搜索", exact=True)).to_have_value("井盖")
    _rows_are(desk, matching)

    # a case opened from the list goes back to the list as it was
    desk.get_by_role("link", name=f"打开案件 {reports['second']}").click()
    expect(desk.get_by_role("main").get_by_role("heading", level=2)).to_contain_text(reports["second"])
    desk.get_by_role("link", name="返回待办").click()
    expect(desk).to_have_url(re.compile(r"/console/inbox/to_register\?q=%E4%BA%95%E7%9B%96$"))
    _rows_are(desk, matching)

    # another order, from a shared link, is the API's order
    desk.goto("/console/inbox/to_register?sort=oldest&q=%E4%BA%95%E7%9B%96")
    _rows_are(desk, _queue(served_city, operator, queue="to_register", q="井盖", sort="oldest"))

    # a word no case has: an empty list, said in words
    desk.get_by_label("搜索", exact=True).fill("没有这个词的案件")
    desk.get_by_role("button", name="搜索", exact=True).click()
    expect(desk.get_by_text("这里没有案件")).to_be_visible()
    expect(desk.locator("table.cases tbody tr")).to_have_count(0)

    # a queue that does not exist is named as such, and nothing is listed
    desk.goto("/console/inbox/to_nowhere")
    expect(desk.get_by_role("alert")).to_contain_text("to_nowhere")
    expect(desk.locator("table.cases tbody tr")).to_have_count(0)

    # a filter the API refuses shows why, in Chinese, with the value refused
    desk.goto("/console/inbox/to_register?status=lost")
    expect(desk.get_by_role("alert")).to_contain_text("“lost”不是可选的值")

    # in English
    desk.goto("/console/inbox")
    desk.get_by_role("button", name="English").click()
    expect(desk.get_by_role("navigation", name="Work queues").get_by_role("link").first).to_have_text(
        re.compile(r"^To register \d+$"))
    expect(desk.locator("table.cases thead")).to_contain_text("Tracking code")
    _rows_are(desk, to_register)


def test_a_summoned_department_finds_the_summons_in_its_queue_to_report_in(desk: Page, served_city: ServedCity,
                                                                            screenshots: Screenshots) -> None:
    operator = served_city.bearer(served_city.staff("operator"))
    handler_name = served_city.staff("handler")
    handler = served_city.bearer(handler_name)
    department = httpx.get(f"{served_city.url}/api/v1/me", headers=handler).json()["department_code"]
    lon, lat, _ = served_city.street
    case = httpx.post(f"{served_city.url}/api/v1/cases", headers=operator, json={
        "channel": "hotline_12345", "title": "九江路积水严重", "lon": lon + 0.0011, "lat": lat - 0.0009}).json()
    for action, body in (("register", {}), ("summon", {"reason": "积水，吹哨", "data": {"departments": {
            department: (datetime.now(UTC) + timedelta(hours=3)).isoformat()}}})):
        answer = httpx.post(f"{served_city.url}/api/v1/cases/{case['id']}/actions/{action}", headers=operator,
                            json=body)
        assert answer.status_code == 200, answer.text
    summoned = _queue(served_city, handler, queue="summoned", sort="deadline")
    assert case["tracking_code"] in {c["tracking_code"] for c in summoned}

    sign_in_to_console(desk, handler_name)
    tabs = desk.get_by_role("navigation", name="工作队列").get_by_role("link")
    # a handler's queues only: nothing to register, dispatch or verify
    for foreign in ("待立案", "待派遣", "待核查"):
        expect(tabs.filter(has_text=foreign)).to_have_count(0)
    tab = desk.get_by_role("link", name=f"待报到 {len(summoned)}", exact=True)
    tab.click()
    expect(desk).to_have_url(re.compile(r"/console/inbox/summoned$"))
    _rows_are(desk, summoned)  # its report-in deadline soonest first, as the API orders it
    row = desk.get_by_role("row").filter(has_text=case["tracking_code"])
    expect(row).to_contain_text("吹哨报到")
    expect(row).to_contain_text("普通")  # a single report's priority, in words
    screenshots.take(desk, "inbox-summoned")

    answer = httpx.post(f"{served_city.url}/api/v1/cases/{case['id']}/actions/report_in", headers=handler, json={})
    assert answer.status_code == 200, answer.text
    desk.reload()
    expect(desk.get_by_role("row").filter(has_text=case["tracking_code"])).to_have_count(0)
    expect(desk.get_by_role("link", name=f"待报到 {len(summoned) - 1}", exact=True)).to_be_visible()


def test_a_case_shows_its_timeline_and_its_possible_duplicate_side_by_side(desk: Page, served_city: ServedCity,
                                                                             reports: dict[str, str],
                                                                             screenshots: Screenshots) -> None:
    operator = served_city.bearer(served_city.staff("operator"))
    second_id = _case_id(served_city, reports["second"])
    first_id = _case_id(served_city, reports["first"])
    detail = httpx.get(f"{served_city.url}/api/v1/cases/{second_id}", headers=operator).json()
    suggestion = next(d for d in detail["duplicates"] if d["candidate_id"] == first_id)
    assert not suggestion["merged"]

    sign_in_to_console(desk, served_city.staff('operator'))
    desk.get_by_role("link", name=f"打开案件 {reports['second']}").click()
    expect(desk).to_have_url(f"{served_city.url}/console/cases/{second_id}")
    heading = desk.get_by_role("main").get_by_role("heading", level=2)
    expect(heading).to_contain_text(reports["second"])
    expect(heading).to_contain_text(SECOND["title"])
    expect(desk.get_by_text(SECOND["description"])).to_be_visible()
    expect(desk.get_by_text("未留姓名 · 13800000000")).to_be_visible()
    expect(desk.locator(".timeline > li")).to_have_count(len(detail["timeline"]))
    expect(desk.locator(".timeline > li").first).to_contain_text("受理")
    # the step running now, with its deadline
    expect(desk.locator("table.deadlines tbody tr")).to_have_count(len(detail["deadlines"]))
    expect(desk.locator("table.deadlines tbody tr").first).to_contain_text("立案")
    # the reporter's photo, fetched with the operator's token, enlarged on a click
    photo = desk.get_by_role("region", name="照片").get_by_role("img")
    expect(photo).to_have_count(1)
    expect(photo).to_have_attribute("alt", re.compile(r"^受理的照片 1（.+）$"))
    desk.wait_for_function("document.querySelector('.photos img').naturalWidth === 24")
    desk.get_by_role("region", name="照片").get_by_role("button", name=re.compile("^放大查看照片 1")).click()
    enlarged = desk.get_by_role("dialog").get_by_role("img", name=re.compile(r"^受理的照片 1"))
    expect(enlarged).to_be_visible()
    desk.keyboard.press("Escape")
    expect(desk.get_by_role("dialog")).to_be_hidden()
    # the intake's photo is on its timeline entry too
    expect(desk.locator(".timeline > li").first.get_by_role("img")).to_have_count(1)
    # the map of the case's area has drawn
    expect(desk.locator(".city-map canvas")).to_be_visible()

    duplicates = desk.locator(".duplicates > li")
    expect(duplicates).to_have_count(len(detail["duplicates"]))
    # the candidate is named by its tracking code, as the queues name it, never by its id
    candidate = duplicates.filter(has=desk.get_by_role("link", name=f"打开案件 {reports['first']} {FIRST['title']}"))
    expect(_fact(candidate, "相似度")).to_have_text(f"{round(suggestion['score'] * 100)}%")
    expect(_fact(candidate, "距离")).to_have_text(f"{suggestion['distance_m']:g} 米")
    expect(_fact(candidate, "文字相似")).to_have_text(f"{round(suggestion['text_similarity'] * 100)}%")
    candidate.get_by_role("button", name="对照查看").click()
    sides = candidate.locator(".side-by-side article")
    expect(sides).to_have_count(2)
    expect(sides.nth(0)).to_contain_text(reports["second"])
    expect(sides.nth(0)).to_contain_text(SECOND["description"])
    expect(sides.nth(1)).to_contain_text(reports["first"])
    expect(sides.nth(1)).to_contain_text(FIRST["description"])
    screenshots.take(desk, "case")

    # the candidate is a link to its own case
    candidate.get_by_role("link", name=f"打开案件 {reports['first']} {FIRST['title']}").click()
    expect(desk).to_have_url(f"{served_city.url}/console/cases/{first_id}")
    expect(desk.get_by_role("main").get_by_role("heading", level=2)).to_contain_text(reports["first"])


def test_the_timeline_names_staff_by_their_display_names(desk: Page, served_city: ServedCity,
                                                       reports: dict[str, str]) -> None:
    username = served_city.staff("operator")
    shown = _display_name(served_city, username)
    hotline_id = _case_id(served_city, reports["hotline"])
    sign_in_to_console(desk, username, f"cases/{hotline_id}")
    intake = desk.locator(".timeline > li").first
    expect(intake).to_contain_text("受理")
    # the person by name; the login name, for auditors, on hovering it
    expect(intake.locator(".actor")).to_contain_text(f"{shown} · 受理员")
    expect(intake.locator(".actor-name")).to_have_attribute("title", f"登录名：{username}")
    if shown != username:  # the test city's staff are named by their user names
        expect(intake.locator(".actor")).not_to_contain_text(username)


def test_a_case_outside_the_jurisdiction_is_refused_with_a_clear_message(desk: Page, served_city: ServedCity,
                                                                          screenshots: Screenshots) -> None:
    operator = served_city.bearer(served_city.staff("operator"))
    districts = httpx.get(f"{served_city.url}/api/v1/public/areas", params={"level": "district"}).json()["features"]
    # the first district centre the operator's street does not cover (the API's own judgement)
    outside = next(f["properties"]["center"] for f in districts if httpx.get(
        f"{served_city.url}/api/v1/locate", params={"lon": f["properties"]["center"][0],
                                                    "lat": f["properties"]["center"][1]},
        headers=operator).status_code == 403)
    code = served_city.citizen_report({"title": "别处的路面坑洞", "lon": outside[0],
                                       "lat": outside[1]})["tracking_code"]
    case_id = _case_id(served_city, code)
    assert httpx.get(f"{served_city.url}/api/v1/cases/{case_id}", headers=operator).status_code == 404

    sign_in_to_console(desk, served_city.staff('operator'))
    desk.goto(f"/console/cases/{case_id}")
    expect(desk.get_by_role("alert")).to_have_text(f"案件 {case_id} 不存在，或不在您的辖区内。")
    expect(desk.get_by_text(code)).to_have_count(0)
    expect(desk.get_by_role("main").get_by_role("heading", level=2)).to_have_count(0)
    screenshots.take(desk, "refused")


def test_the_inbox_on_a_phone(browser: Browser, served_city: ServedCity, reports: dict[str, str],
                              screenshots: Screenshots) -> None:
    operator = served_city.bearer(served_city.staff("operator"))
    context = browser.new_context(base_url=served_city.url, locale="zh-CN", **PHONE)
    page = context.new_page()
    sign_in_to_console(page, served_city.staff('operator'))
    to_register = _queue(served_city, operator, queue="to_register")
    _rows_are(page, to_register)
    # each case a card no wider than the phone
    card = page.locator("table.cases tbody tr").first
    box = card.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshots.take(page, "inbox-phone")
    context.close()


def test_a_case_on_a_phone_shows_its_time_limits_as_cards(browser: Browser, served_city: ServedCity,
                                                          reports: dict[str, str], screenshots: Screenshots) -> None:
    """Five columns of time limits made the case page scroll sideways on a phone: each step is a card of
    labelled lines there instead."""
    context = browser.new_context(base_url=served_city.url, locale="zh-CN", **PHONE)
    page = context.new_page()
    sign_in_to_console(page, served_city.staff("operator"))
    page.goto(f"/console/cases/{_case_id(served_city, reports['hotline'])}")
    steps = page.locator("table.deadlines")
    step = steps.locator("tbody tr").first
    expect(step).to_contain_text("立案")
    limit = step.locator("td").nth(1)
    assert limit.evaluate("cell => getComputedStyle(cell, '::before').content") == '"时限："'
    assert steps.evaluate("table => table.scrollWidth <= table.clientWidth")
    box = step.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    steps.scroll_into_view_if_needed()
    screenshots.take(page, "case-phone")
    context.close()


def test_more_cases_load_page_by_page(desk: Page, served_city: ServedCity) -> None:
    if not served_city.demo:
        pytest.skip("needs the demo city's district staff")
    operator = served_city.bearer("operator.district")
    district = httpx.get(f"{served_city.url}/api/v1/me", headers=operator).json()["area_code"]
    streets = httpx.get(f"{served_city.url}/api/v1/public/areas", params={"level": "street", "parent": district})
    # a street of the district other than the one the street staff's tests work in
    lon, lat = next(f["properties"]["center"] for f in streets.json()["features"]
                    if not served_city.street[2].startswith(f["properties"]["code"]))
    for number in range(51):
        taken = httpx.post(f"{served_city.url}/api/v1/cases", headers=operator, json={
            "channel": "hotline_12345", "title": f"分页核对来电 {number}", "lon": lon, "lat": lat})
        assert taken.status_code == 201, taken.text
    first = httpx.get(f"{served_city.url}/api/v1/cases", headers=operator,
                      params={"queue": "to_register", "q": "分页核对", "limit": 50}).json()
    assert first["next_cursor"] is not None
    second = httpx.get(f"{served_city.url}/api/v1/cases", headers=operator,
                       params={"queue": "to_register", "q": "分页核对", "limit": 50, "cursor": first["next_cursor"]})
    everything = first["items"] + second.json()["items"]
    assert len(everything) == 51

    desk.goto("/console/")
    desk.get_by_label("用户名").fill("operator.district")
    desk.get_by_label("密码").fill(PASSWORD)
    desk.get_by_role("button", name="登录").click()
    expect(desk.get_by_role("heading", name="待办")).to_be_visible()
    desk.goto("/console/inbox/to_register?q=%E5%88%86%E9%A1%B5%E6%A0%B8%E5%AF%B9")
    _rows_are(desk, first["items"])
    expect(desk.get_by_text("待立案：已显示 50 件，还有更多")).to_be_visible()
    desk.get_by_role("button", name="加载更多").click()
    _rows_are(desk, everything)
    expect(desk.get_by_text("待立案：已显示 51 件")).to_be_visible()
    expect(desk.get_by_role("button", name="加载更多")).to_have_count(0)
