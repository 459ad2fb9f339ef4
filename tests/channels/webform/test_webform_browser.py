"""The web form in a real browser: Debian's chromium driven by Playwright, the app on uvicorn.

Screenshots at a phone-sized viewport are kept in ``test-artifacts/`` (gitignored).
"""

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
    ViewportSize,
    sync_playwright,
)

from hotline.app import create_app
from hotline.settings import Settings
from tests.channels.webform import images
from tests.support.services import free_port, wait_until
from tickets.model import Channel, Kind
from tickets.store import Store

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts"
PHONE: ViewportSize = {"width": 390, "height": 844}

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium (/usr/bin/chromium) is "
                       "not installed: run 'make deps'"),
]


@pytest.fixture
def server(sqlite_store: Store, tmp_path: Path) -> Iterator[str]:
    settings = Settings(env="development", data_dir=tmp_path,
                        web_secret="browser-test-secret-0123456789abcdef",
                        max_upload_bytes=1024 * 1024, _env_file=None)
    app = create_app(settings, store=sqlite_store, redis_url="")
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", ws="none",
                            lifespan="on")
    uv = uvicorn.Server(config)
    thread = threading.Thread(target=uv.run, name="uvicorn-webform", daemon=True)
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
                  "--disable-component-update", "--disable-sync", "--no-first-run"],
        )
        yield b
        b.close()


def phone_context(browser: Browser, base_url: str, *, javascript: bool = True) -> BrowserContext:
    context = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True,
                                  has_touch=True, locale="zh-CN", java_script_enabled=javascript,
                                  base_url=base_url)
    if javascript:
        context.grant_permissions(["geolocation"], origin=base_url)
        context.set_geolocation({"latitude": 39.904211, "longitude": 116.407395,
                                 "accuracy": 20})
    return context


def watch_console(page: Page) -> list[str]:
    problems: list[str] = []

    def on_console(msg: ConsoleMessage) -> None:
        if msg.type in ("error", "warning"):
            problems.append(msg.text)

    page.on("console", on_console)
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.on("response",
            lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    return problems


def shoot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)


def test_report_with_photo_and_geolocation(browser: Browser, server: str, sqlite_store: Store,
                                           tmp_path: Path) -> None:
    photo = tmp_path / "井盖.jpg"
    photo.write_bytes(images.jpeg(1200, 900, gps=images.GPS_BEIJING))
    context = phone_context(browser, server)
    page = context.new_page()
    problems = watch_console(page)
    page.goto("/report?grid=DC-DS-0101")
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    assert page.locator("#grid-code").inner_text() == "DC-DS-0101"
    assert page.locator("#grid-name").inner_text() == "东四街道 · 东四三条社区 · 东四三条第一网格"

    page.get_by_text("投诉", exact=True).click()
    text = "幸福路12号门口的井盖丢失了，晚上很危险，请尽快处理。"
    page.locator("#description").fill(text)
    assert page.locator("#description-count").inner_text() == str(len(text))  # JS counter
    page.locator("#photos").set_input_files(str(photo))
    page.locator("#previews img").first.wait_for()
    page.locator("#locate").click()
    page.get_by_text("已获取当前位置").wait_for()
    page.locator("#phone").fill("13800138000")
    page.get_by_text("同意工作人员通过此电话联系我").click()
    page.locator("#name").fill("王女士")
    shoot(page, "webform-form.png")

    page.locator("#submit").click()
    page.locator("#ticket-number").wait_for()
    number = page.locator("#ticket-number").inner_text()
    shoot(page, "webform-done.png")
    assert "96010" in page.locator("#done").inner_text()

    ticket = sqlite_store.get(number)
    assert ticket.number == number and ticket.channel is Channel.web
    assert ticket.kind is Kind.complaint and ticket.citizen.phone == "+8613800138000"
    assert ticket.citizen.consent_to_contact and ticket.citizen.name == "王女士"
    assert ticket.location is not None and ticket.location.grid == "DC-DS-0101"
    assert (ticket.location.lat, ticket.location.lon) == (39.904211, 116.407395)
    [attachment] = ticket.attachments
    assert attachment.content_type == "image/jpeg"

    page.reload()  # the browser sends the same form again: same ticket, nothing new
    page.locator("#repeat").wait_for()
    assert page.locator("#ticket-number").inner_text() == number

    page.go_back()  # back to the form, text restored by the browser, and "submit" again
    assert page.locator("#description").input_value() == text
    assert page.locator("#submit").is_enabled()
    page.locator("#submit").click()
    page.locator("#repeat").wait_for()
    assert page.locator("#ticket-number").inner_text() == number
    assert len(sqlite_store.feed(0, 10)) == 1
    assert problems == []  # no CSP violation, no script error
    context.close()


def test_without_javascript_errors_then_success(browser: Browser, server: str,
                                                sqlite_store: Store) -> None:
    context = phone_context(browser, server, javascript=False)
    page = context.new_page()
    page.goto("/report")
    assert page.locator("#locate").is_hidden()  # geolocation needs JavaScript

    page.get_by_text("求助", exact=True).click()
    page.locator("#description").fill("   ")  # passes the browser's "required", not ours
    page.locator("#phone").fill("12345")
    page.locator("#address").fill("东城区东四十条35号")
    page.locator("#submit").click()
    page.locator("#err-description").wait_for()
    assert "电话号码格式不正确" in page.locator("#err-phone").inner_text()
    assert page.locator("#address").input_value() == "东城区东四十条35号"
    assert page.locator("input[name=kind][value=help]").is_checked()
    shoot(page, "webform-errors.png")
    assert sqlite_store.feed(0, 10) == []

    page.locator("#description").fill("家里老人摔倒了，需要社区帮助联系家属。")
    page.locator("#phone").fill("")
    page.locator("#submit").click()
    page.locator("#ticket-number").wait_for()
    ticket = sqlite_store.get(page.locator("#ticket-number").inner_text())
    assert ticket.kind is Kind.help and ticket.location is not None
    assert ticket.location.address == "东城区东四十条35号" and ticket.location.lat is None
    context.close()


def test_a_photo_too_big_for_the_request_is_caught_before_sending(
        browser: Browser, server: str, tmp_path: Path) -> None:
    big = tmp_path / "big.jpg"
    big.write_bytes(images.noisy_jpeg(1024 * 1024))  # over this server's 1 MiB form limit
    context = phone_context(browser, server)
    page = context.new_page()
    page.goto("/report")
    page.locator("#photos").set_input_files(str(big))
    error = page.locator("#photos-client-error")
    error.wait_for()
    assert "超过 0.9 MB" in error.inner_text()
    assert page.locator("#photos").input_value() == ""  # cleared: nothing too big is sent
    assert page.locator("#previews img").count() == 0
    context.close()


@pytest.mark.parametrize("javascript", [True, False])
def test_back_button_and_submit_again_shows_the_same_ticket(
        browser: Browser, server: str, sqlite_store: Store, javascript: bool) -> None:
    context = phone_context(browser, server, javascript=javascript)
    page = context.new_page()
    page.goto("/report")
    page.get_by_text("咨询", exact=True).click()
    page.locator("#description").fill("请问社区养老服务中心的开放时间？")
    page.locator("#submit").click()
    number = page.locator("#ticket-number").inner_text()

    page.go_back()
    assert page.locator("#description").input_value() == "请问社区养老服务中心的开放时间？"
    page.locator("#submit").click()
    page.locator("#repeat").wait_for()
    assert page.locator("#ticket-number").inner_text() == number
    assert [t.number for t in sqlite_store.feed(0, 10)] == [number]

    page.get_by_text("再反映一件事").click()  # a new page: a new submission id
    page.get_by_text("建议", exact=True).click()
    page.locator("#description").fill("建议延长养老服务中心的开放时间。")
    page.locator("#submit").click()
    second = page.locator("#ticket-number").inner_text()
    assert second != number and page.locator("#repeat").count() == 0
    assert [t.number for t in sqlite_store.feed(0, 10)] == [number, second]
    context.close()
