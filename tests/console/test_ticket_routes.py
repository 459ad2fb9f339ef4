"""The inbox, ticket and new-ticket pages (console/ticket_routes.py) in the real app
(hotline/app.py) on SQLite and PostgreSQL, with a person logged in through the login form:
filters, search and paging; the ticket page escaping resident text; saving an edit (CSRF, a
stale save refused, a finished ticket locked, unknown codes named); a new ticket for a call
answered directly; recordings and photos through the session-checked media route."""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from html import unescape
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from console.people import Person
from hotline.app import create_app
from hotline.settings import Settings
from tests.console.conftest import PASSWORD, SECRET
from tests.support.intakes import intake
from tickets import media
from tickets.model import (
    Attachment,
    Channel,
    Citizen,
    HistoryEntry,
    Kind,
    Loop,
    Routing,
    Status,
    Ticket,
)
from tickets.store import Store

HTML = {"Accept": "text/html,application/xhtml+xml"}
PHONE = "+8613800138000"
T0 = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)
XSS = "<script>alert(1)</script>"
# a RIFF/WAVE header and a little silence: enough for the route (it only serves bytes)
WAV = (b"RIFF$\x00\x00\x00WAVEfmt \x10\x00\x00\x00\x01\x00\x01\x00@\x1f\x00\x00\x80>\x00\x00"
       b"\x02\x00\x10\x00data\x00\x00\x00\x00" + b"\x00" * 4000)
PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082")


def settings(tmp_path: Path, **over: Any) -> Settings:
    return Settings(_env_file=None, env="development", data_dir=tmp_path,
                    console_secret=SECRET, **over)


@pytest.fixture
def client(store: Store, tmp_path: Path, alice: Person) -> Iterator[TestClient]:
    with TestClient(create_app(settings(tmp_path), store=store, redis_url="")) as c:
        log_in(c)
        yield c


def log_in(client: TestClient, login: str = "alice") -> None:
    page = client.get("/console/login", headers=HTML)
    token = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert token is not None
    answer = client.post("/console/login", headers=HTML, follow_redirects=False,
                         data={"login": login, "password": PASSWORD, "csrf": token.group(1),
                               "next": "/console/inbox"})
    assert answer.status_code == 303, answer.text


def csrf_of(html: str) -> str:
    found = re.search(r'<meta name="csrf-token" content="([^"]+)">', html)
    assert found is not None
    return unescape(found.group(1))


def submit(store: Store, ref: str, text: str = "楼道灯不亮", *, minutes: float = 0,
           **over: Any) -> Ticket:
    return store.submit(intake(ref, text, at=T0 + timedelta(minutes=minutes), **over)).ticket


def form_of(ticket: Ticket, csrf: str, **over: str) -> dict[str, str]:
    loc = ticket.location
    values = {"csrf": csrf, "seq": str(ticket.seq), "text": ticket.text,
              "kind": ticket.kind.value, "address": (loc.address if loc else None) or "",
              "street": (loc.street if loc else None) or "",
              "community": (loc.community if loc else None) or "",
              "grid": (loc.grid if loc else None) or "", "category": ticket.category or "",
              "note": ""}
    return {**values, **over}


def numbers_on(html: str) -> list[str]:
    return re.findall(r'<tr class="inbox-row" data-number="(\d+)">', html)


# -- access ---------------------------------------------------------------------------------

def test_pages_need_a_login(store: Store, tmp_path: Path) -> None:
    t = submit(store, "m1")
    with TestClient(create_app(settings(tmp_path), store=store, redis_url="")) as anonymous:
        for path in ("/console/inbox", f"/console/tickets/{t.number}", "/console/tickets/new"):
            answer = anonymous.get(path, headers=HTML, follow_redirects=False)
            assert answer.status_code == 303
            assert answer.headers["location"].startswith("/console/login?next=/console/")
        assert anonymous.get("/console/inbox").status_code == 401  # a script: JSON
        refused = anonymous.post(f"/console/tickets/{t.number}", headers=HTML,
                                 data={"seq": str(t.seq), "text": "x"},
                                 follow_redirects=False)
        assert refused.status_code == 303
    assert store.get(t.id) == t


def test_the_console_is_off_without_its_secret(store: Store, tmp_path: Path) -> None:
    off = Settings(_env_file=None, env="development", data_dir=tmp_path)
    with TestClient(create_app(off, store=store, redis_url="")) as c:
        answer = c.get("/console/inbox")
        assert answer.status_code == 503
        assert "HOTLINE_CONSOLE_SECRET" in answer.text


# -- inbox ----------------------------------------------------------------------------------

def test_the_inbox_filters_and_searches(client: TestClient, store: Store) -> None:
    sms = submit(store, "s1", kind=Kind.complaint, citizen=Citizen(phone=PHONE))
    web = submit(store, "w1", channel=Channel.web, minutes=1, kind=Kind.consultation)
    call = submit(store, "c1", channel=Channel.voice, minutes=2,
                  citizen=Citizen(phone="+8613900139000"))
    page = client.get("/console/inbox", headers=HTML)
    assert page.status_code == 200
    assert numbers_on(page.text) == [call.number, web.number, sms.number]
    assert "no-store" in page.headers["cache-control"]
    assert "script-src 'self'" in page.headers["content-security-policy"]
    # phones are masked in the list
    assert PHONE not in page.text and "+86138****8000" in page.text

    def found(**params: str) -> list[str]:
        answer = client.get("/console/inbox", params=params, headers=HTML)
        assert answer.status_code == 200
        return numbers_on(answer.text)

    assert found(channel="web") == [web.number]
    assert found(kind="complaint") == [sms.number]
    assert found(status="received", channel="voice") == [call.number]
    assert found(q="138 0013 8000") == [sms.number]
    assert found(q=call.number) == [call.number]
    assert found(received_from="2026-11-26", received_to="2026-11-26") == [
        call.number, web.number, sms.number]
    assert found(received_from="2026-11-27") == []
    # the form keeps what was chosen
    kept = client.get("/console/inbox", params={"channel": "web", "q": "138"}, headers=HTML)
    assert '<option value="web" selected>' in kept.text and 'value="138"' in kept.text


def test_the_inbox_names_a_bad_filter(client: TestClient, store: Store) -> None:
    submit(store, "s1")
    for params, words in (({"channel": "fax"}, "渠道"), ({"street": "NOPE"}, "街道"),
                          ({"received_from": "26/11/2026"}, "起始日期"),
                          ({"q": "楼道灯"}, "工单编号或电话号码")):
        answer = client.get("/console/inbox", params=params, headers=HTML)
        assert answer.status_code == 400
        assert words in answer.text and numbers_on(answer.text) == []
    bad_cursor = client.get("/console/inbox", params={"after": "garbage"}, headers=HTML)
    assert bad_cursor.status_code == 400 and "第一页" in bad_cursor.text


def test_the_inbox_pages_newest_first_with_counts(client: TestClient, store: Store) -> None:
    made = [submit(store, f"t{i}", minutes=i) for i in range(53)]
    store.change(made[0].id, lambda t, _s, _a: t.model_copy(
        update={"status": Status.registered}))
    first = client.get("/console/inbox", headers=HTML)
    assert numbers_on(first.text) == [t.number for t in reversed(made)][:50]
    assert re.search(r'id="inbox-total">共 <span class="num">53</span>', first.text)
    assert re.search(r"案卷建立 <span class=\"count num\">1</span>", first.text)
    next_link = re.search(r'href="([^"]+)" id="next-page"', first.text)
    assert next_link is not None and 'id="first-page"' not in first.text
    submit(store, "newer", minutes=100)  # arrives while the operator pages
    second = client.get(unescape(next_link.group(1)), headers=HTML)
    assert numbers_on(second.text) == [t.number for t in reversed(made)][50:]
    assert 'id="next-page"' not in second.text and 'id="first-page"' in second.text
    registered = client.get("/console/inbox", params={"status": "registered"}, headers=HTML)
    assert numbers_on(registered.text) == [made[0].number]


# -- the ticket page ------------------------------------------------------------------------

def test_resident_text_is_shown_as_text(client: TestClient, store: Store) -> None:
    t = submit(store, "x1", XSS, citizen=Citizen(phone=PHONE, name=XSS),
               location={"address": XSS})
    page = client.get(f"/console/tickets/{t.number}", headers=HTML)
    assert page.status_code == 200
    assert XSS not in page.text and "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    # no inline script at all: every script element names a file or carries JSON data
    for tag in re.findall(r"<script\b[^>]*>", page.text):
        assert "src=" in tag or 'type="application/json"' in tag
    assert not re.search(r"<[^>]+\son[a-z]+\s*=", page.text)  # no inline event handlers
    assert "script-src 'self'" in page.headers["content-security-policy"]
    listed = client.get("/console/inbox", headers=HTML)
    assert XSS not in listed.text and "&lt;script&gt;" in listed.text


def test_the_ticket_page_shows_everything_an_operator_needs(client: TestClient,
                                                            store: Store) -> None:
    earlier = submit(store, "s0", "上周的路灯还没修", citizen=Citizen(phone=PHONE))
    t = submit(store, "call-1", "路灯不亮", channel=Channel.voice, minutes=60,
               citizen=Citizen(phone=PHONE), kind=Kind.help)
    page = client.get(f"/console/tickets/{t.number}", headers=HTML)
    text = page.text
    # the full number, to call back
    assert f'href="tel:{PHONE}"' in text
    # 03:00 UTC, shown in Beijing time
    assert '<dt>受理时间</dt><dd class="num">2026-11-26 11:00:00</dd>' in text
    # who acted, in Chinese; no internal version number shown
    assert "电话渠道" in text and "channel:voice" not in text and "采集受理" in text
    assert "版本" not in text and 'id="ticket-seq"' not in text
    # the caller's earlier ticket
    assert f'href="/console/tickets/{earlier.number}"' in text
    assert f'name="seq" value="{t.seq}"' in text
    # by id too
    assert client.get(f"/console/tickets/{t.id}", headers=HTML).status_code == 200
    missing = client.get("/console/tickets/0000000000", headers=HTML)
    assert missing.status_code == 404 and "没有这个工单" in missing.text


def test_needs_a_person_badge_filter_and_the_routers_notes_in_chinese(
        client: TestClient, store: Store) -> None:
    waiting = submit(store, "n-1", "小区楼道的灯坏了一周了")
    placed = submit(store, "n-2", "井盖丢失", minutes=1)
    note = ("place: DC-DS-0101 (grid_qr); category: 井盖 (rule); loop: municipal.manhole "
            "(catalogue); to street:DS")

    def routed(ticket: Ticket, needs: list[str], text: str, loop: Loop) -> None:
        def change(t: Ticket, seq: int, at: datetime) -> Ticket:
            return t.model_copy(update={
                "seq": seq, "updated_at": at, "loop": loop,
                "routing": Routing(needs=needs),  # type: ignore[arg-type]
                "history": [*t.history, HistoryEntry(seq=seq, at=at, actor="router",
                                                     note=text)]})
        store.change(ticket.id, change)

    routed(waiting, ["place"], "category: 物业 (rule); waits for a person: needs place",
           Loop.small)
    routed(placed, [], note, Loop.big)
    everything = client.get("/console/inbox", headers=HTML).text
    assert everything.count('class="badge needs"') == 1
    assert "待人工：地点" in everything
    only = client.get("/console/inbox?needs=1", headers=HTML)
    assert numbers_on(only.text) == [waiting.number]
    assert '<option value="1" selected>只看待人工</option>' in only.text
    bad = client.get("/console/inbox?needs=yes", headers=HTML)
    assert bad.status_code == 400 and "待人工筛选条件不正确" in bad.text

    page = client.get(f"/console/tickets/{waiting.number}", headers=HTML).text
    assert 'id="ticket-needs-badge">待人工：地点<' in page
    assert "自动分派" in page and "待人工确定：地点" in page
    assert "小循环" in page
    other = client.get(f"/console/tickets/{placed.number}", headers=HTML).text
    assert "ticket-needs-badge" not in other
    assert "地点：东四三条第一网格（网格二维码）" in other and "派往东四街道" in other
    assert "大循环" in other


# -- saving ---------------------------------------------------------------------------------

def test_saving_an_edit(client: TestClient, store: Store,
                        caplog: pytest.LogCaptureFixture) -> None:
    t = submit(store, "m1", "楼下井盖丢了", citizen=Citizen(phone=PHONE))
    page = client.get(f"/console/tickets/{t.number}", headers=HTML)
    caplog.set_level(logging.DEBUG)
    answer = client.post(f"/console/tickets/{t.number}", headers=HTML, follow_redirects=False,
                         data=form_of(t, csrf_of(page.text), text="东四三条12号井盖丢了\r\n很危险",
                                      kind="complaint", grid="DC-DS-0101",
                                      category="municipal.manhole", note="已提醒绕行"))
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/console/tickets/{t.number}?done=saved"
    saved = store.get(t.id)
    assert saved.text == "东四三条12号井盖丢了\n很危险" and saved.kind is Kind.complaint
    assert saved.category == "municipal.manhole"
    assert saved.location is not None and saved.location.street == "DS"
    entry = saved.history[-1]
    assert entry.actor == "operator:alice" and "note: 已提醒绕行" in (entry.note or "")
    assert store.feed(t.seq, 10)[-1].id == t.id  # the change is in the back-office feed
    after = client.get(answer.headers["location"], headers=HTML)
    assert "已保存" in after.text and "话务员 alice" in after.text
    assert PHONE not in caplog.text  # never logged whole
    # the same form again changes nothing
    again = client.post(f"/console/tickets/{t.number}", headers=HTML, follow_redirects=False,
                        data=form_of(saved, csrf_of(after.text)))
    assert again.headers["location"].endswith("?done=unchanged")
    assert store.get(t.id) == saved


def test_a_save_without_the_csrf_token_is_refused(client: TestClient, store: Store) -> None:
    t = submit(store, "m1")
    for token in ("", "forged-token"):
        answer = client.post(f"/console/tickets/{t.number}", headers=HTML,
                             data=form_of(t, token, text="改了"))
        assert answer.status_code == 403 and "刷新" in answer.text
    new = client.post("/console/tickets/new", headers=HTML,
                      data={"ref": str(uuid.uuid4()), "text": "路灯不亮", "kind": "help"})
    assert new.status_code == 403
    assert store.get(t.id) == t and store.current_seq() == t.seq


def test_a_stale_save_is_refused_and_the_page_says_reload(client: TestClient,
                                                         store: Store) -> None:
    t = submit(store, "m1", "路灯不亮")
    page = client.get(f"/console/tickets/{t.number}", headers=HTML)
    csrf = csrf_of(page.text)
    first = client.post(f"/console/tickets/{t.number}", headers=HTML, follow_redirects=False,
                        data=form_of(t, csrf, kind="complaint"))
    assert first.status_code == 303
    winner = store.get(t.id)
    stale = client.post(f"/console/tickets/{t.number}", headers=HTML,
                        data=form_of(t, csrf, text="我改的文字"))
    assert stale.status_code == 409
    assert "已被他人" in stale.text and "重新编辑" in stale.text
    assert store.get(t.id) == winner  # nothing overwritten
    # the page shows the ticket as it is now, and keeps what was typed
    assert f'name="seq" value="{winner.seq}"' in stale.text
    assert 'id="unsaved"' in stale.text and "我改的文字" in stale.text


def test_finished_tickets_are_locked(client: TestClient, store: Store) -> None:
    t = submit(store, "m1")
    kept = submit(store, "m2").id
    merged = store.change(t.id, lambda c, _s, _a: c.model_copy(
        update={"status": Status.merged, "merged_into": kept}))
    page = client.get(f"/console/tickets/{t.number}", headers=HTML)
    assert 'id="edit-save"' not in page.text and "不能再修改" in page.text
    answer = client.post(f"/console/tickets/{t.number}", headers=HTML,
                         data=form_of(merged, csrf_of(page.text), note="补充"))
    assert answer.status_code == 409 and "已合并" in answer.text
    assert store.get(t.id) == merged


@pytest.mark.parametrize(("over", "words", "status"), [
    ({"street": "NOPE"}, "街道：不在配置中", 422),
    ({"category": "no.such"}, "类别：不在配置中", 422),
    ({"grid": "DC-DS-0101", "street": "QM"}, "街道：与所选的其他地点不一致", 422),
    ({"text": "a\x01b"}, "诉求内容：含有不可见的控制字符", 422),
    ({"seq": "x"}, "页面数据（请刷新后重试）：不正确", 422),
])
def test_a_form_that_cannot_be_saved_comes_back_with_its_values(
        client: TestClient, store: Store, over: dict[str, str], words: str,
        status: int) -> None:
    t = submit(store, "m1")
    page = client.get(f"/console/tickets/{t.number}", headers=HTML)
    answer = client.post(f"/console/tickets/{t.number}", headers=HTML,
                         data=form_of(t, csrf_of(page.text), note="我写的备注", **over))
    assert answer.status_code == status
    assert words in answer.text and "我写的备注" in answer.text
    assert store.get(t.id) == t


# -- a new ticket ---------------------------------------------------------------------------

def test_a_new_ticket_for_a_call_answered_directly(client: TestClient, store: Store,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    page = client.get("/console/tickets/new", headers=HTML)
    ref = re.search(r'name="ref" value="([0-9a-f-]{36})"', page.text)
    assert page.status_code == 200 and ref is not None
    caplog.set_level(logging.DEBUG)
    data = {"csrf": csrf_of(page.text), "ref": ref.group(1), "phone": "138-0013-8000",
            "name": "", "kind": "complaint", "text": "小区门口占道经营", "address": "东四三条",
            "note": ""}
    answer = client.post("/console/tickets/new", headers=HTML, data=data,
                         follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"].endswith("?done=created")
    number = answer.headers["location"].split("/")[-1].split("?")[0]
    t = store.get(number)
    assert (t.channel, t.channel_ref) == (Channel.voice, f"console:{ref.group(1)}")
    assert t.citizen.phone == PHONE and t.kind is Kind.complaint
    assert t.history[-1].actor == "operator:alice"
    assert PHONE not in caplog.text
    # the form sent twice makes one ticket
    twice = client.post("/console/tickets/new", headers=HTML, data=data,
                        follow_redirects=False)
    assert twice.headers["location"].split("?")[0] == answer.headers["location"].split("?")[0]
    shown = client.get(answer.headers["location"], headers=HTML)
    assert "工单已创建" in shown.text


def test_a_new_ticket_form_that_cannot_be_saved(client: TestClient, store: Store) -> None:
    page = client.get("/console/tickets/new", headers=HTML)
    csrf = csrf_of(page.text)
    for data, words in (({"phone": "12345", "text": "路灯不亮"}, "来电号码"),
                        ({"phone": "", "text": "   "}, "诉求内容：不能为空"),
                        ({"ref": "not-a-uuid", "text": "路灯不亮"}, "表单编号")):
        answer = client.post("/console/tickets/new", headers=HTML,
                             data={"csrf": csrf, "ref": str(uuid.uuid4()), "kind": "help",
                                   **data})
        assert answer.status_code == 422 and words in answer.text
        if data["text"].strip():
            assert data["text"] in answer.text  # what was typed is kept
    assert store.current_seq() == 0


# -- media ----------------------------------------------------------------------------------

def test_recordings_and_photos_play_through_the_session_checked_route(
        client: TestClient, store: Store, tmp_path: Path) -> None:
    media_dir = settings(tmp_path).media_path
    wav = media.save_bytes(media_dir, WAV, "audio/wav")
    png = media.save_bytes(media_dir, PNG, "image/png")
    remote = Attachment(url="https://api.twilio.com/2010-04-01/Media/ME1",
                        content_type="image/jpeg")
    t = submit(store, "call-1", channel=Channel.voice, attachments=[wav, png, remote])
    page = client.get(f"/console/tickets/{t.number}", headers=HTML)
    wav_url = f"/console/media/{wav.sha256}.wav"
    png_url = f"/console/media/{png.sha256}.png"
    assert f'<audio controls preload="none" src="{wav_url}">' in page.text
    assert f'<img src="{png_url}"' in page.text
    assert "api.twilio.com" in page.text and 'src="https://api.twilio.com' not in page.text

    played = client.get(wav_url)
    assert played.status_code == 200 and played.content == WAV
    assert played.headers["content-type"] == "audio/wav"
    part = client.get(wav_url, headers={"Range": "bytes=0-11"})  # seeking in <audio>
    assert part.status_code == 206 and part.content == WAV[:12]
    assert client.get(png_url).content == PNG
    for name in (f"{'0' * 64}.wav", "..%2Fhotline.sqlite3", "x.wav"):
        assert client.get(f"/console/media/{name}").status_code == 404

    client.cookies.clear()
    assert client.get(wav_url).status_code == 401
    browser = client.get(wav_url, headers=HTML, follow_redirects=False)
    assert browser.status_code == 303
