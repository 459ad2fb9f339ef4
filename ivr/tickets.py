"""The tickets a call makes: synchronous store work, run in a thread pool by the flow."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from router import media
from router.masking import mask_phone
from router.model import Channel, Citizen, Intake, Kind, Ticket, Transcript
from router.queues import TRANSCRIBE
from router.store import Job, Store

log = logging.getLogger(__name__)

TRANSCRIBE_CALL_JOB = "transcription.jobs.transcribe_call"


@dataclass(frozen=True)
class Call:
    unique_id: str
    phone: str | None  # E.164, None when anonymous
    received_at: datetime


def _intake(call: Call, kind: Kind, **extra: object) -> Intake:
    return Intake(
        channel=Channel.voice,
        channel_ref=call.unique_id,
        received_at=call.received_at,
        citizen=Citizen(phone=call.phone),
        kind=kind,
        **extra,
    )


def submit_recording(
    store: Store,
    media_dir: Path,
    call: Call,
    kind: Kind,
    wav: Path,
    transcript: Transcript | None,
) -> Ticket:
    """A voice ticket with the recording attached; the transcription job unless transcribed."""
    attachment = media.save_file(media_dir, wav, "audio/wav")
    intake = _intake(call, kind, attachments=[attachment], transcript=transcript,
                     text=transcript.text if transcript else "")
    jobs = () if transcript else (Job(TRANSCRIBE, TRANSCRIBE_CALL_JOB, ("voice", call.unique_id)),)
    result = store.submit(intake, extra_jobs=jobs)
    log.info("call %s from %s: ticket %s (%s)%s", call.unique_id, mask_phone(call.phone),
             result.ticket.number, kind.value, "" if result.created else " (existing)")
    return result.ticket


def submit_draft(store: Store, call: Call, kind: Kind = Kind.unknown) -> Ticket:
    """A draft for the operator who takes the call (no recording)."""
    result = store.submit(_intake(call, kind))
    log.info("call %s from %s: draft ticket %s for the operator", call.unique_id,
             mask_phone(call.phone), result.ticket.number)
    return result.ticket
