"""What the benchmarks share: a free port, percentiles, and ``hotline serve`` as a subprocess."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def percentile(values: list[float], q: float) -> float:
    """The nearest-rank ``q`` quantile (0..1) of ``values``."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def start_serve(data_dir: Path, port: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    """``hotline serve`` on 127.0.0.1:``port`` with a development data dir; waits for /healthz."""
    full_env = {**os.environ, "HOTLINE_ENV": "development", "HOTLINE_DATA_DIR": str(data_dir),
                "HOTLINE_LOG_LEVEL": "WARNING", **env}
    hotline = Path(sys.executable).parent / "hotline"
    with open(data_dir / "serve.log", "wb") as log:
        proc = subprocess.Popen(
            [str(hotline), "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=full_env, cwd=data_dir, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.terminate()
    tail = (data_dir / "serve.log").read_text(errors="replace")[-2000:]
    raise RuntimeError(f"hotline serve did not start:\n{tail}")
