"""The board tells an operator why the softphone does not work, in Chinese, in Debian's Chromium
on the real gateway (no Asterisk needed): a WebSocket nobody answers is named with the setting
to fix; without HOTLINE_CONSOLE_SIP_WS the board explains the softphone's absence instead of
hiding it. (The working softphone: test_console_phone.py.)"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.integration.console.console_stack import Gateway
from tests.support.services import RedisServer, free_port

CHROMIUM = Path("/usr/bin/chromium")
PASSWORD = "correct horse battery staple"

pytestmark = [pytest.mark.integration, pytest.mark.browser]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert CHROMIUM.exists(), "Debian chromium is not installed: run 'make deps'"
    with sync_playwright() as p:
        chromium = p.chromium.launch(
            executable_path=str(CHROMIUM), headless=True,
            args=["--no-sandbox", "--disable-gpu", "--no-first-run",
                  "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"])
        yield chromium
        chromium.close()


def board_of(browser: Browser, home: Path, settings: dict[str, str]) -> Iterator[Page]:
    redis = RedisServer(home / "redis")
    redis.start()
    gateway = Gateway(home / "gateway", {"HOTLINE_REDIS_URL": redis.url, **settings})
    try:
        gateway.start()
        gateway.cli("operator", "add", "alice", "--name", "王小丽", "--password-stdin",
                    stdin=PASSWORD + "\n")
        context = browser.new_context(locale="zh-CN", viewport={"width": 1366, "height": 860})
        context.set_default_timeout(15_000)
        page = context.new_page()
        page.goto(gateway.url + "/console/")
        page.fill("#login", "alice")
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        expect(page).to_have_url(gateway.url + "/console/")
        yield page
        context.close()
    finally:
        gateway.stop()
        redis.stop()


def test_an_unreachable_websocket_is_named(browser: Browser, tmp_path: Path) -> None:
    ws = f"ws://127.0.0.1:{free_port()}/ws"  # nothing listens there
    for board in board_of(browser, tmp_path, {"HOTLINE_CONSOLE_SIP_WS": ws}):
        expect(board.locator("#softphone")).to_be_visible()
        error = board.locator("#phone-error")
        expect(error).to_be_visible()
        expect(error).to_contain_text(f"无法连接 Asterisk 的 SIP WebSocket（{ws}）")
        expect(error).to_contain_text("HOTLINE_CONSOLE_SIP_WS")
        expect(board.locator("#phone-state")).to_have_text("未连接")
        expect(board.locator("#softphone-off")).to_be_hidden()


def test_no_websocket_explains_the_missing_softphone(browser: Browser, tmp_path: Path) -> None:
    for board in board_of(browser, tmp_path, {}):
        off = board.locator("#softphone-off")
        expect(off).to_be_visible()
        expect(off).to_contain_text("浏览器软电话未启用")
        expect(off).to_contain_text("HOTLINE_CONSOLE_SIP_WS")
        expect(board.locator("#softphone")).to_be_hidden()
