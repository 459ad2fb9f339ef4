"""The desks, the grid worker's phone page and the supervision page in Debian's Chromium
(Playwright) against the real gateway process (``python -m hotline serve`` on SQLite): people
made with ``hotline operator add --role street|grid|supervisor --unit …``; tickets routed to
the street written into the gateway's database by the test.

* a street desk acknowledges (签收), replies (办结) → the ticket is resolved;
* the grid page at a phone's viewport: report a finding with the phone's location (its grid
  cell shown) and a photo → a ticket of provenance grid:<cell>;
* the supervision page: the rates table and chart, 督办 an overdue ticket, the CSV link;
* no Content-Security-Policy violation on any page.

Screenshots are kept in ``test-artifacts/desks-browser/`` (docs/console-desk.png is one).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.console.test_grid_routes import centroid
from tests.console.test_ticket_routes import PNG
from tests.integration.console.console_stack import REPO, Gateway
from tests.support.routed import routed
from tickets.db import Database
from tickets.model import Status
from tickets.store import Store

CHROMIUM = Path("/usr/bin/chromium")
PASSWORD = "correct horse battery staple"
TIMEOUT = 15_000
ARTIFACTS = REPO / "test-artifacts" / "desks-browser"
PHONE = {"width": 390, "height": 844}

pytestmark = [pytest.mark.integration, pytest.mark.browser]


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    home = tmp_path_factory.mktemp("desks-browser")
    gw = Gateway(home / "gateway", {})
    gw.start()
    for login, name, role, unit in (("ds", "东四街道", "street", ["--unit", "DS"]),
                                    ("gw", "王网格", "grid", ["--unit", "DC-DS-0101"]),
                                    ("boss", "李班长", "supervisor", [])):
        gw.cli("operator", "add", login, "--name", name, "--role", role, *unit,
               "--password-stdin", stdin=PASSWORD + "\n")
    try:
        yield gw
    finally:
        gw.stop()


@pytest.fixture(scope="module")
def store(gateway: Gateway) -> Iterator[Store]:
    s = Store(Database(f"sqlite:///{gateway.home / 'var' / 'hotline.sqlite3'}"))
    yield s
    s.db.dispose()


@pytest.fixture(scope="module")
def shots() -> Iterator[Path]:
    folder = ARTIFACTS
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    yield folder


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert CHROMIUM.exists(), "Debian chromium is not installed: run 'make deps'"
    with sync_playwright() as p:
        chromium = p.chromium.launch(
            executable_path=str(CHROMIUM), headless=True,
            args=["--no-sandbox", "--disable-gpu", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update"])
        yield chromium
        chromium.close()


def page_for(browser: Browser, csp: list[str], **options: object) -> Page:
    context = browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai",
                                  **options)  # type: ignore[arg-type]
    context.set_default_timeout(TIMEOUT)
    page = context.new_page()
    page.on("console", lambda m: csp.append(m.text)
            if "Content Security Policy" in m.text else None)
    return page


def log_in(page: Page, base: str, login: str) -> None:
    page.goto(base + "/console/login")
    page.fill("#login", login)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")


def test_a_street_desk_acknowledges_and_replies(gateway: Gateway, store: Store,
                                                browser: Browser, shots: Path) -> None:
    now = datetime.now(UTC)
    late = routed(store, "b-late", ["street:DS"], at=now - timedelta(hours=6),
                  text="东四三条路灯不亮已经一周")
    fresh = routed(store, "b-fresh", ["street:DS"], at=now - timedelta(minutes=3),
                   text="东四北大街人行道砖松动 <script>alert(1)</script>")
    csp: list[str] = []
    page = page_for(browser, csp, viewport={"width": 1360, "height": 860})
    log_in(page, gateway.url, "ds")
    expect(page).to_have_url(gateway.url + "/console/desk")
    rows = page.locator("tr.desk-row")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_have_attribute("data-number", late.number)  # overdue first
    expect(rows.nth(0).locator(".badge.late")).to_be_visible()
    expect(page.locator(f'tr[data-number="{fresh.number}"] .excerpt')).to_contain_text(
        "<script>alert(1)</script>")
    page.screenshot(path=str(shots / "desk-worklist.png"), full_page=True)
    page.click(f"text={fresh.number}")
    expect(page.locator("#ticket-status")).to_have_text("指挥派遣")
    page.click("#act-acknowledge button")
    expect(page.locator("#ticket-notice")).to_have_text("已签收")
    expect(page.locator("#ticket-status")).to_have_text("任务处理")
    page.fill("#act-resolve-text", "已安排维修，人行道砖已重新铺设。")
    page.screenshot(path=str(shots / "desk-ticket.png"), full_page=True)
    page.click("#act-resolve button")
    expect(page.locator("#ticket-status")).to_have_text("处理反馈")
    expect(page.locator("#ticket-history")).to_contain_text("已安排维修")
    final = store.get(fresh.id)
    assert final.status is Status.resolved
    assert final.history[-1].actor == "street:DS/ds"
    assert csp == []
    page.context.close()


def test_the_grid_page_at_a_phone_viewport(gateway: Gateway, store: Store, browser: Browser,
                                           shots: Path, tmp_path: Path) -> None:
    lat, lon = centroid("DC-DS-0101")
    csp: list[str] = []
    page = page_for(browser, csp, viewport=PHONE, device_scale_factor=2, is_mobile=True,
                    has_touch=True, geolocation={"latitude": lat, "longitude": lon},
                    permissions=["geolocation"])
    log_in(page, gateway.url, "gw")
    expect(page).to_have_url(gateway.url + "/console/grid")
    page.click("#grid-report")
    page.fill("#grid-text", "东四三条 12 号门口井盖缺失，有行人绊倒风险")
    page.click("#grid-locate")
    expect(page.locator("#grid-where")).to_contain_text("东四·")  # the cell's name
    photo = tmp_path / "well.png"
    photo.write_bytes(PNG)
    page.set_input_files("#grid-photo", str(photo))
    expect(page.locator("#grid-photo-count")).to_have_text("已选择 1 张照片")
    box = page.locator("#grid-submit").bounding_box()
    assert box is not None and box["width"] > PHONE["width"] * 0.8 and box["height"] >= 48
    page.screenshot(path=str(shots / "grid-report-phone.png"), full_page=True)
    page.click("#grid-submit")
    expect(page.locator("#grid-created")).to_contain_text("已上报")
    number = page.locator("#grid-created .num").inner_text()
    ticket = store.get(number)
    assert ticket.channel_ref.startswith("grid:DC-DS-0101:")
    assert ticket.location is not None and ticket.location.lat == pytest.approx(lat, abs=1e-5)
    assert len(ticket.attachments) == 1
    page.screenshot(path=str(shots / "grid-home-phone.png"), full_page=True)
    assert csp == []
    page.context.close()


def test_the_supervision_page(gateway: Gateway, store: Store, browser: Browser,
                              shots: Path) -> None:
    now = datetime.now(UTC)
    overdue = routed(store, "s-late", ["street:DS"], at=now - timedelta(hours=9),
                     text="朝阳门内大街垃圾桶满溢")
    csp: list[str] = []
    page = page_for(browser, csp, viewport={"width": 1360, "height": 900})
    log_in(page, gateway.url, "boss")
    # the day the ticket was received (local), not today: before 09:00 Beijing time it was
    # yesterday
    day = (now - timedelta(hours=9)).astimezone(store.tz).date().isoformat()
    page.goto(gateway.url + f"/console/rates?period=day&day={day}&group=street")
    row = page.locator('#rates-table tr[data-key="street:DS"]')
    expect(row).to_contain_text("东四街道")
    # the chart is drawn (the day may hold only the overdue ticket: a 0 % bar has no height)
    expect(page.locator("#rates-chart svg")).to_be_visible()
    assert page.locator("#rates-chart svg rect").count() >= 1
    overdue_row = page.locator(f'#rates-overdue tr[data-number="{overdue.number}"]')
    overdue_row.locator("input[name=text]").fill("请今日内签收")
    page.screenshot(path=str(shots / "supervision-rates.png"), full_page=True)
    overdue_row.locator("button").click()
    expect(page.locator("#rates-notice")).to_have_text("已督办")
    expect(page.locator(f'#rates-overdue tr[data-number="{overdue.number}"] td').nth(4)
           ).to_have_text("1")
    assert store.get(overdue.id).history[-1].note == "请今日内签收"
    with page.expect_download() as download:
        page.click("#csv-rates")
    assert download.value.suggested_filename.startswith("rates-street-day-")
    assert csp == []
    page.context.close()
