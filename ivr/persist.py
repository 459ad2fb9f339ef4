"""Persist or spool: the one step that turns a recorded message into a ticket, whatever
happened to the call (finished, hung up, the connection to Asterisk lost).

:func:`persist` returns what happened instead of leaving a flag for a ``finally`` to check:

* ``stored`` — the ticket exists (created, or the message added to the call's ticket);
* ``spooled`` — the store failed; the message is in the spool for the ingester;
* ``kept`` — the spool failed too; the files stay in the recordings folder, logged as an
  alert, and :func:`sweep` makes the ticket once the store answers again;
* ``nothing_said`` — the recording holds no sound at all (it is removed).

:func:`sweep` runs the same step for messages left behind by a gateway that stopped or
crashed mid-call (see :mod:`ivr.recordings`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path

from ivr import clip
from ivr.recordings import Files, Meta, discard, left_behind, read_meta, still
from ivr.spool.format import write_entry
from ivr.tickets import submit_message
from tickets.masking import mask_phone
from tickets.model import Ticket
from tickets.store import Store

log = logging.getLogger(__name__)

INTERRUPTED = "通话中断，已保存来电者中断前的留言。"


class Saved(StrEnum):
    stored = "stored"
    spooled = "spooled"
    kept = "kept"
    nothing_said = "nothing_said"


@dataclass(frozen=True)
class Persisted:
    saved: Saved
    ticket: Ticket | None = None


def _audio(files: Files) -> bytes | None:
    """The message to keep (speech with margins), or None when nothing was said."""
    try:
        raw = files.wav.read_bytes()
    except FileNotFoundError:
        return None
    try:
        message = clip.message(raw)
    except clip.NotWav:
        return raw or None  # unreadable but not empty: keep the bytes for a person to hear
    return message.wav if message.said_something else None


def persist(store: Store, media_dir: Path, spool_dir: Path | None, files: Files, meta: Meta,
            *, live: bool = False, text: str = "") -> Persisted:
    """Make the message in ``files`` a ticket, or spool it, or keep it (see the module)."""
    call = meta.call
    wav = _audio(files)
    if wav is None:
        discard(files)
        return Persisted(Saved.nothing_said)
    try:
        ticket = submit_message(store, media_dir, call, meta.kind, wav, text=text, live=live)
    except Exception:
        log.exception("call %s: cannot store the message", call.ref)
    else:
        discard(files)
        return Persisted(Saved.stored, ticket)
    if spool_dir is not None:
        unique_id = call.ref.rsplit("/", 1)[-1]
        pbx = call.ref[: -len(unique_id) - 1] if call.ref != unique_id else ""
        now = datetime.now(UTC)
        fields = {"unique_id": unique_id, "pbx": pbx, "caller": call.phone or "",
                  "presentation": "allowed" if call.phone else "unavailable",
                  "reason": "store-failed", "kind": meta.kind.value,
                  "started": str(int(call.received_at.timestamp())),
                  "ended": str(int(now.timestamp()))}
        try:
            sidecar = write_entry(spool_dir, wav, fields, now)
        except Exception:
            log.exception("call %s: cannot spool the message either", call.ref)
        else:
            discard(files)
            log.warning("call %s: store failed; message spooled as %s", call.ref, sidecar.name)
            return Persisted(Saved.spooled)
    log.critical("call %s from %s: the message could neither be stored nor spooled; it stays "
                 "in %s for the sweep", call.ref, mask_phone(call.phone), files.wav)
    return Persisted(Saved.kept)


def sweep(store: Store, recordings_dir: Path, media_dir: Path, spool_dir: Path | None, *,
          idle_after: float, now: float | None = None, quiet_for: float = 0.0) -> int:
    """Ticket every message left behind in the recordings folder; how many were stored.

    ``quiet_for`` > 0 first watches the candidates that long and leaves out any still being
    written (another gateway's call in progress in a shared folder)."""
    stored = 0
    found = left_behind(recordings_dir, idle_after=idle_after, now=now)
    if quiet_for > 0 and found:
        found = still(found, quiet_for)
    for files in found:
        try:
            meta = read_meta(files)
        except ValueError as exc:
            aside = recordings_dir / "bad"
            aside.mkdir(exist_ok=True)
            for path in (files.wav, files.meta):
                if path.exists():
                    path.replace(aside / path.name)
            log.error("recordings: %s; moved to %s for a person to look at", exc, aside)
            continue
        result = persist(store, media_dir, spool_dir, files, meta, text=INTERRUPTED)
        if result.saved is Saved.stored and result.ticket is not None:
            stored += 1
            log.warning("recordings: message of call %s left behind mid-call -> ticket %s",
                        meta.call.ref, result.ticket.number)
    return stored
