"""The console's notifications: a case dispatched to the street office reaches its handler's inbox (made
by the served city's background sweep), the bell in the header counts it, the drawer lists its line with
a link to the case, and following the link opens the case and marks the line read, so the count drops.

The case is made and dispatched over the API by the street's operator and dispatcher; the handler
(``handler.street``, of the street office) watches the console.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Browser, expect

from tests.e2e.conftest import Screenshots, ServedCity
from tests.e2e.test_staff_flow import Staff

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


def test_a_dispatch_rings_the_handlers_bell_and_its_link_opens_the_case(
        handler: Staff, served_city: ServedCity, screenshots: Screenshots) -> None:
    lon, lat, _ = served_city.street
    title = "通知测试：共享单车堵住消防通道"
    made = httpx.post(f"{served_city.url}/api/v1/cases", headers=served_city.bearer(served_city.staff("operator")),
                      json={"channel": "hotline_12345", "title": title, "category_code": "E0506",
                            "lon": lon + 0.0021, "lat": lat - 0.0019}, timeout=30)
    assert made.status_code == 201, made.text
    case_id = made.json()["id"]
    _act(served_city, "operator", case_id, "register")
    _act(served_city, "dispatcher", case_id, "dispatch", data={"lead": handler.me["department_code"]})

    line = f"案件 #{case_id} 已派遣：{title}"
    deadline = time.monotonic() + SWEEP_WAIT_S
    while not any(n["text"] == line for n in _unread(handler)):
        assert time.monotonic() < deadline, f"no notification {line!r} within {SWEEP_WAIT_S} s"
        time.sleep(1)
    before = len(_unread(handler))

    page = handler.page
    # moving to another section refreshes the count
    page.get_by_role("navigation", name="工作台导航").get_by_role("link", name="设备").click()
    bell = page.locator("header").get_by_role("button", name=re.compile(r"^消息（\d+ 条未读）$"))
    expect(bell).to_have_accessible_name(f"消息（{before} 条未读）")
    expect(bell).to_contain_text(str(before) if before < 100 else "99+")

    bell.click()
    drawer = page.get_by_role("dialog", name="消息")
    expect(drawer).to_be_visible()
    item = drawer.get_by_role("list", name="最新消息").get_by_role("listitem").filter(has_text=line)
    expect(item).to_have_count(1)
    expect(item).to_contain_text("未读")
    expect(page.locator(".el-drawer-fade-enter-active")).to_have_count(0)  # slid in, for the picture
    screenshots.take(page, "drawer")
    item.get_by_role("link", name=f"打开案件 #{case_id}").click()

    expect(page).to_have_url(re.compile(rf"/console/cases/{case_id}$"))
    expect(page.get_by_test_id("case-actions")).to_be_visible()
    expect(drawer).to_be_hidden()
    # the link marked the line read (other lines may have come meanwhile): the bell counts what is left
    deadline = time.monotonic() + 10
    left = _unread(handler)
    while any(n["text"] == line for n in left):
        assert time.monotonic() < deadline, "following the link did not mark the notification read"
        time.sleep(0.3)
        left = _unread(handler)
    expect(bell).to_have_accessible_name(f"消息（{len(left)} 条未读）")
