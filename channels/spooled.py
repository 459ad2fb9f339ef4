"""Filing a text message the spool kept (:mod:`channels.deadline`): the ingester
(``ivr.spool.ingest``, given this by the composition room) files it by its channel's own rule,
as the channel would have — so a message the stalled request or a provider's retry filed
meanwhile is a repeat of it, not a second ticket."""

from __future__ import annotations

from channels.twilio_sms import service as sms_service
from channels.wechat import service as wechat_service
from tickets.model import Channel, Intake, Ticket
from tickets.store import Store


def file_spooled(store: Store, intake: Intake) -> Ticket:
    if intake.channel is Channel.sms:
        return sms_service.receive_intake(store, intake).ticket
    if intake.channel is Channel.wechat:
        return wechat_service.file_report(store, intake, intake.received_at).ticket
    return store.submit(intake).ticket  # the web form: one ticket per page
