"""``hotline agi`` as a real subprocess for the end-to-end tests: started, awaited, stopped."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.support.services import stop_process, wait_until


def listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


@contextmanager
def agi_process(env: dict[str, str], agi_port: int, log: Path, transcribe: str,
                timeout: float = 60) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``hotline agi --transcribe TRANSCRIBE`` until the block ends; fail with its log if it
    exits before its AGI port listens."""
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "hotline", "agi", "--transcribe", transcribe],
            env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_until(lambda: listening(agi_port) or proc.poll() is not None, timeout=timeout)
        assert proc.poll() is None, log.read_text()
        yield proc
    finally:
        stop_process(proc, 30)
