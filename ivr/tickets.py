"""The tickets a call makes: synchronous store work, run in a thread pool by the flow, by the
sweep of left-behind recordings and by the spool ingester."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from tickets import media
from tickets.jobs import Job, no_jobs
from tickets.masking import mask_phone
from tickets.model import Attachment, Channel, Citizen, HistoryEntry, Intake, Kind, Ticket
from tickets.store import Mutation, Store
from transcription.jobs import transcribe_ticket

log = logging.getLogger(__name__)

# A live transcript normally joins the ticket seconds after the call; the batch job written
# with the ticket waits this long, then does the work only if it did not (process died, the
# recognizer fell behind).
LIVE_GRACE_SECONDS = 60.0
_PBX = re.compile(r"[A-Za-z0-9:._-]{1,64}")


def voice_ref(pbx: str, unique_id: str) -> str:
    """A call's ``channel_ref``: Asterisk's unique id, qualified by the Asterisk system it came
    from (``${ENTITYID}`` or ``PBX_ID``), since two servers can hand out the same unique id."""
    return f"{pbx}/{unique_id}" if _PBX.fullmatch(pbx) else unique_id


@dataclass(frozen=True)
class Call:
    ref: str  # the ticket's channel_ref (voice_ref)
    phone: str | None  # E.164, None when anonymous
    received_at: datetime


def _intake(call: Call, kind: Kind, **extra: object) -> Intake:
    return Intake(channel=Channel.voice, channel_ref=call.ref, received_at=call.received_at,
                  citizen=Citizen(phone=call.phone), kind=kind, **extra)


def add_recording(attachment: Attachment, note: str | None, actor: str) -> Mutation:
    """Put ``attachment`` on an existing ticket (once), with a history note."""

    def mutate(ticket: Ticket, seq: int, at: datetime) -> Ticket | None:
        if any(a.sha256 == attachment.sha256 for a in ticket.attachments):
            return None
        entry = HistoryEntry(seq=seq, at=at, actor=actor, note=note)
        return ticket.model_copy(update={
            "attachments": [*ticket.attachments, attachment],
            "history": [*ticket.history, entry],
        })

    return mutate


def submit_message(store: Store, media_dir: Path, call: Call, kind: Kind, wav: bytes, *,
                   text: str = "", live: bool = False, actor: str = "ivr",
                   transcribe: bool = True) -> Ticket:
    """The call's voice ticket with ``wav`` attached (or ``wav`` added to the call's ticket when
    it exists, e.g. a draft made for the operator) and its transcription job — run at once, or
    after :data:`LIVE_GRACE_SECONDS` when a live transcript is on its way."""
    attachment = media.save_bytes(media_dir, wav, "audio/wav")
    delay = LIVE_GRACE_SECONDS if live else 0.0

    def jobs(ticket_id: str) -> Sequence[Job]:
        return [Job.of(transcribe_ticket, ticket_id, delay=delay)] if transcribe else []

    result = store.submit(_intake(call, kind, attachments=[attachment], text=text), jobs=jobs)
    ticket = result.ticket
    if not result.created:
        ticket = store.change(ticket.id, add_recording(attachment, text or None, actor),
                              jobs=jobs if ticket.transcript is None else no_jobs)
    log.info("call %s from %s: ticket %s (%s)%s", call.ref, mask_phone(call.phone),
             ticket.number, kind.value, "" if result.created else " (existing)")
    return ticket


def submit_draft(store: Store, call: Call, kind: Kind = Kind.unknown) -> Ticket:
    """A draft for the operator who takes the call (no recording)."""
    result = store.submit(_intake(call, kind))
    log.info("call %s from %s: draft ticket %s for the operator", call.ref,
             mask_phone(call.phone), result.ticket.number)
    return result.ticket
