"""WeChat notifications with wechatpy's client against a local server speaking WeChat's API
(SQLite and PostgreSQL, a private Redis): customer-service messages inside 48 hours of the
follower's last message, template messages after, the access token cached in Redis and
fetched again when WeChat answers 40001 / 42001."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from redis import Redis

from channels.notify import send_notification
from channels.wechat import state
from channels.wechat.notify import WechatSender, WechatSenderConfig
from hotline.worker import WorkerContext
from tests.support.intakes import intake
from tests.support.services import RedisServer
from tests.support.wechat_api import WechatApi, wechat_api
from tickets import notifications as nt
from tickets.events import TicketEvent, apply_event
from tickets.model import Channel, Citizen, HistoryKind, Status, Ticket
from tickets.store import Store

APP_ID, APP_SECRET = "wx1234567890abcdef", "wechat-app-secret-0123456789abcdef"
NOON = datetime(2026, 12, 7, 4, 0, tzinfo=UTC)


@pytest.fixture
def api() -> Iterator[WechatApi]:
    with wechat_api(APP_ID, APP_SECRET) as server:
        yield server


@pytest.fixture
def redis(redis_server: RedisServer) -> Iterator[Redis]:
    client = Redis.from_url(redis_server.url)
    yield client
    client.close()


def context(store: Store, api: WechatApi, redis: Redis, tmp_path: Path,
            templates: dict[str, str] | None = None) -> WorkerContext:
    sender = WechatSender(WechatSenderConfig(app_id=APP_ID, app_secret=APP_SECRET,
                                             api_url=api.url, templates=templates or {}),
                          redis, store.db)
    return WorkerContext(store=store, media_dir=tmp_path, wechat_sender=sender,
                         quiet_hours=None, clock=lambda: NOON)


def resolved(store: Store, openid: str, ref: str) -> Ticket:
    t = store.submit(intake(ref, channel=Channel.wechat,
                            citizen=Citizen(wechat_openid=openid))).ticket
    for status in (Status.registered, Status.dispatched, Status.in_progress, Status.resolved):
        e = TicketEvent(actor="street:DS", status=status, note="垃圾已清运")
        t = store.change(t.id, lambda c, s, a, e=e: apply_event(c, e, s, a))
    return t


def test_inside_the_window_a_customer_service_message(store: Store, api: WechatApi,
                                                      redis: Redis, tmp_path: Path) -> None:
    openid = "oABC-follower-1"
    state.merge(store.db, openid, {"last_in": (datetime.now(UTC) - timedelta(hours=2))
                                   .isoformat()})
    t = resolved(store, openid, "wx-1")
    [note] = nt.for_ticket(store.db, t.id)
    assert note.channel is nt.Via.wechat
    assert send_notification(context(store, api, redis, tmp_path), note.id).startswith("sent")
    [sent] = api.sent()
    assert sent.path == "/cgi-bin/message/custom/send"
    assert sent.query["access_token"] == ["TOKEN-1"]
    assert isinstance(sent.body, dict)
    assert sent.body["touser"] == openid and sent.body["msgtype"] == "text"
    content = sent.body["text"]["content"]
    assert t.number in content and "垃圾已清运" in content and "回复 1 已解决" in content
    assert [h.kind for h in store.get(t.id).history if h.kind] == [HistoryKind.notified,
                                                                   HistoryKind.asked]
    assert any(b"access_token" in k for k in redis.keys("hotline:wechat:token*"))


def test_the_token_is_cached_and_fetched_again_when_it_expired(
        store: Store, api: WechatApi, redis: Redis, tmp_path: Path) -> None:
    recent = (datetime.now(UTC) - timedelta(minutes=5)).isoformat()
    tickets = []
    for i in range(3):
        state.merge(store.db, f"o-batch-{i}", {"last_in": recent})
        tickets.append(resolved(store, f"o-batch-{i}", f"wx-b{i}"))
    ctx = context(store, api, redis, tmp_path)
    [first] = nt.for_ticket(store.db, tickets[0].id)
    assert send_notification(ctx, first.id).startswith("sent")
    api.expire(40001)  # the token is invalidated mid-batch
    # another worker process: a new client, the token from Redis
    other = context(store, api, redis, tmp_path)
    for ticket in tickets[1:]:
        [note] = nt.for_ticket(store.db, ticket.id)
        assert send_notification(other, note.id).startswith("sent")
    assert api.tokens == 2  # one fetch, one refresh after 40001 — not one per message
    tokens = [r.query["access_token"][0] for r in api.sent()]
    assert tokens == ["TOKEN-1", "TOKEN-1", "TOKEN-2", "TOKEN-2"]


def test_after_the_window_a_template_message(store: Store, api: WechatApi, redis: Redis,
                                             tmp_path: Path) -> None:
    openid = "oABC-quiet"
    state.merge(store.db, openid, {"last_in": (datetime.now(UTC) - timedelta(days=3))
                                   .isoformat()})
    t = resolved(store, openid, "wx-2")
    [note] = nt.for_ticket(store.db, t.id)
    ctx = context(store, api, redis, tmp_path, templates={"resolved": "TPL-RESOLVED-1"})
    assert send_notification(ctx, note.id).startswith("sent wechat-tpl:")
    [sent] = api.sent()
    assert sent.path == "/cgi-bin/message/template/send"
    assert isinstance(sent.body, dict)
    assert sent.body["touser"] == openid and sent.body["template_id"] == "TPL-RESOLVED-1"
    assert sent.body["data"]["keyword1"]["value"] == t.number
    assert "垃圾已清运" in sent.body["data"]["first"]["value"]


def test_after_the_window_without_a_template_it_fails_visibly(
        store: Store, api: WechatApi, redis: Redis, tmp_path: Path) -> None:
    t = resolved(store, "oABC-gone", "wx-3")
    [note] = nt.for_ticket(store.db, t.id)
    assert send_notification(context(store, api, redis, tmp_path), note.id).startswith("dead")
    assert api.sent() == []
    last = store.get(t.id).history[-1]
    assert last.kind is HistoryKind.notification_failed and "template" in (last.note or "")
