"""The whole closed loop through the screens, as the issue names it: a citizen reports with a photo on
the citizen page and gets a tracking code; the street's operator finds the report in the console's
to-register queue and registers it; the dispatcher dispatches it to the department the responsibility
matrix proposes; that department's handler acknowledges it and reports the handling with a photo; the
inspector verifies it; the citizen follows the code, reads what the handler wrote (the handling form
says it is public) and rates the case; the dashboard's counters are the API's. After every step the
case page and the API's case agree (status, the timeline's last action and who took it), and the
buttons offered are the API's `available_actions` for that user. A return without a reason is refused
next to the reason field and changes nothing.

The handler must work for the department the case goes to. The demo city's street handler
(``handler.street``) works for the street's office (南京东路街道办事处), and the street office is the
department the matrix proposes for a category nobody owns (属地兜底) — shared bicycles parked anywhere,
E0506 — so the citizen reports that; the test city routes every category to its street office.
"""

from __future__ import annotations

import re
from typing import Any

import httpx
from playwright.sync_api import Browser, Locator, Page, expect

from tests.e2e.conftest import PHONE, Screenshots, ServedCity, settled
from tests.factories import PASSWORD

DESK = {"viewport": {"width": 1366, "height": 900}}
WALL = {"viewport": {"width": 1920, "height": 1080}}
PUBLIC_NOTE = "处置情况和照片将原样向市民公开（案件查询页），请勿填写姓名、电话、住址等个人信息。"
RESULT = "已将单车移至停放点，盲道已畅通"
STATUS = {"reported": "已受理", "registered": "已立案", "dispatched": "已派遣", "in_progress": "处置中",
          "handled": "已处置", "closed": "已结案"}
ACTION = {"intake": "受理", "register": "立案", "dispatch": "派遣", "acknowledge": "签收", "return": "退回",
          "report": "处置反馈", "verify": "核查", "rate": "评价"}
ROLE = {"citizen": "市民", "operator": "受理员", "dispatcher": "派遣员", "handler": "处置人员", "inspector": "网格员"}
COUNTERS = ("reported_today", "dispatched", "in_progress", "overdue", "warnings_active")


class Staff:
    """One staff member: the API as them, and a console page signed in as them."""

    def __init__(self, page: Page, served_city: ServedCity, role: str, *, english: bool = False) -> None:
        self.role = role
        self.username = served_city.staff(role)
        self.api = httpx.Client(base_url=served_city.url, timeout=30)
        token = self.api.post("/api/v1/auth/token", data={"username": self.username, "password": PASSWORD})
        assert token.status_code == 200, token.text
        self.api.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
        self.me = self.api.get("/api/v1/me").json()
        self.page = page
        page.goto("/console/")
        if english:
            page.get_by_role("button", name="English").click()
        page.get_by_label("User name" if english else "用户名").fill(self.username)
        page.get_by_label("Password" if english else "密码").fill(PASSWORD)
        page.get_by_role("button", name="Sign in" if english else "登录").click()
        expect(page.get_by_role("navigation", name="Console sections" if english else "工作台导航")).to_be_visible()

    @classmethod
    def at_a_desk(cls, browser: Browser, served_city: ServedCity, role: str) -> Staff:
        return cls(browser.new_page(base_url=served_city.url, locale="zh-CN", **DESK), served_city, role)

    def case(self, case_id: int) -> dict[str, Any]:
        answer = self.api.get(f"/api/v1/cases/{case_id}")
        assert answer.status_code == 200, answer.text
        return answer.json()

    def open_from_queue(self, queue: str, tracking_code: str) -> int:
        """Find the case in the inbox's ``queue`` (its tab) and open it; its id."""
        self.page.goto("/console/inbox")
        self.page.get_by_role("navigation", name="工作队列").get_by_role("link", name=queue).click()
        row = self.page.get_by_role("row").filter(has_text=tracking_code)
        expect(row).to_have_count(1)
        row.get_by_role("link").first.click()
        expect(self.page).to_have_url(re.compile(r"/console/cases/\d+$"))
        expect(self.page.get_by_test_id("case-actions")).to_be_visible()
        return int(self.page.url.rsplit("/", 1)[1])

    def act(self, action: str) -> Page:
        """Open an action's form from the panel; the dialog, settled."""
        self.page.get_by_test_id("case-actions").get_by_role("button", name=ACTION.get(action, action),
                                                             exact=True).click()
        return settled(self.page.get_by_role("dialog", name=ACTION.get(action, action)))

    def shot(self, shots: Screenshots, step: str) -> None:
        """A screenshot of the whole page; with a dialog open, at the page's full height so that the
        dialog's overlay covers it all."""
        height = self.page.evaluate("document.documentElement.scrollHeight")
        self.page.set_viewport_size({"width": DESK["viewport"]["width"], "height": max(height, 900)})
        shots.take(self.page, step)
        self.page.set_viewport_size(DESK["viewport"])

    def close(self) -> None:
        self.page.close()
        self.api.close()


def _timeline(page: Page) -> Locator:
    """The entries of the case page's timeline (each may hold a list of its photos)."""
    return page.get_by_role("region", name="办理过程").locator("ol > li")


def _screen_agrees(staff: Staff, case_id: int, *, status: str, action: str, role: str) -> dict[str, Any]:
    """The API's case is in ``status`` with ``action`` by ``role`` last; the case page shows the same,
    and offers exactly the actions the API says this user may take now."""
    case = staff.case(case_id)
    assert case["status"] == status, case
    last = case["timeline"][-1]
    assert (last["action"], last["actor_role"]) == (action, role), last
    page = staff.page
    expect(page.locator(".head .status")).to_have_text(STATUS[status])
    timeline = _timeline(page)
    expect(timeline).to_have_count(len(case["timeline"]))
    expect(timeline.last).to_contain_text(ACTION[action])
    expect(timeline.last).to_contain_text(ROLE.get(role, role))
    buttons = page.get_by_test_id("case-actions").locator("button[data-action]")
    expect(buttons).to_have_count(len(case["available_actions"]))
    assert sorted(b.get_attribute("data-action") for b in buttons.all()) == sorted(case["available_actions"])
    return case


def _citizen_reports(browser: Browser, served_city: ServedCity, category: str, shots: Screenshots) -> tuple[str, bytes]:
    """On a phone at the street's spot: the tracking code, and the photo sent (any real PNG)."""
    lon, lat, _ = served_city.street
    context = browser.new_context(base_url=served_city.url, locale="zh-CN", permissions=["geolocation"],
                                  geolocation={"longitude": lon, "latitude": lat}, **PHONE)
    phone = context.new_page()
    phone.goto("/citizen/")
    expect(phone.locator("path.area").first).to_be_visible()
    photo = phone.get_by_test_id("area-map").screenshot()
    phone.get_by_label("问题简述").fill("共享单车乱停放堵住盲道")
    phone.get_by_label("详细描述").fill("十几辆共享单车横在人行道上，盲道被完全挡住")
    phone.get_by_label("问题类别").click()
    phone.get_by_role("option", name=category, exact=True).click()
    phone.get_by_test_id("photo-input").set_input_files(
        files=[{"name": "scene.png", "mimeType": "image/png", "buffer": photo}])
    expect(phone.get_by_role("img", name="照片 1")).to_be_visible()
    phone.get_by_role("button", name="使用我的位置").click()
    expect(phone.get_by_test_id("chosen-location")).to_contain_text("已选位置")
    shots.take(phone, "1-citizen-report")
    phone.get_by_role("button", name="提交上报").click()
    code = phone.get_by_test_id("tracking-code")
    expect(code).to_have_text(re.compile(r"^[A-Za-z0-9]{6,16}$"), timeout=15_000)
    tracking_code = code.inner_text()
    shots.take(phone, "2-tracking-code")
    context.close()
    return tracking_code, photo


def test_a_report_goes_round_the_loop_through_the_screens(browser: Browser, served_city: ServedCity) -> None:
    shots = Screenshots("staff-flow")
    # a category the matrix leaves to the street office (属地兜底), whose handler the street has
    category_code, category = ("E0506", "非机动车乱停放") if served_city.demo else ("E0102", "暴露垃圾")
    tracking_code, _ = _citizen_reports(browser, served_city, category, shots)

    # the operator finds it in the to-register queue and registers it
    operator = Staff.at_a_desk(browser, served_city, "operator")
    case_id = operator.open_from_queue("待立案", tracking_code)
    reported = _screen_agrees(operator, case_id, status="reported", action="intake", role="citizen")
    assert reported["category_code"] == category_code
    assert len(reported["timeline"][0]["attachments"]) == 1  # the citizen's photo
    # by keyboard: the button opens the form in its first field, Tab reaches the submit button
    keyboard = operator.page.keyboard
    operator.page.get_by_test_id("case-actions").get_by_role("button", name="立案", exact=True).focus()
    keyboard.press("Enter")
    dialog = operator.page.get_by_role("dialog", name="立案")
    expect(dialog.get_by_label("案件分类", exact=True)).to_be_focused()  # the category reported, kept
    keyboard.press("Tab")
    expect(dialog.get_by_label("说明")).to_be_focused()
    keyboard.type("现场照片清楚，属实")
    keyboard.press("Tab")
    keyboard.press("Tab")
    expect(dialog.get_by_role("button", name="确定立案")).to_be_focused()
    keyboard.press("Enter")
    expect(dialog).to_be_hidden()
    _screen_agrees(operator, case_id, status="registered", action="register", role="operator")
    shots.take(operator.page, "3-operator-register")

    # the dispatcher dispatches it to the department the responsibility matrix proposes
    dispatcher = Staff.at_a_desk(browser, served_city, "dispatcher")
    assert dispatcher.open_from_queue("待派遣", tracking_code) == case_id
    route = dispatcher.api.get("/api/v1/responsibilities/route",
                               params={"category": category_code, "area": reported["area_code"]}).json()
    dialog = dispatcher.act("dispatch")
    expect(dialog.get_by_test_id("route-proposal")).to_contain_text(route["lead"]["name"])
    # the proposal is filled in: the lead's select shows it
    lead = dialog.locator(".field").filter(has=dispatcher.page.get_by_label("主办部门"))
    expect(lead).to_contain_text(route["lead"]["name"])
    dispatcher.shot(shots, "4-dispatch-form")
    dialog.get_by_role("button", name="确定派遣").click()
    expect(dialog).to_be_hidden()
    dispatched = _screen_agrees(dispatcher, case_id, status="dispatched", action="dispatch", role="dispatcher")
    assert dispatched["timeline"][-1]["data"]["lead"] == route["lead"]["code"]
    assert [a["department_code"] for a in dispatched["assignments"]] == [route["lead"]["code"]]

    # the handler of that department acknowledges it
    handler = Staff.at_a_desk(browser, served_city, "handler")
    assert handler.me["department_code"] == route["lead"]["code"], "the handler must work for the lead department"
    assert handler.open_from_queue("待签收", tracking_code) == case_id
    dialog = handler.act("acknowledge")
    dialog.get_by_role("button", name="确定签收").click()
    expect(dialog).to_be_hidden()
    acknowledged = _screen_agrees(handler, case_id, status="in_progress", action="acknowledge", role="handler")

    # a return without a reason: refused next to the reason field, the form stays open, nothing changes
    dialog = handler.act("return")
    expect(dialog.get_by_test_id("public-note")).to_have_count(0)  # a return's reason stays inside
    dialog.get_by_role("button", name="确定退回").click()
    error = dialog.get_by_test_id("reason-error")
    expect(error).to_have_text("请填写退回原因")
    expect(dialog.get_by_label("退回原因")).to_have_attribute("aria-invalid", "true")
    handler.shot(shots, "5-return-without-reason")
    unchanged = handler.case(case_id)
    assert (unchanged["version"], unchanged["status"]) == (acknowledged["version"], "in_progress")
    dialog.get_by_role("button", name="取消").click()
    expect(dialog).to_be_hidden()

    # … and reports the handling with a photo, told next to the field that the citizen reads it as written
    dialog = handler.act("report")
    expect(dialog.get_by_test_id("public-note")).to_have_text(PUBLIC_NOTE)
    expect(dialog.get_by_label("处置情况")).to_have_accessible_description(PUBLIC_NOTE)
    after = handler.page.screenshot()
    dialog.get_by_test_id("action-photo-input").set_input_files(
        files=[{"name": "after.png", "mimeType": "image/png", "buffer": after}])
    expect(dialog.get_by_role("img", name="照片 1")).to_be_visible()
    dialog.get_by_label("处置情况").fill(RESULT)
    handler.shot(shots, "6-handler-report")
    dialog.get_by_role("button", name="确定处置反馈").click()
    expect(dialog).to_be_hidden()
    handled = _screen_agrees(handler, case_id, status="handled", action="report", role="handler")
    assert len(handled["timeline"][-1]["attachments"]) == 1
    assert handled["timeline"][-1]["actor_department"] == route["lead"]["code"]
    expect(_timeline(handler.page).last.get_by_role("img")).to_have_count(1)

    # the inspector verifies it: passed
    inspector = Staff.at_a_desk(browser, served_city, "inspector")
    assert inspector.open_from_queue("待核查", tracking_code) == case_id
    dialog = inspector.act("verify")
    dialog.get_by_label("通过，可以结案").check()
    dialog.get_by_label("核查意见").fill("现场复核，已整改")
    dialog.get_by_role("button", name="确定核查").click()
    expect(dialog).to_be_hidden()
    closed = _screen_agrees(inspector, case_id, status="closed", action="verify", role="inspector")
    assert closed["timeline"][-1]["data"] == {"passed": True}
    shots.take(inspector.page, "7-inspector-verify")

    # the citizen follows the code and rates the case
    context = browser.new_context(base_url=served_city.url, locale="zh-CN", **PHONE)
    phone = context.new_page()
    phone.goto(f"/citizen/track/{tracking_code}")
    expect(phone.get_by_test_id("case-status")).to_have_text("已结案")
    expect(phone.get_by_test_id("handling-result")).to_have_text(f"处置结果：{RESULT}")  # as the handler wrote it
    phone.get_by_label("5 星").check()
    phone.get_by_label("评价意见").fill("处理及时")
    phone.get_by_role("button", name="提交评价").click()
    expect(phone.get_by_text("您的评价：5 星，谢谢！")).to_be_visible()
    shots.take(phone, "8-citizen-rating")
    context.close()
    rated = operator.case(case_id)
    assert rated["status"] == "closed" and rated["timeline"][-1]["action"] == "rate"
    assert rated["timeline"][-1]["actor_role"] == "citizen" and rated["timeline"][-1]["data"]["score"] == 5
    operator.page.reload()
    expect(_timeline(operator.page).last).to_contain_text("评价")

    # the dashboard's counters are the API's
    wall = browser.new_page(base_url=served_city.url, locale="zh-CN", **WALL)
    wall.goto("/")
    wall.get_by_label("用户名").fill(operator.username)
    wall.get_by_label("密码").fill(PASSWORD)
    wall.get_by_role("button", name="登录").click()
    expect(wall.get_by_text("实时", exact=True)).to_be_visible(timeout=30_000)
    summary = operator.api.get("/api/v1/dashboard/summary").json()
    assert summary["counts"]["reported_today"] >= 1 and summary["closure"]["cases"] >= 1, summary
    for key in COUNTERS:
        expect(wall.locator(f"[data-counter={key}] .value")).to_have_text(str(summary["counts"][key]))
    rate = summary["closure"]["on_time_closure_rate"]
    expect(wall.locator("[data-counter=on_time_closure_rate] .value")).to_have_text(
        "–" if rate is None else f"{rate * 100:.1f}".removesuffix(".0") + "%")
    shots.take(wall, "9-dashboard")
    wall.close()
    for staff in (operator, dispatcher, handler, inspector):
        staff.close()


def test_the_actions_panel_in_english_on_a_phone(browser: Browser, served_city: ServedCity) -> None:
    """An operator on a phone, in English, rejects a report: without a reason the form says so and the
    case stays as it was; with one the case is rejected, as the API records it."""
    shots = Screenshots("staff-flow-phone")
    lon, lat, _ = served_city.street
    tracking_code = served_city.citizen_report(
        {"title": "广告牌松动摇晃", "lon": lon + 0.0004, "lat": lat + 0.0003})["tracking_code"]

    context = browser.new_context(base_url=served_city.url, locale="en", **PHONE)
    page = context.new_page()
    operator = Staff(page, served_city, "operator", english=True)
    page.get_by_role("navigation", name="Work queues").get_by_role("link", name="To register").click()
    row = page.get_by_role("row").filter(has_text=tracking_code)
    row.get_by_role("link").first.click()
    panel = page.get_by_test_id("case-actions")
    expect(panel.get_by_role("heading", name="Actions")).to_be_visible()
    case_id = int(page.url.rsplit("/", 1)[1])
    before = operator.case(case_id)

    panel.get_by_role("button", name="Reject", exact=True).click()
    dialog = settled(page.get_by_role("dialog", name="Reject"))
    dialog.get_by_role("button", name="Reject", exact=True).click()
    expect(dialog.get_by_test_id("reason-error")).to_have_text(
        "Please fill in: Why it is not accepted")
    box = dialog.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["viewport"]["width"]
    shots.take(page, "1-reason-missing")
    after = operator.case(case_id)
    assert (after["version"], after["status"]) == (before["version"], "reported")

    dialog.get_by_label("Why it is not accepted").fill("Not within the city's remit: a private building")
    dialog.get_by_role("button", name="Reject", exact=True).click()
    expect(dialog).to_be_hidden()
    rejected = operator.case(case_id)
    assert rejected["status"] == "rejected" and rejected["version"] == before["version"] + 1
    last = rejected["timeline"][-1]
    assert (last["action"], last["actor_role"], last["reason"]) == (
        "reject", "operator", "Not within the city's remit: a private building")
    expect(panel).to_contain_text("There is nothing you can do on this case now.")
    assert rejected["available_actions"] == []
    shots.take(page, "2-rejected")
    operator.api.close()
    context.close()
