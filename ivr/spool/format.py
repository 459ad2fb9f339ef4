"""The spool's on-disk format, written by two hands and read by one: the dialplan's fallback
(``asterisk-conf/extensions-96010.conf``) and :func:`write_entry` (the gateway, when its store
fails mid-call) write; :func:`scan` reads for the ingester.

An entry is ``<UTC time>-<unique id>.wav`` plus a sidecar ``.txt`` of ``key=value`` lines:
``unique_id``, ``pbx`` (the Asterisk system, see :func:`ivr.tickets.voice_ref`), ``caller``,
``presentation``, ``reason``, ``ticket_id``, ``kind`` (the gateway's), ``started`` and — written
by a hangup handler when the call ends — ``ended``, which marks the entry complete. Each file
appears under its final name by an atomic rename, the sidecar last.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from ivr.caller import caller_e164
from tickets.model import Kind
from tickets.spoolfiles import render_sidecar, write_entry

__all__ = ["render_sidecar", "write_entry"]  # written in tickets.spoolfiles, shared

UNIQUE_ID = re.compile(r"^[A-Za-z0-9._-]{1,150}$")
NAME = re.compile(r"^(?P<stamp>\d{8}T\d{6}Z)-(?P<unique_id>[A-Za-z0-9._-]{1,150})$")
# An entry whose call never wrote `ended=` (Asterisk stopped mid-call) is taken after this long.
STALE_AFTER = 900.0


@dataclass(frozen=True)
class Entry:
    """One spooled call: its sidecar fields and its files (either may be missing)."""

    stem: str
    sidecar: Path | None
    audio: Path | None
    fields: dict[str, str]

    def newest_mtime(self) -> float:
        return max(p.stat().st_mtime for p in (self.sidecar, self.audio) if p is not None)


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


def kind_of(fields: dict[str, str]) -> Kind:
    """The menu choice the gateway wrote (``kind=``); Asterisk's own entries have none."""
    try:
        return Kind(fields.get("kind", ""))
    except ValueError:
        return Kind.unknown


def is_complete(fields: dict[str, str], age: float, stale_after: float = STALE_AFTER) -> bool:
    return "ended" in fields or age >= stale_after


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
