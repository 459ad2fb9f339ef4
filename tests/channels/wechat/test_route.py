"""``GET|POST /channels/wechat`` end to end over the real store (SQLite and PostgreSQL).

Requests are signed and encrypted with wechatpy (the official-library side of the protocol).
"""

from __future__ import annotations

import asyncio
import secrets
import time
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import defusedxml.ElementTree as SafeET
import httpx
import pytest
import xmltodict  # type: ignore[import-untyped]
from sqlalchemy import select
from starlette.testclient import TestClient
from wechatpy.crypto import WeChatCrypto, _get_signature

from channels.http import WechatConfig
from channels.wechat.demo import sample_request
from channels.wechat.route import PATH
from hotline.app import create_app
from router.events import TicketEvent, apply_event
from router.model import Kind, Status, Ticket
from router.store import Store
from router.tables import channel_state
from tests.channels.wechat import samples as s
from tests.channels.wechat.conftest import AES_KEY, APP_ID, TOKEN, settings

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
    app = create_app(settings(tmp_path, wechat_token=None), store=store, migrate=False)
    with TestClient(app) as c:
        r = post(c, plain(s.TEXT))
        assert error_code(r, 503) == "channel_disabled"
        assert "HOTLINE_WECHAT_TOKEN" in r.json()["error"]["message"]
    assert store.feed(0, 10) == []


def test_safe_mode_without_aes_key_is_503(store: Store, tmp_path: Path) -> None:
    app = create_app(settings(tmp_path, wechat_aes_key=None), store=store, migrate=False)
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
    app = create_app(settings(tmp_path), store=store, migrate=False)
    path, body = plain(s.TEXT) if mode == "plain" else safe(s.TEXT)

    async def deliver_three_times() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gw") as c:
            return list(await asyncio.gather(*(c.post(path, content=body) for _ in range(3))))

    replies = {reply_content(r) for r in asyncio.run(deliver_three_times())}
    [ticket] = store.feed(0, 10)
    assert len(replies) == 1 and ticket.number in replies.pop()
