"""Persist or spool (SQLite and PostgreSQL): one step that returns what happened to a message,
and the sweep of messages left behind by a gateway that stopped mid-call."""

from __future__ import annotations

import os
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ivr import recordings
from ivr.persist import Saved, persist, sweep
from ivr.spool.format import scan
from ivr.tickets import Call
from tests.ivr.fake_asterisk import tone_pcm, write_wav
from tickets.db import Database
from tickets.model import Kind
from tickets.store import Store

CALL = Call(ref="pbx1/1795705400.9", phone="+8613800138000",
            received_at=datetime(2026, 11, 26, 8, tzinfo=UTC))


def message(folder: Path, pcm: bytes | None = None, ref: str = CALL.ref) -> recordings.Files:
    files = recordings.new_files(folder, ref)
    call = Call(ref=ref, phone=CALL.phone, received_at=CALL.received_at)
    recordings.write_meta(files, recordings.Meta(call, Kind.complaint))
    if pcm is not None:
        write_wav(files.wav, pcm)
    return files


def test_stored(store: Store, tmp_path: Path) -> None:
    files = message(tmp_path / "rec", bytes(4000) + tone_pcm(1.5))
    result = persist(store, tmp_path / "media", tmp_path / "spool", files,
                     recordings.read_meta(files))
    assert result.saved is Saved.stored and result.ticket is not None
    assert store.find_by_ref("voice", CALL.ref) == result.ticket
    assert not files.wav.exists() and not files.meta.exists()


def test_nothing_said(store: Store, tmp_path: Path) -> None:
    for pcm in (bytes(16000), None):
        files = message(tmp_path / "rec", pcm)
        result = persist(store, tmp_path / "media", None, files, recordings.read_meta(files))
        assert result.saved is Saved.nothing_said and result.ticket is None
        assert not files.meta.exists()
    assert store.feed(0, 10) == []


def test_store_down_spools_and_spool_down_keeps(database_url: str, tmp_path: Path) -> None:
    db = Database(database_url)
    down = Store(db)  # not migrated: every write fails as if the database were down
    try:
        files = message(tmp_path / "rec", tone_pcm(1.0))
        meta = recordings.read_meta(files)
        spooled = persist(down, tmp_path / "media", tmp_path / "spool", files, meta)
        assert spooled.saved is Saved.spooled and not files.meta.exists()
        [entry] = scan(tmp_path / "spool")
        assert entry.fields["pbx"] == "pbx1" and entry.fields["unique_id"] == "1795705400.9"

        files = message(tmp_path / "rec", tone_pcm(1.0))
        (tmp_path / "blocked").write_text("a file where the spool folder should be")
        kept = persist(down, tmp_path / "media", tmp_path / "blocked", files, meta)
        assert kept.saved is Saved.kept
        assert files.wav.exists() and files.meta.exists()  # the sweep tries again later
    finally:
        db.dispose()


def test_sweep_makes_the_ticket_of_a_message_left_behind(store: Store, tmp_path: Path) -> None:
    rec = tmp_path / "rec"
    left = message(rec, bytes(8000) + tone_pcm(2.0))
    recording_now = message(rec, tone_pcm(1.0), ref="pbx1/1795705401.1")
    then = time.time() - 300
    for path in (left.wav, left.meta):
        os.utime(path, (then, then))
    assert sweep(store, rec, tmp_path / "media", None, idle_after=180) == 1
    ticket = store.find_by_ref("voice", CALL.ref)
    assert ticket is not None and ticket.kind is Kind.complaint and len(ticket.attachments) == 1
    assert "通话中断" in ticket.text
    assert store.find_by_ref("voice", "pbx1/1795705401.1") is None  # still being recorded
    assert recording_now.wav.exists()
    # the message joins the call's ticket if the flow had stored part of it already
    again = message(rec, tone_pcm(1.5, freq=660))
    assert sweep(store, rec, tmp_path / "media", None, idle_after=0) == 2
    ticket = store.find_by_ref("voice", CALL.ref)
    assert ticket is not None and len(ticket.attachments) == 2
    assert not again.wav.exists()


def test_a_start_up_sweep_leaves_a_recording_still_being_written(store: Store,
                                                                  tmp_path: Path) -> None:
    """Two gateways share the folder: the restarted one must not take the other's live call."""
    rec = tmp_path / "rec"
    left = message(rec, tone_pcm(1.0))
    live = message(rec, tone_pcm(1.0), ref="pbx1/1795705401.1")
    stop = threading.Event()

    def record() -> None:  # Asterisk appending frames to the live call's recording
        while not stop.is_set():
            with live.wav.open("ab") as wav:
                wav.write(tone_pcm(0.02))
            stop.wait(0.05)

    writer = threading.Thread(target=record)
    writer.start()
    try:
        assert sweep(store, rec, tmp_path / "media", None, idle_after=0, quiet_for=0.5) == 1
    finally:
        stop.set()
        writer.join()
    assert store.find_by_ref("voice", CALL.ref) is not None and not left.wav.exists()
    assert store.find_by_ref("voice", "pbx1/1795705401.1") is None
    assert live.wav.exists() and live.meta.exists()
    # once the other gateway is gone too, the message is left behind and swept
    assert sweep(store, rec, tmp_path / "media", None, idle_after=0, quiet_for=0.2) == 1
    assert store.find_by_ref("voice", "pbx1/1795705401.1") is not None


def test_a_broken_sidecar_is_put_aside(store: Store, tmp_path: Path,
                                       caplog: pytest.LogCaptureFixture) -> None:
    rec = tmp_path / "rec"
    files = message(rec, tone_pcm(1.0))
    files.meta.write_text("{not json")
    assert sweep(store, rec, tmp_path / "media", None, idle_after=0) == 0
    assert sorted(p.name for p in (rec / "bad").iterdir()) == sorted(
        [files.wav.name, files.meta.name])
    assert "for a person to look at" in caplog.text
