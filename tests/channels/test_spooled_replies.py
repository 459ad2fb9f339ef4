"""A message that is no new request — an opt-out, an answer to the closing questions —
arriving while the store is stalled is spooled like any other ("已收到，工单号稍后发送"), and
the ingester then handles it as what it is, by the live path's own rule: an opt-out, an
answer recorded once, never a new ticket; the resident gets the live path's answer later on
their own channel (a ``reply`` notification, planned once per message). Signed Twilio and
WeChat webhooks to the real app, the store really stalled (SQLite's write lock held, or every
PostgreSQL table locked), on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import defusedxml.ElementTree as SafeET
import pytest
from sqlalchemy import func, select
from starlette.testclient import TestClient

from channels.conversation import message_key
from channels.deadline import DELAYED
from channels.notify import send_notification
from channels.spooled import file_spooled
from channels.texts import texts
from channels.twilio_sms.config import TwilioConfig
from channels.twilio_sms.demo import sample_request as sms_request
from channels.twilio_sms.notify import TwilioSender, TwilioSenderConfig
from channels.wechat import state
from channels.wechat.config import WechatConfig
from channels.wechat.demo import sample_request as wechat_request
from hotline.app import create_app
from hotline.settings import Settings
from hotline.worker import WorkerContext
from ivr.spool.format import scan
from ivr.spool.ingest import ingest_once
from tests.support.intakes import intake
from tests.support.stall import Stall
from tests.support.twilio_api import TwilioApi, twilio_api
from tickets import notifications as nt
from tickets.events import TicketEvent, apply_event
from tickets.model import Channel, Citizen, Intake, Satisfaction, Status, Ticket
from tickets.store import Store
from tickets.tables import notifications

PUBLIC_URL = "https://hotline.example.gov.cn"
TWILIO = TwilioConfig(account_sid="AC" + "1" * 32,
                      auth_token="f3e4d5c6b7a8f3e4d5c6b7a8f3e4d5c6", public_url=PUBLIC_URL)
WECHAT = WechatConfig(token="wx7f3a9c1e5d2b8e4a6c0f1a")
PHONE, LOCAL = "+8613912345678", "13912345678"
OPENID = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"
DEADLINE = 1.0


@pytest.fixture
def gateway(store: Store, tmp_path: Path) -> Iterator[tuple[TestClient, Settings]]:
    settings = Settings(
        _env_file=None, env="development", data_dir=tmp_path / "data", public_url=PUBLIC_URL,
        twilio_account_sid=TWILIO.account_sid, twilio_auth_token=TWILIO.auth_token,
        wechat_token=WECHAT.token, sms_deadline=DEADLINE, wechat_deadline=DEADLINE,
        rate_limits=False)
    with TestClient(create_app(settings, store=store, redis_url="")) as client:
        yield client, settings


def resolved(store: Store, ref: str, channel: Channel, citizen: Citizen) -> Ticket:
    t = store.submit(intake(ref, channel=channel, citizen=citizen)).ticket
    for status in (Status.registered, Status.dispatched, Status.in_progress, Status.resolved):
        e = TicketEvent(actor="street:DS", status=status, note="已修复")
        t = store.change(t.id, lambda c, s, a, e=e: apply_event(c, e, s, a))
    return t


def sms_while_stalled(client: TestClient, store: Store, settings: Settings, text: str,
                      sid: str) -> Intake:
    """Send ``text`` by SMS while the store is stalled; the intake the spool kept."""
    path, headers, form = sms_request(TWILIO, text, LOCAL, sid)
    stall = Stall(store)
    try:
        answer = client.post(path, data=form, headers=headers)
        assert answer.status_code == 200, answer.text
        assert SafeET.fromstring(answer.content).findtext("Message") == DELAYED
        [entry] = scan(settings.spool_path)
    finally:
        stall.release()
    return Intake.model_validate_json(entry.fields["intake"])


def wechat_while_stalled(client: TestClient, store: Store, settings: Settings, text: str,
                         msg_id: int) -> Intake:
    path, headers, body = wechat_request(WECHAT, text, OPENID, msg_id)
    stall = Stall(store)
    try:
        answer = client.post(path, content=body, headers=headers)
        assert answer.status_code == 200, answer.text
        assert SafeET.fromstring(answer.content).findtext("Content") == DELAYED
        [entry] = scan(settings.spool_path)
    finally:
        stall.release()
    return Intake.model_validate_json(entry.fields["intake"])


def ingest(store: Store, settings: Settings) -> int:
    return ingest_once(store, settings.spool_path, settings.media_path, file_text=file_spooled)


def reply_to(store: Store, kept: Intake) -> nt.Notification:
    note = nt.by_key(store.db, nt.reply_key(message_key(kept)))
    assert note is not None, "no reply planned"
    return note


def replies(store: Store) -> int:
    with store.db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(notifications).where(
            notifications.c.step == nt.Step.reply.value)).scalar_one())


def test_sms_opt_out_while_stalled_is_an_opt_out_and_its_reply_is_sent(
        gateway: tuple[TestClient, Settings], store: Store, tmp_path: Path) -> None:
    client, settings = gateway
    kept = sms_while_stalled(client, store, settings, "退订", "SMstallTD")
    assert ingest(store, settings) == 1
    assert nt.opted_out(store.db, f"phone:{PHONE}")
    assert store.feed(0, 10) == []  # no ticket "退订"
    note = reply_to(store, kept)
    assert (note.channel, note.address, note.body) == (nt.Via.sms, PHONE,
                                                       texts().notify.opted_out)
    file_spooled(store, kept)  # the ingester repeating the entry (a crash before the move)
    assert replies(store) == 1 and store.feed(0, 10) == []
    # the confirmation reaches the resident although they opted out: it answers their message
    with twilio_api() as api:
        ctx = worker(store, api, tmp_path)
        assert send_notification(ctx, note.id).startswith("sent")
        assert send_notification(ctx, note.id) == nt.SENT  # sent once
        [sent] = api.messages()
    assert sent.form["To"] == [PHONE] and sent.form["Body"] == [texts().notify.opted_out]


def worker(store: Store, api: TwilioApi, tmp_path: Path) -> WorkerContext:
    sender = TwilioSender(TwilioSenderConfig(account_sid=TWILIO.account_sid,
                                             auth_token="notify-token-456", from_="+8610690000",
                                             api_url=api.url, public_url=PUBLIC_URL))
    return WorkerContext(store=store, media_dir=tmp_path, sms_sender=sender,
                         clock=lambda: datetime.now(UTC))


def test_sms_answers_while_stalled_close_and_rate_the_ticket(
        gateway: tuple[TestClient, Settings], store: Store) -> None:
    client, settings = gateway
    t = resolved(store, "SMstallA", Channel.sms, Citizen(phone=PHONE))
    solved = sms_while_stalled(client, store, settings, "1", "SMstall1")
    assert ingest(store, settings) == 1
    closed = store.get(t.id)
    assert closed.status is Status.closed
    body = reply_to(store, solved).body or ""
    # what the live path answers: solved, and the satisfaction question
    assert f"工单{t.number}已办结" in body and "您对办理结果满意吗" in body
    rating = sms_while_stalled(client, store, settings, "1", "SMstall2")
    assert ingest(store, settings) == 1
    done = store.get(t.id)
    assert done.status is Status.evaluated and done.evaluation is not None
    assert done.evaluation.satisfaction is Satisfaction.satisfied
    assert f"感谢您对工单{t.number}的评价" in (reply_to(store, rating).body or "")
    file_spooled(store, rating)  # a retried ingestion applies nothing twice
    file_spooled(store, solved)
    assert store.get(t.id) == done and replies(store) == 2
    assert [x.id for x in store.feed(0, 10)] == [t.id]  # no ticket "1"


def test_wechat_opt_out_and_answers_while_stalled(
        gateway: tuple[TestClient, Settings], store: Store) -> None:
    client, settings = gateway
    t = resolved(store, "wxstallA", Channel.wechat, Citizen(wechat_openid=OPENID))
    solved = wechat_while_stalled(client, store, settings, "已解决", 990001)
    assert ingest(store, settings) == 1
    assert store.get(t.id).status is Status.closed
    note = reply_to(store, solved)
    assert (note.channel, note.address) == (nt.Via.wechat, OPENID)
    assert f"工单{t.number}已办结" in (note.body or "")
    # the follower wrote: customer-service messages may reach them for 48 h from then
    assert state.load(store.db, OPENID)["last_in"] == solved.received_at.isoformat()
    rating = wechat_while_stalled(client, store, settings, "2", 990002)
    assert ingest(store, settings) == 1
    done = store.get(t.id)
    assert done.status is Status.evaluated and done.evaluation is not None
    assert done.evaluation.satisfaction is Satisfaction.basically_satisfied
    opt_out = wechat_while_stalled(client, store, settings, "TD", 990003)
    assert ingest(store, settings) == 1
    assert nt.opted_out(store.db, f"wechat:{OPENID}")
    assert reply_to(store, opt_out).body == texts().notify.opted_out
    for kept in (solved, rating, opt_out):
        file_spooled(store, kept)  # a retried ingestion applies nothing twice
    assert store.get(t.id) == done and replies(store) == 3
    assert [x.id for x in store.feed(0, 10)] == [t.id]


def test_a_status_query_while_stalled_is_answered_not_filed(
        gateway: tuple[TestClient, Settings], store: Store) -> None:
    if store.db.url.startswith("sqlite"):
        pytest.skip("SQLite in WAL mode never makes a reader wait: a query is answered live")
    client, settings = gateway
    t = store.submit(intake("SMstallQ", citizen=Citizen(phone=PHONE))).ticket
    kept = sms_while_stalled(client, store, settings, f"查询 {t.number}", "SMstall3")
    assert ingest(store, settings) == 1
    assert t.number in (reply_to(store, kept).body or "")
    assert [x.id for x in store.feed(0, 10)] == [t.id]
