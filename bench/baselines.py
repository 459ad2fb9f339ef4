"""The limits the gateway's figures are ratios of, measured in the same run on the same machine.

* the web stack: a bare ASGI hello-world (:mod:`bench.hello_asgi`) under ``hotline serve``'s
  uvicorn settings, driven by wrk like the intake;
* Redis: ``redis-benchmark`` LPUSH against a private redis-server (the queue's write);
* PostgreSQL: a commit loop, ``pgbench`` with a one-row INSERT per transaction, on one client
  (one commit at a time, what a single global lock allows) and on many;
* SQLite: a commit loop in Python with the gateway's own pragmas (WAL, ``synchronous=FULL``).

Used by :mod:`bench.durable_intake`; not a benchmark by itself.
"""

from __future__ import annotations

import csv
import io
import re
import shutil
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench import wrk

ROOT = Path(__file__).resolve().parent.parent  # where ``python -m bench.…`` finds bench


def start_hello(port: int, log: Path) -> subprocess.Popen[bytes]:
    """``python -m bench.hello_asgi`` on 127.0.0.1:``port``, answering."""
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "bench.hello_asgi", "--port", str(port)],
                                stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/", timeout=1).content == b"hello":
                return proc
        except httpx.HTTPError:
            if proc.poll() is not None:
                break
            time.sleep(0.1)
    proc.terminate()
    raise RuntimeError(f"the hello-world server did not start:\n{log.read_text()[-2000:]}")


def hello_world(port: int, *, connections: int, seconds: float) -> wrk.WrkResult:
    """wrk ``GET /`` against the hello-world server: the web stack's req/s."""
    return wrk.run(f"http://127.0.0.1:{port}/", connections=connections, seconds=seconds)


@dataclass(frozen=True)
class RedisResult:
    requests: int
    clients: int
    rps: float
    p50_ms: float
    p99_ms: float


def parse_redis_csv(text: str) -> RedisResult:
    rows = list(csv.DictReader(io.StringIO(text)))
    row = next((r for r in rows if r.get("test", "").upper().startswith("LPUSH")), None)
    if row is None:
        raise ValueError(f"no LPUSH line in redis-benchmark's output:\n{text}")
    return RedisResult(requests=0, clients=0, rps=round(float(row["rps"]), 1),
                       p50_ms=float(row["p50_latency_ms"]), p99_ms=float(row["p99_latency_ms"]))


def redis_lpush(socket_path: Path, *, requests: int, clients: int) -> RedisResult:
    exe = shutil.which("redis-benchmark")
    if exe is None:
        raise RuntimeError("redis-benchmark is not installed (Debian's redis-tools): 'make deps'")
    out = subprocess.run([exe, "-s", str(socket_path), "-t", "lpush", "-n", str(requests),
                          "-c", str(clients), "--csv"],
                         check=True, capture_output=True, text=True, timeout=300)
    parsed = parse_redis_csv(out.stdout)
    return RedisResult(requests=requests, clients=clients, rps=parsed.rps,
                       p50_ms=parsed.p50_ms, p99_ms=parsed.p99_ms)


@dataclass(frozen=True)
class CommitLoop:
    clients: int
    seconds: float
    commits: int
    commits_per_s: float
    latency_avg_ms: float


PGBENCH_SCRIPT = "INSERT INTO commit_loop (body) VALUES ('幸福路12号门口井盖丢失');\n"
PGBENCH_TABLE = ("CREATE TABLE IF NOT EXISTS commit_loop "
                 "(id bigserial PRIMARY KEY, at timestamptz NOT NULL DEFAULT now(), body text)")


def parse_pgbench(text: str, clients: int) -> CommitLoop:
    tps = re.search(r"^tps = ([\d.]+)", text, re.M)
    done = re.search(r"number of transactions actually processed: (\d+)", text)
    lat = re.search(r"latency average = ([\d.]+) ms", text)
    dur = re.search(r"duration: ([\d.]+) s", text)
    if tps is None or done is None:
        raise ValueError(f"unexpected pgbench output:\n{text}")
    return CommitLoop(clients=clients, seconds=float(dur.group(1)) if dur else 0.0,
                      commits=int(done.group(1)), commits_per_s=round(float(tps.group(1)), 1),
                      latency_avg_ms=float(lat.group(1)) if lat else 0.0)


def pg_commit_loop(pg_bin: Path, port: int, database: str, workdir: Path, *,
                   clients: int, seconds: int) -> CommitLoop:
    """pgbench: every transaction is one INSERT of one row, committed (autocommit)."""
    conn = ["-h", "127.0.0.1", "-p", str(port), "-U", "postgres"]
    subprocess.run([str(pg_bin / "psql"), *conn, "-q", "-d", database, "-c", PGBENCH_TABLE],
                   check=True, capture_output=True)
    script = workdir / "commit_loop.sql"
    script.write_text(PGBENCH_SCRIPT, encoding="utf-8")
    out = subprocess.run([str(pg_bin / "pgbench"), *conn, "-n", "-f", str(script),
                          "-c", str(clients), "-j", "1", "-T", str(seconds), database],
                         check=True, capture_output=True, text=True, timeout=seconds + 60)
    return parse_pgbench(out.stdout, clients)


def sqlite_commit_loop(path: Path, *, seconds: float) -> CommitLoop:
    """One connection, one INSERT + COMMIT at a time, the gateway's pragmas (tickets.db)."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        for pragma in ("journal_mode=WAL", "synchronous=FULL", "busy_timeout=30000"):
            conn.execute(f"PRAGMA {pragma}")
        conn.execute("CREATE TABLE IF NOT EXISTS commit_loop "
                     "(id INTEGER PRIMARY KEY, at TEXT NOT NULL, body TEXT)")
        commits = 0
        t0 = time.perf_counter()
        while (elapsed := time.perf_counter() - t0) < seconds:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("INSERT INTO commit_loop (at, body) VALUES (?, ?)",
                         (time.time(), "幸福路12号门口井盖丢失"))
            conn.execute("COMMIT")
            commits += 1
    finally:
        conn.close()
    return CommitLoop(clients=1, seconds=round(elapsed, 2), commits=commits,
                      commits_per_s=round(commits / elapsed, 1),
                      latency_avg_ms=round(1000 * elapsed / max(commits, 1), 3))
