"""The shells of the other two screens: the dashboard draws the city's districts, the console signs an
operator in against the API's token endpoint and opens on their queue of cases to register."""

from __future__ import annotations

import httpx
from playwright.sync_api import Browser, expect

from tests.e2e.conftest import Screenshots, ServedCity
from tests.factories import PASSWORD

WALL = {"viewport": {"width": 1920, "height": 1080}}


def test_the_dashboard_draws_every_district(browser: Browser, served_city: ServedCity,
                                             screenshots: Screenshots) -> None:
    districts = httpx.get(f"{served_city.url}/api/v1/public/areas", params={"level": "district"}).json()["total"]
    page = browser.new_page(base_url=served_city.url, **WALL)
    page.goto("/")
    expect(page.get_by_role("heading", name=f"全市区域 {districts} 个区")).to_be_visible()
    expect(page.locator(".chart canvas")).to_be_visible()
    screenshots.take(page, "wall")
    page.close()


def test_an_operator_signs_in_to_the_console(browser: Browser, served_city: ServedCity,
                                             screenshots: Screenshots) -> None:
    username = served_city.staff("operator")
    page = browser.new_page(base_url=served_city.url, viewport={"width": 1366, "height": 768})
    page.goto("/console/")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill("not-the-password")
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("alert")).to_have_text("用户名或密码错误")

    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("heading", name="待办")).to_be_visible()
    # an operator's inbox opens on the cases to register, as the API lists them for that operator
    expect(page.get_by_role("navigation", name="工作队列").get_by_role("link", name="待立案")).to_have_attribute(
        "aria-current", "page")
    token = httpx.post(f"{served_city.url}/api/v1/auth/token",
                       data={"username": username, "password": PASSWORD}).json()["access_token"]
    cases = httpx.get(f"{served_city.url}/api/v1/cases", params={"queue": "to_register", "limit": 50},
                      headers={"Authorization": f"Bearer {token}"}).json()["items"]
    rows = page.locator("table.cases tbody tr")
    expect(rows).to_have_count(len(cases))
    for row, case in zip(rows.all(), cases, strict=True):
        expect(row.locator("td").first).to_have_text(case["tracking_code"])
    screenshots.take(page, "inbox")

    page.get_by_role("button", name="退出").click()
    expect(page.get_by_label("用户名")).to_be_visible()
    page.close()
