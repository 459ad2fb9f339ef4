"""Ingest the fallback spool: messages Asterisk recorded while the gateway was unreachable.

When the FastAGI server cannot be reached (``AGISTATUS=FAILURE``) or nobody in the operator
queue answers, the dialplan (``asterisk-conf/extensions-96010.conf``) records the caller into
the spool folder as ``<UTC time>-<unique id>.wav`` with a sidecar ``.txt`` of ``key=value``
lines: ``unique_id``, ``caller``, ``presentation``, ``reason``, ``ticket_id``, ``started`` and,
written by a hangup handler when the call ends, ``ended``.

Each complete entry becomes a voice ticket (``channel_ref`` = the call's unique id) with the
recording as an ``audio/wav`` attachment and a transcription job. Only after the ticket is
committed are the files moved to ``spool/done/``; a crash in between repeats the entry, and the
store's idempotency on ``(voice, unique id)`` makes the repeat harmless. A call that already has
a ticket (the flow made a draft, then the queue timed out) gets the recording added to that
ticket instead.

Bad entries are never dropped: a missing, empty or unreadable recording still makes a ticket
(with the caller number, so the back office can call back) whose text says what was wrong, and
the file is kept as the attachment. Only an entry with no usable call id at all, or one that
failed ``MAX_ATTEMPTS`` passes (counted in a hidden ``.<name>.attempts`` file), is moved to
``spool/bad/`` with an error in the log; one failing entry never blocks the later ones. While
the database itself is unreachable a pass stops without counting anything.
"""

from __future__ import annotations

import contextlib
import logging
import re
import shutil
import threading
import time
import wave
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from pydantic import ValidationError
from sqlalchemy import select

from ivr.caller import caller_e164
from ivr.wavinfo import wav_info
from router import media
from router.files import write_atomically
from router.masking import mask_phone
from router.model import Attachment, Channel, Citizen, HistoryEntry, Intake, Kind, Ticket
from router.queues import TRANSCRIBE
from router.store import Job, Mutation, Store
from router.tables import tickets

log = logging.getLogger(__name__)

TRANSCRIBE_CALL_JOB = "transcription.jobs.transcribe_call"
DONE = "done"
BAD = "bad"
# An entry whose call never wrote `ended=` (Asterisk stopped mid-call) is taken after this long.
STALE_AFTER = 900.0
UNIQUE_ID = re.compile(r"^[A-Za-z0-9._-]{1,150}$")
NAME = re.compile(r"^(?P<stamp>\d{8}T\d{6}Z)-(?P<unique_id>[A-Za-z0-9._-]{1,150})$")
MIN_AUDIO_SECONDS = 0.5
# An entry that fails this many passes (for a reason of its own) goes to bad/.
MAX_ATTEMPTS = 5

REASONS = {
    "gateway-down": "受理系统暂时不可用，来电者通过应急录音留言。",
    "queue-timeout": "人工坐席未能接听，来电者留言。",
    "queue-joinempty": "无人工坐席在线，来电者留言。",
    "queue-leaveempty": "人工坐席全部离线，来电者留言。",
    "queue-joinunavail": "无人工坐席可用，来电者留言。",
    "queue-leaveunavail": "无人工坐席可用，来电者留言。",
    "queue-full": "人工坐席队列已满，来电者留言。",
    "store-failed": "受理系统暂时无法保存工单，来电者的留言已转入应急录音。",
}
DEFAULT_REASON = "来电者通过应急录音留言。"
NO_RECORDING = "来电者在留言前挂机，没有录音，请回拨。"
EMPTY_RECORDING = "留言录音为空或过短，请回拨。"
BAD_RECORDING = "留言录音文件无法读取，已保留原文件。"


@dataclass(frozen=True)
class Entry:
    """One spooled call: its sidecar fields and its files (either may be missing)."""

    stem: str
    sidecar: Path | None
    audio: Path | None
    fields: dict[str, str]


@dataclass(frozen=True)
class AudioCheck:
    attach: bool  # keep the file as an attachment
    transcribe: bool  # worth a transcription job
    note: str | None  # what was wrong, for the ticket text


def parse_sidecar(text: str) -> dict[str, str]:
    """``key=value`` lines; blank and malformed lines are ignored, a later key wins."""
    fields: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep and key.strip():
            fields[key.strip()] = value.strip()
    return fields


def unique_id_of(stem: str, fields: dict[str, str]) -> str | None:
    candidate = fields.get("unique_id", "")
    if UNIQUE_ID.match(candidate):
        return candidate
    named = NAME.match(stem)
    return named.group("unique_id") if named else None


def received_at_of(stem: str, fields: dict[str, str], fallback: float) -> datetime:
    started = fields.get("started", "")
    if started.isdigit() and len(started) <= 11:
        with contextlib.suppress(OverflowError, ValueError, OSError):
            return datetime.fromtimestamp(int(started), UTC)
    named = NAME.match(stem)
    if named:
        with contextlib.suppress(ValueError):
            stamp = datetime.strptime(named.group("stamp"), "%Y%m%dT%H%M%SZ")
            return stamp.replace(tzinfo=UTC)
    return datetime.fromtimestamp(fallback, UTC)


def phone_of(fields: dict[str, str]) -> str | None:
    """E.164 (region CN), or None for anonymous, withheld or invalid numbers."""
    if fields.get("presentation", "").startswith("prohib"):
        return None
    return caller_e164(fields.get("caller", ""))


def is_complete(fields: dict[str, str], age: float, stale_after: float = STALE_AFTER) -> bool:
    return "ended" in fields or age >= stale_after


def kind_of(fields: dict[str, str]) -> Kind:
    """The menu choice the gateway wrote (``kind=``); Asterisk's own entries have none."""
    try:
        return Kind(fields.get("kind", ""))
    except ValueError:
        return Kind.unknown


def ticket_text(fields: dict[str, str], note: str | None) -> str:
    text = REASONS.get(fields.get("reason", ""), DEFAULT_REASON)
    return f"{text}{note}" if note else text


def check_audio(path: Path | None) -> AudioCheck:
    if path is None:
        return AudioCheck(attach=False, transcribe=False, note=NO_RECORDING)
    try:
        info = wav_info(path)
    except (wave.Error, EOFError, OSError, ValueError):
        return AudioCheck(attach=path.stat().st_size > 0, transcribe=False, note=BAD_RECORDING)
    if info.duration < MIN_AUDIO_SECONDS or info.peak == 0:
        return AudioCheck(attach=info.frames > 0, transcribe=False, note=EMPTY_RECORDING)
    return AudioCheck(attach=True, transcribe=True, note=None)


def scan(spool_dir: Path) -> list[Entry]:
    """Entries in the spool (sidecar and/or recording), oldest name first."""
    if not spool_dir.is_dir():
        return []
    stems = sorted({p.stem for p in spool_dir.iterdir()
                    if p.is_file() and p.suffix in (".txt", ".wav") and not p.name.startswith(".")})
    entries = []
    for stem in stems:
        sidecar = spool_dir / f"{stem}.txt"
        audio = spool_dir / f"{stem}.wav"
        fields = parse_sidecar(sidecar.read_text("utf-8", "replace")) if sidecar.exists() else {}
        entries.append(Entry(stem, sidecar if sidecar.exists() else None,
                             audio if audio.exists() else None, fields))
    return entries


def _age(entry: Entry, now: float) -> float:
    newest = max(p.stat().st_mtime for p in (entry.sidecar, entry.audio) if p is not None)
    return now - newest


def _move(entry: Entry, target: Path) -> None:
    target.mkdir(parents=True, exist_ok=True)
    for path in (entry.audio, entry.sidecar):  # the sidecar last: it is what marks an entry
        if path is not None:
            with contextlib.suppress(FileNotFoundError):  # a concurrent ingester was faster
                shutil.move(str(path), target / path.name)


def spool_recording(spool_dir: Path, wav: Path | None, fields: dict[str, str],
                    at: datetime) -> Path:
    """Hand a recording to the spool the way the dialplan's fallback does, for the gateway's
    own use when the store fails mid-call: ``<UTC time>-<unique id>.wav`` and then its sidecar
    (``fields`` must include ``unique_id`` and ``ended``), each written under a hidden temporary
    name and renamed, so the ingester never sees a half-written entry. Returns the sidecar."""
    safe_id = re.sub(r"[^A-Za-z0-9._-]", "_", fields["unique_id"])[:150] or "unknown"
    stem = f"{at.astimezone(UTC):%Y%m%dT%H%M%SZ}-{safe_id}"
    spool_dir.mkdir(parents=True, exist_ok=True)
    if wav is not None and wav.is_file():
        with wav.open("rb") as source:
            write_atomically(spool_dir / f"{stem}.wav",
                              lambda out: shutil.copyfileobj(source, out))
    sidecar = spool_dir / f"{stem}.txt"
    text = "".join(f"{key}={value}\n" for key, value in fields.items())
    write_atomically(sidecar, lambda out: out.write(text.encode("utf-8")))
    return sidecar


def _add_recording(attachment: Attachment | None, text: str) -> Mutation:
    def mutate(ticket: Ticket, seq: int, at: datetime) -> Ticket | None:
        if attachment is None or any(a.sha256 == attachment.sha256 for a in ticket.attachments):
            return None
        note = HistoryEntry(seq=seq, at=at, actor="ivr:spool", note=text)
        return ticket.model_copy(update={
            "attachments": [*ticket.attachments, attachment],
            "history": [*ticket.history, note],
        })
    return mutate


def ingest_entry(store: Store, entry: Entry, media_dir: Path, *, now: float) -> Ticket | None:
    """Turn one complete entry into (or onto) a ticket. None: the entry has no call id."""
    unique_id = unique_id_of(entry.stem, entry.fields)
    if unique_id is None:
        return None
    check = check_audio(entry.audio)
    attachment = (media.save_file(media_dir, entry.audio, "audio/wav")
                  if check.attach and entry.audio is not None else None)
    phone = phone_of(entry.fields)
    text = ticket_text(entry.fields, check.note)
    jobs = ((Job(TRANSCRIBE, TRANSCRIBE_CALL_JOB, (Channel.voice.value, unique_id)),)
            if check.transcribe else ())
    intake = Intake(
        channel=Channel.voice,
        channel_ref=unique_id,
        received_at=received_at_of(entry.stem, entry.fields, now),
        citizen=Citizen(phone=phone),
        kind=kind_of(entry.fields),
        text=text,
        attachments=[attachment] if attachment is not None else [],
    )
    result = store.submit(intake, extra_jobs=jobs)
    ticket = result.ticket
    if not result.created:
        mutate = _add_recording(attachment, text)
        extra = jobs if ticket.transcript is None else ()
        ticket = store.change(ticket.id, mutate, jobs=extra)
    log.info("spool: call %s from %s -> ticket %s%s%s", unique_id, mask_phone(phone),
             ticket.number, "" if result.created else " (existing)",
             f" ({check.note})" if check.note else "")
    return ticket


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


def _attempts_file(spool_dir: Path, stem: str) -> Path:
    return spool_dir / f".{stem}.attempts"  # hidden: scan() never takes it for an entry


def _count_attempt(spool_dir: Path, stem: str) -> int:
    path = _attempts_file(spool_dir, stem)
    try:
        attempts = int(path.read_text("ascii").strip() or 0) + 1
    except (OSError, ValueError):
        attempts = 1
    with contextlib.suppress(OSError):  # a read-only spool still retries, just uncounted
        path.write_text(f"{attempts}\n", "ascii")
    return attempts


def _forget_attempts(spool_dir: Path, stem: str) -> None:
    with contextlib.suppress(OSError):
        _attempts_file(spool_dir, stem).unlink(missing_ok=True)


def _failed(store: Store, spool_dir: Path, entry: Entry, exc: Exception,
            max_attempts: int) -> None:
    """One entry failed for a reason of its own (the database answers): count the attempt;
    after ``max_attempts`` the entry goes to ``bad/`` so it never blocks the later ones."""
    if not database_reachable(store):
        raise DatabaseUnavailable(f"the database is unreachable ({exc})") from exc
    attempts = _count_attempt(spool_dir, entry.stem)
    caller = mask_phone(phone_of(entry.fields))
    if attempts < max_attempts:
        log.warning("spool: %s (call from %s) failed, attempt %d of %d: %r", entry.stem,
                    caller, attempts, max_attempts, exc)
        return
    log.error("spool: %s (call from %s) failed %d times, last: %r; moved to %s/", entry.stem,
              caller, attempts, exc, BAD)
    _move(entry, spool_dir / BAD)
    _forget_attempts(spool_dir, entry.stem)


def ingest_once(store: Store, spool_dir: Path, media_dir: Path, *,
                stale_after: float = STALE_AFTER, max_attempts: int = MAX_ATTEMPTS) -> int:
    """Ingest every complete entry; returns how many became (or joined) tickets.

    An entry that fails is retried on the next pass and moved to ``bad/`` after
    ``max_attempts`` failures; the later entries are ingested meanwhile. If the database
    itself is unreachable the pass stops with :class:`DatabaseUnavailable` and no attempt is
    counted: the next pass retries everything."""
    count = 0
    now = time.time()
    for entry in scan(spool_dir):
        try:
            if not is_complete(entry.fields, _age(entry, now), stale_after):
                continue  # the call is still being recorded
        except FileNotFoundError:
            continue  # moved by a concurrent ingester
        try:
            ticket = ingest_entry(store, entry, media_dir, now=now)
        except FileNotFoundError:
            continue  # taken by a concurrent ingester meanwhile
        except ValidationError as exc:  # the entry itself is malformed: never retry it
            log.error("spool: %s is malformed (%s); moved to %s/", entry.stem,
                      exc.errors()[0].get("msg"), BAD)
            _move(entry, spool_dir / BAD)
            _forget_attempts(spool_dir, entry.stem)
            continue
        except Exception as exc:  # e.g. PermissionError saving the media, a database error
            _failed(store, spool_dir, entry, exc, max_attempts)
            continue
        if ticket is None:
            log.error("spool: %s has no call id; moved to %s/", entry.stem, BAD)
            _move(entry, spool_dir / BAD)
            _forget_attempts(spool_dir, entry.stem)
            continue
        _move(entry, spool_dir / DONE)
        _forget_attempts(spool_dir, entry.stem)
        count += 1
    return count


def run_ingest(store: Store, spool_dir: Path, media_dir: Path, stop: threading.Event,
               interval: float = 2.0) -> None:
    """Ingest until ``stop`` is set (the supervisor's thread). Errors are logged, not fatal."""
    log.info("spool: watching %s", spool_dir)
    while not stop.is_set():
        try:
            ingest_once(store, spool_dir, media_dir)
        except DatabaseUnavailable as exc:
            log.warning("spool: %s; retrying in %.0fs", exc, interval)
        except Exception:
            log.exception("spool: ingest failed; retrying in %.0fs", interval)
        stop.wait(interval)
