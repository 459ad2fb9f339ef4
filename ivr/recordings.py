"""The recordings folder (shared with Asterisk at the same path): one message is
``<name>.wav``, written by Asterisk, and ``<name>.json``, written by the gateway before the
recording starts — who called, which menu key, when.

A message whose ticket is made (or that went to the spool) is removed from here at once, so
whatever stays behind was interrupted: the gateway stopped or crashed mid-call, or the store
and the spool both failed. :func:`left_behind` finds those (files idle for a while, never one
still being recorded) for the sweep that turns them into tickets.
"""

from __future__ import annotations

import contextlib
import json
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from ivr.tickets import Call
from tickets.files import write_atomically
from tickets.model import Kind

SAFE = re.compile(r"[^A-Za-z0-9._-]")
IDLE_AFTER = 30.0  # seconds without a write before a recording counts as left behind


@dataclass(frozen=True)
class Files:
    wav: Path
    meta: Path

    @classmethod
    def of(cls, wav: Path) -> Files:
        return cls(wav, wav.with_suffix(".json"))


@dataclass(frozen=True)
class Meta:
    call: Call
    kind: Kind


def new_files(folder: Path, call_ref: str) -> Files:
    """Fresh names for one message of a call (a call may leave several messages)."""
    stem = f"{SAFE.sub('_', call_ref)[:120]}-{secrets.token_hex(4)}"
    return Files.of(folder / f"{stem}.wav")


def write_meta(files: Files, meta: Meta) -> None:
    files.meta.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps({"channel_ref": meta.call.ref, "phone": meta.call.phone,
                       "received_at": meta.call.received_at.isoformat(),
                       "kind": meta.kind.value})
    write_atomically(files.meta, lambda out: out.write(text.encode("utf-8")))


def read_meta(files: Files) -> Meta:
    """The sidecar; ValueError when it is missing or malformed."""
    try:
        data = json.loads(files.meta.read_text(encoding="utf-8"))
        call = Call(ref=str(data["channel_ref"]), phone=data.get("phone") or None,
                    received_at=datetime.fromisoformat(data["received_at"]))
        return Meta(call, Kind(data.get("kind", "unknown")))
    except (OSError, KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"{files.meta.name}: {exc}") from None


def discard(files: Files) -> None:
    for path in (files.wav, files.meta):  # the sidecar last: it is what marks a message
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def left_behind(folder: Path, *, idle_after: float = IDLE_AFTER,
                now: float | None = None) -> list[Files]:
    """Messages idle for ``idle_after`` seconds (oldest first); a sidecar without a WAV
    counts too (the caller hung up before Asterisk wrote anything)."""
    if not folder.is_dir():
        return []
    clock = time.time() if now is None else now
    found: list[tuple[float, Files]] = []
    for meta in folder.glob("*.json"):
        files = Files.of(meta.with_suffix(".wav"))
        try:
            touched = max(p.stat().st_mtime for p in (files.wav, files.meta) if p.exists())
        except (OSError, ValueError):
            continue
        if clock - touched >= idle_after:
            found.append((touched, files))
    return [files for _, files in sorted(found, key=lambda item: item[0])]


def _footprint(files: Files) -> tuple[tuple[int, int], ...] | None:
    """Size and modification time (ns) of a message's files; None once they are gone."""
    try:
        return tuple((st.st_size, st.st_mtime_ns) for st in
                     (p.stat() for p in (files.wav, files.meta) if p.exists()))
    except OSError:
        return None


def still(found: list[Files], seconds: float,
          sleep: Callable[[float], None] = time.sleep) -> list[Files]:
    """The messages of ``found`` that nothing wrote to during ``seconds``.

    A folder shared by several gateways holds the recordings another gateway is writing right
    now: Asterisk appends every frame (silence included) to a recording in progress, so a
    message whose files did not change over a second or two is no longer being recorded."""
    before = [_footprint(files) for files in found]
    sleep(seconds)
    return [files for files, was in zip(found, before, strict=True)
            if was is not None and _footprint(files) == was]
