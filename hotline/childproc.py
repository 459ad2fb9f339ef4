"""Child processes of the supervisor: each in its own session (so a terminal's Ctrl-C reaches
only the supervisor, which then stops the children in order) and, on Linux, with a parent-death
signal, so that a supervisor killed with SIGKILL still leaves no orphans behind."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import IO, TextIO

PR_SET_PDEATHSIG = 1
PARENT_DEATH_SIGNAL = signal.SIGTERM


def _parent_death_preexec() -> Callable[[], None] | None:
    """A ``preexec_fn`` that asks the kernel to send SIGTERM when the parent dies (Linux).

    The library is loaded here, before the fork, so the child only makes two system calls. If
    the parent died between fork and ``prctl``, the child exits at once instead of living on.
    """
    if not sys.platform.startswith("linux"):
        return None
    libc = ctypes.CDLL(None, use_errno=True)
    prctl = libc.prctl
    parent = os.getpid()

    def preexec() -> None:
        prctl(PR_SET_PDEATHSIG, int(PARENT_DEATH_SIGNAL), 0, 0, 0)
        if os.getppid() != parent:
            os._exit(1)

    return preexec


def spawn(
    argv: list[str], env: Mapping[str, str], cwd: Path | None = None, umask: int | None = None
) -> subprocess.Popen[bytes]:
    """Start ``argv`` in a new session with stdout and stderr merged into one pipe.

    Call it from the main thread only: the kernel sends the parent-death signal when the
    *thread* that forked exits, not just the process.
    """
    return subprocess.Popen(
        argv,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=dict(env),
        cwd=cwd,
        start_new_session=True,
        umask=-1 if umask is None else umask,
        preexec_fn=_parent_death_preexec(),  # only prctl runs between fork and exec
    )


def _parent_of(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name is in parentheses and may contain spaces: split after the last ')'.
    fields = stat[stat.rindex(")") + 2 :].split()
    return int(fields[1])


def descendants(pid: int) -> list[int]:
    """Every live process below ``pid`` (children, grandchildren, ...), read from /proc."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            ppid = _parent_of(int(entry.name))
            if ppid is not None:
                parents[int(entry.name)] = ppid
    found: list[int] = []
    frontier = {pid}
    while frontier:
        below = {p for p, pp in parents.items() if pp in frontier and p not in found}
        found.extend(sorted(below))
        frontier = below
    return found


def signal_group(pid: int, sig: signal.Signals) -> None:
    """Send ``sig`` to the process group that ``pid`` leads; a vanished group is fine."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


def kill_all(pids: Iterable[int]) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)


class LinePrinter:
    """Writes lines prefixed with a program name (``worker-1 | ...``), one line at a time."""

    def __init__(self, out: TextIO, width: int = 10) -> None:
        self.out = out
        self.width = width
        self._lock = threading.Lock()

    def line(self, name: str, text: str) -> None:
        with self._lock:
            self.out.write(f"{name:<{self.width}} | {text}\n")
            self.out.flush()


def pump(stream: IO[bytes], name: str, printer: LinePrinter) -> threading.Thread:
    """Copy a child's output to ``printer`` line by line, in a daemon thread, until EOF;
    then close the stream."""

    def run() -> None:
        with stream:
            for raw in stream:
                printer.line(name, raw.decode("utf-8", "replace").rstrip("\r\n"))

    thread = threading.Thread(target=run, name=f"pump-{name}", daemon=True)
    thread.start()
    return thread
