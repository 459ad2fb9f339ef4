"""``POST /channels/twilio/sms`` end to end over the real store (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import defusedxml.ElementTree as SafeET
import httpx
from sqlalchemy import select
from starlette.testclient import TestClient

from channels.http import TwilioConfig
from channels.media_jobs import FETCH_JOB
from channels.twilio_sms.demo import sample_request
from channels.twilio_sms.verify import PATH, sign, signed_url
from hotline.app import create_app
from router.store import Store
from router.tables import outbox
from tests.channels.twilio_sms.conftest import PUBLIC_URL, settings

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
    app = create_app(settings(tmp_path, twilio_auth_token=None), store=store, migrate=False)
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
    assert [(r.job, r.args) for r in rows] == [
        (FETCH_JOB, ["MM1", base + "ME1", "image/jpeg", ""]),
        (FETCH_JOB, ["MM1", base + "ME2", "image/png", ""]),
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
    app = create_app(settings(tmp_path), store=store, migrate=False)
    path, headers, form = sample_request(twilio_config, "井盖丢了", PHONE, "SM120")

    async def deliver_three_times() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gw") as c:
            return list(await asyncio.gather(
                *(c.post(path, data=form, headers=headers) for _ in range(3))))

    replies = {message_text(r) for r in asyncio.run(deliver_three_times())}
    [ticket] = store.feed(0, 10)
    assert replies == {f"您的诉求已受理，工单号{ticket.number}。查询办理进度请拨打96010按9。"}
