"""``GET|POST /channels/wechat`` end to end over the real store (SQLite and PostgreSQL).

Requests are signed and encrypted with wechatpy (the official-library side of the protocol).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import defusedxml.ElementTree as SafeET
import httpx
import pytest
import xmltodict  # type: ignore[import-untyped]
from fastapi import FastAPI
from sqlalchemy import select
from starlette.testclient import TestClient
from wechatpy.crypto import WeChatCrypto, _get_signature

from channels.texts import texts
from channels.wechat.config import WechatConfig
from channels.wechat.demo import sample_request
from channels.wechat.route import PATH
from hotline.app import create_app
from tests.channels.wechat import samples as s
from tests.channels.wechat.conftest import AES_KEY, APP_ID, TOKEN, settings
from tests.support.intakes import intake
from tests.support.services import RedisServer
from tickets.events import TicketEvent, apply_event
from tickets.model import Kind, Status, Ticket
from tickets.store import Store
from tickets.tables import channel_state

Req = tuple[str, bytes]


def plain(body: bytes, token: str = TOKEN, ts: int | None = None) -> Req:
    now, nonce = str(ts or int(time.time())), secrets.token_hex(4)
    q = {"signature": _get_signature(token, now, nonce, ""), "timestamp": now, "nonce": nonce,
         "openid": s.OPENID}
    return f"{PATH}?{urlencode(q)}", body


def safe(body: bytes, extra_plain: bytes = b"") -> Req:
    now, nonce = str(int(time.time())), secrets.token_hex(4)
    sealed = WeChatCrypto(TOKEN, AES_KEY, APP_ID).encrypt_message(body.decode(), nonce, now)
    fields = xmltodict.parse(sealed)["xml"]
    envelope = (f"<xml><ToUserName><![CDATA[{s.ACCOUNT}]]></ToUserName>".encode() + extra_plain
                + f"<Encrypt><![CDATA[{fields['Encrypt']}]]></Encrypt></xml>".encode())
    q = {"signature": _get_signature(TOKEN, now, nonce, ""), "timestamp": now, "nonce": nonce,
         "openid": s.OPENID, "encrypt_type": "aes", "msg_signature": fields["MsgSignature"]}
    return f"{PATH}?{urlencode(q)}", envelope


def close(store: Store, ticket_id: str) -> None:
    for status in (Status.registered, Status.dispatched, Status.in_progress, Status.resolved,
                   Status.closed):
        event = TicketEvent(actor="test", status=status)

        def mutate(t: Ticket, seq: int, at: datetime, e: TicketEvent = event) -> Ticket | None:
            return apply_event(t, e, seq, at)

        store.change(ticket_id, mutate)


def post(client: TestClient, req: Req) -> Any:
    return client.post(req[0], content=req[1], headers={"Content-Type": "text/xml"})


def reply_content(r: Any) -> str:
    assert r.status_code == 200, r.text
    root = SafeET.fromstring(r.content)
    if root.find("Encrypt") is not None:
        fields = xmltodict.parse(r.text)["xml"]
        xml = WeChatCrypto(TOKEN, AES_KEY, APP_ID).decrypt_message(
            r.text, fields["MsgSignature"], fields["TimeStamp"], fields["Nonce"])
        root = SafeET.fromstring(xml.encode())
    assert root.findtext("MsgType") == "text"
    assert (root.findtext("ToUserName"), root.findtext("FromUserName")) == (s.OPENID, s.ACCOUNT)
    return str(root.findtext("Content"))


def error_code(r: Any, status: int) -> str:
    assert r.status_code == status, r.text
    return str(r.json()["error"]["code"])


# -- URL verification -------------------------------------------------------------------------

def test_url_verification_echoes(client: TestClient) -> None:
    path, _ = plain(b"")
    r = client.get(path + "&echostr=5837397520665285536")
    assert r.status_code == 200 and r.text == "5837397520665285536"
    assert r.headers["content-type"].startswith("text/plain")


def test_url_verification_refuses_wrong_token_and_stale_time(client: TestClient) -> None:
    path, _ = plain(b"", token="other-token")
    assert error_code(client.get(path + "&echostr=1"), 403) == "bad_signature"
    path, _ = plain(b"", ts=int(time.time()) - 301)
    assert error_code(client.get(path + "&echostr=1"), 403) == "bad_signature"
    assert error_code(client.get(PATH + "?echostr=1"), 403) == "bad_signature"


def test_unconfigured_channel_is_503(store: Store, tmp_path: Path) -> None:
    app = create_app(settings(tmp_path, wechat_token=None), store=store, redis_url="")
    with TestClient(app) as c:
        r = post(c, plain(s.TEXT))
        assert error_code(r, 503) == "channel_disabled"
        assert "HOTLINE_WECHAT_TOKEN" in r.json()["error"]["message"]
    assert store.feed(0, 10) == []


def test_safe_mode_without_aes_key_is_503(store: Store, tmp_path: Path) -> None:
    app = create_app(settings(tmp_path, wechat_aes_key=None), store=store, redis_url="")
    with TestClient(app) as c:
        r = post(c, safe(s.TEXT))
        assert "HOTLINE_WECHAT_AES_KEY" in r.json()["error"]["message"]
        assert "工单号" in reply_content(post(c, plain(s.TEXT)))
    assert len(store.feed(0, 10)) == 1


# -- messages ---------------------------------------------------------------------------------

def test_plaintext_text_becomes_a_ticket(client: TestClient, store: Store) -> None:
    text = reply_content(post(client, plain(s.TEXT)))
    [ticket] = store.feed(0, 10)
    assert f"工单号{ticket.number}" in text
    assert (ticket.channel_ref, ticket.citizen.wechat_openid) == ("24601", s.OPENID)
    assert reply_content(post(client, plain(s.TEXT))) == text
    assert len(store.feed(0, 10)) == 1


def test_safe_mode_round_trip(client: TestClient, store: Store) -> None:
    r = post(client, safe(s.TEXT))
    assert SafeET.fromstring(r.content).find("Encrypt") is not None
    text = reply_content(r)
    [ticket] = store.feed(0, 10)
    assert ticket.number in text and ticket.text == "小区东门路灯坏了三天了"


def test_demo_sample_requests(client: TestClient, store: Store, plain_config: WechatConfig,
                              safe_config: WechatConfig) -> None:
    for config, msg_id in ((plain_config, 1), (safe_config, 2)):
        path, headers, body = sample_request(config, "垃圾没人清运", f"oDemoOpenid00000{msg_id}",
                                             msg_id)
        r = client.post(path, content=body, headers=headers)
        assert r.status_code == 200, r.text
    assert sorted(t.channel_ref for t in store.feed(0, 10)) == ["1", "2"]


def test_compatible_mode_trusts_the_encrypted_part(client: TestClient, store: Store) -> None:
    decoy = b"<Content><![CDATA[unsigned decoy]]></Content>"
    text = reply_content(post(client, safe(s.TEXT, extra_plain=decoy)))
    [ticket] = store.feed(0, 10)
    assert ticket.number in text and ticket.text == "小区东门路灯坏了三天了"


def test_changed_byte_in_safe_mode_body_is_refused(client: TestClient, store: Store) -> None:
    path, body = safe(s.TEXT)
    start = body.index(b"<Encrypt><![CDATA[") + 30
    forged = body[:start] + (b"A" if body[start:start + 1] != b"A" else b"B") + body[start + 1:]
    assert error_code(post(client, (path, forged)), 403) == "bad_signature"
    assert store.feed(0, 10) == []


def test_wrong_token_and_stale_timestamp_are_refused(client: TestClient, store: Store) -> None:
    assert error_code(post(client, plain(s.TEXT, token="nope")), 403) == "bad_signature"
    assert error_code(post(client, plain(s.TEXT, ts=int(time.time()) - 3600)), 403)
    assert error_code(post(client, (PATH, s.TEXT)), 403) == "bad_signature"
    assert store.feed(0, 10) == []


@pytest.mark.parametrize("body", [s.XXE, s.EXTERNAL_DTD, s.BILLION_LAUGHS],
                         ids=["xxe", "external-dtd", "billion-laughs"])
def test_hostile_xml_is_400_plain_and_encrypted(client: TestClient, store: Store,
                                                body: bytes) -> None:
    assert error_code(post(client, plain(body)), 400) == "bad_xml"
    assert error_code(post(client, safe(body)), 400) == "bad_xml"
    assert store.feed(0, 10) == []


@pytest.mark.parametrize("name", ["TEXT", "IMAGE", "VOICE", "VOICE_NO_RECOGNITION", "LOCATION",
                                  "LINK", "VIDEO", "SHORTVIDEO", "UNKNOWN", "UNKNOWN_NO_ID"])
def test_every_message_type_gets_a_ticket_number(client: TestClient, store: Store,
                                                 name: str) -> None:
    text = reply_content(post(client, plain(getattr(s, name))))
    [ticket] = store.feed(0, 10)
    assert ticket.number in text and ticket.kind is Kind.unknown


@pytest.mark.parametrize("name", ["UNSUBSCRIBE", "VIEW", "LOCATION_EVENT"])
def test_quiet_events_answer_success(client: TestClient, store: Store, name: str) -> None:
    r = post(client, plain(getattr(s, name)))
    assert (r.status_code, r.text) == (200, "success")
    assert store.feed(0, 10) == []


def test_subscribe_gets_the_welcome(client: TestClient, store: Store) -> None:
    assert "欢迎关注96010" in reply_content(post(client, safe(s.SUBSCRIBE)))
    assert store.feed(0, 10) == []


def test_location_event_is_used_for_the_next_report(client: TestClient, store: Store) -> None:
    post(client, plain(s.LOCATION_EVENT))
    with store.db.read() as conn:
        [row] = conn.execute(select(channel_state)).all()
    assert (row.channel, row.key, row.value["location"]["lat"]) == ("wechat", s.OPENID, 39.928211)
    reply_content(post(client, plain(s.TEXT)))
    [ticket] = store.feed(0, 10)
    assert ticket.location is not None
    assert (ticket.location.lat, ticket.location.lon) == (39.928211, 116.416352)


def test_menu_kind_then_report_and_progress(client: TestClient, store: Store) -> None:
    assert "没有工单" in reply_content(post(client, plain(s.CLICK_PROGRESS)))
    assert "投诉" in reply_content(post(client, plain(s.CLICK_COMPLAINT)))
    ack = reply_content(post(client, plain(s.TEXT)))
    [ticket] = store.feed(0, 10)
    assert ticket.kind is Kind.complaint and f"您的投诉已受理，工单号{ticket.number}" in ack
    progress = reply_content(post(client, plain(s.CLICK_PROGRESS)))
    assert ticket.number in progress and "已受理" in progress


def test_progress_of_a_merged_ticket_tells_about_the_survivor(
        client: TestClient, store: Store) -> None:
    reply_content(post(client, plain(s.TEXT)))
    [mine] = store.feed(0, 10)
    kept = store.submit(intake("merge-survivor", "同一个路灯坏了")).ticket
    for ticket_id, event in (
            (kept.id, TicketEvent(actor="test", status=Status.registered)),
            (kept.id, TicketEvent(actor="test", status=Status.dispatched)),
            (kept.id, TicketEvent(actor="test", status=Status.in_progress)),
            (mine.id, TicketEvent(actor="test", status=Status.merged, merged_into=kept.id))):
        def mutate(t: Ticket, seq: int, at: datetime, e: TicketEvent = event) -> Ticket | None:
            return apply_event(t, e, seq, at)

        store.change(ticket_id, mutate)
    progress = reply_content(post(client, plain(s.CLICK_PROGRESS)))
    assert progress == (f"您最近的工单{mine.number}：已与其他工单合并办理。"
                        f"合并后的工单{kept.number}：正在办理。")


def test_rating_after_closure(client: TestClient, store: Store) -> None:
    reply_content(post(client, plain(s.TEXT)))
    [ticket] = store.feed(0, 10)
    close(store, ticket.id)
    assert "评分" in reply_content(post(client, plain(s.CLICK_PROGRESS)))
    rating = s.xml(int(time.time()), "text", "<Content><![CDATA[4]]></Content>", 24700)
    assert "4分" in reply_content(post(client, plain(rating)))
    final = store.get(ticket.id)
    assert final.status is Status.evaluated and final.evaluation is not None
    assert final.evaluation.score == 4


@pytest.mark.parametrize("mode", ["plain", "safe"])
def test_same_message_three_times_concurrently_is_one_ticket(
        store: Store, tmp_path: Path, mode: str) -> None:
    app = create_app(settings(tmp_path), store=store, redis_url="")
    path, body = plain(s.TEXT) if mode == "plain" else safe(s.TEXT)

    async def deliver_three_times() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gw") as c:
            return list(await asyncio.gather(*(c.post(path, content=body) for _ in range(3))))

    replies = {reply_content(r) for r in asyncio.run(deliver_three_times())}
    [ticket] = store.feed(0, 10)
    assert len(replies) == 1 and ticket.number in replies.pop()


# -- hostile values from outside (issue 9, item 4) --------------------------------------------

def signed_query(ts: str, token: str = TOKEN, **extra: str) -> str:
    nonce = secrets.token_hex(4)
    q = {"signature": _get_signature(token, ts, nonce, ""), "timestamp": ts, "nonce": nonce,
         "openid": s.OPENID, **extra}
    return f"{PATH}?{urlencode(q)}"


ABSURD_TIMESTAMPS = ["9" * 13, "9" * 309, "9" * 4301, "²"]


@pytest.mark.parametrize("ts", ABSURD_TIMESTAMPS,
                         ids=["13-digits", "309-digits", "4301-digits", "superscript"])
def test_absurd_timestamps_are_a_json_403_not_a_500(client: TestClient, store: Store,
                                                    ts: str) -> None:
    """Before: int() of the timestamp before the signature check → OverflowError (309+
    digits) or ValueError (4,301+) → 500, for anyone who can reach the URL."""
    for r in (client.get(signed_query(ts) + "&echostr=1"),
              client.post(signed_query(ts), content=s.TEXT),
              client.post(signed_query(ts, encrypt_type="aes", msg_signature="0" * 40),
                          content=s.TEXT)):
        assert r.headers["content-type"].startswith("application/json")
        assert error_code(r, 403) == "bad_signature"
        assert "timestamp" in r.json()["error"]["message"]
    assert store.feed(0, 10) == []


@pytest.mark.parametrize("create_time", ["253402300800", "999999999999", "9" * 400])
@pytest.mark.parametrize("mode", ["plain", "safe"])
def test_create_time_past_the_year_9999_is_400(client: TestClient, store: Store,
                                               create_time: str, mode: str) -> None:
    """A correctly signed push whose CreateTime is past 9999-12-31: 400, not a 500."""
    body = s.TEXT.replace(str(s.T).encode(), create_time.encode())
    req = plain(body) if mode == "plain" else safe(body)
    r = post(client, req)
    assert error_code(r, 400) == "bad_xml" and "CreateTime" in r.json()["error"]["message"]
    assert store.feed(0, 10) == []


@pytest.mark.parametrize("precision", ["nan", "NaN", "inf", "-inf"])
def test_a_location_event_with_nan_precision_is_400_on_either_database(
        client: TestClient, store: Store, precision: str) -> None:
    """Before: NaN was remembered in channel_state (JSON): a 500 on PostgreSQL, and a value
    no JSON reader takes on SQLite."""
    bad = s.LOCATION_EVENT.replace(b"30.000000", precision.encode())
    assert error_code(post(client, plain(bad)), 400) == "bad_xml"
    with store.db.read() as conn:
        assert conn.execute(select(channel_state)).all() == []
    r = post(client, plain(s.LOCATION_EVENT))  # a sane one is still remembered
    assert (r.status_code, r.text) == (200, "success")
    with store.db.read() as conn:
        [row] = conn.execute(select(channel_state)).all()
    assert row.value["location"]["precision"] == 30.0


# -- the account's mode: no downgrade (issue 9, item 11) --------------------------------------

def test_safe_mode_is_the_default_with_a_key_and_refuses_plaintext(
        store: Store, tmp_path: Path) -> None:
    app = create_app(settings(tmp_path, wechat_mode=None), store=store, redis_url="")
    with TestClient(app) as c:
        forged = s.TEXT.replace(s.OPENID.encode(), b"oForgedOpenid0000000000000000")
        r = post(c, plain(forged))
        assert error_code(r, 403) == "wrong_mode"
        assert "safe" in r.json()["error"]["message"]
        assert store.feed(0, 10) == []
        assert "工单号" in reply_content(post(c, safe(s.TEXT)))
        # WeChat's URL verification is a plain GET in every mode
        path, _ = plain(b"")
        assert c.get(path + "&echostr=42").text == "42"
    [ticket] = store.feed(0, 10)
    assert ticket.citizen.wechat_openid == s.OPENID


def test_compatible_mode_takes_both(store: Store, tmp_path: Path) -> None:
    app = create_app(settings(tmp_path, wechat_mode="compatible"), store=store, redis_url="")
    with TestClient(app) as c:
        assert "工单号" in reply_content(post(c, plain(s.TEXT)))
        r = post(c, safe(s.IMAGE.replace(s.OPENID.encode(), b"oAnotherResident000000000000")))
        assert r.status_code == 200 and SafeET.fromstring(r.content).find("Encrypt") is not None
    assert sorted(t.channel_ref for t in store.feed(0, 10)) == ["24601", "24602"]


@pytest.mark.parametrize("key", [AES_KEY, None], ids=["key-set", "no-key"])
def test_plain_mode_refuses_encrypted_pushes(store: Store, tmp_path: Path,
                                             key: str | None) -> None:
    """Plain mode: set explicitly (a key may stay configured), or the default without a key."""
    mode = "plain" if key else None
    app = create_app(settings(tmp_path, wechat_mode=mode, wechat_aes_key=key), store=store,
                     redis_url="")
    with TestClient(app) as c:
        assert error_code(post(c, safe(s.TEXT)), 403) == "wrong_mode"
        assert store.feed(0, 10) == []
        assert "工单号" in reply_content(post(c, plain(s.TEXT)))
    assert len(store.feed(0, 10)) == 1


def test_safe_mode_without_a_key_says_what_is_missing(store: Store, tmp_path: Path) -> None:
    app = create_app(settings(tmp_path, wechat_mode="safe", wechat_aes_key=None), store=store,
                     redis_url="")
    with TestClient(app) as c:
        r = post(c, safe(s.TEXT))
        assert error_code(r, 503) == "channel_disabled"
        assert "HOTLINE_WECHAT_AES_KEY" in r.json()["error"]["message"]
        assert error_code(post(c, plain(s.TEXT)), 403) == "wrong_mode"
    assert store.feed(0, 10) == []


# -- replayed signatures (issue 9, item 11) ---------------------------------------------------

FORGED = s.TEXT.replace(s.OPENID.encode(), b"oForgedOpenid0000000000000000").replace(
    b"24601", b"24699").replace("小区东门路灯坏了三天了".encode(), "伪造的诉求".encode())


def test_a_signed_url_reused_with_another_body_is_refused(client: TestClient,
                                                          store: Store) -> None:
    path, body = plain(s.TEXT)
    first = reply_content(post(client, (path, body)))
    r = post(client, (path, FORGED))
    assert error_code(r, 403) == "replayed"
    assert store.find_by_ref("wechat", "24699") is None
    # WeChat's own retry (same URL, same body) is answered with the same ticket
    assert reply_content(post(client, (path, body))) == first
    [ticket] = store.feed(0, 10)
    assert ticket.citizen.wechat_openid == s.OPENID


def test_a_replay_in_safe_mode_is_refused(client: TestClient, store: Store) -> None:
    path, body = safe(s.TEXT)
    first = reply_content(post(client, (path, body)))
    _, other = safe(FORGED)  # a validly encrypted body, under another URL's signature
    assert error_code(post(client, (path, other)), 403) in {"replayed", "bad_signature"}
    assert reply_content(post(client, (path, body))) == first
    assert len(store.feed(0, 10)) == 1


def test_two_gateway_processes_share_the_replay_memory_through_redis(
        store: Store, tmp_path: Path, redis_server: RedisServer) -> None:
    one = create_app(settings(tmp_path), store=store, redis_url=redis_server.url)
    two = create_app(settings(tmp_path), store=store, redis_url=redis_server.url)
    path, body = plain(s.TEXT)
    with TestClient(one) as a, TestClient(two) as b:
        first = reply_content(post(a, (path, body)))
        assert error_code(post(b, (path, FORGED)), 403) == "replayed"
        assert reply_content(post(b, (path, body))) == first
        for c, app in ((a, one), (b, two)):
            assert c.portal is not None
            c.portal.call(_close_limiter, app)
    assert [t.channel_ref for t in store.feed(0, 10)] == ["24601"]


async def _close_limiter(app: FastAPI) -> None:
    """The rate limiter has no close() and the app's shutdown leaves its Redis connections
    open (reported): close them on the app's own loop, or they leak into later tests."""
    limiter: Any = app.state.limiter
    await limiter._strategy.storage.bridge.storage.aclose()


# -- no openid in refs or logs (issue 9, item 12) ---------------------------------------------

def test_a_push_without_msg_id_gets_a_ref_without_the_openid(
        client: TestClient, store: Store, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    reply_content(post(client, plain(s.UNKNOWN_NO_ID)))
    [ticket] = store.feed(0, 10)
    assert ticket.channel_ref.startswith("hologram:") and s.OPENID not in ticket.channel_ref
    ours = [r for r in caplog.records if not r.name.startswith(("httpx", "httpcore"))]
    assert ours and all(s.OPENID not in r.getMessage() for r in ours)


# -- per-sender rate limit (issue 9, item 2) --------------------------------------------------

def test_the_eleventh_report_in_a_minute_gets_the_polite_reply(client: TestClient,
                                                               store: Store) -> None:
    now = int(time.time())
    for i in range(10):
        text = s.xml(now, "text", f"<Content><![CDATA[第{i}条]]></Content>", 25000 + i)
        assert "工单" in reply_content(post(client, plain(text)))
    eleventh = s.xml(now, "text", "<Content><![CDATA[第11条]]></Content>", 25010)
    assert reply_content(post(client, plain(eleventh))) == texts().wechat.rate_limited
    assert store.find_by_ref("wechat", "25010") is None
    [ticket] = store.feed(0, 10)
    assert "第11条" not in ticket.text
    # the menu still answers, and another resident is not affected
    assert ticket.number in reply_content(post(client, plain(s.CLICK_PROGRESS)))
    other = s.TEXT.replace(s.OPENID.encode(), b"oAnotherResident000000000000")
    r = post(client, plain(other))
    assert r.status_code == 200 and "工单号" in SafeET.fromstring(r.content).findtext("Content", "")
    assert len(store.feed(0, 10)) == 2


@pytest.mark.parametrize("streamed", [True, False], ids=["streamed", "content-length"])
def test_an_oversized_push_is_413_without_a_traceback(
        store: Store, tmp_path: Path, caplog: pytest.LogCaptureFixture, streamed: bool) -> None:
    """The same class as the oversized SMS (issue 9, item 13): the body limit's refusal
    reaches the route as a client that went away, which must not log an ERROR."""
    app = create_app(settings(tmp_path), store=store, redis_url="")
    body = s.xml(int(time.time()), "text",
                 "<Content><![CDATA[" + "井" * 400_000 + "]]></Content>", 26000)
    assert len(body) > settings(tmp_path).max_body_bytes
    path, _ = plain(b"")

    async def send() -> httpx.Response:
        async def chunks() -> AsyncIterator[bytes]:
            for start in range(0, len(body), 65_536):
                yield body[start:start + 65_536]

        transport = httpx.ASGITransport(app=app)  # app exceptions are raised, not hidden
        async with httpx.AsyncClient(transport=transport, base_url="http://gw") as c:
            return await c.post(path, content=chunks() if streamed else body,
                                headers={"content-type": "text/xml"})

    caplog.set_level(logging.INFO)
    r = asyncio.run(send())
    assert error_code(r, 413) == "payload_too_large"
    assert [rec.getMessage() for rec in caplog.records if rec.levelno >= logging.ERROR] == []
    assert store.feed(0, 10) == []
