"""The fallback spool ingest into a real store (SQLite and PostgreSQL through the ``store``
fixture): tickets, idempotency, bad and failing entries, database outages."""

from __future__ import annotations

import math
import os
import shutil
import struct
import threading
import time
import wave
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from ivr import clip
from ivr.spool import format as spool_format
from ivr.spool import ingest as spool
from tests.ivr.spool.samples import SIDE, STEM
from tickets import media
from tickets.model import Channel, Citizen, Intake, Kind
from tickets.store import Store
from tickets.tables import outbox

TRANSCRIBE = "transcription.jobs.transcribe_ticket"
DISPATCH = "router.dispatch.dispatch"


def write_tone(path: Path, seconds: float = 1.5, amplitude: int = 8000) -> None:
    rate = 8000
    frames = b"".join(
        struct.pack("<h", int(amplitude * math.sin(2 * math.pi * 440 * i / rate)))
        for i in range(int(rate * seconds))
    )
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(frames)


def put(spool_dir: Path, stem: str = STEM, side: str | None = SIDE,
        audio: str = "tone") -> None:
    spool_dir.mkdir(parents=True, exist_ok=True)
    wav = spool_dir / f"{stem}.wav"
    if audio == "tone":
        write_tone(wav)
    elif audio == "silence":
        write_tone(wav, amplitude=0)
    elif audio == "garbage":
        wav.write_bytes(b"not a wav at all")
    if side is not None:  # last, as Asterisk's hangup handler writes `ended=` last
        (spool_dir / f"{stem}.txt").write_text(side)


def jobs_of(store: Store, ticket_id: str) -> list[tuple[str, str, list[str]]]:
    with store.db.read() as conn:
        rows = conn.execute(
            select(outbox.c.queue, outbox.c.job, outbox.c.args)
            .where(outbox.c.ticket_id == ticket_id).order_by(outbox.c.id)
        ).all()
    return [(r.queue, r.job, list(r.args)) for r in rows]


# -- ingest into a real store ---------------------------------------------------------------

def test_ingest_makes_one_voice_ticket_and_moves_the_files(store: Store, tmp_path: Path) -> None:
    spool_dir, media_dir = tmp_path / "spool", tmp_path / "media"
    put(spool_dir)
    original = (spool_dir / f"{STEM}.wav").read_bytes()
    assert spool.ingest_once(store, spool_dir, media_dir) == 1
    ticket = store.find_by_ref("voice", "1795705400.1")
    assert ticket is not None
    assert ticket.channel is Channel.voice
    assert ticket.citizen.phone == "+8613800138000"
    assert ticket.received_at == datetime.fromtimestamp(1795705400, UTC)
    assert ticket.text == spool.REASONS["gateway-down"]
    [audio] = ticket.attachments
    assert audio.content_type == "audio/wav"
    saved = media.resolve(media_dir, audio.url.rsplit("/", 1)[-1])
    assert saved is not None
    assert saved.read_bytes() == clip.message(original).wav  # the speech, whole
    assert ("transcribe", TRANSCRIBE, [ticket.id]) in jobs_of(store, ticket.id)
    assert sorted(p.name for p in spool_dir.iterdir()) == ["done"]
    assert sorted(p.name for p in (spool_dir / "done").iterdir()) == [f"{STEM}.txt",
                                                                     f"{STEM}.wav"]


def test_ingest_twice_is_one_ticket(store: Store, tmp_path: Path) -> None:
    spool_dir, media_dir = tmp_path / "spool", tmp_path / "media"
    put(spool_dir)
    assert spool.ingest_once(store, spool_dir, media_dir) == 1
    first = store.find_by_ref("voice", "1795705400.1")
    # The same files again (a crash between commit and move): no second ticket, no new job.
    for p in (spool_dir / "done").iterdir():
        shutil.copy(p, spool_dir / p.name)
    assert spool.ingest_once(store, spool_dir, media_dir) == 1
    again = store.find_by_ref("voice", "1795705400.1")
    assert first is not None and again is not None
    assert again.id == first.id and again.seq == first.seq
    assert len(again.attachments) == 1
    assert len(store.feed(0, 100)) == 1
    assert len(jobs_of(store, first.id)) == 2  # dispatch + transcribe, once


def test_a_call_still_recording_is_left_alone(store: Store, tmp_path: Path) -> None:
    spool_dir, media_dir = tmp_path / "spool", tmp_path / "media"
    put(spool_dir, side=SIDE.replace("ended=1795705439\n", ""))
    assert spool.ingest_once(store, spool_dir, media_dir) == 0
    assert store.find_by_ref("voice", "1795705400.1") is None
    assert (spool_dir / f"{STEM}.wav").exists()
    # ...until it is stale (Asterisk went away mid-call).
    old = time.time() - spool_format.STALE_AFTER - 1
    for p in spool_dir.iterdir():
        os.utime(p, (old, old))
    assert spool.ingest_once(store, spool_dir, media_dir) == 1
    assert store.find_by_ref("voice", "1795705400.1") is not None


def test_hang_up_before_recording_is_still_a_ticket(store: Store, tmp_path: Path) -> None:
    spool_dir, media_dir = tmp_path / "spool", tmp_path / "media"
    put(spool_dir, audio="none")
    assert spool.ingest_once(store, spool_dir, media_dir) == 1
    ticket = store.find_by_ref("voice", "1795705400.1")
    assert ticket is not None
    assert ticket.attachments == []
    assert ticket.text.endswith(spool.NO_RECORDING)
    assert ticket.citizen.phone == "+8613800138000"
    assert [job for _, job, _ in jobs_of(store, ticket.id)] == [DISPATCH]


@pytest.mark.parametrize(("audio", "note"), [("garbage", spool.BAD_RECORDING),
                                             ("silence", spool.EMPTY_RECORDING)])
def test_bad_recordings_are_kept_with_a_note(store: Store, tmp_path: Path, audio: str,
                                             note: str) -> None:
    spool_dir, media_dir = tmp_path / "spool", tmp_path / "media"
    put(spool_dir, audio=audio)
    assert spool.ingest_once(store, spool_dir, media_dir) == 1
    ticket = store.find_by_ref("voice", "1795705400.1")
    assert ticket is not None
    assert ticket.text.endswith(note)
    [kept] = ticket.attachments
    original = (spool_dir / "done" / f"{STEM}.wav").read_bytes()
    saved = (media_dir / kept.url.rsplit("/", 1)[-1]).read_bytes()
    assert saved == original if audio == "garbage" else clip.read_pcm(saved) == clip.read_pcm(
        original)
    assert [job for _, job, _ in jobs_of(store, ticket.id)] == [DISPATCH]


def test_an_entry_without_any_call_id_is_quarantined(store: Store, tmp_path: Path) -> None:
    spool_dir, media_dir = tmp_path / "spool", tmp_path / "media"
    put(spool_dir, stem="garbage name", side="caller=13800138000\nended=1\n")
    assert spool.ingest_once(store, spool_dir, media_dir) == 0
    assert sorted(p.name for p in (spool_dir / "bad").iterdir()) == ["garbage name.txt",
                                                                    "garbage name.wav"]
    assert store.feed(0, 10) == []


def test_the_recording_joins_the_ticket_the_flow_made(store: Store, tmp_path: Path) -> None:
    draft = store.submit(Intake(
        channel=Channel.voice, channel_ref="1795705400.1", received_at=datetime.now(UTC),
        citizen=Citizen(phone="+8613800138000"), kind=Kind.complaint,
    )).ticket
    spool_dir, media_dir = tmp_path / "spool", tmp_path / "media"
    put(spool_dir, side=SIDE.replace("gateway-down", "queue-timeout"))
    assert spool.ingest_once(store, spool_dir, media_dir) == 1
    ticket = store.get(draft.id)
    assert ticket.kind is Kind.complaint
    assert [a.content_type for a in ticket.attachments] == ["audio/wav"]
    assert ticket.history[-1].note == spool.REASONS["queue-timeout"]
    assert len(store.feed(0, 10)) == 1
    assert [job for _, job, _ in jobs_of(store, draft.id)] == [DISPATCH, TRANSCRIBE]


def test_run_ingest_watches_until_stopped(sqlite_store: Store, tmp_path: Path) -> None:
    spool_dir, media_dir = tmp_path / "spool", tmp_path / "media"
    stop = threading.Event()
    thread = threading.Thread(target=spool.run_ingest, args=(
        lambda: spool.ingest_once(sqlite_store, spool_dir, media_dir), stop, 0.05))
    thread.start()
    try:
        put(spool_dir)
        deadline = time.monotonic() + 20
        while sqlite_store.find_by_ref("voice", "1795705400.1") is None:
            assert time.monotonic() < deadline, "spool not ingested"
            time.sleep(0.05)
    finally:
        stop.set()
        thread.join(10)
    assert not thread.is_alive()


def test_two_ingesters_at_once_make_one_ticket(sqlite_store: Store, tmp_path: Path) -> None:
    spool_dir, media_dir = tmp_path / "spool", tmp_path / "media"
    for i in range(5):
        put(spool_dir, stem=f"20261126T150320Z-1795705400.{i}",
            side=SIDE.replace("1795705400.1", f"1795705400.{i}"))
    counts: list[int] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            counts.append(spool.ingest_once(sqlite_store, spool_dir, media_dir))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert len(sqlite_store.feed(0, 100)) == 5
    assert sorted(p.name for p in spool_dir.iterdir()) == ["done"]
    assert len(list((spool_dir / "done").iterdir())) == 10


# -- failing entries ------------------------------------------------------------------------

def _three_calls(spool_dir: Path) -> list[str]:
    """Three complete entries, oldest first; returns their unique ids."""
    ids = [f"1795705400.{i}" for i in (7, 8, 9)]
    for i, uid in enumerate(ids):
        put(spool_dir, stem=f"20261126T15032{i}Z-{uid}", side=SIDE.replace("1795705400.1", uid))
    return ids


class PoisonStore(Store):
    """A real store in which one call's submit fails for a reason of its own (standing in for
    e.g. a PermissionError from the media folder: as root no file mode can provoke one)."""

    poison = "1795705400.7"

    def submit(self, intake: Intake, *args: Any, **kwargs: Any) -> Any:
        if intake.channel_ref == self.poison:
            raise PermissionError(13, "Permission denied", "media/poison.wav")
        return super().submit(intake, *args, **kwargs)


def test_a_failing_entry_does_not_block_later_ones_and_is_retried_for_ever(
        sqlite_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Issue 9: an entry that failed five times was moved to bad/ and never retried. Now it
    waits a growing pause between attempts, for ever, is reported loudly once it is old, and
    goes through as soon as the cause is gone."""
    from tickets.db import Database
    from tickets.migrate import upgrade

    spool_dir, media_dir = tmp_path / "spool", tmp_path / "media"
    store = PoisonStore(Database(sqlite_url))
    upgrade(store.db)
    now = time.time()
    try:
        poison, *good = _three_calls(spool_dir)
        stem = f"20261126T150320Z-{poison}"
        assert spool.ingest_once(store, spool_dir, media_dir, now=now) == 2  # later calls in
        assert [store.find_by_ref("voice", uid) is not None for uid in good] == [True, True]
        attempts = spool.read_attempts(spool_dir, stem)
        assert attempts.count == 1 and attempts.next_at == now + spool.BACKOFF[0]
        assert spool.ingest_once(store, spool_dir, media_dir, now=now + 1) == 0  # not yet due
        assert spool.read_attempts(spool_dir, stem).count == 1
        clock = now
        for _ in range(len(spool.BACKOFF) + 3):  # far past the old limit of five
            clock = spool.read_attempts(spool_dir, stem).next_at
            assert spool.ingest_once(store, spool_dir, media_dir, now=clock) == 0
        attempts = spool.read_attempts(spool_dir, stem)
        assert attempts.count == len(spool.BACKOFF) + 4
        assert attempts.next_at - clock == spool.BACKOFF[-1]  # the pause stops growing
        assert not (spool_dir / "bad").exists()
        assert any(r.levelname == "ERROR" and stem in r.getMessage() for r in caplog.records)
        store.poison = "none"  # the cause is fixed
        assert spool.ingest_once(store, spool_dir, media_dir, now=attempts.next_at) == 1
    finally:
        store.db.dispose()
    assert sorted(p.name for p in spool_dir.iterdir()) == ["done"]  # no counter left
    assert len(list((spool_dir / "done").iterdir())) == 6


def test_spool_retry_moves_bad_entries_back(store: Store, tmp_path: Path) -> None:
    spool_dir, media_dir = tmp_path / "spool", tmp_path / "media"
    put(spool_dir / "bad")
    assert spool.ingest_once(store, spool_dir, media_dir) == 0  # bad/ is not scanned
    assert spool.retry_bad(spool_dir) == 1
    assert spool.ingest_once(store, spool_dir, media_dir) == 1
    assert store.find_by_ref("voice", "1795705400.1") is not None


def test_the_pbx_qualifies_the_call(store: Store, tmp_path: Path) -> None:
    spool_dir, media_dir = tmp_path / "spool", tmp_path / "media"
    put(spool_dir, side=SIDE + "pbx=0242ac110002\n")
    assert spool.ingest_once(store, spool_dir, media_dir) == 1
    assert store.find_by_ref("voice", "0242ac110002/1795705400.1") is not None


def test_database_down_stops_the_pass_without_burning_attempts(tmp_path: Path) -> None:
    from tests.conftest import make_store

    spool_dir, media_dir = tmp_path / "spool", tmp_path / "media"
    (tmp_path / "db").mkdir()
    store = make_store(f"sqlite:///{tmp_path / 'db' / 'hotline.sqlite3'}")  # NullPool
    ids = _three_calls(spool_dir)
    try:
        (tmp_path / "db").rename(tmp_path / "db-away")  # the database is unreachable
        for _ in range(7):
            with pytest.raises(spool.DatabaseUnavailable):
                spool.ingest_once(store, spool_dir, media_dir)
        assert sorted(p.name for p in spool_dir.iterdir() if p.is_dir()) == []
        assert [p.name for p in spool_dir.iterdir() if p.name.startswith(".")] == []
        (tmp_path / "db-away").rename(tmp_path / "db")  # back
        assert spool.ingest_once(store, spool_dir, media_dir) == 3
        assert all(store.find_by_ref("voice", uid) is not None for uid in ids)
    finally:
        store.db.dispose()
    assert sorted(p.name for p in spool_dir.iterdir()) == ["done"]


def test_run_ingest_keeps_going_through_a_database_outage(tmp_path: Path) -> None:
    from tests.conftest import make_store

    spool_dir, media_dir = tmp_path / "spool", tmp_path / "media"
    (tmp_path / "db").mkdir()
    store = make_store(f"sqlite:///{tmp_path / 'db' / 'hotline.sqlite3'}")
    (tmp_path / "db").rename(tmp_path / "db-away")
    put(spool_dir)
    stop = threading.Event()
    thread = threading.Thread(target=spool.run_ingest, args=(
        lambda: spool.ingest_once(store, spool_dir, media_dir), stop, 0.05))
    thread.start()
    try:
        time.sleep(0.5)  # several passes against the missing database (not an assertion)
        (tmp_path / "db-away").rename(tmp_path / "db")
        deadline = time.monotonic() + 20
        while store.find_by_ref("voice", "1795705400.1") is None:
            assert thread.is_alive() and time.monotonic() < deadline, "spool not ingested"
            time.sleep(0.05)
    finally:
        stop.set()
        thread.join(10)
        store.db.dispose()
    assert not (spool_dir / "bad").exists()


def test_read_audio(tmp_path: Path) -> None:
    put(tmp_path, "a", side=None)
    put(tmp_path, "s", side=None, audio="silence")
    put(tmp_path, "g", side=None, audio="garbage")
    speech = spool.read_audio(tmp_path / "a.wav")
    assert speech.transcribe and speech.note is None and speech.data is not None
    assert spool.read_audio(tmp_path / "s.wav").note == spool.EMPTY_RECORDING
    garbage = spool.read_audio(tmp_path / "g.wav")
    assert (garbage.data, garbage.transcribe, garbage.note) == (
        b"not a wav at all", False, spool.BAD_RECORDING)
    assert spool.read_audio(None) == spool.Audio(None, False, spool.NO_RECORDING)
