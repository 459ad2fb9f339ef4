"""The console in Debian's Chromium (Playwright): what operators and supervisors see and do, on
the real gateway (``python -m hotline serve``), a private Redis and SQLite, people added with
``hotline operator add`` and a real Asterisk 22 that rings the operator's phone
(tests/integration/console/console_stack.py says how).

Screenshots of the board, the screen-pop, the supervisors' page, a ticket and the inbox are
kept in ``test-artifacts/console-browser/`` (gitignored); docs/console-board.png is one of them.
"""

from __future__ import annotations

import json
import shutil
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

from ivr.events import call_topic
from tests.integration.console.console_stack import (
    ConsoleAsterisk,
    Gateway,
    Ivr,
    ParkedCall,
    asterisk_overrides,
)
from tests.support.asterisk import Asterisk
from tests.support.services import RedisServer, free_port, require_root

REPO = Path(__file__).resolve().parents[3]
ARTIFACTS = REPO / "test-artifacts" / "console-browser"
CHROMIUM = Path("/usr/bin/chromium")
PASSWORD = "correct horse battery staple"
TIMEOUT = 15_000  # ms, for what the page must show

pytestmark = [pytest.mark.integration, pytest.mark.asterisk, pytest.mark.browser]


@dataclass
class Stack:
    redis: RedisServer
    asterisk: Asterisk
    calls: ConsoleAsterisk
    gateway: Gateway
    api_key: str
    shots: Path
    ivr: Ivr

    def api(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            self.gateway.url + path, data=data, method=method,
            headers={"Authorization": f"Bearer {self.api_key}",
                     "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    def shot(self, page: Page, name: str, **kwargs: Any) -> Path:
        path = self.shots / f"{name}.png"
        page.screenshot(path=str(path), **kwargs)
        return path


def add_person(gateway: Gateway, login: str, name: str, role: str) -> str:
    return gateway.cli("operator", "add", login, "--name", name, "--role", role,
                       "--password-stdin", stdin=PASSWORD + "\n")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    require_root("the test Asterisk needs root (mount namespace, chroot)")
    root = tmp_path_factory.mktemp("console-browser")
    redis = RedisServer(root / "redis")
    redis.start()
    asterisk = Asterisk(root / "asterisk", agi_port=free_port(), shared_dir=root / "shared",
                        overrides=asterisk_overrides(["alice"]))
    gateway = Gateway(root / "gateway", {
        "HOTLINE_REDIS_URL": redis.url,
        "HOTLINE_AMI_HOST": "127.0.0.1",
        "HOTLINE_PJSIP_OPERATORS": str(root / "gateway" / "pjsip-operators.conf"),
    })
    shots = root / "shots"
    shots.mkdir()
    try:
        asterisk.start()
        gateway.env.update({"HOTLINE_AMI_PORT": str(asterisk.ami_port),
                            "HOTLINE_AMI_USERNAME": asterisk.ami_user,
                            "HOTLINE_AMI_SECRET": asterisk.ami_secret})
        gateway.start()
        add_person(gateway, "alice", "王小丽", "operator")
        add_person(gateway, "boss", "李班长", "supervisor")
        add_person(gateway, "carol", "陈晨", "operator")
        token = gateway.cli("apikey", "create", "--name", "backoffice",
                            "--scope", "intake,read").strip()
        ivr = Ivr(redis.url)
        try:
            yield Stack(redis, asterisk, ConsoleAsterisk(asterisk), gateway, token, shots, ivr)
        finally:
            ivr.close()
    finally:
        gateway.stop()
        asterisk.stop()
        redis.stop()
        if shots.exists():
            shutil.rmtree(ARTIFACTS, ignore_errors=True)
            shutil.copytree(shots, ARTIFACTS)
            (ARTIFACTS / "serve.log").write_text(gateway.log_text())


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


class Watched:
    """A browser context whose pages are watched for dialogs and CSP violations."""

    def __init__(self, browser: Browser) -> None:
        self.context: BrowserContext = browser.new_context(
            viewport={"width": 1360, "height": 860}, locale="zh-CN",
            timezone_id="Asia/Shanghai")
        self.context.set_default_timeout(TIMEOUT)
        self.dialogs: list[str] = []
        self.csp: list[str] = []
        self.closed = False
        self.context.on("page", self.watch)

    def watch(self, page: Page) -> None:
        def dialog(d: Any) -> None:
            self.dialogs.append(d.message)
            d.dismiss()

        page.on("dialog", dialog)
        page.on("console", lambda m: self.csp.append(m.text)
                if "Content Security Policy" in m.text else None)

    def page(self) -> Page:
        return self.context.new_page()

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.context.close()


@pytest.fixture
def people(browser: Browser) -> Iterator[list[Watched]]:
    made: list[Watched] = []
    yield made
    for watched in made:
        watched.close()


def watched(browser: Browser, people: list[Watched]) -> Watched:
    w = Watched(browser)
    people.append(w)
    return w


def log_in(page: Page, base: str, login: str, password: str = PASSWORD,
           path: str = "/console/") -> None:
    page.goto(base + path)
    expect(page).to_have_url(f"{base}/console/login?next={path}")
    page.fill("#login", login)
    page.fill("#password", password)
    page.click("button[type=submit]")


def test_operator_takes_over_a_live_call_and_saves_its_ticket(
        stack: Stack, browser: Browser, people: list[Watched]) -> None:
    base = stack.gateway.url
    operator = watched(browser, people)
    board = operator.page()
    log_in(board, base, "alice")
    expect(board).to_have_url(base + "/console/")
    expect(board.locator(".who-name")).to_have_text("王小丽")
    # the AMI link is up (the page is rendered with the alert shown while it is not, and the
    # event stream hides it once the gateway's link comes up)
    expect(board.locator("#alert-ami")).to_be_hidden(timeout=60_000)
    # Alice signs in to the queue (AMI QueueAdd PJSIP/op-alice): the queue knows her phone.
    board.click("#queue-login")
    expect(board.locator("#my-state")).to_have_text("空闲")
    expect(board.locator("#operators .operator .name")).to_have_text(["王小丽"])

    supervisor = watched(browser, people)
    sup = supervisor.page()
    log_in(sup, base, "boss", path="/console/supervision")
    expect(sup).to_have_url(base + "/console/supervision")
    alice_row = sup.locator('#people tr[data-login="alice"]')
    expect(alice_row.locator(".member-state")).to_have_text("空闲")

    # A resident is in the IVR, leaving a complaint; its transcript grows on the board.
    call: ParkedCall = stack.calls.park_call("+8613800138000")
    stack.ivr.answer(call, "complaint")
    stack.ivr.heard(call, ("segment", "我家楼下的路灯坏了"), ("partial", "已经三"))
    row = board.locator(f'#ivr-calls tr[data-call="{call.topic}"]')
    expect(row).to_contain_text("+86138****8000")
    expect(row).to_contain_text("留言中（投诉）")
    expect(row.locator(".transcript .text")).to_have_text("我家楼下的路灯坏了")
    expect(row.locator(".transcript .partial")).to_have_text("已经三")
    stack.ivr.heard(call, ("partial", "已经三天了，晚上很黑"))
    expect(row.locator(".transcript .partial")).to_have_text("已经三天了，晚上很黑")
    expect(board.locator("#ivr-count")).to_have_text("1")
    expect(board.locator("#ivr-empty")).to_be_hidden()
    expect(sup.locator(f'#ivr-calls tr[data-call="{call.topic}"]')).to_be_visible()
    expect(sup.locator(".operators")).to_have_count(0)  # the people table is the list here
    stack.shot(board, "board")

    # Take over: the call leaves the IVR for the queue, which rings Alice's phone; the
    # supervisor sees it waiting; Alice's phone answers and her console pops the ticket.
    with operator.context.expect_page(timeout=30_000) as popped:
        row.locator("button.takeover").click()
        expect(board.locator("#queue-message")).to_contain_text("已接管，工单")
        waiting = sup.locator("#queue-waiting tr")
        expect(waiting).to_have_count(1, timeout=10_000)
        expect(waiting.first).to_contain_text("有")  # the caller has a ticket (TICKET_ID)
        expect(sup.locator("#queue-count")).to_have_text("1")
        stack.shot(sup, "supervision-waiting")
    ticket_page = popped.value
    number = board.locator("#queue-message").inner_text().split("工单 ")[1].split("，")[0]
    assert number.isdigit() and len(number) == 10, number
    assert stack.calls.channel_context(call.channel) == "hotline-96010"  # redirected
    # (the AGI session ends when the channel leaves it; the IVR says why)
    stack.ivr.ended(call, "takeover")
    expect(row).to_have_count(0)

    pop = board.locator("#screenpop")
    expect(pop).to_be_visible()
    expect(board.locator("#screenpop-link")).to_have_text(number)
    expect(board.locator("#screenpop-link")).to_have_attribute(
        "href", f"/console/tickets/{number}")
    expect(board.locator("#screenpop-kind")).to_have_text("投诉")
    expect(board.locator("#screenpop-text")).to_have_text("我家楼下的路灯坏了")
    # partials keep arriving in the pop while the call lasts, after it left the IVR
    stack.ivr.heard(call, ("partial", "希望尽快修好"))
    expect(board.locator("#screenpop-partial")).to_have_text("希望尽快修好")
    expect(alice_row.locator(".member-state")).to_have_text("通话中")
    expect(sup.locator("#queue-waiting tr")).to_have_count(0)
    stack.shot(board, "screenpop")

    # The ticket draft opened beside the board: correct it and save.
    ticket_page.wait_for_load_state()
    assert ticket_page.url == f"{base}/console/tickets/{number}"
    history = ticket_page.locator("#ticket-history")
    expect(history).to_contain_text("话务员接管来电")
    expect(history).to_contain_text("话务员 alice")
    ticket_page.fill("#edit-text", "东四十条甲1号楼下路灯坏了三天，晚上很黑")
    ticket_page.select_option("#edit-kind", "complaint")
    ticket_page.fill("#edit-address", "东四十条甲1号")
    ticket_page.fill("#edit-note", "居民补充：晚上七点以后最暗")
    ticket_page.click("#edit-save")
    expect(ticket_page.locator("#ticket-notice")).to_be_visible()
    expect(ticket_page.locator("#ticket-text")).to_have_text("东四十条甲1号楼下路灯坏了三天，晚上很黑")
    expect(history).to_contain_text("居民补充：晚上七点以后最暗")
    stack.shot(ticket_page, "ticket", full_page=True)

    # Back office sees the change in its feed, with who made it.
    feed = stack.api("GET", "/api/v1/tickets?after=0&limit=100")
    [ticket] = [t for t in feed["tickets"] if t["number"] == number]
    assert ticket["text"] == "东四十条甲1号楼下路灯坏了三天，晚上很黑"
    assert ticket["kind"] == "complaint" and ticket["channel"] == "voice"
    assert ticket["channel_ref"] == call.ref
    assert ticket["location"]["address"] == "东四十条甲1号"
    notes = [(h["actor"], h.get("note") or "") for h in ticket["history"]]
    assert ("operator:alice", "话务员接管来电") in notes, notes
    assert [n for actor, n in notes
            if actor == "operator:alice" and "居民补充：晚上七点以后最暗" in n], notes

    # The caller hangs up: the operator's phone is free again.
    stack.calls.hang_up_all()
    expect(alice_row.locator(".member-state")).to_have_text("空闲")
    expect(board.locator("#ivr-empty")).to_be_visible()
    assert operator.dialogs == [] and supervisor.dialogs == []
    assert operator.csp == [] and supervisor.csp == [], operator.csp + supervisor.csp


def test_a_takeover_asterisk_refuses_is_shown_as_an_error(
        stack: Stack, browser: Browser, people: list[Watched]) -> None:
    """The IVR says a call is there, but Asterisk has no such channel (it went away and its
    Hangup never reached this gateway): Asterisk refuses the redirect, the page says the call
    has ended, the button can be pressed again, and no takeover mark is left behind."""
    base = stack.gateway.url
    operator = watched(browser, people)
    board = operator.page()
    log_in(board, base, "alice")
    ref = "testpbx/1700000000.4242"
    call = ParkedCall(ref=ref, topic=call_topic(ref), channel="PJSIP/carrier-0000dead",
                      phone="+8613912345678")
    stack.ivr.answer(call, "help")
    stack.ivr.heard(call, ("partial", "我想问一下"))
    row = board.locator(f'#ivr-calls tr[data-call="{call.topic}"]')
    expect(row).to_contain_text("求助")
    row.locator("button.takeover").click()
    expect(board.locator("#queue-message")).to_have_text("接管失败：这个通话已经结束")
    expect(board.locator("#queue-message")).to_have_class("message bad")
    expect(row.locator("button.takeover")).to_be_enabled()
    row.locator("button.takeover").click()  # a second try gets the same answer, not "busy"
    expect(board.locator("#queue-message")).to_have_text("接管失败：这个通话已经结束")
    # no draft ticket was made for the call nobody could take
    feed = stack.api("GET", "/api/v1/tickets?after=0&limit=100")
    assert [t for t in feed["tickets"] if t["channel_ref"] == ref] == []
    # a call beyond the live recognition capacity says its transcript comes later
    later_ref = "testpbx/1700000000.4343"
    later = ParkedCall(ref=later_ref, topic=call_topic(later_ref),
                       channel="PJSIP/carrier-0000beef", phone="+8613912345679")
    stack.ivr.answer(later, "report")
    stack.ivr.heard(later, ("pending", ""))
    later_row = board.locator(f'#ivr-calls tr[data-call="{later.topic}"]')
    expect(later_row.locator(".transcript .partial")).to_have_text(
        "转写待处理（通话结束后自动转写）")
    stack.ivr.ended(later, "hangup")
    stack.ivr.ended(call, "hangup")
    expect(row).to_have_count(0)
    assert operator.dialogs == [] and operator.csp == []


def test_without_asterisk_the_board_says_so_and_takeover_fails_clearly(
        stack: Stack, browser: Browser, people: list[Watched],
        tmp_path: Path) -> None:
    """A gateway with no AMI link (not configured, or Asterisk down): the board still shows
    the IVR's calls from Redis, warns that Asterisk is not connected, and a takeover answers
    with that reason instead of failing silently."""
    lonely = Gateway(tmp_path / "no-ami", {"HOTLINE_REDIS_URL": stack.redis.url,
                                           "HOTLINE_AMI_USERNAME": "hotline",
                                           "HOTLINE_AMI_SECRET": "not-listening",
                                           "HOTLINE_AMI_PORT": str(free_port())})
    lonely.start()
    try:
        add_person(lonely, "dora", "赵朵", "operator")
        operator = watched(browser, people)
        board = operator.page()
        log_in(board, lonely.url, "dora")
        expect(board.locator("#alert-ami")).to_be_visible()
        expect(board.locator("#alert-ami")).to_contain_text("Asterisk 连接中断")
        call = stack.calls.park_call("+8613700001111")
        stack.ivr.answer(call, "report")
        stack.ivr.heard(call, ("partial", "有人在小区乱倒垃圾"))
        row = board.locator(f'#ivr-calls tr[data-call="{call.topic}"]')
        expect(row.locator(".transcript .partial")).to_have_text("有人在小区乱倒垃圾")
        row.locator("button.takeover").click()
        expect(board.locator("#queue-message")).to_have_text(
            "接管失败：Asterisk 连接中断，请稍后再试")
        board.click("#queue-login")
        expect(board.locator("#queue-message")).to_have_text(
            "操作失败：Asterisk 连接中断，请稍后再试")
        stack.shot(board, "board-ami-down")
        stack.calls.hang_up_all()
        stack.ivr.ended(call, "hangup")
        expect(row).to_have_count(0)
        operator.close()  # its event stream ends, so the gateway stops at once
    finally:
        lonely.stop()


def test_resident_text_is_shown_as_text_never_run(
        stack: Stack, browser: Browser, people: list[Watched]) -> None:
    script = "<script>alert(1)</script>"
    for ref, text, kind, phone in (
            ("xss-1", script, "complaint", "+8613800000001"),
            ("grid-7", "北新桥三条井盖松动，车过有响声", "report", "+8613600000002"),
            ("web-9", "咨询：老年卡在哪里办理？", "consultation", "+8613500000003")):
        stack.api("POST", "/api/v1/intake", {"channel_ref": ref, "text": text, "kind": kind,
                                             "citizen": {"phone": phone}})
    operator = watched(browser, people)
    page = operator.page()
    log_in(page, stack.gateway.url, "alice", path="/console/inbox")
    row = page.locator(".inbox-row", has_text=script)
    expect(row.locator(".excerpt")).to_have_text(script)
    stack.shot(page, "inbox", full_page=True)

    # filters: by kind, and a search by phone
    page.select_option("#kind", "report")
    page.click("#inbox-filters button[type=submit]")
    expect(page.locator(".inbox-row .excerpt")).to_have_text(["北新桥三条井盖松动，车过有响声"])
    page.goto(stack.gateway.url + "/console/inbox")
    page.fill("#q", "13800000001")
    page.click("#inbox-filters button[type=submit]")
    expect(page.locator(".inbox-row .excerpt")).to_have_text([script])

    page.locator(".inbox-row a").first.click()
    expect(page.locator("#ticket-text")).to_have_text(script)
    assert page.input_value("#edit-text").strip() == script
    ran = page.evaluate("() => [...document.scripts].some(s => s.textContent.includes('alert'))")
    assert ran is False
    page.fill("#edit-note", "核实中")
    page.click("#edit-save")  # saving the text back keeps it as it was: text, not markup
    expect(page.locator("#ticket-notice")).to_be_visible()
    expect(page.locator("#ticket-text")).to_have_text(script)
    assert operator.dialogs == []
    assert operator.csp == []


def test_wrong_passwords_lock_the_login_out(
        stack: Stack, browser: Browser, people: list[Watched]) -> None:
    base = stack.gateway.url
    page = watched(browser, people).page()
    for attempt in range(5):
        log_in(page, base, "carol", password=f"wrong password {attempt}")
        expect(page.locator(".login-box .alert")).to_have_text("登录名或密码不正确。")
    log_in(page, base, "carol")  # the right password, too late
    expect(page.locator(".login-box .alert")).to_contain_text("登录失败次数过多，已暂时锁定")
    expect(page.locator(".login-box .alert")).to_contain_text("15 分钟后再试")
    stack.shot(page, "locked-out")
    page.goto(base + "/console/")
    expect(page).to_have_url(f"{base}/console/login?next=/console/")
    # the lock is per login name: another person logs in from the same browser
    log_in(page, base, "alice")
    expect(page).to_have_url(base + "/console/")


def test_only_a_supervisor_opens_the_supervisors_page(
        stack: Stack, browser: Browser, people: list[Watched]) -> None:
    base = stack.gateway.url
    page = watched(browser, people).page()
    log_in(page, base, "alice")
    expect(page.locator("nav.nav")).not_to_contain_text("班长")
    response = page.goto(base + "/console/supervision")
    assert response is not None and response.status == 403
    expect(page.locator("main")).to_contain_text("只有班长可以使用此功能")

    boss = watched(browser, people).page()
    log_in(boss, base, "boss")
    boss.locator("nav.nav a", has_text="班长").click()
    expect(boss).to_have_url(base + "/console/supervision")
    expect(boss.locator("#people tr[data-login]")).to_have_count(3)
    expect(boss.locator('#people tr[data-login="carol"] td').first).to_have_text("陈晨")
