"""The console's notifications: a case dispatched to the street office reaches its handler's inbox (made
by the served city's background sweep), the bell in the header counts it, the drawer lists its line with
a link to the case, and following the link opens the case and marks the line read, so the count drops.
An inbox of well over a hundred unread lines is counted exactly, read a page at a time (更早的消息) and
marked read in one call up to the newest line shown, so a line that came after stays unread.

The case is made and dispatched over the API by the street's operator and dispatcher; the handler
(``handler.street``, of the street office) watches the console. The long inbox is a leader's, whom no
event is told to, filled in the served city's store.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest
from playwright.sync_api import Browser, Request, expect
from sqlalchemy import select

from cityops.db import make_engine, unit_of_work
from cityops.models import Notification, OutboxEvent, User
from tests.e2e.conftest import Screenshots, ServedCity, sign_in_to_console
from tests.e2e.test_staff_flow import DESK, Staff
from tests.factories import make_user

SWEEP_WAIT_S = 120  # the served city fans events out every 30 s (CITYOPS_SWEEP_INTERVAL_S)


@pytest.fixture
def handler(browser: Browser, served_city: ServedCity) -> Iterator[Staff]:
    member = Staff.at_a_desk(browser, served_city, "handler")
    yield member
    member.close()


def _act(served_city: ServedCity, role: str, case_id: int, action: str, **body: object) -> None:
    done = httpx.post(f"{served_city.url}/api/v1/cases/{case_id}/actions/{action}", json=body,
                      headers=served_city.bearer(served_city.staff(role)), timeout=30)
    assert done.status_code == 200, (action, done.text)


def _unread(handler: Staff) -> list[dict]:
    answer = handler.api.get("/api/v1/inbox", params={"unread": "true", "limit": 100})
    assert answer.status_code == 200, answer.text
    return answer.json()["items"]


def _count(api: httpx.Client) -> int:
    answer = api.get("/api/v1/inbox/unread-count")
    assert answer.status_code == 200, answer.text
    return answer.json()["unread"]


def test_a_dispatch_rings_the_handlers_bell_and_its_link_opens_the_case(
        handler: Staff, served_city: ServedCity, screenshots: Screenshots) -> None:
    lon, lat, _ = served_city.street
    title = "通知测试：共享单车堵住消防通道"
    made = httpx.post(f"{served_city.url}/api/v1/cases", headers=served_city.bearer(served_city.staff("operator")),
                      json={"channel": "hotline_12345", "title": title, "category_code": "E0506",
                            "lon": lon + 0.0021, "lat": lat - 0.0019}, timeout=30)
    assert made.status_code == 201, made.text
    case_id, code = made.json()["id"], made.json()["tracking_code"]
    _act(served_city, "operator", case_id, "register")
    _act(served_city, "dispatcher", case_id, "dispatch", data={"lead": handler.me["department_code"]})

    line = f"案件 {code} 已派遣：{title}"  # by the code the queues and case pages show
    deadline = time.monotonic() + SWEEP_WAIT_S
    while not any(n["text"] == line for n in _unread(handler)):
        assert time.monotonic() < deadline, f"no notification {line!r} within {SWEEP_WAIT_S} s"
        time.sleep(1)
    before = _count(handler.api)

    page = handler.page
    # moving to another section refreshes the count
    page.get_by_role("navigation", name="工作台导航").get_by_role("link", name="设备").click()
    bell = page.locator("header").get_by_role("button", name=re.compile(r"^消息（\d+ 条未读）$"))
    expect(bell).to_have_accessible_name(f"消息（{before} 条未读）")
    expect(bell).to_contain_text(str(before) if before <= 99 else "99+")

    bell.click()
    drawer = page.get_by_role("dialog", name="消息")
    expect(drawer).to_be_visible()
    item = drawer.get_by_role("list", name="最新消息").get_by_role("listitem").filter(has_text=line)
    expect(item).to_have_count(1)
    expect(item).to_contain_text("未读")
    expect(page.locator(".el-drawer-fade-enter-active")).to_have_count(0)  # slid in, for the picture
    screenshots.take(page, "drawer")
    item.get_by_role("link", name=f"打开案件 {code}").click()

    expect(page).to_have_url(re.compile(rf"/console/cases/{case_id}$"))
    expect(page.get_by_test_id("case-actions")).to_be_visible()
    expect(drawer).to_be_hidden()
    # the link marked the line read (other lines may have come meanwhile): the bell counts what is left
    deadline = time.monotonic() + 10
    while any(n["text"] == line for n in _unread(handler)):
        assert time.monotonic() < deadline, "following the link did not mark the notification read"
        time.sleep(0.3)
    expect(bell).to_have_accessible_name(f"消息（{_count(handler.api)} 条未读）")


LONG_INBOX = 130
READER = "notices.reader"


def _lines(served_city: ServedCity, username: str, texts: list[str]) -> None:
    """Lines in ``username``'s inbox, in this order (the last the newest), as the sweep writes them."""
    engine = make_engine(served_city.database_url)
    try:
        with unit_of_work(engine) as session:
            user_id = session.scalar(select(User.id).where(User.username == username))
            now = datetime.now(UTC)
            for text in texts:
                told = OutboxEvent(topic="case.reminder", area_path="/", payload={}, created_at=now, fanned_out_at=now)
                session.add(told)
                session.flush()
                session.add(Notification(user_id=user_id, event_id=told.id, topic=told.topic, text=text,
                                         created_at=now))
                session.flush()
    finally:
        engine.dispose()


@pytest.fixture
def reader(served_city: ServedCity) -> Iterator[httpx.Client]:
    """A leader of the street (no event is told to leaders) with an inbox of ``LONG_INBOX`` unread lines."""
    operator = httpx.get(f"{served_city.url}/api/v1/me", headers=served_city.bearer(served_city.staff("operator")))
    engine = make_engine(served_city.database_url)
    try:
        with unit_of_work(engine) as session:
            make_user(session, username=READER, roles=["leader"], area_code=operator.json()["area_code"])
    finally:
        engine.dispose()
    _lines(served_city, READER, [f"批量消息 #{n}" for n in range(1, LONG_INBOX + 1)])
    api = httpx.Client(base_url=served_city.url, headers=served_city.bearer(READER), timeout=30)
    yield api
    api.close()


def test_a_long_inbox_is_counted_exactly_read_a_page_at_a_time_and_marked_read_in_one_call(
        browser: Browser, served_city: ServedCity, reader: httpx.Client, screenshots: Screenshots) -> None:
    assert _count(reader) == LONG_INBOX
    page = browser.new_page(base_url=served_city.url, locale="zh-CN", **DESK)
    inbox_calls: list[str] = []

    def note(request: Request) -> None:
        if request.method == "POST" and "/api/v1/inbox" in request.url:
            inbox_calls.append(request.url.removeprefix(served_city.url))

    page.on("request", note)
    sign_in_to_console(page, READER)
    bell = page.locator("header").get_by_role("button", name=re.compile(r"^消息（\d+ 条未读）$"))
    expect(bell).to_have_accessible_name(f"消息（{LONG_INBOX} 条未读）")
    expect(bell).to_have_text("99+")

    bell.click()
    drawer = page.get_by_role("dialog", name="消息")
    expect(drawer.get_by_text(f"{LONG_INBOX} 条未读", exact=True)).to_be_visible()
    items = drawer.get_by_role("list", name="最新消息").get_by_role("listitem")
    expect(items).to_have_count(20)
    expect(items.first).to_contain_text(f"批量消息 #{LONG_INBOX}")
    expect(items.last).to_contain_text(f"批量消息 #{LONG_INBOX - 19}")
    older = drawer.get_by_role("button", name="更早的消息")
    for shown in (40, 60):
        older.click()
        expect(items).to_have_count(shown)
    assert items.locator(".text").all_inner_texts() == [
        f"批量消息 #{n}" for n in range(LONG_INBOX, LONG_INBOX - 60, -1)]  # each line once, newest first

    _lines(served_city, READER, ["批量消息：看过之后才到"])  # comes while the drawer is open
    drawer.get_by_role("button", name="全部标为已读").click()
    expect(bell).to_have_accessible_name("消息（1 条未读）")
    expect(bell).to_have_text("1")
    expect(drawer.get_by_text("未读", exact=True)).to_have_count(0)
    expect(drawer.get_by_text("1 条未读", exact=True)).to_be_visible()
    expect(drawer.get_by_role("button", name="全部标为已读")).to_be_hidden()  # what is left came after
    screenshots.take(page, "all-read")
    newest_shown = reader.get("/api/v1/inbox", params={"limit": 2}).json()["items"][1]
    assert newest_shown["text"] == f"批量消息 #{LONG_INBOX}"
    assert inbox_calls == [f"/api/v1/inbox/read-all?up_to={newest_shown['id']}"]
    left = reader.get("/api/v1/inbox", params={"unread": "true"}).json()
    assert [n["text"] for n in left["items"]] == ["批量消息：看过之后才到"] and left["next_cursor"] is None
    page.close()


def test_a_warning_whose_case_was_not_opened_gives_its_reason_in_chinese(
        browser: Browser, served_city: ServedCity, screenshots: Screenshots) -> None:
    """The line of a warning whose case the platform could not open leaves the reason to the screen, which
    says the refusal's code in Chinese from the problem texts, not in the API's English."""
    operator = httpx.get(f"{served_city.url}/api/v1/me", headers=served_city.bearer(served_city.staff("operator")))
    username = "notices.judge"
    line = ("外滩街道 河道水位超限橙色预警 未能自动立案，请研判后转案件：苏州河水位计（WL-07），"
            "读数 4.6m（规则 river-high）")
    engine = make_engine(served_city.database_url)
    try:
        with unit_of_work(engine) as session:
            user = make_user(session, username=username, roles=["leader"], area_code=operator.json()["area_code"])
            now = datetime.now(UTC)
            told = OutboxEvent(topic="warning.case_not_opened", area_path="/", created_at=now, fanned_out_at=now,
                               payload={"cause": "the work calendar cannot be read", "cause_code": "unavailable",
                                        "cause_values": {}})
            session.add(told)
            session.flush()
            session.add(Notification(user_id=user.id, event_id=told.id, topic=told.topic, text=line, created_at=now))
    finally:
        engine.dispose()
    page = browser.new_page(base_url=served_city.url, locale="zh-CN", **DESK)
    sign_in_to_console(page, username)
    page.locator("header").get_by_role("button", name="消息（1 条未读）").click()
    item = page.get_by_role("dialog", name="消息").get_by_role("list", name="最新消息").get_by_role("listitem")
    expect(item.locator(".text")).to_have_text(f"{line}；原因：数据库或消息服务暂时连不上，请稍后重试")
    expect(item).not_to_contain_text("calendar")
    screenshots.take(page, "reason-in-chinese")
    page.close()
