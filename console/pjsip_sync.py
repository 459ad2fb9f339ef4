"""Bring Asterisk's operator endpoints in line with the people table: write
``pjsip-operators.conf`` atomically, then ask Asterisk (AMI, panoramisk) to reload res_pjsip.

:func:`write_atomic` writes a temporary file beside the target, fsyncs it and renames it over
the target, so Asterisk never reads half a file; an existing file's mode and group are kept
(Asterisk must be able to read it), a new one is made mode 640. :func:`reload_pjsip` never
raises: it returns what happened, and when it could not reload it says how to do it by hand.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from pathlib import Path

from panoramisk import Manager

from tickets.files import write_atomically

MANUAL = "asterisk -rx 'module reload res_pjsip.so'"
# panoramisk logs its reconnection plans; a one-shot action has none (we report instead)
_quiet = logging.getLogger(__name__ + ".ami")
_quiet.setLevel(logging.CRITICAL)


def write_atomic(path: Path, text: str) -> bool:
    """Replace ``path`` with ``text``; False (nothing written) when it already holds it."""
    data = text.encode("utf-8")
    try:
        if path.read_bytes() == data:
            return False
        old = path.stat()
    except FileNotFoundError:
        old = None
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, lambda out: out.write(data), prefix=f".{path.name}.", suffix="",
                     mode=old.st_mode & 0o777 if old is not None else 0o640,
                     gid=old.st_gid if old is not None else None, sync_dir=True)
    return True


@dataclass(frozen=True)
class AmiTarget:
    host: str
    port: int
    username: str
    secret: str


@dataclass(frozen=True)
class Reload:
    ok: bool
    message: str  # Asterisk's answer, or why there was none and what to do


async def _reload(target: AmiTarget, seconds: float) -> Reload:
    manager = Manager(host=target.host, port=target.port, username=target.username,
                      secret=target.secret, events="off", ping_delay=3600,
                      reconnect_timeout=3600, loop=asyncio.get_running_loop(), log=_quiet)
    try:
        async with asyncio.timeout(seconds):
            # the connection task; panoramisk's own callback logs in as soon as it completes
            await manager.connect()
            reply = await manager.send_action({"Action": "Reload", "Module": "res_pjsip.so"})
    except (OSError, TimeoutError) as exc:
        reason = str(exc) or type(exc).__name__
        return Reload(False, f"Asterisk's AMI at {target.host}:{target.port} does not answer "
                             f"({reason}); reload by hand: {MANUAL}")
    finally:
        manager.close()
    if reply.get("Response") == "Success":
        return Reload(True, str(reply.get("Message") or "reloaded"))
    return Reload(False, f"Asterisk refused the reload ({reply.get('Message') or 'no reason'}); "
                         "the AMI user needs write = system (manager.conf); "
                         f"reload by hand: {MANUAL}")


def reload_pjsip(target: AmiTarget, timeout: float = 10.0) -> Reload:
    """Ask Asterisk to reload res_pjsip (and so pjsip-operators.conf)."""
    return asyncio.run(_reload(target, timeout))
