"""Notifications to residents (SQLite and PostgreSQL): planned with the status change, sent by
the real ``twilio`` client to a local server speaking Twilio's REST API, at most once, retried,
waiting out quiet hours, never to a resident who opted out."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from channels.notify import send_notification, sweep_stalled
from channels.twilio_sms.notify import TwilioSender, TwilioSenderConfig
from hotline.worker import WorkerContext
from tests.support.intakes import intake
from tests.support.twilio_api import TwilioApi, twilio_api
from tickets import notifications as nt
from tickets.events import TicketEvent, apply_event
from tickets.jobs import path_of
from tickets.model import Channel, Citizen, HistoryKind, Status, Ticket
from tickets.quiethours import QuietHours
from tickets.store import Store
from tickets.tables import outbox

SID, TOKEN, FROM = "AC" + "7" * 32, "notify-token-456", "+8610690000"
PUBLIC = "https://hotline.example.gov.cn"
PHONE = "+8613800138000"
NOON = datetime(2026, 12, 7, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai
NIGHT = datetime(2026, 12, 7, 15, 0, tzinfo=UTC)  # 23:00 in Shanghai


@pytest.fixture
def api() -> Iterator[TwilioApi]:
    with twilio_api() as server:
        yield server


def context(store: Store, api: TwilioApi, tmp_path: Path, at: datetime = NOON,
            timeout: float = 15.0) -> WorkerContext:
    sender = TwilioSender(TwilioSenderConfig(account_sid=SID, auth_token=TOKEN, from_=FROM,
                                             api_url=api.url, public_url=PUBLIC,
                                             timeout=timeout))
    return WorkerContext(store=store, media_dir=tmp_path, sms_sender=sender,
                         quiet_hours=QuietHours.parse("22:00-08:00"), clock=lambda: at)


def event(store: Store, ticket: Ticket, **fields: object) -> Ticket:
    e = TicketEvent(actor="street:DS", **fields)  # type: ignore[arg-type]
    return store.change(ticket.id, lambda t, s, a: apply_event(t, e, s, a))


def resolved(store: Store, ref: str = "n1", phone: str = PHONE,
             channel: Channel = Channel.sms, priority: int = 3) -> Ticket:
    t = store.submit(intake(ref, channel=channel, citizen=Citizen(phone=phone))).ticket
    for status in (Status.registered, Status.dispatched, Status.in_progress):
        t = event(store, t, status=status)
    if priority != 3:
        t = event(store, t, priority=priority)
    return event(store, t, status=Status.resolved, note="楼道灯已更换")


def send_jobs(store: Store, ticket_id: str) -> list[list[object]]:
    with store.db.read() as conn:
        rows = conn.execute(select(outbox.c.args).where(
            outbox.c.ticket_id == ticket_id, outbox.c.job == path_of(send_notification))
            .order_by(outbox.c.id)).scalars().all()
    return [list(r) for r in rows]


def test_resolved_is_sent_once_with_every_field(store: Store, api: TwilioApi,
                                                tmp_path: Path) -> None:
    t = resolved(store)
    [note] = nt.for_ticket(store.db, t.id)
    assert note.step is nt.Step.resolved and note.channel is nt.Via.sms
    assert send_jobs(store, t.id) == [[note.id]]  # written with the status change
    ctx = context(store, api, tmp_path)
    assert send_notification(ctx, note.id).startswith("sent SM")
    assert send_notification(ctx, note.id) == nt.SENT  # at most once
    [req] = api.messages()
    assert req.method == "POST"
    assert req.path == f"/2010-04-01/Accounts/{SID}/Messages.json"
    assert req.authorization == "Basic " + base64.b64encode(f"{SID}:{TOKEN}".encode()).decode()
    body = req.form["Body"][0]
    assert set(req.form) == {"To", "From", "Body", "StatusCallback"}
    assert req.form["To"] == [PHONE] and req.form["From"] == [FROM]
    assert req.form["StatusCallback"] == [f"{PUBLIC}/channels/twilio/status?n={note.id}"]
    assert t.number in body and "楼道灯已更换" in body
    assert "问题解决了吗？回复 1 已解决，2 未解决" in body and "回复TD退订" in body
    after = store.get(t.id)
    kinds = [h.kind for h in after.history if h.kind]
    assert kinds == [HistoryKind.notified, HistoryKind.asked]
    sent = nt.get(store.db, note.id)
    assert sent is not None and sent.status == nt.SENT and sent.provider_ref
    assert sent.provider_ref.startswith("SM")


def test_retries_with_back_off_then_sends(store: Store, api: TwilioApi, tmp_path: Path) -> None:
    t = resolved(store)
    [note] = nt.for_ticket(store.db, t.id)
    api.plan((503, 20503))
    ctx = context(store, api, tmp_path)
    assert send_notification(ctx, note.id).startswith("retry at")
    waiting = nt.get(store.db, note.id)
    assert waiting is not None and waiting.status == nt.PENDING and waiting.attempts == 1
    assert waiting.next_attempt_at.replace(tzinfo=UTC) == NOON + timedelta(
        seconds=nt.RETRY_SECONDS[0])
    assert len(send_jobs(store, t.id)) == 2  # the retry is an outbox row of its own
    assert send_notification(ctx, note.id).startswith("sent")
    assert len(api.messages()) == 2
    assert [h.kind for h in store.get(t.id).history if h.kind] == [HistoryKind.notified,
                                                                  HistoryKind.asked]


def test_permanent_error_is_dead_and_in_the_history(store: Store, api: TwilioApi,
                                                   tmp_path: Path) -> None:
    t = resolved(store)
    [note] = nt.for_ticket(store.db, t.id)
    api.plan((400, 21211))
    assert send_notification(context(store, api, tmp_path), note.id).startswith("dead")
    last = store.get(t.id).history[-1]
    assert last.kind is HistoryKind.notification_failed and "21211" in (last.note or "")


def test_a_lost_answer_is_not_resent_at_once(store: Store, api: TwilioApi,
                                              tmp_path: Path) -> None:
    t = resolved(store)
    [note] = nt.for_ticket(store.db, t.id)
    api.slow_seconds = 1.5
    api.plan("slow")
    out = send_notification(context(store, api, tmp_path, timeout=0.5), note.id)
    assert out.startswith("unknown")
    row = nt.get(store.db, note.id)
    assert row is not None and row.status == nt.UNKNOWN
    assert row.next_attempt_at.replace(tzinfo=UTC) >= NOON + nt.UNKNOWN_WAIT


def test_quiet_hours_wait_except_priority_one(store: Store, api: TwilioApi,
                                              tmp_path: Path) -> None:
    t = resolved(store)
    [note] = nt.for_ticket(store.db, t.id)
    out = send_notification(context(store, api, tmp_path, at=NIGHT), note.id)
    assert out.startswith("waiting") and api.messages() == []
    row = nt.get(store.db, note.id)
    assert row is not None and row.status == nt.PENDING
    assert row.next_attempt_at.replace(tzinfo=UTC) == datetime(2026, 12, 8, 0, 0, tzinfo=UTC)
    urgent = resolved(store, "n2", priority=1)
    [first] = nt.for_ticket(store.db, urgent.id)
    assert send_notification(context(store, api, tmp_path, at=NIGHT), first.id).startswith(
        "sent")


def test_opted_out_residents_are_not_told(store: Store, api: TwilioApi, tmp_path: Path) -> None:
    t = resolved(store)
    nt.opt_out(store.db, f"phone:{PHONE}", Channel.sms, NOON)
    nt.opt_out(store.db, f"phone:{PHONE}", Channel.sms, NOON)  # idempotent
    [note] = nt.for_ticket(store.db, t.id)
    assert send_notification(context(store, api, tmp_path), note.id) == "skipped: opted out"
    assert api.messages() == []


def test_who_is_told(store: Store) -> None:
    landline = resolved(store, "v1", phone="+861065001234", channel=Channel.voice)
    mobile = resolved(store, "v2", phone="+8613900139000", channel=Channel.voice)
    api_ticket = resolved(store, "a1", channel=Channel.api)
    assert nt.for_ticket(store.db, landline.id) == []
    assert [n.step for n in nt.for_ticket(store.db, mobile.id)] == [nt.Step.resolved]
    assert nt.for_ticket(store.db, api_ticket.id) == []


def test_rejected_and_merged_texts(store: Store, api: TwilioApi, tmp_path: Path) -> None:
    keep = store.submit(intake("k", citizen=Citizen(phone="+8613700137000"))).ticket
    gone = store.submit(intake("g", citizen=Citizen(phone=PHONE))).ticket
    gone = event(store, gone, status=Status.merged, merged_into=keep.number)
    no = store.submit(intake("r", citizen=Citizen(phone=PHONE))).ticket
    no = event(store, no, status=Status.rejected, reason="不属于政府职能范围")
    ctx = context(store, api, tmp_path)
    for ticket in (gone, no):
        [note] = nt.for_ticket(store.db, ticket.id)
        send_notification(ctx, note.id)
    merged, rejected = (r.form["Body"][0] for r in api.messages())
    assert gone.number in merged and keep.number in merged
    assert no.number in rejected and "不属于政府职能范围" in rejected


def test_a_rolled_back_change_tells_nobody(store: Store) -> None:
    t = store.submit(intake("x", citizen=Citizen(phone=PHONE))).ticket

    def boom(ticket: Ticket, seq: int, at: datetime) -> Ticket:
        raise RuntimeError("rolled back")

    with pytest.raises(RuntimeError):
        store.change(t.id, boom)
    assert nt.for_ticket(store.db, t.id) == []


def test_web_residents_get_their_status_link_not_a_question(store: Store, api: TwilioApi,
                                                            tmp_path: Path) -> None:
    t = store.submit(intake("w1", channel=Channel.web,
                            citizen=Citizen(phone=PHONE, consent_to_contact=True))).ticket
    for status in (Status.registered, Status.dispatched, Status.in_progress):
        t = event(store, t, status=status)
    t = event(store, t, status=Status.resolved, note="已处理完毕")
    [note] = nt.for_ticket(store.db, t.id)
    ctx = context(store, api, tmp_path)
    link = f"{PUBLIC}/status/{t.id}/secret-mac"
    ctx = WorkerContext(store=ctx.store, media_dir=tmp_path, sms_sender=ctx.sms_sender,
                        quiet_hours=None, clock=lambda: NOON, status_link=lambda _t: link)
    assert send_notification(ctx, note.id).startswith("sent")
    body = api.messages()[0].form["Body"][0]
    assert link in body and "已处理完毕" in body and "回复 1" not in body
    assert [h.kind for h in store.get(t.id).history if h.kind] == [HistoryKind.notified]
    no_consent = store.submit(intake("w2", channel=Channel.web,
                                     citizen=Citizen(phone=PHONE))).ticket
    for status in (Status.registered, Status.dispatched, Status.in_progress, Status.resolved):
        no_consent = event(store, no_consent, status=status)
    assert nt.for_ticket(store.db, no_consent.id) == []


def test_a_send_left_by_a_dead_worker_is_checked_again_once(store: Store, api: TwilioApi,
                                                           tmp_path: Path) -> None:
    """A worker that died between the claim and the provider's answer left the notification
    ``sending``: the relay's check releases it after UNKNOWN_WAIT (not before), as a lost
    answer — sent by the next run unless a delivery report settled it meanwhile."""
    t = resolved(store)
    [note] = nt.for_ticket(store.db, t.id)
    assert nt.claim(store.db, note.id, NOON)  # the worker's claim, then the worker died
    assert sweep_stalled(store.db, NOON + nt.UNKNOWN_WAIT - timedelta(seconds=1)) == []
    assert sweep_stalled(store.db, NOON + nt.UNKNOWN_WAIT + timedelta(seconds=1)) == [note.id]
    row = nt.get(store.db, note.id)
    assert row is not None and row.status == nt.UNKNOWN
    assert send_jobs(store, t.id) == [[note.id], [note.id]]  # the check's own outbox row
    assert sweep_stalled(store.db, NOON + 2 * nt.UNKNOWN_WAIT) == []  # released once
    later = context(store, api, tmp_path, at=NOON + nt.UNKNOWN_WAIT + timedelta(minutes=1))
    assert send_notification(later, note.id).startswith("sent")
    assert send_notification(later, note.id) == nt.SENT
    assert len(api.messages()) == 1


def test_a_stalled_send_settled_by_its_delivery_report_is_not_sent_again(
    store: Store, api: TwilioApi, tmp_path: Path
) -> None:
    t = resolved(store)
    [note] = nt.for_ticket(store.db, t.id)
    assert nt.claim(store.db, note.id, NOON)
    assert sweep_stalled(store.db, NOON + nt.UNKNOWN_WAIT + timedelta(seconds=1)) == [note.id]
    nt.settle(store.db, note.id, nt.SENT, at=NOON + nt.UNKNOWN_WAIT, provider_ref="SM" + "1" * 32)
    later = context(store, api, tmp_path, at=NOON + nt.UNKNOWN_WAIT + timedelta(minutes=1))
    assert send_notification(later, note.id) == nt.SENT
    assert api.messages() == []
