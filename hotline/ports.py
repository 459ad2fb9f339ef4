"""Listening ports taken before anything starts: a port in use is one line naming the setting
that chooses it (``serve``, ``agi`` and ``run`` check theirs first, then start)."""

from __future__ import annotations

import errno
import socket

from hotline.errors import CliError


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def _refusal(host: str, port: int, setting: str, exc: OSError) -> CliError:
    where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    if exc.errno == errno.EADDRINUSE:
        return CliError(f"{where} is already in use (another 'hotline run' or 'serve'?); stop "
                        f"it or choose another port with {setting}")
    if exc.errno in (errno.EACCES, errno.EPERM):
        return CliError(f"{where} may not be opened by this user ({exc.strerror}); choose a "
                        f"port above 1023 with {setting}")
    return CliError(f"cannot listen on {where} ({exc.strerror}); check {setting}")


def bind(host: str, port: int, setting: str) -> socket.socket:
    """A TCP socket bound to ``host:port`` and listening, for a server to take over; a
    :class:`CliError` naming ``setting`` when the address cannot be had."""
    sock = socket.socket(_family(host), socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        raise _refusal(host, port, setting, exc) from None
    sock.set_inheritable(True)
    return sock


def ensure_free(host: str, port: int, setting: str) -> None:
    """Refuse (one line naming ``setting``) a ``host:port`` another process listens on."""
    bind(host, port, setting).close()
