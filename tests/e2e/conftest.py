"""Browser tests: Debian's chromium, driven by Playwright, against a real server with the built screens.

The server is `cityops serve` in a subprocess on a fresh store holding the Shanghai demo city (the
test city of tests.factories when the public data folder is absent). Without a build of the screens or
without chromium these tests skip with the reason; in CI (CITYOPS_TEST_REQUIRE_SERVICES=1) that is a
failure. `make test` installs chromium and builds the screens first. Screenshots go to
tests/.artifacts/screenshots/.

Every browser and API call of these tests comes from one address (127.0.0.1), so the served city allows
anonymous submissions far beyond the citizens' limits (``GENEROUS``): no test waits for another's. The
refusal at the limit is tested on a city served with a tiny limit of its own (``serve_city``).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Locator, Page, expect, sync_playwright

from cityops import web
from cityops.db import make_engine, migrate, unit_of_work
from tests.conftest import REPO, REQUIRE_SERVICES, SHARED_DATA
from tests.factories import PASSWORD

CHROMIUM = Path(os.environ.get("CITYOPS_TEST_CHROMIUM", "/usr/bin/chromium"))
SCREENSHOTS = REPO / "tests" / ".artifacts" / "screenshots"
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}
GENEROUS = {kind: {"per_minute": 600, "burst": 100}
            for kind in ("citizen_reports", "citizen_uploads", "citizen_ratings", "open311_requests")}
"""The served city's limits of anonymous submissions (Settings.anonymous_limits' kinds): far beyond what the
whole suite sends, all of it from 127.0.0.1."""


def _missing(reason: str) -> None:
    if REQUIRE_SERVICES:
        pytest.fail(reason)
    pytest.skip(reason)


@dataclass(frozen=True)
class ServedCity:
    url: str
    database_url: str
    demo: bool
    """The Shanghai demo city (real polygons) rather than the small test city."""

    @property
    def inside(self) -> tuple[float, float, str]:
        """A point (WGS84) well inside a district, and that district's name."""
        return (121.4737, 31.2304, "黄浦区") if self.demo else (121.02, 31.05, "测试1区")

    @property
    def street(self) -> tuple[float, float, str]:
        """A point well inside the street whose staff are ``STAFF``, and the street office's code."""
        return (121.4684, 31.2353, "310101002-street_office") if self.demo else (121.02, 31.05, "street-99010101")

    def staff(self, role: str) -> str:
        """The user name of the street's operator, dispatcher, handler or inspector."""
        return f"{role}.street" if self.demo else role

    def bearer(self, username: str) -> dict[str, str]:
        """The API's Authorization header for a user (every demo and test user has the test password)."""
        answer = httpx.post(f"{self.url}/api/v1/auth/token", data={"username": username, "password": PASSWORD})
        assert answer.status_code == 200, answer.text
        return {"Authorization": f"Bearer {answer.json()['access_token']}"}

    def citizen_report(self, body: dict) -> dict:
        """A report through the citizen page's endpoint, as answered (201)."""
        answer = httpx.post(f"{self.url}/api/v1/public/cases", json=body)
        assert answer.status_code == 201, answer.text
        return answer.json()


def settled(dialog: Locator) -> Locator:
    """``dialog`` (an Element Plus dialog or drawer, by its role) once it has finished opening: shown, its
    opening transition over and the focus inside it; the dialog. Until then the dialog may still move the
    focus (its focus trap to itself, a form's ``@opened`` to its first field), taking it from a field
    being filled meanwhile: the text then goes nowhere."""
    expect(dialog).to_be_visible()
    dialog.page.wait_for_function(
        """(dialog) => {
            for (let node = dialog; node; node = node.parentElement) {
                if ([...node.classList].some((name) => /-enter-(from|active|to)$/.test(name))) return false
            }
            return dialog.contains(document.activeElement)
        }""", arg=dialog.element_handle())
    return dialog


def sign_in_to_console(page: Page, username: str, path: str = "", *, timeout: float = 30_000) -> None:
    """Sign in on the console's form (at ``/console/{path}``) and wait for its sections."""
    page.goto(f"/console/{path}")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("navigation", name="工作台导航")).to_be_visible(timeout=timeout)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _load_test_city(database_url: str) -> None:
    """The test city with one street's staff, as the demo city has them."""
    from cityops.categories import service as categories_service
    from cityops.org import service as org_service
    from tests.factories import make_city, make_user

    engine = make_engine(database_url)
    migrate(engine)
    with unit_of_work(engine) as session:
        make_city(session)
        categories_service.create_category(session, code="E01", name="市容环境", kind="event", origin="test")
        categories_service.create_category(session, code="E0102", name="暴露垃圾", kind="event", parent_code="E01",
                                           origin="test")
        org_service.create_department(session, code="street-99010101", name="测试街道办事处", level="street",
                                      area_code="99010101", kind="street_office", is_area_fallback=True,
                                      origin="test")
        for role in ("operator", "dispatcher", "inspector"):
            make_user(session, username=role, roles=[role], area_code="99010101")
        make_user(session, username="handler", roles=["handler"], area_code="99010101",
                  department_code="street-99010101")
    engine.dispose()


@contextmanager
def serve_city(data_dir: Path, *, demo: bool, limits: dict[str, dict[str, float]]) -> Iterator[ServedCity]:
    """`cityops serve` on a fresh store in ``data_dir``: the Shanghai demo city (``demo``) or the test
    city, with ``limits`` for anonymous submissions by kind (``CITYOPS_LIMIT_<KIND>``, as JSON). Stopped on
    leaving."""
    if not (web.BUILD_DIR / "index.html").is_file():
        _missing(f"the screens are not built ({web.BUILD_DIR}); run `make web`")
    database_url = f"sqlite:///{data_dir / 'cityops.db'}"
    env = {**os.environ, "CITYOPS_DATA_DIR": str(data_dir), "CITYOPS_SHARED_DATA_DIR": str(SHARED_DATA),
           "CITYOPS_DEMO_FLEET_DEVICES": "0", "CITYOPS_DATABASE_URL": database_url,
           "CITYOPS_DEMO_PASSWORD": PASSWORD,
           **{f"CITYOPS_LIMIT_{kind.upper()}": json.dumps(limit) for kind, limit in limits.items()}}
    cityops = [str(Path(sys.executable).with_name("cityops"))]
    if demo:
        # without the demo's month of cases: the screens' tests count and find the cases they make themselves
        subprocess.run([*cityops, "demo", "--cases", "0"], env=env, check=True, capture_output=True, timeout=300)
    else:
        _load_test_city(database_url)
    port = _free_port()
    log = (data_dir / "server.log").open("wb")
    server = subprocess.Popen([*cityops, "serve", "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the server did not start: {(data_dir / 'server.log').read_text(errors='replace')}")
            time.sleep(0.3)
        yield ServedCity(url=url, database_url=database_url, demo=demo)
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


@pytest.fixture(scope="session")
def served_city(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedCity]:
    with serve_city(tmp_path_factory.mktemp("served"), demo=SHARED_DATA.is_dir(), limits=GENEROUS) as city:
        yield city


@pytest.fixture(scope="package")  # its sync API keeps an event loop running in the thread: end it with e2e
def browser() -> Iterator[Browser]:
    if not CHROMIUM.is_file():
        _missing(f"no chromium at {CHROMIUM}; `make test` installs Debian's (apt-get install chromium)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM))
        yield launched
        launched.close()


@pytest.fixture
def phone(browser: Browser, served_city: ServedCity) -> Iterator[Page]:
    """A phone-sized page on the served city; the tests name its location and permissions."""
    context = browser.new_context(base_url=served_city.url, locale="zh-CN", **PHONE)
    page = context.new_page()
    yield page
    context.close()


class Screenshots:
    def __init__(self, name: str) -> None:
        self.name = name
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(self, page: Page, step: str) -> Path:
        path = SCREENSHOTS / f"{self.name}-{step}.png"
        page.screenshot(path=path, full_page=True)
        return path


@pytest.fixture
def screenshots(request: pytest.FixtureRequest) -> Screenshots:
    return Screenshots(request.node.name.removeprefix("test_"))
