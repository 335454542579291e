"""Every screen checked by axe-core against WCAG 2.1 A and AA: the citizen page on a phone, the dashboard
on a wall, the console's sign-in form, its operator's pages (on a desk and on a phone) and its
administrator's pages. A violation of impact "serious" or "critical" fails the test; each screen's full
findings are kept in tests/.artifacts/accessibility/<screen>.json. And the console can be used from the
keyboard alone: sign in, open the inbox, open a case with Tab and Enter."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.conftest import REPO
from tests.e2e.conftest import Screenshots, ServedCity, sign_in_to_console
from tests.factories import PASSWORD

AXE = REPO / "web" / "node_modules" / "axe-core" / "axe.min.js"
FINDINGS = REPO / "tests" / ".artifacts" / "accessibility"
WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
DESKTOP = {"viewport": {"width": 1366, "height": 768}}
WALL = {"viewport": {"width": 1920, "height": 1080}}
LOADING = 20_000


@pytest.fixture(scope="module", autouse=True)
def _axe_installed() -> None:
    if not AXE.is_file():
        pytest.fail(f"no {AXE}: run `npm ci` in web/ (axe-core is one of its dev dependencies)")


def _axe(page: Page, screen: str, exclude: list[str] | None = None) -> list[dict]:
    """axe-core's WCAG 2.1 A/AA violations on the page as it stands; ``exclude`` lists CSS selectors
    left out of the check (each with its reason where the caller names it)."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    context = {"include": [["html"]], "exclude": [[selector] for selector in exclude or []]}
    result = page.evaluate(
        "([context, tags]) => axe.run(context, {runOnly: {type: 'tag', values: tags}})", [context, WCAG])
    violations = [{"id": v["id"], "impact": v["impact"], "help": v["help"], "count": len(v["nodes"]),
                   "targets": [node["target"] for node in v["nodes"]],
                   "first": {"html": v["nodes"][0]["html"], "summary": v["nodes"][0]["failureSummary"]}}
                  for v in result["violations"]]
    FINDINGS.mkdir(parents=True, exist_ok=True)
    (FINDINGS / f"{screen}.json").write_text(json.dumps(violations, ensure_ascii=False, indent=1))
    return violations


def _serious(page: Page, screen: str, exclude: list[str] | None = None) -> list[str]:
    """The serious and critical violations on the screen, one line each, for the assertion's message."""
    return [f"{screen}: {v['id']} ({v['impact']}, {v['count']}×) {v['help']}: {v['targets'][:3]}"
            for v in _axe(page, screen, exclude) if v["impact"] in ("serious", "critical")]


@pytest.fixture(scope="module")
def hotline_case(served_city: ServedCity) -> dict:
    """A case the street's operator took in by phone: in the operator's inbox."""
    lon, lat, _ = served_city.street
    answer = httpx.post(f"{served_city.url}/api/v1/cases", headers=served_city.bearer(served_city.staff("operator")),
                        json={"channel": "hotline_12345", "title": "山东中路人行道地砖松动",
                              "description": "好几块地砖翘起来了，老人容易绊倒", "lon": lon + 0.0003,
                              "lat": lat - 0.0004, "reporter_name": "李女士"})
    assert answer.status_code == 201, answer.text
    return answer.json()


@pytest.fixture
def desk(browser: Browser, served_city: ServedCity) -> Iterator[Page]:
    context = browser.new_context(base_url=served_city.url, locale="zh-CN", **DESKTOP)
    page = context.new_page()
    yield page
    context.close()


def _settled(page: Page) -> None:
    """Wait for the page's loading to end: its loading masks, busy regions and spinning buttons gone (not
    for the network to fall quiet: the warnings board and the dashboard keep a live stream open)."""
    page.wait_for_load_state("load")
    for loading in (".el-loading-mask", "[aria-busy=true]", ".el-button.is-loading"):
        expect(page.locator(loading)).to_have_count(0, timeout=LOADING)


def test_the_citizen_page_on_a_phone(phone: Page, served_city: ServedCity, screenshots: Screenshots) -> None:
    lon, lat, _ = served_city.inside
    code = served_city.citizen_report({"title": "路边井盖缺失", "description": "晚上看不清，很危险",
                                       "lon": lon + 0.0002, "lat": lat + 0.0002})["tracking_code"]
    found: list[str] = []

    phone.goto("/citizen/")
    expect(phone.locator("path.area").first).to_be_visible(timeout=LOADING)
    _settled(phone)
    found += _serious(phone, "citizen-report")
    screenshots.take(phone, "report")

    phone.goto(f"/citizen/track/{code}")
    expect(phone.get_by_test_id("followed-case")).to_contain_text(code, timeout=LOADING)
    _settled(phone)
    found += _serious(phone, "citizen-follow")
    screenshots.take(phone, "follow")
    assert not found, "\n".join(found)


def test_the_dashboard_on_a_wall(browser: Browser, served_city: ServedCity, screenshots: Screenshots) -> None:
    if not served_city.demo:
        pytest.skip("the test city has no city-level staff; the demo city has")
    context = browser.new_context(base_url=served_city.url, locale="zh-CN", **WALL)
    page = context.new_page()
    try:
        page.goto("/")
        found = _serious(page, "dashboard-sign-in")
        page.get_by_label("用户名").fill("operator.city")
        page.get_by_label("密码").fill(PASSWORD)
        page.get_by_role("button", name="登录").click()
        expect(page.get_by_text("实时", exact=True)).to_be_visible(timeout=LOADING)
        expect(page.locator("[data-counter=reported_today] .value")).not_to_have_text("–", timeout=LOADING)
        found += _serious(page, "dashboard")
        screenshots.take(page, "dashboard")
    finally:
        context.close()
    assert not found, "\n".join(found)


def _operator_inbox_and_case(page: Page, served_city: ServedCity, hotline_case: dict, screenshots: Screenshots,
                             name: str) -> list[str]:
    """Sign in as the operator, then check the inbox and a case's page (named ``name``-inbox and -case)."""
    sign_in_to_console(page, served_city.staff("operator"))
    expect(page.locator("table.cases tbody tr").first).to_be_visible(timeout=LOADING)
    _settled(page)
    found = _serious(page, f"{name}-inbox")
    screenshots.take(page, "inbox")

    page.goto(f"/console/cases/{hotline_case['id']}")
    expect(page.get_by_role("heading", name=re.compile(hotline_case["title"]))).to_be_visible(timeout=LOADING)
    _settled(page)
    found += _serious(page, f"{name}-case")
    screenshots.take(page, "case")
    return found


def test_the_console_as_an_operator(desk: Page, served_city: ServedCity, hotline_case: dict,
                                    screenshots: Screenshots) -> None:
    desk.goto("/console/")
    expect(desk.get_by_label("用户名")).to_be_visible()
    found = _serious(desk, "console-sign-in")
    screenshots.take(desk, "sign-in")

    found += _operator_inbox_and_case(desk, served_city, hotline_case, screenshots, "console")

    desk.goto("/console/warnings")
    expect(desk.get_by_role("heading", name="预警看板")).to_be_visible(timeout=LOADING)
    expect(desk.get_by_role("status").filter(has_text="实时")).to_be_visible(timeout=LOADING)
    _settled(desk)
    found += _serious(desk, "console-warnings")
    screenshots.take(desk, "warnings")
    assert not found, "\n".join(found)


def test_the_console_on_a_phone(phone: Page, served_city: ServedCity, hotline_case: dict,
                                screenshots: Screenshots) -> None:
    phone.goto("/console/")
    expect(phone.get_by_label("用户名")).to_be_visible()
    found = _serious(phone, "console-phone-sign-in")

    found += _operator_inbox_and_case(phone, served_city, hotline_case, screenshots, "console-phone")

    phone.goto("/console/reports")
    expect(phone.get_by_test_id("report-period")).to_be_visible(timeout=LOADING)
    _settled(phone)
    found += _serious(phone, "console-phone-reports")
    screenshots.take(phone, "reports")
    assert not found, "\n".join(found)


ADMINISTRATOR_PAGES = {  # path: its heading, and what shows that its data has come
    "devices": ("感知设备", "table tbody tr"), "reports": ("绩效报表", "[data-testid=report-period]"),
    "admin/areas": ("区域", "table tbody tr"), "admin/departments": ("部门与城运中心", "table tbody tr"),
    "admin/users": ("用户", "table tbody tr"), "admin/categories": ("事项分类与时限", ".node"),
    "admin/matrix": ("责任清单", "[role=grid]"), "admin/calendar": ("工作日历", "[data-date]"),
    "admin/rules": ("预警规则", "table tbody tr"),
}


@pytest.mark.parametrize("path", ADMINISTRATOR_PAGES, ids=[p.removeprefix("admin/") for p in ADMINISTRATOR_PAGES])
def test_the_console_as_an_administrator(desk: Page, served_city: ServedCity, hotline_case: dict, path: str,
                                         screenshots: Screenshots) -> None:
    if not served_city.demo:
        pytest.skip("the test city has no administrator; the demo city has admin.city")
    heading, loaded = ADMINISTRATOR_PAGES[path]
    sign_in_to_console(desk, "admin.city")
    desk.goto(f"/console/{path}")
    expect(desk.get_by_role("heading", name=heading, exact=True)).to_be_visible(timeout=LOADING)
    expect(desk.locator(loaded).first).to_be_visible(timeout=LOADING)
    if path == "admin/categories":  # the page's form is the category chosen
        desk.get_by_label("查找分类").fill("E0102")
        desk.locator(".node", has_text="暴露垃圾").click()
        expect(desk.get_by_role("heading", name="E0102 暴露垃圾")).to_be_visible(timeout=LOADING)
    _settled(desk)
    found = _serious(desk, f"console-{path.replace('/', '-')}")
    screenshots.take(desk, "page")
    assert not found, "\n".join(found)


def _tab_to(page: Page, test: str, limit: int = 60) -> None:
    """Press Tab until the focused element passes ``test`` (a JavaScript predicate of it)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate(f"(el => {test})(document.activeElement)"):
            return
    pytest.fail(f"{limit} presses of Tab never reached the element where {test}")


def test_the_keyboard_alone_signs_in_and_opens_a_case(desk: Page, served_city: ServedCity, hotline_case: dict,
                                                      screenshots: Screenshots) -> None:
    desk.goto("/console/")
    expect(desk.get_by_label("用户名")).to_be_visible()
    _tab_to(desk, "el.id === 'username'")
    desk.keyboard.type(served_city.staff("operator"))
    desk.keyboard.press("Tab")
    expect(desk.get_by_label("密码")).to_be_focused()
    desk.keyboard.type(PASSWORD)
    desk.keyboard.press("Enter")
    expect(desk.get_by_role("heading", name="待办")).to_be_visible(timeout=LOADING)

    code = hotline_case["tracking_code"]
    expect(desk.get_by_role("link", name=re.compile(code))).to_be_visible(timeout=LOADING)
    _tab_to(desk, f"el.textContent.trim() === {json.dumps(code)}", limit=200)
    screenshots.take(desk, "focused-case")
    desk.keyboard.press("Enter")
    expect(desk).to_have_url(re.compile(f"/console/cases/{hotline_case['id']}$"))
    expect(desk.get_by_role("heading", name=re.compile(hotline_case["title"]))).to_be_visible(timeout=LOADING)
