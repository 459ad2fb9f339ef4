"""Every text channel answers before its provider's deadline while the store is stalled (an
SQLite write lock held by another connection): the message goes durably to the fallback spool,
the resident reads "已收到，工单号稍后发送", and once the store answers again the ingester,
the stalled request and the provider's retry together make exactly one ticket."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import defusedxml.ElementTree as SafeET
import pytest
from starlette.testclient import TestClient

from channels.deadline import DELAYED
from channels.notify import compose
from channels.spooled import NUMBER_SENT_LATER, file_spooled, tell_number
from channels.twilio_sms.config import TwilioConfig
from channels.twilio_sms.demo import sample_request as sms_request
from channels.wechat.config import WechatConfig
from channels.wechat.demo import sample_request as wechat_request
from hotline.app import create_app
from hotline.settings import Settings
from ivr.spool.format import scan
from ivr.spool.ingest import ingest_once
from tests.support.intakes import intake
from tests.support.services import wait_until
from tests.support.stall import Stall
from tickets import notifications as nt
from tickets.admission import INTAKES
from tickets.model import Channel, Citizen
from tickets.store import Store

PUBLIC_URL = "https://hotline.example.gov.cn"
TWILIO = TwilioConfig(account_sid="AC" + "1" * 32,
                      auth_token="f3e4d5c6b7a8f3e4d5c6b7a8f3e4d5c6", public_url=PUBLIC_URL)
WECHAT = WechatConfig(token="wx7f3a9c1e5d2b8e4a6c0f1a")
OPENID = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"
HTML = {"accept": "text/html,application/xhtml+xml"}
DEADLINE = 1.0


@pytest.fixture
def gateway(sqlite_store: Store, tmp_path: Path) -> Iterator[tuple[TestClient, Settings]]:
    settings = Settings(
        _env_file=None, env="development", data_dir=tmp_path / "data", public_url=PUBLIC_URL,
        twilio_account_sid=TWILIO.account_sid, twilio_auth_token=TWILIO.auth_token,
        wechat_token=WECHAT.token, web_secret="web-secret-for-tests-0123456789abcdef",
        sms_deadline=DEADLINE, wechat_deadline=DEADLINE, web_deadline=DEADLINE,
        rate_limits=False)
    with TestClient(create_app(settings, store=sqlite_store, redis_url=""),
                    base_url="https://testserver") as client:  # the form's cookie is Secure
        yield client, settings


def _ingest(store: Store, settings: Settings) -> int:
    return ingest_once(store, settings.spool_path, settings.media_path, file_text=file_spooled)


def test_sms_past_its_deadline_is_spooled_and_filed_once(
        gateway: tuple[TestClient, Settings], sqlite_store: Store) -> None:
    client, settings = gateway
    path, headers, form = sms_request(TWILIO, "路灯不亮了", "13912345678", "SMdeadline1")
    stall = Stall(sqlite_store)
    try:
        answer = client.post(path, data=form, headers=headers)
        assert answer.status_code == 200, answer.text
        assert SafeET.fromstring(answer.content).findtext("Message") == DELAYED
        [entry] = scan(settings.spool_path)
        assert entry.fields["channel"] == "sms" and entry.fields["reason"] == "channel-deadline"
    finally:
        stall.release()
    # the stalled request's own thread commits once the lock is gone, the ingester and
    # Twilio's retry of the same message find it: one ticket
    wait_until(lambda: len(sqlite_store.feed(0, 10)) == 1, timeout=30)
    assert _ingest(sqlite_store, settings) == 1
    again = client.post(path, data=form, headers=headers)
    assert "工单号" in str(SafeET.fromstring(again.content).findtext("Message"))
    [ticket] = sqlite_store.feed(0, 10)
    assert (ticket.channel, ticket.channel_ref, ticket.text) == (Channel.sms, "SMdeadline1",
                                                               "路灯不亮了")
    assert scan(settings.spool_path) == []  # the entry went to done/
    # the resident read "工单号稍后发送": the number follows by SMS
    assert [(n.step, n.channel) for n in nt.for_ticket(sqlite_store.db, ticket.id)] == [
        (nt.Step.received, nt.Via.sms)]


def test_the_ingester_and_the_stalled_request_race_for_one_ticket(
        gateway: tuple[TestClient, Settings], sqlite_store: Store) -> None:
    """The ingester runs as soon as the lock is gone, racing the stalled request's thread:
    whichever files first, the other finds the message filed."""
    client, settings = gateway
    path, headers, form = sms_request(TWILIO, "井盖丢了", "13912345678", "SMdeadline2")
    stall = Stall(sqlite_store)
    try:
        answer = client.post(path, data=form, headers=headers)
        assert SafeET.fromstring(answer.content).findtext("Message") == DELAYED
    finally:
        stall.release()
    assert _ingest(sqlite_store, settings) == 1
    assert _ingest(sqlite_store, settings) == 0
    wait_until(lambda: sqlite_store.feed(0, 10) != [], timeout=30)
    time.sleep(1.0)  # the request's late thread has met the ticket by now
    [ticket] = sqlite_store.feed(0, 10)
    assert ticket.channel_ref == "SMdeadline2"


def test_wechat_past_its_deadline_is_spooled_and_filed_once(
        gateway: tuple[TestClient, Settings], sqlite_store: Store) -> None:
    client, settings = gateway
    path, headers, body = wechat_request(WECHAT, "小区垃圾没人清运", OPENID, 880001)
    stall = Stall(sqlite_store)
    try:
        answer = client.post(path, content=body, headers=headers)
        assert answer.status_code == 200, answer.text
        assert SafeET.fromstring(answer.content).findtext("Content") == DELAYED
        [entry] = scan(settings.spool_path)
        assert entry.fields["channel"] == "wechat"
    finally:
        stall.release()
    assert _ingest(sqlite_store, settings) == 1
    wait_until(lambda: len(sqlite_store.feed(0, 10)) == 1, timeout=30)
    path, headers, body = wechat_request(WECHAT, "小区垃圾没人清运", OPENID, 880001)
    again = client.post(path, content=body, headers=headers)  # WeChat's retry
    assert "工单号" in str(SafeET.fromstring(again.content).findtext("Content"))
    time.sleep(1.0)
    [ticket] = sqlite_store.feed(0, 10)
    assert (ticket.channel, ticket.citizen.wechat_openid) == (Channel.wechat, OPENID)
    assert [(n.step, n.channel) for n in nt.for_ticket(sqlite_store.db, ticket.id)] == [
        (nt.Step.received, nt.Via.wechat)]


def test_the_number_sent_later_is_planned_once_and_names_the_ticket(sqlite_store: Store) -> None:
    t = sqlite_store.submit(intake("SMlater", citizen=Citizen(phone="+8613912345678"))).ticket
    tell_number(sqlite_store, t)
    tell_number(sqlite_store, t)  # the ingester repeating an entry after a crash
    [note] = nt.for_ticket(sqlite_store.db, t.id)
    assert note.step is nt.Step.received
    after = sqlite_store.get(t.id)
    assert [h.event_id for h in after.history].count(NUMBER_SENT_LATER) == 1
    message = compose(note.step, after, sqlite_store)
    assert message is not None
    body, question = message
    assert f"工单号{t.number}" in body and question is None


def test_the_web_form_past_its_deadline_is_spooled_and_filed_once(
        gateway: tuple[TestClient, Settings], sqlite_store: Store) -> None:
    client, settings = gateway
    page = client.get("/report", headers=HTML)
    token = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert token is not None
    form = {"kind": "complaint", "description": "幸福路12号门口井盖丢失，晚上很危险",
            "phone": "138 0013 8000", "consent": "on", "address": "幸福路12号",
            "csrf": token.group(1)}
    empty = [("photos", ("", b"", "application/octet-stream"))]
    stall = Stall(sqlite_store)
    try:
        answer = client.post("/report", data=form, files=empty, headers=HTML)
        assert answer.status_code == 200, answer.text
        assert DELAYED in answer.text and 'id="ticket-number"' not in answer.text
        [entry] = scan(settings.spool_path)
        assert entry.fields["channel"] == "web"
    finally:
        stall.release()
    assert _ingest(sqlite_store, settings) == 1
    again = client.post("/report", data=form, files=empty, headers=HTML)  # the resident again
    assert 'id="ticket-number"' in again.text
    time.sleep(1.0)
    [ticket] = sqlite_store.feed(0, 10)
    assert ticket.channel is Channel.web


def test_sms_beyond_the_intake_bound_is_spooled_at_once_and_filed_once(
        gateway: tuple[TestClient, Settings], sqlite_store: Store) -> None:
    """HOTLINE_MAX_INTAKES_IN_FLIGHT reached (tickets.admission): the SMS is not queued behind
    the others; it is answered as when the store is late — spooled, 已收到 — and filed once."""
    client, settings = gateway
    path, headers, form = sms_request(TWILIO, "井盖丢了", "13912345678", "SMbusy1")
    taken = [INTAKES.enter() for _ in range(INTAKES.limit)]
    try:
        answer = client.post(path, data=form, headers=headers)
    finally:
        for _ in taken:
            INTAKES.leave()
    assert answer.status_code == 200, answer.text
    assert SafeET.fromstring(answer.content).findtext("Message") == DELAYED
    [entry] = scan(settings.spool_path)
    assert entry.fields["channel"] == "sms"
    assert sqlite_store.feed(0, 10) == []
    assert _ingest(sqlite_store, settings) == 1
    again = client.post(path, data=form, headers=headers)
    assert "工单号" in str(SafeET.fromstring(again.content).findtext("Message"))
    assert len(sqlite_store.feed(0, 10)) == 1
