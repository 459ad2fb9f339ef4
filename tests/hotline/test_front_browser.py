"""The front page, the status lookup and the API documentation in Debian's Chromium with no
network beyond the gateway itself: every request to another host is refused and recorded, and
the pages must still render — Swagger UI lists the operations, ReDoc the description — with no
Content-Security-Policy violation. Screenshots land in ``test-artifacts/front/``."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    Route,
    sync_playwright,
)

from hotline import apidocs
from hotline.app import create_app
from hotline.settings import Settings
from tests.support.intakes import intake
from tests.support.services import free_port, wait_until
from tickets.model import Channel
from tickets.store import Store

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "front"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium (/usr/bin/chromium) is "
                       "not installed: run 'make deps'"),
]


@pytest.fixture
def server(sqlite_store: Store, tmp_path: Path) -> Iterator[str]:
    assert all((apidocs.ASSETS / n).is_file() for n in apidocs.NEEDED), "run 'make apidocs'"
    settings = Settings(env="development", data_dir=tmp_path, console_secret="c" * 40,
                        web_secret="browser-test-secret-0123456789abcdef", _env_file=None)
    app = create_app(settings, store=sqlite_store, redis_url="")
    port = free_port()
    uv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                       ws="none", lifespan="on"))
    thread = threading.Thread(target=uv.run, name="uvicorn-front", daemon=True)
    thread.start()
    wait_until(lambda: uv.started)
    yield f"http://127.0.0.1:{port}"
    uv.should_exit = True
    thread.join(10)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"])
        yield b
        b.close()


class Offline:
    """A browser context that reaches only ``base``: anything else is aborted and noted."""

    def __init__(self, browser: Browser, base: str, width: int = 1366, height: int = 768) -> None:
        self.context: BrowserContext = browser.new_context(
            base_url=base, locale="zh-CN", viewport={"width": width, "height": height})
        self.context.set_default_timeout(20_000)
        self.base = base
        self.outside: list[str] = []
        self.problems: list[str] = []
        self.context.route("**/*", self._route)

    def _route(self, route: Route) -> None:
        url = route.request.url
        if url.startswith(self.base + "/") or url.startswith(("data:", "blob:")):
            route.continue_()
        else:
            self.outside.append(url)
            route.abort("internetdisconnected")

    def page(self) -> Page:
        page = self.context.new_page()

        def on_console(msg: ConsoleMessage) -> None:
            if msg.type == "error" or "Content Security Policy" in msg.text:
                self.problems.append(msg.text)

        page.on("console", on_console)
        page.on("pageerror", lambda exc: self.problems.append(str(exc)))
        return page


def shoot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)


def test_swagger_ui_and_redoc_render_with_no_network(browser: Browser, server: str) -> None:
    offline = Offline(browser, server)
    page = offline.page()
    page.goto("/docs")
    page.locator(".opblock-summary-path", has_text="/api/v1/intake").first.wait_for()
    assert page.locator(".opblock").count() >= 4
    page.locator(".opblock-summary", has_text="/api/v1/intake").first.click()
    page.locator(".opblock-body").first.wait_for()
    shoot(page, "docs-swagger-ui.png")
    page.goto("/redoc")
    page.locator("h1", has_text="96010 intake gateway").wait_for()
    page.get_by_text("/api/v1/intake").first.wait_for(state="attached")
    shoot(page, "docs-redoc.png")
    assert offline.outside == []
    assert offline.problems == []
    offline.context.close()


def test_front_page_and_status_lookup(browser: Browser, server: str,
                                      sqlite_store: Store) -> None:
    ticket = sqlite_store.submit(intake("front-1", "路灯不亮", channel=Channel.web)).ticket
    offline = Offline(browser, server, width=390, height=844)
    page = offline.page()
    page.goto("/")
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    for link in ("#link-report", "#link-console", "#link-docs", "#link-redoc"):
        assert page.locator(link).is_visible(), link
    shoot(page, "landing.png")
    page.locator("#home-number").fill(ticket.number)
    page.get_by_role("button", name="查询").click()
    page.locator("#status-text").wait_for()
    assert page.locator("#status-text").inner_text() == "已受理，正在登记。"
    shoot(page, "status.png")
    page.locator("#number").fill("123")
    page.get_by_role("button", name="查询").click()
    assert "10 到 16 位数字" in page.locator("#status-error").inner_text()
    # the one error a browser logs here is that 400 itself
    assert offline.problems == ["Failed to load resource: the server responded with a status "
                                "of 400 (Bad Request)"]
    offline.problems.clear()
    page.goto("/")
    page.locator("#link-report").click()
    page.locator("#report-form").wait_for()
    assert offline.outside == []
    assert offline.problems == [], offline.problems
    offline.context.close()
