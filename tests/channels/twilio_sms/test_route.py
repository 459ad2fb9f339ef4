"""``POST /channels/twilio/sms`` end to end over the real store (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import defusedxml.ElementTree as SafeET
import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from starlette.testclient import TestClient

from channels.texts import texts
from channels.twilio_sms.config import TwilioConfig
from channels.twilio_sms.demo import sample_request
from channels.twilio_sms.verify import PATH, sign, signed_url
from hotline.app import create_app
from tests.channels.twilio_sms.conftest import PUBLIC_URL, settings
from tests.support.services import RedisServer
from tickets.store import Store
from tickets.tables import outbox

PHONE = "+8613912345678"


def message_text(r: Any) -> str:
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/xml")
    root = SafeET.fromstring(r.content)
    assert root.tag == "Response"
    return str(root.findtext("Message"))


def error(r: Any, status: int) -> dict[str, Any]:
    assert r.status_code == status, r.text
    body: dict[str, Any] = r.json()["error"]
    return body


def test_signed_message_becomes_a_ticket(client: TestClient, store: Store,
                                         twilio_config: TwilioConfig) -> None:
    path, headers, form = sample_request(twilio_config, "路灯不亮了", "13912345678", "SM100")
    text = message_text(client.post(path, data=form, headers=headers))
    [ticket] = store.feed(0, 10)
    assert f"工单号{ticket.number}" in text and "96010" in text
    assert (ticket.channel_ref, ticket.text, ticket.citizen.phone) == ("SM100", "路灯不亮了", PHONE)
    again = message_text(client.post(path, data=form, headers=headers))
    assert again == text
    assert len(store.feed(0, 10)) == 1


def test_one_changed_byte_is_refused_and_nothing_stored(client: TestClient, store: Store,
                                                        twilio_config: TwilioConfig) -> None:
    path, headers, form = sample_request(twilio_config, "路灯不亮了", PHONE, "SM101")
    forged = {**form, "Body": "路灯不亮了!"}
    assert error(client.post(path, data=forged, headers=headers), 403)["code"] == "bad_signature"
    assert error(client.post(path, data=form), 403)["message"]
    assert store.feed(0, 10) == []


def test_wrong_token_is_refused(client: TestClient, store: Store) -> None:
    other = TwilioConfig(auth_token="another-token-000", public_url=PUBLIC_URL)
    path, headers, form = sample_request(other, "hi", PHONE, "SM102")
    error(client.post(path, data=form, headers=headers), 403)
    assert store.feed(0, 10) == []


def test_signature_over_the_request_url_is_refused(client: TestClient, store: Store,
                                                   twilio_config: TwilioConfig) -> None:
    """Only the configured public URL counts, never the URL the request arrived on."""
    _, _, form = sample_request(twilio_config, "hi", PHONE, "SM103")
    assert twilio_config.auth_token
    own_url = sign(twilio_config.auth_token, "http://testserver" + PATH, form)
    error(client.post(PATH, data=form, headers={"X-Twilio-Signature": own_url}), 403)
    assert store.feed(0, 10) == []


def test_query_string_is_part_of_the_signed_url(client: TestClient, store: Store,
                                                twilio_config: TwilioConfig) -> None:
    _, _, form = sample_request(twilio_config, "hi", PHONE, "SM104")
    assert twilio_config.auth_token
    sig = sign(twilio_config.auth_token, signed_url(PUBLIC_URL, PATH, "src=cn"), form)
    message_text(client.post(PATH + "?src=cn", data=form, headers={"X-Twilio-Signature": sig}))
    error(client.post(PATH + "?src=us", data=form, headers={"X-Twilio-Signature": sig}), 403)
    assert len(store.feed(0, 10)) == 1


def test_signed_but_malformed_form_is_400(client: TestClient, store: Store,
                                          twilio_config: TwilioConfig) -> None:
    assert twilio_config.auth_token
    form = {"From": PHONE, "Body": "no sid"}
    sig = sign(twilio_config.auth_token, signed_url(PUBLIC_URL), form)
    assert "MessageSid" in error(client.post(PATH, data=form,
                                             headers={"X-Twilio-Signature": sig}), 400)["message"]
    assert store.feed(0, 10) == []


def test_empty_message_is_answered_but_not_stored(client: TestClient, store: Store,
                                                  twilio_config: TwilioConfig) -> None:
    path, headers, form = sample_request(twilio_config, "", PHONE, "SM105")
    assert "请直接发送" in message_text(client.post(path, data=form, headers=headers))
    assert store.feed(0, 10) == []


def test_unconfigured_channel_is_503(store: Store, tmp_path: Path,
                                     twilio_config: TwilioConfig) -> None:
    app = create_app(settings(tmp_path, twilio_auth_token=None), store=store, redis_url="")
    path, headers, form = sample_request(twilio_config, "hi", PHONE, "SM106")
    with TestClient(app) as c:
        err = error(c.post(path, data=form, headers=headers), 503)
    assert "HOTLINE_TWILIO_AUTH_TOKEN" in err["message"]
    assert store.feed(0, 10) == []


def test_mms_keeps_media_urls_and_queues_fetch_jobs(client: TestClient, store: Store,
                                                    twilio_config: TwilioConfig) -> None:
    assert twilio_config.auth_token
    base = "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/"
    form = {"MessageSid": "MM1", "From": PHONE, "To": "+861065529601", "Body": "",
            "NumMedia": "2", "MediaUrl0": base + "ME1", "MediaContentType0": "image/jpeg",
            "MediaUrl1": base + "ME2", "MediaContentType1": "image/png"}
    sig = sign(twilio_config.auth_token, signed_url(PUBLIC_URL), form)
    text = message_text(client.post(PATH, data=form, headers={"X-Twilio-Signature": sig}))
    [ticket] = store.feed(0, 10)
    assert ticket.number in text
    assert [(a.url, a.content_type) for a in ticket.attachments] == [
        (base + "ME1", "image/jpeg"), (base + "ME2", "image/png")]
    with store.db.read() as conn:
        rows = conn.execute(select(outbox.c.queue, outbox.c.job, outbox.c.args)
                            .where(outbox.c.queue == "media").order_by(outbox.c.id)).all()
    # the job path is derived from the function; it is what RQ imports in the worker
    fetch = "channels.twilio_sms.media.fetch_twilio_media"
    assert [(r.job, r.args) for r in rows] == [
        (fetch, [ticket.id, base + "ME1", "image/jpeg"]),
        (fetch, [ticket.id, base + "ME2", "image/png"]),
    ]


def test_second_message_within_half_an_hour_is_a_follow_up(
        client: TestClient, store: Store, twilio_config: TwilioConfig) -> None:
    path, headers, form = sample_request(twilio_config, "楼道灯坏了", PHONE, "SM110")
    first = message_text(client.post(path, data=form, headers=headers))
    path, headers, form = sample_request(twilio_config, "在5号楼2单元", PHONE, "SM111")
    second = message_text(client.post(path, data=form, headers=headers))
    [ticket] = store.feed(0, 10)
    assert f"工单号{ticket.number}" in first and f"并入工单{ticket.number}" in second
    assert ticket.text == "楼道灯坏了\n在5号楼2单元"


def test_same_message_three_times_concurrently_is_one_ticket(
        store: Store, tmp_path: Path, twilio_config: TwilioConfig) -> None:
    app = create_app(settings(tmp_path), store=store, redis_url="")
    path, headers, form = sample_request(twilio_config, "井盖丢了", PHONE, "SM120")

    async def deliver_three_times() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gw") as c:
            return list(await asyncio.gather(
                *(c.post(path, data=form, headers=headers) for _ in range(3))))

    replies = {message_text(r) for r in asyncio.run(deliver_three_times())}
    [ticket] = store.feed(0, 10)
    assert replies == {f"您的诉求已受理，工单号{ticket.number}。查询办理进度请拨打96010按9。"}


# -- an oversized SMS (issue 9, item 13) ------------------------------------------------------

async def _post_big(app: FastAPI, path: str, body: bytes, headers: dict[str, str],
                    streamed: bool) -> httpx.Response:
    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted as it comes
        for start in range(0, len(body), 65_536):
            yield body[start:start + 65_536]

    transport = httpx.ASGITransport(app=app)  # app exceptions are raised, not hidden
    async with httpx.AsyncClient(transport=transport, base_url="http://gw") as c:
        return await c.post(path, content=chunks() if streamed else body, headers=headers)


@pytest.mark.parametrize("streamed", [True, False], ids=["streamed", "content-length"])
def test_an_oversized_sms_is_413_without_a_traceback(
        store: Store, tmp_path: Path, twilio_config: TwilioConfig,
        caplog: pytest.LogCaptureFixture, streamed: bool) -> None:
    """A body over HOTLINE_MAX_BODY_BYTES is refused with the JSON 413; the route sees the
    refusal as a client that went away and says nothing (no ERROR, no traceback)."""
    app_settings = settings(tmp_path)
    big = "井" * (app_settings.max_body_bytes // 3 + 1)  # 3 bytes each in UTF-8
    path, headers, form = sample_request(twilio_config, big, PHONE, "SM130")
    body = urlencode(form).encode()
    assert len(body) > app_settings.max_body_bytes
    headers = {**headers, "content-type": "application/x-www-form-urlencoded"}
    app = create_app(app_settings, store=store, redis_url="")
    caplog.set_level(logging.INFO)
    r = asyncio.run(_post_big(app, path, body, headers, streamed))
    assert error(r, 413)["code"] == "payload_too_large"
    assert [rec.getMessage() for rec in caplog.records if rec.levelno >= logging.ERROR] == []
    assert all(rec.exc_info is None for rec in caplog.records)
    assert store.feed(0, 10) == []


# -- per-sender rate limits (issue 9, items 1 and 2) ------------------------------------------

def _send(c: TestClient, config: TwilioConfig, sender: str, sid: str,
          body: str = "楼道灯坏了") -> str:
    path, headers, form = sample_request(config, body, sender, sid)
    return message_text(c.post(path, data=form, headers=headers))


def test_the_eleventh_sms_in_a_minute_gets_the_polite_reply_and_no_ticket(
        client: TestClient, store: Store, twilio_config: TwilioConfig) -> None:
    """Default HOTLINE_RATE_LIMIT_SENDER: 10 a minute per number."""
    replies = [_send(client, twilio_config, PHONE, f"SM2{i:02d}", f"第{i}条") for i in range(10)]
    assert all("工单" in r for r in replies)
    [ticket] = store.feed(0, 10)  # one ticket, nine follow-ups
    limited = _send(client, twilio_config, PHONE, "SM211", "第11条")
    assert limited == texts().sms.rate_limited
    assert store.find_by_ref("sms", "SM211") is None
    assert "第11条" not in store.get(ticket.id).text
    assert "sms:SM211" not in [h.event_id for h in store.get(ticket.id).history]
    # another resident is not affected
    other = _send(client, twilio_config, "+8613800138000", "SM212", "井盖丢了")
    assert store.find_by_ref("sms", "SM212") is not None and "工单号" in other
    assert len(store.feed(0, 10)) == 2


async def _close_limiter(app: FastAPI) -> None:
    """The rate limiter has no close() and the app's shutdown leaves its Redis connections
    open (reported): close them on the app's own loop, or they leak into later tests."""
    storage: Any = app.state.limiter._strategy.storage
    await storage.bridge.storage.aclose()


def test_two_gateway_processes_share_the_sender_limit_through_redis(
        store: Store, tmp_path: Path, twilio_config: TwilioConfig,
        redis_server: RedisServer) -> None:
    """Two app instances (as two ``serve`` processes) over one Redis: each sees half of the
    messages, yet together they refuse the 11th."""
    one = create_app(settings(tmp_path), store=store, redis_url=redis_server.url)
    two = create_app(settings(tmp_path), store=store, redis_url=redis_server.url)
    with TestClient(one) as a, TestClient(two) as b:
        for i in range(10):
            reply = _send((a, b)[i % 2], twilio_config, PHONE, f"SM3{i:02d}", f"第{i}条")
            assert "工单" in reply
        assert _send(a, twilio_config, PHONE, "SM311") == texts().sms.rate_limited
        assert _send(b, twilio_config, PHONE, "SM312") == texts().sms.rate_limited
        assert "工单号" in _send(b, twilio_config, "+8613800138000", "SM313")
        for client, app in ((a, one), (b, two)):
            assert client.portal is not None
            client.portal.call(_close_limiter, app)
    assert store.find_by_ref("sms", "SM311") is None and store.find_by_ref("sms", "SM312") is None
    assert store.find_by_ref("sms", "SM313") is not None


def test_rate_limits_can_be_switched_off(store: Store, tmp_path: Path,
                                         twilio_config: TwilioConfig) -> None:
    app = create_app(settings(tmp_path, rate_limits=False), store=store, redis_url="")
    with TestClient(app) as c:
        for i in range(12):
            assert "工单" in _send(c, twilio_config, PHONE, f"SM4{i:02d}")
    [ticket] = store.feed(0, 10)
    assert [h.event_id for h in ticket.history][-1] == "sms:SM411"
