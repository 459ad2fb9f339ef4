"""Ingest the fallback spool (:mod:`ivr.spool.format`): a text message a channel spooled past its
deadline goes through that channel's rule (``file_text``: a new ticket, or the reply to an
opt-out or an answer; the same message handled meanwhile by a provider's retry is recognised
as a repeat), and a spooled event or page answer through the live path's handler
(``file_inbound``); every other complete entry becomes a voice
ticket (``channel_ref`` = the call's :func:`~ivr.tickets.voice_ref`) with the recording as an
``audio/wav`` attachment and a transcription job — or joins the call's ticket when one exists
(the flow made a draft, then the queue timed out; the gateway stored part of a message before
it stopped). Only after the ticket is committed are the files moved to ``spool/done/``; a crash
in between repeats the entry, and the store's idempotency makes the repeat harmless.

Nothing is dropped. A missing, empty or unreadable recording still makes a ticket (with the
caller number, so the back office can call back) whose text says what was wrong. An entry that
fails for a reason of its own is retried with a growing pause (:data:`BACKOFF`, at most an
hour), for ever, and reported loudly once it is older than :data:`ALERT_AGE`; one failing entry
never blocks the later ones. While the database itself is unreachable a pass stops without
counting anything. Only an entry with no usable call id at all goes to ``spool/bad/``, and
``hotline spool retry`` moves everything there back.
"""

from __future__ import annotations

import contextlib
import json
import logging
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError
from sqlalchemy import select

from ivr import clip
from ivr.spool.format import (
    STALE_AFTER,
    Entry,
    is_complete,
    kind_of,
    phone_of,
    received_at_of,
    scan,
    unique_id_of,
)
from ivr.tickets import Call, submit_message, voice_ref
from tickets.masking import mask_phone
from tickets.model import Channel, Citizen, Intake
from tickets.store import Store
from tickets.tables import tickets

log = logging.getLogger(__name__)

DONE = "done"
BAD = "bad"
BACKOFF = (2.0, 10.0, 60.0, 300.0, 900.0, 3600.0)  # seconds before the next attempt
ALERT_AGE = 3600.0  # an entry still waiting after this long is an alert (log ERROR)

REASONS = {
    "gateway-down": "受理系统暂时不可用，来电者通过应急录音留言。",
    "queue-timeout": "人工坐席未能接听，来电者留言。",
    "queue-joinempty": "无人工坐席在线，来电者留言。",
    "queue-leaveempty": "人工坐席全部离线，来电者留言。",
    "queue-joinunavail": "无人工坐席可用，来电者留言。",
    "queue-leaveunavail": "无人工坐席可用，来电者留言。",
    "queue-full": "人工坐席队列已满，来电者留言。",
    "store-failed": "受理系统暂时无法保存工单，来电者的留言已转入应急录音。",
    "gateway-restart": "受理系统重启期间，来电者通过应急录音留言。",
    "gateway-lost": "通话中受理系统中断，来电者通过应急录音继续留言。",
}
DEFAULT_REASON = "来电者通过应急录音留言。"
NO_RECORDING = "来电者在留言前挂机，没有录音，请回拨。"
EMPTY_RECORDING = "留言录音为空或过短，请回拨。"
BAD_RECORDING = "留言录音文件无法读取，已保留原文件。"


@dataclass(frozen=True)
class Audio:
    data: bytes | None  # what to attach (None: nothing usable)
    transcribe: bool
    note: str | None  # what was wrong, for the ticket text


def read_audio(path: Path | None) -> Audio:
    if path is None:
        return Audio(None, False, NO_RECORDING)
    raw = path.read_bytes()
    try:
        message = clip.message(raw)
    except clip.NotWav:
        return Audio(raw or None, False, BAD_RECORDING)
    if not message.said_something or message.seconds < 0.5:
        return Audio(message.wav if message.seconds > 0 else None, False, EMPTY_RECORDING)
    return Audio(message.wav, True, None)


def ticket_text(fields: dict[str, str], note: str | None) -> str:
    text = REASONS.get(fields.get("reason", ""), DEFAULT_REASON)
    return f"{text}{note}" if note else text


# handles a text message a channel spooled (``intake=`` in the sidecar) by the channel's own
# rule — a new ticket, or a reply when it was no new request (an opt-out, an answer) — and
# says what it became; the composition room passes the channels' (ivr imports no channel)
FileText = Callable[[Store, Intake], str]


def submit_text(store: Store, intake: Intake) -> str:
    return f"ticket {store.submit(intake).ticket.number}"


# handles what a channel spooled that is no message (``inbound=``: a WeChat event, a status-page
# answer; its JSON) by the live path's own handler, and says what it did; the composition
# room passes the channels' (``channels.spooled.file_inbound``)
FileInbound = Callable[[Store, str], str]


def no_inbound(store: Store, raw: str) -> str:
    """Without the channels' handler an inbound entry waits (it is retried, never dropped)."""
    raise RuntimeError("no handler for spooled channel events was given to the ingester")


def ingest_entry(store: Store, entry: Entry, media_dir: Path, *, now: float,
                 file_text: FileText = submit_text,
                 file_inbound: FileInbound = no_inbound) -> str | None:
    """Handle one complete entry: a call becomes (or joins) a ticket, a text message goes
    through its channel's rule. What it became (for the log); None: the entry has no call
    id."""
    if "intake" in entry.fields:  # a text message past its channel's deadline
        intake = Intake.model_validate_json(entry.fields["intake"])
        became = file_text(store, intake)
        log.info("spool: %s message %s -> %s", intake.channel.value, entry.stem, became)
        return became
    if "inbound" in entry.fields:  # a channel event or a page's answer past the deadline
        became = file_inbound(store, entry.fields["inbound"])
        log.info("spool: %s %s -> %s", entry.fields.get("channel", "?"), entry.stem, became)
        return became
    unique_id = unique_id_of(entry.stem, entry.fields)
    if unique_id is None:
        return None
    call = Call(ref=voice_ref(entry.fields.get("pbx", ""), unique_id),
                phone=phone_of(entry.fields),
                received_at=received_at_of(entry.stem, entry.fields, now))
    audio = read_audio(entry.audio)
    text = ticket_text(entry.fields, audio.note)
    kind = kind_of(entry.fields)
    if audio.data is not None:
        ticket = submit_message(store, media_dir, call, kind, audio.data, text=text,
                                actor="ivr:spool", transcribe=audio.transcribe)
    else:
        result = store.submit(Intake(channel=Channel.voice, channel_ref=call.ref,
                                     received_at=call.received_at,
                                     citizen=Citizen(phone=call.phone), kind=kind, text=text))
        ticket = result.ticket
    log.info("spool: call %s from %s -> ticket %s%s", call.ref, mask_phone(call.phone),
             ticket.number, f" ({audio.note})" if audio.note else "")
    return f"ticket {ticket.number}"


class DatabaseUnavailable(RuntimeError):
    """The database cannot be reached (or has no schema): the pass stops, every entry waits
    for the next one."""


def database_reachable(store: Store) -> bool:
    """The database answers and has its tickets table (a missing schema is an outage too)."""
    try:
        with store.db.read() as conn:
            conn.execute(select(tickets.c.id).limit(1))
    except Exception:
        return False
    return True


@dataclass(frozen=True)
class Attempts:
    count: int
    next_at: float  # time.time() before which the entry is not tried again


def _attempts_file(spool_dir: Path, stem: str) -> Path:
    return spool_dir / f".{stem}.attempts"  # hidden: scan() never takes it for an entry


def read_attempts(spool_dir: Path, stem: str) -> Attempts:
    try:
        data = json.loads(_attempts_file(spool_dir, stem).read_text("utf-8"))
        return Attempts(int(data["count"]), float(data["next_at"]))
    except (OSError, ValueError, KeyError, TypeError):
        return Attempts(0, 0.0)


def _count_attempt(spool_dir: Path, stem: str, now: float) -> Attempts:
    count = read_attempts(spool_dir, stem).count + 1
    attempts = Attempts(count, now + BACKOFF[min(count, len(BACKOFF)) - 1])
    with contextlib.suppress(OSError):  # a read-only spool still retries, just at once
        _attempts_file(spool_dir, stem).write_text(
            json.dumps({"count": attempts.count, "next_at": attempts.next_at}), "utf-8")
    return attempts


def _forget_attempts(spool_dir: Path, stem: str) -> None:
    with contextlib.suppress(OSError):
        _attempts_file(spool_dir, stem).unlink(missing_ok=True)


def _move(entry: Entry, target: Path) -> None:
    target.mkdir(parents=True, exist_ok=True)
    for path in (entry.audio, entry.sidecar):  # the sidecar last: it is what marks an entry
        if path is not None:
            with contextlib.suppress(FileNotFoundError):  # a concurrent ingester was faster
                shutil.move(str(path), target / path.name)


def _failed(store: Store, spool_dir: Path, entry: Entry, exc: Exception, now: float) -> None:
    """One entry failed for a reason of its own (the database answers): try it again later."""
    if not database_reachable(store):
        raise DatabaseUnavailable(f"the database is unreachable ({exc})") from exc
    attempts = _count_attempt(spool_dir, entry.stem, now)
    caller = mask_phone(phone_of(entry.fields))
    age = now - entry.newest_mtime()
    level = logging.ERROR if age >= ALERT_AGE else logging.WARNING
    log.log(level, "spool: %s (call from %s) failed %d time(s), waiting %.0f s for %.0f s "
            "now; next attempt in %.0f s: %r", entry.stem, caller, attempts.count, age, age,
            attempts.next_at - now, exc)


def ingest_once(store: Store, spool_dir: Path, media_dir: Path, *,
                stale_after: float = STALE_AFTER, now: float | None = None,
                file_text: FileText = submit_text,
                file_inbound: FileInbound = no_inbound) -> int:
    """Ingest every complete entry that is due; returns how many were handled (became or
    joined tickets, or were answered).

    If the database itself is unreachable the pass stops with :class:`DatabaseUnavailable`
    and no attempt is counted: the next pass retries everything."""
    count = 0
    clock = time.time() if now is None else now
    for entry in scan(spool_dir):
        try:
            complete = is_complete(entry.fields, clock - entry.newest_mtime(), stale_after)
        except (FileNotFoundError, ValueError):
            continue  # moved by a concurrent ingester
        if not complete or read_attempts(spool_dir, entry.stem).next_at > clock:
            continue  # still being recorded, or waiting for its next attempt
        try:
            became = ingest_entry(store, entry, media_dir, now=clock, file_text=file_text,
                                  file_inbound=file_inbound)
        except FileNotFoundError:
            continue  # taken by a concurrent ingester meanwhile
        except ValidationError as exc:  # the entry itself is malformed: keep it aside
            log.error("spool: %s is malformed (%s); moved to %s/ (hotline spool retry)",
                      entry.stem, exc.errors()[0].get("msg"), BAD)
            _move(entry, spool_dir / BAD)
            _forget_attempts(spool_dir, entry.stem)
            continue
        except Exception as exc:  # e.g. PermissionError saving the media, a database error
            _failed(store, spool_dir, entry, exc, clock)
            continue
        if became is None:
            log.error("spool: %s has no call id; moved to %s/ (hotline spool retry)",
                      entry.stem, BAD)
            _move(entry, spool_dir / BAD)
            _forget_attempts(spool_dir, entry.stem)
            continue
        _move(entry, spool_dir / DONE)
        _forget_attempts(spool_dir, entry.stem)
        count += 1
    return count


def retry_bad(spool_dir: Path) -> int:
    """Move every entry in ``bad/`` back into the spool (and forget its attempts)."""
    bad = spool_dir / BAD
    if not bad.is_dir():
        return 0
    entries = scan(bad)
    for entry in entries:
        _move(entry, spool_dir)
        _forget_attempts(spool_dir, entry.stem)
    return len(entries)


def run_ingest(pass_once: Callable[[], object], stop: threading.Event,
               interval: float = 2.0) -> None:
    """Run ``pass_once`` until ``stop`` is set (the recovery process's loop). Errors are
    logged, not fatal."""
    while not stop.is_set():
        try:
            pass_once()
        except DatabaseUnavailable as exc:
            log.warning("spool: %s; retrying in %.0fs", exc, interval)
        except Exception:
            log.exception("spool: ingest failed; retrying in %.0fs", interval)
        stop.wait(interval)
