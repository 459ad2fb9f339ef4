"""RQ jobs: transcribe the audio attachments of a ticket that has no transcript yet.

The fallback when no live transcript arrived: a call whose stream broke, spooled fallback
recordings, WeChat voice notes once fetched. Decoding happens before the ticket is touched;
the change itself re-checks that no transcript arrived meanwhile. Audio that cannot be read
leaves ``transcript: null`` with the reason in the ticket's history; the ticket moves on and the
audio stays where it is. Running a job twice changes nothing more.
"""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path
from typing import Protocol

from tickets.jobcontext import JobContext
from tickets.jobs import job
from tickets.media import URL_PREFIX, resolve
from tickets.model import Attachment, HistoryEntry, Ticket, Transcript
from tickets.queues import QueueName
from tickets.store import Mutation
from transcription.audio import AudioError
from transcription.batch import FileRecognizer, recognise_file
from transcription.chinese import join_cjk
from transcription.result import Recognition

log = logging.getLogger(__name__)
ACTOR = "transcription"


class TranscriptionContext(JobContext, Protocol):
    """What the transcription jobs need from the worker: the store, media and a recognizer
    (the worker's sends the audio to the recognizer processes of ``hotline agi``)."""

    @property
    def engine(self) -> FileRecognizer: ...


def _audio(ticket: Ticket) -> list[Attachment]:
    return [a for a in ticket.attachments if a.content_type.lower().startswith("audio/")]


def _recognise(engine: FileRecognizer, media_dir: Path, attachment: Attachment,
               ) -> Recognition:
    name = attachment.url.rsplit("/", 1)[-1] if attachment.url.startswith(URL_PREFIX) else ""
    path = resolve(media_dir, name) if name else None
    if path is None:
        raise AudioError(f"audio {attachment.url} is not in the media store")
    return recognise_file(engine, path)


def _merge(recognitions: list[Recognition], model: str) -> Transcript | None:
    texts = [r.text for r in recognitions if r.text]
    if not texts:
        return None
    words = [w for r in recognitions for w in r.words]
    confidence = round(sum(w.conf for w in words) / len(words), 4) if words else None
    return Transcript(text=join_cjk(" ".join(texts)), confidence=confidence, engine="vosk",
                      model=model)


def _note(ticket: Ticket, seq: int, at: datetime, note: str, **update: object) -> Ticket:
    entry = HistoryEntry(seq=seq, at=at, actor=ACTOR, note=note)
    return ticket.model_copy(update={**update, "history": [*ticket.history, entry]})


def _transcribed(ticket: Ticket, seq: int, at: datetime, transcript: Transcript,
                 note: str) -> Ticket:
    """``ticket`` with its transcript (and, for a message without written text, its text)."""
    return _note(ticket, seq, at, note, transcript=transcript,
                 text=ticket.text or transcript.text)


def with_transcript(transcript: Transcript, note: str) -> Mutation:
    """A change that gives a ticket its transcript, unless it has one already."""

    def apply(ticket: Ticket, seq: int, at: datetime) -> Ticket | None:
        if ticket.transcript is not None:
            return None
        return _transcribed(ticket, seq, at, transcript, note)

    return apply


@job(QueueName.transcribe)
def transcribe_ticket(ctx: TranscriptionContext, ticket_id: str) -> str:
    """Transcribe a ticket's audio attachments unless it has a transcript. Returns what
    happened: ``transcribed``, ``already``, ``no-audio`` or ``failed``. Raises
    :class:`~transcription.batchclient.RecognizerUnavailable` (the job is retried, the ticket
    untouched) when the recognizer processes are down or ended mid-file."""
    store = ctx.store
    ticket = store.get(ticket_id)
    if ticket.transcript is not None:
        return "already"
    attachments = _audio(ticket)
    if not attachments:
        return "no-audio"
    model = ctx.engine.name
    recognitions: list[Recognition] = []
    reasons: list[str] = []
    for attachment in attachments:
        try:
            recognitions.append(_recognise(ctx.engine, ctx.media_dir, attachment))
        except AudioError as exc:
            reasons.append(f"{attachment.url.rsplit('/', 1)[-1]}: {exc}")
    transcript = _merge(recognitions, model)
    if transcript is None and recognitions and not reasons:
        reasons.append("no speech recognised")

    def apply(current: Ticket, seq: int, at: datetime) -> Ticket | None:
        if current.transcript is not None:
            return None  # the live transcript (or another run) won
        if transcript is not None:
            note = f"transcribed {len(recognitions)} audio file(s) with vosk ({model})"
            if reasons:
                note += "; not transcribed: " + "; ".join(reasons)
            return _transcribed(current, seq, at, transcript, note)
        note = "no transcript: " + "; ".join(reasons)
        if any(h.actor == ACTOR and h.note == note for h in current.history):
            return None  # the same failure is already on record
        return _note(current, seq, at, note)

    changed = store.change(ticket.id, apply)
    if transcript is None:
        log.warning("ticket %s: %s", ticket.number, "; ".join(reasons))
        return "failed"
    return "transcribed" if changed.transcript == transcript else "already"
