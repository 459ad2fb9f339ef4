"""Handling a text message the spool kept (:mod:`channels.deadline`): the ingester
(``ivr.spool.ingest``, given this by the composition room) runs it through its channel's own
rule, the one the live path runs (:func:`channels.closing.respond`: an opt-out, a status
query or an answer to the closing questions first, else the conversation rule) — so a spooled
"退订" or rating is handled as what it is, never filed as a new ticket, and a message the
stalled request or a provider's retry handled meanwhile is a repeat of it.

The resident, who was answered "已收到，工单号稍后发送", then gets on their own channel what
the live path would have said: a new ticket's number (the notification ``received``, planned
with a history entry in one change: once per ticket), or the reply (the notification
``reply``, planned once per message — a retried ingestion sends nothing more, and the answer
itself is applied once, by the message's key).

What is no message (:mod:`channels.inbound`) is handed to the live path's own handler too
(:func:`file_inbound`): a WeChat menu click or LOCATION to :func:`channels.wechat.service.respond`
— the follower then gets what the live push would have answered (a status lookup, the menu's
prompt) as a ``reply``, once per event (WeChat's FromUserName + CreateTime); a status-page
answer to :func:`channels.webform.answers.apply`, once per form."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection

from channels import inbound
from channels.closing import Replied
from channels.conversation import Action, Outcome, message_key
from channels.notify import send_notification
from channels.twilio_sms import service as sms_service
from channels.webform import answers as web_answers
from channels.wechat import service as wechat_service
from tickets import notifications as nt
from tickets import outbox
from tickets.jobs import Job
from tickets.model import Channel, HistoryEntry, Intake, Ticket
from tickets.store import Store, TicketNotFound, now_utc

NUMBER_SENT_LATER = "spool:number-later"  # the history entry's event id


def file_spooled(store: Store, intake: Intake) -> str:
    """Handle a spooled message as its channel would have; what it became (for the log)."""
    answer: Replied | Outcome
    if intake.channel is Channel.sms:
        answer = sms_service.respond(store, intake)
    elif intake.channel is Channel.wechat:
        answer = wechat_service.respond_report(store, intake, intake.received_at)
    else:  # the web form: one ticket per page
        answer = Outcome(Action.new, store.submit(intake).ticket)
    if isinstance(answer, Replied):
        reply_later(store, intake, answer.text)
        return "answered (no new request)"
    return f"ticket {tell_number(store, answer.ticket).number}"


def file_inbound(store: Store, raw: str) -> str:
    """Handle a spooled event or page answer (``raw``: its JSON) by the live path's handler;
    what it did (for the log). A malformed one raises pydantic's ValidationError."""
    kept = inbound.load(raw)
    if isinstance(kept, inbound.WechatEvent):
        event = kept.event()
        text = wechat_service.respond(store, event, kept.at)
        if text is None:
            return "applied (nothing to answer)"
        plan_reply(store, kept.key, nt.Via.wechat, event.openid, text)
        return "answered"
    try:
        outcome = web_answers.apply(store, kept)
    except TicketNotFound:  # the MAC proved the link; the ticket has since been removed
        return "ticket gone: answer dropped"
    return f"web answer: {outcome.result.value}"


def reply_later(store: Store, intake: Intake, text: str) -> None:
    """Plan the reply to ``intake`` on its own channel (once per message)."""
    reach = _sender(intake)
    if reach is None:
        return  # no proven sender: the live path would not have replied either
    via, address = reach
    plan_reply(store, message_key(intake), via, address, text)


def plan_reply(store: Store, key: str, via: nt.Via, address: str, text: str) -> None:
    """Plan ``text`` to ``address`` as the reply to what ``key`` names (once per key)."""
    at = now_utc()
    with store.db.write() as conn:
        jobs = nt.plan_reply(conn, key, via, address, text, at,
                             lambda note_id: Job.of(send_notification, note_id))
        outbox.write(conn, nt.NO_TICKET, jobs, at)


def _sender(intake: Intake) -> tuple[nt.Via, str] | None:
    citizen = intake.citizen
    if intake.channel is Channel.sms and citizen.phone:
        return nt.Via.sms, citizen.phone
    if intake.channel is Channel.wechat and citizen.wechat_openid:
        return nt.Via.wechat, citizen.wechat_openid
    return None


def tell_number(store: Store, ticket: Ticket) -> Ticket:
    """Plan the ``received`` notification of ``ticket`` (once: a repeat changes nothing)."""
    planned: list[Job] = []

    def mutate(t: Ticket, seq: int, at: datetime) -> Ticket | None:
        if any(h.event_id == NUMBER_SENT_LATER for h in t.history):
            return None
        entry = HistoryEntry(seq=seq, at=at, actor="gateway:spool", event_id=NUMBER_SENT_LATER,
                             note="the message was acknowledged without its number (the store "
                                  "was slow): the number goes to the resident on their channel")
        return t.model_copy(update={"history": [*t.history, entry]})

    def plan(conn: Connection, t: Ticket, at: datetime) -> None:
        planned[:] = nt.plan(conn, t, [nt.Step.received], at,
                             lambda note_id: Job.of(send_notification, note_id))

    return store.change(ticket.id, mutate, also=plan, jobs=lambda _id: list(planned))
