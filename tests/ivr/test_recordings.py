"""The recordings folder: a message's files, its sidecar, and what counts as left behind."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ivr import recordings
from ivr.tickets import Call
from tickets.model import Kind

CALL = Call(ref="pbx1/1795705400.9", phone=None, received_at=datetime(2026, 11, 26, tzinfo=UTC))


def test_names_are_safe_and_never_reused(tmp_path: Path) -> None:
    a = recordings.new_files(tmp_path, "../../etc/passwd")
    b = recordings.new_files(tmp_path, "../../etc/passwd")
    assert a != b and a.wav.parent == tmp_path and "/" not in a.wav.name
    assert a.meta == a.wav.with_suffix(".json")


def test_the_sidecar_reads_back(tmp_path: Path) -> None:
    files = recordings.new_files(tmp_path, CALL.ref)
    recordings.write_meta(files, recordings.Meta(CALL, Kind.help))
    assert recordings.read_meta(files) == recordings.Meta(CALL, Kind.help)
    files.meta.write_text("{broken")
    with pytest.raises(ValueError, match=files.meta.name):
        recordings.read_meta(files)


def test_left_behind_means_idle_for_a_while(tmp_path: Path) -> None:
    old = recordings.new_files(tmp_path, "old")
    recordings.write_meta(old, recordings.Meta(CALL, Kind.help))
    old.wav.write_bytes(b"x")
    fresh = recordings.new_files(tmp_path, "fresh")
    recordings.write_meta(fresh, recordings.Meta(CALL, Kind.help))
    then = time.time() - 100
    for path in (old.wav, old.meta):
        os.utime(path, (then, then))
    assert recordings.left_behind(tmp_path, idle_after=60) == [old]
    assert recordings.left_behind(tmp_path, idle_after=0) == [old, fresh]
    recordings.discard(old)
    assert not old.wav.exists() and not old.meta.exists()
    assert recordings.left_behind(tmp_path / "missing", idle_after=0) == []
