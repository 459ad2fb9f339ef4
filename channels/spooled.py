"""Filing a text message the spool kept (:mod:`channels.deadline`): the ingester
(``ivr.spool.ingest``, given this by the composition room) files it by its channel's own rule,
as the channel would have — so a message the stalled request or a provider's retry filed
meanwhile is a repeat of it, not a second ticket. The resident, who was answered
"已收到，工单号稍后发送", is then sent the number on their own channel (the notification
``received``, planned with a history entry in one change: once per ticket)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection

from channels.notify import send_notification
from channels.twilio_sms import service as sms_service
from channels.wechat import service as wechat_service
from tickets import notifications as nt
from tickets.jobs import Job
from tickets.model import Channel, HistoryEntry, Intake, Ticket
from tickets.store import Store

NUMBER_SENT_LATER = "spool:number-later"  # the history entry's event id


def file_spooled(store: Store, intake: Intake) -> Ticket:
    if intake.channel is Channel.sms:
        ticket = sms_service.receive_intake(store, intake).ticket
    elif intake.channel is Channel.wechat:
        ticket = wechat_service.file_report(store, intake, intake.received_at).ticket
    else:
        ticket = store.submit(intake).ticket  # the web form: one ticket per page
    return tell_number(store, ticket)


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
