"""What is no message — a WeChat menu click or LOCATION, an answer given with the status page's
buttons — arriving while the store is stalled is answered within the channel's deadline and
spooled (an ``inbound=`` entry); the ingester hands it to the live path's own handler, once
per event (WeChat's FromUserName + CreateTime) or form, and a click's answer reaches the
follower later as a ``reply``. Signed safe-mode WeChat pushes and the status page's own form
to the real app, the store really stalled (SQLite's write lock held, or every PostgreSQL table
locked), on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import defusedxml.ElementTree as SafeET
import pytest
import xmltodict  # type: ignore[import-untyped]
from sqlalchemy import func, select
from starlette.testclient import TestClient
from wechatpy.crypto import WeChatCrypto

from channels import inbound
from channels.spooled import file_inbound, file_spooled
from channels.texts import texts
from channels.webform.loop_route import ANSWER_KEPT
from channels.webform.statuslink import path as status_path
from channels.wechat import state
from channels.wechat.config import WechatConfig
from channels.wechat.demo import event_xml, signed_push
from hotline.app import create_app
from hotline.settings import Settings
from ivr.spool.format import scan
from ivr.spool.ingest import ingest_once
from tests.channels.test_spooled_replies import resolved
from tests.support.intakes import intake
from tests.support.stall import Stall
from tickets import notifications as nt
from tickets.answers import Question
from tickets.model import Channel, Citizen, Status
from tickets.store import Store
from tickets.tables import notifications

TOKEN, APP_ID = "wx7f3a9c1e5d2b8e4a6c0f1a", "wx1234567890abcdef"
AES_KEY = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR"
WECHAT = WechatConfig(token=TOKEN, app_id=APP_ID, aes_key=AES_KEY)
WEB_SECRET = "stalled-web-secret-0123456789abcdef0123456789"
OPENID = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"
DEADLINE = 1.0


@pytest.fixture
def gateway(store: Store, tmp_path: Path) -> Iterator[tuple[TestClient, Settings]]:
    settings = Settings(
        _env_file=None, env="development", data_dir=tmp_path / "data",
        wechat_token=TOKEN, wechat_app_id=APP_ID, wechat_aes_key=AES_KEY, wechat_mode="safe",
        web_secret=WEB_SECRET, wechat_deadline=DEADLINE, web_deadline=DEADLINE,
        rate_limits=False)
    with TestClient(create_app(settings, store=store, redis_url="")) as client:
        yield client, settings


def push(client: TestClient, event: str, **fields: str) -> Any:
    path, headers, body = signed_push(WECHAT, lambda now: event_xml(OPENID, now, event,
                                                                    **fields), OPENID)
    answer = client.post(path, content=body, headers=headers)
    assert answer.status_code == 200, answer.text
    return answer


def content(answer: Any) -> str | None:
    """The passive reply's text (opened from its safe-mode envelope); None for "success"."""
    if answer.text == "success":
        return None
    sealed = xmltodict.parse(answer.text)["xml"]
    xml = WeChatCrypto(TOKEN, AES_KEY, APP_ID).decrypt_message(
        answer.text, sealed["MsgSignature"], sealed["TimeStamp"], sealed["Nonce"])
    return str(SafeET.fromstring(xml.encode()).findtext("Content"))


def while_stalled(store: Store, settings: Settings, send: Any) -> tuple[Any, str]:
    """``send()`` with the store stalled; its answer and the one entry the spool kept."""
    stall = Stall(store)
    try:
        answer = send()
        [entry] = scan(settings.spool_path)
    finally:
        stall.release()
    assert "intake" not in entry.fields
    return answer, entry.fields["inbound"]


def ingest(store: Store, settings: Settings) -> int:
    return ingest_once(store, settings.spool_path, settings.media_path,
                       file_text=file_spooled, file_inbound=file_inbound)


def replies(store: Store) -> int:
    with store.db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(notifications).where(
            notifications.c.step == nt.Step.reply.value)).scalar_one())


def test_progress_click_while_stalled_gets_its_answer_later(
        gateway: tuple[TestClient, Settings], store: Store) -> None:
    client, settings = gateway
    t = store.submit(intake("wxprog1", channel=Channel.wechat,
                            citizen=Citizen(wechat_openid=OPENID))).ticket
    answer, raw = while_stalled(store, settings,
                                lambda: push(client, "CLICK", EventKey="PROGRESS"))
    assert content(answer) == texts().wechat.event_delayed
    kept = inbound.load(raw)
    assert isinstance(kept, inbound.WechatEvent)
    assert OPENID not in kept.key  # the retry key is WeChat's, hashed
    assert ingest(store, settings) == 1
    note = nt.by_key(store.db, nt.reply_key(kept.key))
    assert note is not None, "the click's answer was not planned"
    assert (note.channel, note.address) == (nt.Via.wechat, OPENID)
    assert t.number in (note.body or "")  # what the live click answers: the latest ticket
    # the click opened the customer-service window the reply goes through
    assert state.load(store.db, OPENID)["last_in"] == kept.at.isoformat()
    assert file_inbound(store, raw) == "answered"  # the ingester repeating the entry
    assert replies(store) == 1


def test_location_while_stalled_is_kept_and_never_moves_a_later_one_back(
        gateway: tuple[TestClient, Settings], store: Store) -> None:
    client, settings = gateway
    answer, raw = while_stalled(store, settings, lambda: push(
        client, "LOCATION", Latitude="39.9", Longitude="116.4", Precision="30"))
    assert content(answer) is None  # the live path says nothing to a LOCATION either
    assert ingest(store, settings) == 1
    where = state.load(store.db, OPENID)["location"]
    assert (where["lat"], where["lon"]) == (39.9, 116.4)
    assert replies(store) == 0
    assert content(push(client, "LOCATION", Latitude="31.2", Longitude="121.5")) is None
    file_inbound(store, raw)  # the older location, handled again, changes nothing
    where = state.load(store.db, OPENID)["location"]
    assert (where["lat"], where["lon"]) == (31.2, 121.5)


def test_kind_click_while_stalled_sets_the_kind_and_answers_the_prompt(
        gateway: tuple[TestClient, Settings], store: Store) -> None:
    client, settings = gateway
    answer, raw = while_stalled(store, settings,
                                lambda: push(client, "CLICK", EventKey="KIND_COMPLAINT"))
    assert content(answer) == texts().wechat.event_delayed
    assert ingest(store, settings) == 1
    assert state.load(store.db, OPENID)["kind"]["kind"] == "complaint"
    note = nt.by_key(store.db, nt.reply_key(inbound.load(raw).key))  # type: ignore[union-attr]
    assert note is not None and "投诉" in (note.body or "")


def form_of(html: str) -> dict[str, str]:
    token = re.search(r'name="csrf" value="([^"]+)"', html)
    question = re.search(r'name="question" value="([^"]+)"', html)
    assert token and question, html
    return {"csrf": token.group(1), "question": question.group(1)}


def test_status_page_answer_while_stalled_is_kept_and_applied_once(
        gateway: tuple[TestClient, Settings], store: Store) -> None:
    client, settings = gateway
    t = resolved(store, "w-stall", Channel.web, Citizen())
    link = status_path(WEB_SECRET, t.id)
    fields = form_of(client.get(link).text)
    answer, raw = while_stalled(store, settings, lambda: client.post(
        link, data={**fields, "answer": "1"}, follow_redirects=False))
    assert answer.status_code == 202 and ANSWER_KEPT in answer.text
    assert "已收到" in ANSWER_KEPT
    ingest(store, settings)
    # the stalled request's own thread may have applied it meanwhile: applied once either way
    file_inbound(store, raw)
    closed = store.get(t.id)
    assert closed.status is Status.closed
    assert len([h for h in closed.history if h.kind and h.kind.value == "answered"]) == 1
    page = client.get(link)  # the page then puts the next question
    assert form_of(page.text)["question"] == "satisfaction"


def test_a_kept_page_answer_is_applied_by_the_ingester(store: Store) -> None:
    t = resolved(store, "w-kept", Channel.web, Citizen())
    kept = inbound.WebAnswer(ticket_id=t.id, question=Question.solved, choice=2,
                             key="web:kept-form-1", at=datetime.now(UTC))
    assert file_inbound(store, kept.model_dump_json()) == "web answer: recorded"
    assert store.get(t.id).status is Status.in_progress  # not solved: back to the unit
    assert file_inbound(store, kept.model_dump_json()) == "web answer: repeat"
    assert len([h for h in store.get(t.id).history
                if h.kind and h.kind.value == "answered"]) == 1
