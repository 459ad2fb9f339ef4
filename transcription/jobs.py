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

from router import runtime as router_runtime
from router.media import URL_PREFIX, resolve
from router.model import Attachment, HistoryEntry, Ticket, Transcript
from router.store import TicketNotFound
from transcription import runtime
from transcription.audio import AudioError
from transcription.batch import transcribe_file
from transcription.chinese import join_cjk
from transcription.result import Recognition

log = logging.getLogger(__name__)
ACTOR = "transcription"


def _audio(ticket: Ticket) -> list[Attachment]:
    return [a for a in ticket.attachments if a.content_type.lower().startswith("audio/")]


def _recognise(attachment: Attachment) -> Recognition:
    rt = runtime.current()
    name = attachment.url.rsplit("/", 1)[-1] if attachment.url.startswith(URL_PREFIX) else ""
    path = resolve(rt.media_dir, name) if name else None
    if path is None:
        raise AudioError(f"audio {attachment.url} is not in the media store")
    return transcribe_file(rt.engine, path)


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


def transcribe_ticket(ticket_id: str) -> str:
    """Transcribe a ticket's audio attachments unless it has a transcript. Returns what
    happened: ``transcribed``, ``already``, ``no-audio`` or ``failed``."""
    store = router_runtime.store()
    ticket = store.get(ticket_id)
    if ticket.transcript is not None:
        return "already"
    attachments = _audio(ticket)
    if not attachments:
        return "no-audio"
    model = runtime.current().engine.name
    recognitions: list[Recognition] = []
    reasons: list[str] = []
    for attachment in attachments:
        try:
            recognitions.append(_recognise(attachment))
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
            return _note(current, seq, at, note, transcript=transcript)
        note = "no transcript: " + "; ".join(reasons)
        if any(h.actor == ACTOR and h.note == note for h in current.history):
            return None  # the same failure is already on record
        return _note(current, seq, at, note)

    changed = store.change(ticket.id, apply)
    if transcript is None:
        log.warning("ticket %s: %s", ticket.number, "; ".join(reasons))
        return "failed"
    return "transcribed" if changed.transcript == transcript else "already"


def transcribe_call(channel: str, channel_ref: str) -> str:
    """The same for the ticket of a call (or another message) known by its channel ref."""
    ticket = router_runtime.store().find_by_ref(channel, channel_ref)
    if ticket is None:
        raise TicketNotFound(f"{channel}:{channel_ref}")
    return transcribe_ticket(ticket.id)
