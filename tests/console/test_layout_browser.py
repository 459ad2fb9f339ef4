"""The console at 1366×768 (the operators' usual screen) in Debian's Chromium: nothing that
should read as one line — navigation, table headers, badges, buttons, numbers, times — wraps,
and no page scrolls sideways. Screenshots in ``test-artifacts/console-1366/``."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import Browser, Page, sync_playwright

from console.people import People, Role
from hotline.app import create_app
from hotline.settings import Settings
from tests.console.conftest import PASSWORD, SECRET, fast_passwords
from tests.support.intakes import intake
from tests.support.services import free_port, wait_until
from tickets.model import Channel, Citizen, HistoryEntry, Kind, Location, Loop, Routing, Ticket
from tickets.store import Store

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "console-1366"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium is not installed"),
]

# elements that must stay on one line, and the script that finds those that do not
ONE_LINE = ("nav a, th, .badge, button, .button, td.num, td.nowrap, .tabs a, h1, "
            ".ticket-head > *, label, .history-row td:not(.text)")
WRAPPED = """(selector) => {
  // an element wraps when the text inside it lies on more than one line
  const found = [];
  for (const el of document.querySelectorAll(selector)) {
    if (!el.getClientRects().length || !el.textContent.trim()) continue;
    const range = document.createRange();
    range.selectNodeContents(el);
    const tops = new Set();
    for (const r of range.getClientRects()) if (r.width > 1) tops.add(Math.round(r.top));
    const lines = [...tops].sort((a, b) => a - b);
    let count = lines.length ? 1 : 0;
    for (let i = 1; i < lines.length; i++) if (lines[i] - lines[i - 1] > 4) count++;
    if (count > 1) found.push(el.tagName + ' ' + el.textContent.trim().slice(0, 40));
  }
  return found;
}"""


@pytest.fixture
def server(sqlite_store: Store, tmp_path: Path) -> Iterator[str]:
    settings = Settings(env="development", data_dir=tmp_path, console_secret=SECRET,
                        _env_file=None)
    people = People(sqlite_store.db, fast_passwords())
    people.add("boss", "李班长", Role.supervisor, PASSWORD)
    app = create_app(settings, store=sqlite_store, redis_url="")
    port = free_port()
    uv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                       lifespan="on"))
    thread = threading.Thread(target=uv.run, name="uvicorn-console-1366", daemon=True)
    thread.start()
    wait_until(lambda: uv.started)
    yield f"http://127.0.0.1:{port}"
    uv.should_exit = True
    thread.join(10)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM),
                              args=["--no-sandbox", "--disable-gpu", "--no-first-run",
                                    "--disable-background-networking"])
        yield b
        b.close()


def tickets(store: Store) -> Ticket:
    """A busy inbox: long texts, a phone, every badge."""
    waiting = store.submit(intake(
        "w-1", "小区楼道的灯坏了一周了，晚上上下楼很危险，老人孩子都摔过，物业一直说没有配件，"
        "请尽快派人来修理，谢谢！", channel=Channel.sms, kind=Kind.complaint,
        citizen=Citizen(phone="+8613800138000"))).ticket

    def routed(t: Ticket, seq: int, at: datetime) -> Ticket:
        return t.model_copy(update={
            "seq": seq, "updated_at": at, "loop": Loop.small,
            "routing": Routing(needs=["place", "category"]),
            "history": [*t.history, HistoryEntry(
                seq=seq, at=at, actor="router",
                note="category: model v1 (92ef28f4) (model 0.47); loop: property.service "
                     "(catalogue); waits for a person: needs place, category")]})

    store.change(waiting.id, routed)
    for i in range(6):
        store.submit(intake(f"x-{i}", "东四北大街路口的井盖丢失，夜里很危险。", channel=Channel.web,
                            location=Location(address="东城区东四北大街与东四十条交叉口",
                                              street="DS", grid="DC-DS-0101")))
    return store.get(waiting.id)


def log_in(page: Page) -> None:
    page.goto("/console/login")
    page.fill("input[name=login]", "boss")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/console/.*"))


def test_no_wrapping_at_1366(browser: Browser, server: str, sqlite_store: Store) -> None:
    ticket = tickets(sqlite_store)
    context = browser.new_context(base_url=server, viewport={"width": 1366, "height": 768},
                                  locale="zh-CN", timezone_id="Asia/Shanghai")
    page = context.new_page()
    log_in(page)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    problems: dict[str, list[str]] = {}
    for name, path in [("board", "/console/"), ("inbox", "/console/inbox"),
                       ("needs", "/console/inbox?needs=1"),
                       ("ticket", f"/console/tickets/{ticket.number}"),
                       ("new", "/console/tickets/new")]:
        page.goto(path)
        page.wait_for_load_state("networkidle")
        page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
        wrapped = page.evaluate(WRAPPED, ONE_LINE)
        wide = page.evaluate("document.documentElement.scrollWidth")
        if wrapped or wide > 1366:
            problems[name] = [*wrapped, *([f"page is {wide} px wide"] if wide > 1366 else [])]
    context.close()
    assert problems == {}, json.dumps(problems, ensure_ascii=False, indent=1)
