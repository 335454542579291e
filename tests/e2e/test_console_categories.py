"""The categories page's refusals, as the demo city's administrator: a name (or a new category's code) left
empty or blank is asked for on the page and nothing is sent; what the API refuses — a change, or rows of a
file — is told in Chinese words for its problem code, and nothing changes."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Browser, Locator, Page, Request, expect

from tests.e2e.conftest import Screenshots, ServedCity, settled
from tests.factories import PASSWORD

HEADER = "code,name,kind,parent_code,register,dispatch,acknowledge,handle,verify,active\n"


@pytest.fixture
def api(served_city: ServedCity) -> Iterator[httpx.Client]:
    """The API as the demo city's administrator."""
    if not served_city.demo:
        pytest.skip("the categories page is checked on the demo city, whose administrator it needs")
    with httpx.Client(base_url=served_city.url, timeout=30) as client:
        token = client.post("/api/v1/auth/token", data={"username": "admin.city", "password": PASSWORD})
        assert token.status_code == 200, token.text
        client.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
        yield client


@pytest.fixture
def page(browser: Browser, served_city: ServedCity, api: httpx.Client) -> Iterator[Page]:
    """The console's categories page, signed in as the administrator."""
    context = browser.new_context(base_url=served_city.url, locale="zh-CN", viewport={"width": 1366, "height": 768})
    page = context.new_page()
    page.goto("/console/")
    page.get_by_label("用户名").fill("admin.city")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.get_by_role("link", name="事项分类与时限").click()
    expect(page.get_by_role("heading", name="事项分类与时限")).to_be_visible()
    yield page
    context.close()


@pytest.fixture
def writes(page: Page) -> list[str]:
    """Every change the page sends to the categories API, as it is sent."""
    sent: list[str] = []

    def seen(request: Request) -> None:
        if request.method in ("POST", "PATCH") and "/api/v1/categories" in request.url:
            sent.append(f"{request.method} {request.url}")

    page.on("request", seen)
    return sent


def _parent(page: Page, dialog: Locator, option: str) -> None:
    """Choose the new category's parent."""
    dialog.locator(".el-select", has=page.get_by_label("上级分类", exact=True)).click()
    page.get_by_role("option", name=option, exact=True).click()


def test_a_blank_name_is_asked_for_and_a_refused_change_is_said_in_chinese(page: Page, api: httpx.Client,
                                                                           writes: list[str],
                                                                           screenshots: Screenshots) -> None:
    before = api.get("/api/v1/categories/export").text

    # a category's name changed to blanks: asked for, not sent
    page.get_by_label("查找分类").fill("E0102")
    page.locator(".node", has_text="暴露垃圾").click()
    expect(page.get_by_role("heading", name="E0102 暴露垃圾")).to_be_visible()
    name = page.get_by_label("名称", exact=True)
    name.fill("  \u3000 ")
    page.get_by_role("button", name="保存").click()
    expect(page.get_by_role("alert")).to_have_text("请填写名称")
    expect(name).to_have_attribute("aria-invalid", "true")
    screenshots.take(page, "1-blank-name")
    page.get_by_role("button", name="撤销修改").click()
    expect(name).to_have_value("暴露垃圾")

    # a new category without a code or a name: both asked for, nothing sent
    page.get_by_role("button", name="新建分类", exact=True).click()
    dialog = settled(page.get_by_role("dialog", name="新建分类"))
    dialog.get_by_label("名称", exact=True).fill("   ")
    dialog.get_by_role("button", name="新建分类").click()
    expect(dialog.get_by_role("alert")).to_have_text("请填写编码")
    expect(dialog.locator(".field-error")).to_have_text(["请填写编码", "请填写名称"])
    expect(dialog.get_by_label("编码", exact=True)).to_have_attribute("aria-invalid", "true")
    assert writes == []

    # an event class under a component class: the API's refusal, in Chinese, beside the parent
    dialog.get_by_label("编码", exact=True).fill("E0198")
    dialog.get_by_label("名称", exact=True).fill("测试分类")
    _parent(page, dialog, "C01 公用设施")
    dialog.get_by_role("button", name="新建分类").click()
    said = "上级分类须与本分类同一类型（部件、事件或信息）"
    expect(dialog.get_by_role("alert")).to_have_text(f"出错了：{said}")
    expect(dialog.locator(".field-error")).to_have_text(said)
    screenshots.take(page, "2-parent-of-another-kind")
    assert [w.split()[0] for w in writes] == ["POST"]
    assert api.get("/api/v1/categories/E0198").status_code == 404
    assert api.get("/api/v1/categories/export").text == before


def test_a_file_that_cannot_be_read_is_said_in_chinese(page: Page, api: httpx.Client) -> None:
    before = api.get("/api/v1/categories/export").text
    alert = page.get_by_role("alert")
    for content, said in (("编码,名称\nN01,x\n".encode(), "首行须是导出文件的表头"),
                          ("N01,名称".encode("utf-16"), "文件须是 UTF-8 或 GB18030 编码的 CSV 文本")):
        page.locator("#categories-import").set_input_files(
            files=[{"name": "categories.csv", "mimeType": "text/csv", "buffer": content}])
        expect(alert).to_have_text(re.compile(f"^导入被拒绝，未写入任何数据：{said}"))
        expect(alert).not_to_contain_text(re.compile("[A-Za-z]{4}"))  # none of the API's English words
    assert api.get("/api/v1/categories/export").text == before


def test_the_rows_of_a_refused_file_are_said_in_chinese(page: Page, api: httpx.Client,
                                                        screenshots: Screenshots) -> None:
    before = api.get("/api/v1/categories/export").text
    text = HEADER + "N01,  ,event,,,,,,,\nN0101,x,event,C01,,,,,,\nN0102,y,event,E01,,,,3x,,\n"
    page.locator("#categories-import").set_input_files(
        files=[{"name": "categories.csv", "mimeType": "text/csv", "buffer": text.encode()}])
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("导入被拒绝，未写入任何数据")
    expect(alert.get_by_role("listitem")).to_have_text([
        "第 2 行 名称：此项必须填写",
        "第 3 行 上级分类：上级分类须与本分类同一类型（部件、事件或信息）",
        "第 4 行 处置：“3x”不是时限：请写数量和单位，如 30m、4h、3d、2wh（工作时）或 5wd（工作日）",
    ])
    screenshots.take(page, "3-file-refused")
    assert api.get("/api/v1/categories/export").text == before
