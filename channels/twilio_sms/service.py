"""What an incoming SMS/MMS does: the conversation rule applied to the store (synchronous; the
route runs it in a thread), with one media job per MMS picture aimed at the ticket it lands on."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

from channels.closing import Replied
from channels.closing import respond as classify
from channels.conversation import Outcome, handle
from channels.twilio_sms.media import fetch_twilio_media
from channels.twilio_sms.parse import SmsMessage, to_intake
from tickets.jobs import Job
from tickets.masking import mask_phone
from tickets.model import Intake
from tickets.store import Store

log = logging.getLogger(__name__)


def receive(store: Store, message: SmsMessage, received_at: datetime) -> Outcome:
    """File ``message`` (new ticket, follow-up or rating); exactly one effect per MessageSid."""
    return receive_intake(store, to_intake(message, received_at))


def respond(store: Store, intake: Intake) -> Replied | Outcome:
    """What a message does, live or kept by the spool: an opt-out, a status query or an
    answer to the closing questions gets its reply, any other message is filed."""
    return classify(store, intake, lambda filed: receive_intake(store, filed))


def receive_intake(store: Store, intake: Intake) -> Outcome:
    """:func:`receive` for the intake of a message."""

    def media_jobs(ticket_id: str) -> Sequence[Job]:
        return [Job.of(fetch_twilio_media, ticket_id, a.url, a.content_type)
                for a in intake.attachments]

    outcome = handle(store, intake, media_jobs)
    log.info("sms %s from %s → ticket %s (%s%s)", intake.channel_ref,
             mask_phone(intake.citizen.phone),
             outcome.ticket.number, outcome.action.value, ", repeat" if outcome.repeat else "")
    return outcome
