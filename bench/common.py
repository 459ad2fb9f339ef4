"""What the benchmarks share: a free port, percentiles, and ``hotline serve`` as a subprocess."""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
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


def latency_stats(latencies_ms: list[float], wall_s: float) -> dict[str, float]:
    """p50/p90/p99/max (ms, one decimal) and completed requests per second."""
    return {
        "p50_ms": round(statistics.median(latencies_ms), 1),
        "p90_ms": round(percentile(latencies_ms, .9), 1),
        "p99_ms": round(percentile(latencies_ms, .99), 1),
        "max_ms": round(max(latencies_ms), 1),
        "throughput_per_s": round(len(latencies_ms) / wall_s, 1),
    }


def start_serve(data_dir: Path, port: int, env: dict[str, str],
                prefix: Sequence[str] = ()) -> subprocess.Popen[bytes]:
    """``hotline migrate`` then ``hotline serve`` on 127.0.0.1:``port`` with a development data
    dir (no Redis: rate limits off unless ``env`` turns them on); waits for /healthz.
    ``prefix``: a command that runs hotline's CLI with the arguments after it instead of the
    ``hotline`` script (``python -m bench.sampler --out DIR --``)."""
    full_env = {**os.environ, "HOTLINE_ENV": "development", "HOTLINE_DATA_DIR": str(data_dir),
                "HOTLINE_LOG_LEVEL": "WARNING", "HOTLINE_RATE_LIMITS": "false", **env}
    hotline = Path(sys.executable).parent / "hotline"
    subprocess.run([str(hotline), "migrate"], env=full_env, cwd=data_dir, check=True,
                   capture_output=True)
    with open(data_dir / "serve.log", "wb") as log:
        proc = subprocess.Popen(
            [*(prefix or [str(hotline)]), "serve", "--host", "127.0.0.1", "--port", str(port)],
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
