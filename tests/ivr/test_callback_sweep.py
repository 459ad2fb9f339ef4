"""The callback call as a retry of unanswered texts (SQLite and PostgreSQL): planned once per
round after the wait, with its job in the outbox; never for an answered ticket, a landline voice
caller (called at resolution already) or a resident without a phone number."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from ivr.callback_history import callback_entries
from ivr.callback_sweep import plan_after_unanswered_texts
from tests.support.intakes import intake
from tickets.answers import Answer, Question
from tickets.events import TicketEvent, apply_event
from tickets.model import Channel, Citizen, Status, Ticket
from tickets.store import Store
from tickets.tables import outbox
from tickets.verification import last_asked_at
from tickets.verify_store import ask, record_answer

MOBILE = "+8613800138000"
LANDLINE = "+861065123456"
WAIT = timedelta(hours=24)


def asked(store: Store, ref: str, channel: Channel = Channel.sms,
          phone: str | None = MOBILE, openid: str | None = None) -> tuple[Ticket, datetime]:
    t = store.submit(intake(ref, channel=channel,
                            citizen=Citizen(phone=phone, wechat_openid=openid))).ticket
    for status, note in ((Status.registered, None), (Status.dispatched, None),
                         (Status.in_progress, None), (Status.resolved, "路灯已修好")):
        event = TicketEvent(actor="street:DS", status=status, note=note)
        t = store.change(t.id, lambda c, s, a, e=event: apply_event(c, e, s, a))
    t = ask(store, t.id, Question.solved, channel=channel)
    at = last_asked_at(t)
    assert at is not None
    return t, at


def callback_jobs(store: Store) -> list[list[object]]:
    with store.db.read() as conn:
        rows = conn.execute(select(outbox.c.args).where(outbox.c.queue == "callback")
                            .order_by(outbox.c.id)).scalars().all()
    return [list(r) for r in rows]


def test_an_unanswered_text_gets_one_callback_after_the_wait(store: Store) -> None:
    t, at = asked(store, "sms-1")
    assert plan_after_unanswered_texts(store, at + WAIT - timedelta(minutes=1), WAIT) == []
    assert callback_jobs(store) == []
    assert plan_after_unanswered_texts(store, at + WAIT + timedelta(minutes=1), WAIT) == [t.number]
    assert callback_jobs(store) == [[t.id, 1]]
    [entry] = callback_entries(store.get(t.id))
    assert entry.note == "no answer to the text questions: a callback call is planned"
    # the next check, or another relay's, plans nothing more in this round
    assert plan_after_unanswered_texts(store, at + 2 * WAIT, WAIT) == []
    assert callback_jobs(store) == [[t.id, 1]]


def test_answered_landline_and_unreachable_residents_are_left_alone(store: Store) -> None:
    answered, at = asked(store, "sms-2")
    record_answer(store, answered.id, Answer.of_solved(True), channel=Channel.sms,
                  key="sms:answer-2")
    landline, _ = asked(store, "voice-1", channel=Channel.voice, phone=LANDLINE)
    asked(store, "wx-1", channel=Channel.wechat, phone=None, openid="o" + "x" * 27)
    assert plan_after_unanswered_texts(store, at + 3 * WAIT, WAIT) == []
    # only the landline caller's call, planned with the resolution by the store's change hook
    assert callback_jobs(store) == [[landline.id, 1]]


def test_a_resident_who_asked_for_a_call_is_called_at_resolution(store: Store) -> None:
    """``citizen.callback_requested`` (the web form's 电话回访 box): the callback job comes with
    the resolution, even for a mobile number; without consent to contact it does not."""
    def resolved_web(ref: str, consent: bool) -> Ticket:
        citizen = Citizen(phone=MOBILE, consent_to_contact=consent, callback_requested=True)
        t = store.submit(intake(ref, channel=Channel.web, citizen=citizen)).ticket
        for status, note in ((Status.registered, None), (Status.dispatched, None),
                             (Status.in_progress, None), (Status.resolved, "路灯已修好")):
            event = TicketEvent(actor="street:DS", status=status, note=note)
            t = store.change(t.id, lambda c, s, a, e=event: apply_event(c, e, s, a))
        return t

    asked_for = resolved_web("web-1", consent=True)
    resolved_web("web-2", consent=False)
    assert callback_jobs(store) == [[asked_for.id, 1]]
