"""The callback job with the real AMI dialer when Asterisk's manager interface is down (nothing
listens on its port): every attempt recorded, the next one planned in the outbox, the last one
giving up (SQLite and PostgreSQL); the dialer's pure parts with known answers."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from console.ami import AmiConfig
from hotline.callback_dialer import AmiDialer, dial_string, outcome_of
from hotline.wiring import sms_fallback
from hotline.worker import WorkerContext
from ivr.callback_history import callback_entries
from ivr.callback_job import (
    CallbackPolicy,
    CallRequest,
    Outcome,
    call_resident,
    callback_planner,
    next_attempt,
)
from tests.support.intakes import intake
from tests.support.services import free_port
from tickets import notifications
from tickets.events import TicketEvent, apply_event
from tickets.model import Channel, Citizen, Status, Ticket
from tickets.quiethours import QuietHours
from tickets.store import Store
from tickets.tables import outbox

LANDLINE = "+861065123456"
MOBILE = "+8613800138000"


def resolved(store: Store, phone: str = LANDLINE, channel: Channel = Channel.voice) -> Ticket:
    t = store.submit(intake("call-1", channel=channel, citizen=Citizen(phone=phone))).ticket
    for status, note in ((Status.registered, None), (Status.dispatched, None),
                         (Status.in_progress, None), (Status.resolved, "路灯已修好")):
        event = TicketEvent(actor="street:DS", status=status, note=note)
        t = store.change(t.id, lambda c, s, a, e=event: apply_event(c, e, s, a))
    return t


def down_context(store: Store, tmp_path: Path, attempts: int = 3) -> WorkerContext:
    ami = AmiConfig("127.0.0.1", free_port(), "hotline", "not-used", connect_timeout=1.0,
                    backoff=0.1)
    return WorkerContext(store=store, media_dir=tmp_path / "media", dialer=AmiDialer(ami),
                         callback_policy=CallbackPolicy(attempts=attempts, interval=90))


def callback_rows(store: Store) -> list[tuple[list[object], timedelta]]:
    with store.db.read() as conn:
        rows = conn.execute(select(outbox.c.args, outbox.c.created_at, outbox.c.run_at)
                            .where(outbox.c.queue == "callback").order_by(outbox.c.id)).all()
    return [(r.args, r.run_at - r.created_at) for r in rows]


def test_ami_down_is_retried_recorded_and_given_up(store: Store, tmp_path: Path) -> None:
    t = resolved(store)
    ctx = down_context(store, tmp_path)
    assert next_attempt(t) == 1
    assert call_resident(ctx, t.id, 1) == "ami_down: retry planned"
    [entry] = callback_entries(store.get(t.id))
    assert entry.note is not None
    assert entry.note.startswith("callback attempt 1 of 3: Asterisk (AMI) unreachable "
                                 "(cannot connect to 127.0.0.1:")
    assert "next attempt at" in entry.note
    # attempt 1 came with the resolution (a landline caller), attempt 2 with attempt 1's entry
    assert callback_rows(store) == [([t.id, 1], timedelta(0)), ([t.id, 2], timedelta(seconds=90))]
    # RQ running the same attempt again changes nothing and calls nobody
    assert call_resident(ctx, t.id, 1) == "attempt 1 already made"
    assert next_attempt(store.get(t.id)) == 2
    assert call_resident(ctx, t.id, 2) == "ami_down: retry planned"
    assert call_resident(ctx, t.id, 3) == "gave up"
    notes = [h.note or "" for h in callback_entries(store.get(t.id))]
    assert len(notes) == 3
    assert notes[2].startswith("callback attempt 3 of 3: Asterisk (AMI) unreachable")
    assert notes[2].endswith("; no more attempts (a landline: no SMS)")
    assert [args for args, _ in callback_rows(store)] == [[t.id, 1], [t.id, 2], [t.id, 3]]
    assert store.get(t.id).status is Status.resolved  # still waiting for the resident


def test_mobile_after_the_last_attempt_without_an_sms_path(sqlite_store: Store,
                                                        tmp_path: Path) -> None:
    t = resolved(sqlite_store, phone=MOBILE)
    assert call_resident(down_context(sqlite_store, tmp_path, attempts=1), t.id, 1) == "gave up"
    [entry] = callback_entries(sqlite_store.get(t.id))
    assert entry.note is not None
    assert entry.note.endswith("; no more attempts (SMS fallback not available)")


def test_no_dialer_is_ami_down(sqlite_store: Store, tmp_path: Path) -> None:
    t = resolved(sqlite_store)
    ctx = WorkerContext(store=sqlite_store, media_dir=tmp_path)
    assert call_resident(ctx, t.id, 1) == "ami_down: retry planned"
    [entry] = callback_entries(sqlite_store.get(t.id))
    assert "HOTLINE_AMI_USERNAME / HOTLINE_AMI_SECRET not set" in (entry.note or "")


def test_a_ticket_that_waits_for_nothing_is_not_called(sqlite_store: Store,
                                                       tmp_path: Path) -> None:
    t = resolved(sqlite_store)
    event = TicketEvent(actor="street:DS", status=Status.in_progress)
    sqlite_store.change(t.id, lambda c, s, a: apply_event(c, event, s, a))
    said = call_resident(down_context(sqlite_store, tmp_path), t.id, 1)
    assert said == f"ticket {t.number} waits for no answer (in_progress)"
    assert callback_entries(sqlite_store.get(t.id)) == []


def test_planner_queues_landline_voice_callers_only(sqlite_store: Store) -> None:
    landline = resolved(sqlite_store)
    before = landline.model_copy(update={"status": Status.in_progress,
                                         "history": landline.history[:-1]})
    [job] = callback_planner(None, before, landline, landline.updated_at)  # type: ignore[arg-type]
    assert (job.queue.value, job.path, job.args) == (
        "callback", "ivr.callback_job.call_resident", (landline.id, 1))
    mobile = landline.model_copy(update={"citizen": Citizen(phone=MOBILE)})
    assert callback_planner(None, before, mobile, mobile.updated_at) == ()  # type: ignore[arg-type]
    sms = landline.model_copy(update={"channel": Channel.sms})
    assert callback_planner(None, before, sms, sms.updated_at) == ()  # type: ignore[arg-type]
    assert callback_planner(None, landline, landline, landline.updated_at) == ()  # type: ignore[arg-type]


@pytest.mark.parametrize(("template", "phone", "channel"), [
    ("PJSIP/{number}@carrier", "+861065123456", "PJSIP/01065123456@carrier"),
    ("PJSIP/{number}@carrier", "+8613800138000", "PJSIP/13800138000@carrier"),
    ("PJSIP/{e164}@carrier", "+861065123456", "PJSIP/+861065123456@carrier"),
    ("Local/{number}@callback-test", "+862165123456", "Local/02165123456@callback-test"),
])
def test_dial_string(template: str, phone: str, channel: str) -> None:
    assert dial_string(template, phone) == channel


@pytest.mark.parametrize(("event", "outcome"), [
    ({"Event": "OriginateResponse", "Response": "Success", "Reason": "4"}, Outcome.answered),
    ({"Event": "OriginateResponse", "Response": "Failure", "Reason": "5"}, Outcome.busy),
    ({"Event": "OriginateResponse", "Response": "Failure", "Reason": "3"}, Outcome.no_answer),
    ({"Event": "OriginateResponse", "Response": "Failure", "Reason": "1"}, Outcome.no_answer),
    ({"Event": "OriginateResponse", "Response": "Failure", "Reason": "8"}, Outcome.failed),
    ({"Event": "OriginateResponse", "Response": "Failure", "Reason": "0"}, Outcome.failed),
])
def test_outcome_of_originate_response(event: dict[str, str], outcome: Outcome) -> None:
    assert outcome_of(event).outcome is outcome


def test_originate_action() -> None:
    dialer = AmiDialer(AmiConfig("127.0.0.1", 5038, "u", "s"), "PJSIP/{number}@carrier", 30)
    action = dialer.action(CallRequest("ab" * 16, LANDLINE, action_id="callback-x"))
    assert action == {
        "Action": "Originate", "ActionID": "callback-x",
        "Channel": "PJSIP/01065123456@carrier", "Context": "callback-96010", "Exten": "s",
        "Priority": "1", "Async": "true", "Timeout": "30000", "CallerID": '"96010" <96010>',
        "Variable": [f"CALLBACK_TICKET={'ab' * 16}"],
    }


def test_after_the_last_attempt_a_mobile_gets_the_question_by_sms(sqlite_store: Store,
                                                                   tmp_path: Path) -> None:
    # resolved by a store without the notification hook (a ticket resolved before it existed):
    # no SMS went out yet, so the fallback plans one
    t = resolved(Store(sqlite_store.db), phone=MOBILE)
    ctx = replace(down_context(sqlite_store, tmp_path, attempts=1), sms_fallback=sms_fallback)
    assert call_resident(ctx, t.id, 1) == "gave up; SMS planned"
    [entry] = callback_entries(sqlite_store.get(t.id))
    assert (entry.note or "").endswith("; no more attempts, the question goes to the resident "
                                       "by SMS (once per round: not again when it went already)")
    [note] = notifications.for_ticket(sqlite_store.db, t.id)
    assert (note.step, note.channel, note.status) == (notifications.Step.resolved,
                                                      notifications.Via.sms, "pending")
    with sqlite_store.db.read() as conn:
        jobs = conn.execute(select(outbox.c.job, outbox.c.args)
                            .where(outbox.c.queue == "notify")).all()
    assert [tuple(j) for j in jobs] == [("channels.notify.send_notification", [note.id])]


def test_the_sms_fallback_never_sends_the_question_twice(sqlite_store: Store,
                                                         tmp_path: Path) -> None:
    t = resolved(sqlite_store, phone=MOBILE)  # the store's hook planned the resolved SMS
    ctx = replace(down_context(sqlite_store, tmp_path, attempts=1), sms_fallback=sms_fallback)
    assert call_resident(ctx, t.id, 1) == "gave up; no new SMS (planned before)"
    assert len(notifications.for_ticket(sqlite_store.db, t.id)) == 1


def test_the_store_queues_the_callback_of_a_landline_caller(sqlite_store: Store) -> None:
    landline = resolved(sqlite_store)
    mobile = sqlite_store.submit(intake("call-2", channel=Channel.voice,
                                        citizen=Citizen(phone=MOBILE))).ticket
    for status, note in ((Status.registered, None), (Status.dispatched, None),
                         (Status.in_progress, None), (Status.resolved, "好了")):
        event = TicketEvent(actor="street:DS", status=status, note=note)
        sqlite_store.change(mobile.id, lambda c, s, a, e=event: apply_event(c, e, s, a))
    assert callback_rows(sqlite_store) == [([landline.id, 1], timedelta(0))]
    assert notifications.for_ticket(sqlite_store.db, landline.id) == []
    assert len(notifications.for_ticket(sqlite_store.db, mobile.id)) == 1


SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_quiet_hours_move_the_call_and_the_retries(sqlite_store: Store, tmp_path: Path) -> None:
    t = resolved(sqlite_store)
    quiet = QuietHours.parse("22:00-08:00", "Asia/Shanghai")
    night = datetime(2026, 12, 7, 23, 30, tzinfo=SHANGHAI)
    ctx = replace(down_context(sqlite_store, tmp_path),
                  callback_policy=CallbackPolicy(attempts=3, interval=7200, quiet=quiet),
                  clock=lambda: night)
    assert call_resident(ctx, t.id, 1) == "quiet hours"
    [entry] = callback_entries(sqlite_store.get(t.id))
    assert entry.note == ("callback attempt 1 waits for the end of quiet hours "
                          "(2026-12-08 00:00 UTC)")  # 08:00 in Shanghai
    assert callback_rows(sqlite_store)[-1] == ([t.id, 1], timedelta(hours=8, minutes=30))
    # an attempt at 21:00 that fails: 2 h later is 23:00, so the retry waits until 08:00
    evening = datetime(2026, 12, 8, 21, 0, tzinfo=SHANGHAI)
    ctx = replace(ctx, clock=lambda: evening)
    assert call_resident(ctx, t.id, 1) == "ami_down: retry planned"
    assert callback_rows(sqlite_store)[-1] == ([t.id, 2], timedelta(hours=11))
