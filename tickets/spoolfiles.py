"""Writing the fallback spool (the format is described in :mod:`ivr.spool.format`): one entry
is ``<UTC time>-<id>.gw<random>`` — a recording ``.wav`` (calls) and a sidecar ``.txt`` of
``key=value`` lines, each under its final name by an atomic rename, the sidecar last.

Two writers share it: a call whose store failed (:func:`write_entry`, ``ivr.persist``) and a
text channel that could not file a message before its provider's deadline
(:func:`write_text_entry`): the sidecar then carries the whole intake as JSON (``intake=``),
and the one ingester (``ivr.spool.ingest``) files it through the channel's own rule. What is no
message — a WeChat event (a menu click, a LOCATION), an answer on the web status page — is kept
by :func:`write_inbound_entry` as ``inbound=`` (JSON, :mod:`channels.inbound`), handled by the
ingester through the same handler the live path runs.
"""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime
from pathlib import Path

from tickets.files import write_atomically
from tickets.model import Intake

# the reason a text message was spooled (a sidecar's ``reason=``)
CHANNEL_DEADLINE = "channel-deadline"


def render_sidecar(fields: dict[str, str]) -> str:
    for key, value in fields.items():
        if "=" in key or any(c in key + value for c in "\r\n"):
            raise ValueError(f"sidecar field {key!r} cannot hold '=' or a line break")
    return "".join(f"{key}={value}\n" for key, value in fields.items())


def write_entry(spool_dir: Path, wav: bytes | None, fields: dict[str, str],
                at: datetime) -> Path:
    """Spool a message the way the dialplan's fallback does (``fields`` must include
    ``unique_id`` and ``ended``): the recording, then its sidecar, each atomically and
    private (0600). Returns the sidecar."""
    safe_id = re.sub(r"[^A-Za-z0-9._-]", "_", fields["unique_id"])[:140] or "unknown"
    # a suffix of its own: the dialplan may spool the same call in the same second
    stem = f"{at.astimezone(UTC):%Y%m%dT%H%M%SZ}-{safe_id}.gw{secrets.token_hex(3)}"
    spool_dir.mkdir(parents=True, exist_ok=True)
    if wav is not None:
        write_atomically(spool_dir / f"{stem}.wav", lambda out: out.write(wav))
    sidecar = spool_dir / f"{stem}.txt"
    text = render_sidecar(fields)
    write_atomically(sidecar, lambda out: out.write(text.encode("utf-8")), sync_dir=True)
    return sidecar


def write_text_entry(spool_dir: Path, intake: Intake, at: datetime) -> Path:
    """Spool a text message (SMS, WeChat, the web form) whose store did not answer in time:
    durable (fsynced, the folder too) before the resident is told it was received."""
    unique_id = re.sub(r"[^A-Za-z0-9._-]", "_", f"{intake.channel.value}-{intake.channel_ref}")
    fields = {"unique_id": unique_id[:150], "channel": intake.channel.value,
              "reason": CHANNEL_DEADLINE, "started": str(int(intake.received_at.timestamp())),
              "intake": intake.model_dump_json(), "ended": str(int(at.timestamp()))}
    return write_entry(spool_dir, None, fields, at)


def write_inbound_entry(spool_dir: Path, unique_id: str, channel: str, inbound: str,
                        received_at: datetime, at: datetime) -> Path:
    """Spool what a channel received that is no message (``inbound``: its JSON) and whose
    store did not answer in time; durable before the sender is answered."""
    safe_id = re.sub(r"[^A-Za-z0-9._-]", "_", unique_id)
    fields = {"unique_id": safe_id[:150], "channel": channel, "reason": CHANNEL_DEADLINE,
              "started": str(int(received_at.timestamp())), "inbound": inbound,
              "ended": str(int(at.timestamp()))}
    return write_entry(spool_dir, None, fields, at)
