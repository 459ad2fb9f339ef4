"""The private redis-server of ``hotline run``: a unix socket only, in a mode-700 folder.

Persistence: an append-only file (``appendfsync always``) in the same folder, no RDB
snapshots. The outbox relay marks a row as sent once it is on RQ, so a queued job that has not
run yet lives only in Redis: with the AOF it survives a restart of ``hotline run`` (at most the
last second is at risk on a crash of the machine), where ``--save ""`` alone would drop it.
"""

from __future__ import annotations

import shutil
import socket
from dataclasses import dataclass
from pathlib import Path

# sun_path is 108 bytes on Linux, including the terminating NUL.
MAX_SOCKET_PATH = 107


class RedisSetupError(Exception):
    """The private Redis cannot be started (not installed, socket path too long)."""


def answers_ping(path: Path) -> bool:
    """True when a Redis server replies to PING on the unix socket ``path``."""
    try:
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(0.5)
            s.connect(str(path))
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@dataclass(frozen=True)
class PrivateRedis:
    socket: Path

    @property
    def folder(self) -> Path:
        return self.socket.parent

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    def prepare(self) -> None:
        """Create the folder with mode 700 and remove a socket left by a killed server."""
        if len(str(self.socket).encode()) > MAX_SOCKET_PATH:
            raise RedisSetupError(
                f"the redis socket path {self.socket} is longer than {MAX_SOCKET_PATH} bytes; "
                "use a shorter HOTLINE_DATA_DIR"
            )
        self.folder.mkdir(parents=True, exist_ok=True)
        self.folder.chmod(0o700)
        self.socket.unlink(missing_ok=True)

    def argv(self) -> list[str]:
        exe = shutil.which("redis-server")
        if exe is None:
            raise RedisSetupError(
                "redis-server is not installed (apt-get install redis-server, or 'make deps'), "
                "or set HOTLINE_REDIS_URL to a running Redis"
            )
        return [
            exe,
            "--port", "0",
            "--unixsocket", str(self.socket),
            "--unixsocketperm", "700",
            "--dir", str(self.folder),
            "--save", "",
            "--appendonly", "yes",
            "--appendfsync", "always",
            "--daemonize", "no",
            "--logfile", "",
            "--loglevel", "warning",
        ]

    def answers(self) -> bool:
        """True when the server replies to PING on the socket."""
        return answers_ping(self.socket)

    def cleanup(self) -> None:
        """Remove the socket if the server could not (it was killed)."""
        self.socket.unlink(missing_ok=True)
