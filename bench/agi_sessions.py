"""N concurrent simulated Asterisk sessions against a real ``hotline agi`` subprocess.

Each simulated call speaks the real FastAGI protocol over TCP: it sends the ``agi_*`` block of
a ``/96010`` call and answers every command as Asterisk 22 would (prompts "play" for
``--play-ms``, RECORD FILE writes a 2 s WAV where the gateway asked for it). The mix is 60 %
residents who press 1–5 and record (a ticket: media file + SQLite submit in the gateway's thread
pool), 20 % progress queries (9 + a ten-digit number), 20 % operator (0: a draft ticket).

All N calls are held open until every one has connected (the server then has N live sessions:
its RSS is sampled there and throughout), then released at once. Measured:

* command round trip: from our reply to the gateway's next command line (what a caller would
  wait for, beyond playing prompts), p50/p99 over every command; separately for the command
  that follows RECORD FILE (it waits for the media save + ticket submit).
* server RSS (VmRSS of the ``hotline agi`` process): idle, and the peak with N sessions.

Run: ``.venv/bin/python -m bench.agi_sessions`` (results to bench/results/agi_sessions.*).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import platform
import random
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
import wave
from dataclasses import dataclass, field
from pathlib import Path

from bench.common import free_port
from ivr.prompts.build import build_prompts
from ivr.prompts.catalog import GENERATED

RESULTS = Path(__file__).resolve().parent / "results"


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def tone_wav(seconds: float = 2.0) -> bytes:
    path = Path(tempfile.mkstemp(suffix=".wav")[1])
    n = int(8000 * seconds)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"".join(struct.pack("<h", int(6000 * math.sin(i / 3))) for i in range(n)))
    data = path.read_bytes()
    path.unlink()
    return data


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


@dataclass
class Stats:
    rtt: list[float] = field(default_factory=list)
    after_record: list[float] = field(default_factory=list)
    protocol: list[float] = field(default_factory=list)  # no store work in between
    store_bound: list[float] = field(default_factory=list)
    setup: list[float] = field(default_factory=list)
    completed: int = 0
    errors: list[str] = field(default_factory=list)
    commands: int = 0


class Call:
    def __init__(self, i: int, port: int, stats: Stats, gate: asyncio.Event,
                 connected: list[int], n: int, all_in: asyncio.Event, play_s: float,
                 wav: bytes) -> None:
        self.i, self.port, self.stats, self.gate = i, port, stats, gate
        self.connected, self.n, self.all_in = connected, n, all_in
        self.play_s, self.wav = play_s, wav
        r = random.Random(i)
        roll = r.random()
        self.menu = str(r.randint(1, 5)) if roll < 0.6 else ("9" if roll < 0.8 else "0")
        self.rng = r

    def reply(self, line: str) -> list[str]:
        verb = " ".join(line.split(" ")[:2])
        if line == "ANSWER" or line.startswith("SET VARIABLE"):
            return ["200 result=1"]
        if line == "HANGUP":
            return ["200 result=1"]
        if verb == "STREAM FILE":
            if "/greeting" in line:
                return [f"200 result={ord(self.menu)} endpos=800"]
            return ["200 result=0 endpos=8000"]
        if verb == "WAIT FOR":
            return ["200 result=0"]
        if verb == "GET DATA":
            return [f"200 result={self.rng.randrange(10**9, 10**10)}"]
        if verb == "RECORD FILE":
            path = Path(line.split('"')[1] + ".wav")
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(self.wav)
            return ["200 result=35 (dtmf) endpos=16000"]
        return ["510 Invalid or unknown command"]

    async def run(self) -> None:
        t0 = time.perf_counter()
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        env = {
            "agi_network": "yes", "agi_network_script": "96010",
            "agi_request": f"agi://127.0.0.1:{self.port}/96010",
            "agi_channel": f"PJSIP/carrier-{self.i:08x}", "agi_type": "PJSIP",
            "agi_uniqueid": f"bench-{os.getpid()}-{self.i}",
            "agi_callerid": f"139{self.i:08d}", "agi_callingpres": "0",
            "agi_context": "hotline-96010", "agi_extension": "96010",
        }
        writer.write("".join(f"{k}: {v}\n" for k, v in env.items()).encode() + b"\n")
        await writer.drain()
        first = True
        sent_at: float | None = None
        after_record = store_next = False
        try:
            while True:
                raw = await asyncio.wait_for(reader.readline(), 300)
                now = time.perf_counter()
                if not raw:
                    break
                line = raw.decode().rstrip("\n")
                self.stats.commands += 1
                if first:
                    self.stats.setup.append(now - t0)
                    first = False
                    self.connected[0] += 1
                    if self.connected[0] == self.n:
                        self.all_in.set()
                    await self.gate.wait()
                elif sent_at is not None:
                    self.stats.rtt.append(now - sent_at)
                    if after_record:
                        self.stats.after_record.append(now - sent_at)
                    (self.stats.store_bound if store_next else self.stats.protocol).append(
                        now - sent_at)
                after_record = line.startswith("RECORD FILE")
                # the gateway talks to the store before its next command: after the recording
                # (media + submit), after the ticket number is keyed (lookup), after key 0
                # (draft ticket)
                store_next = after_record or line.startswith("GET DATA") or (
                    self.menu == "0" and "/greeting" in line)
                if line.startswith(("STREAM FILE", "GET DATA")) and self.play_s:
                    await asyncio.sleep(self.rng.uniform(0.5, 1.5) * self.play_s)
                writer.write("".join(x + "\n" for x in self.reply(line)).encode())
                await writer.drain()
                sent_at = time.perf_counter()
                if line == "HANGUP":
                    await reader.read()
                    break
            self.stats.completed += 1
        except Exception as exc:
            self.stats.errors.append(f"{type(exc).__name__}: {exc}")
        finally:
            writer.close()


async def run_load(port: int, pid: int, n: int, play_s: float, wav: bytes) -> dict[str, object]:
    stats = Stats()
    gate, all_in = asyncio.Event(), asyncio.Event()
    connected = [0]
    peak = [rss_mb(pid)]
    idle = peak[0]

    lags: list[float] = []

    async def sample() -> None:
        # also the benchmark client's own event-loop lag: how late a 50 ms sleep wakes up
        loop = asyncio.get_running_loop()
        while True:
            peak[0] = max(peak[0], rss_mb(pid))
            before = loop.time()
            await asyncio.sleep(0.05)
            lags.append(loop.time() - before - 0.05)

    sampler = asyncio.create_task(sample())
    calls = [Call(i, port, stats, gate, connected, n, all_in, play_s, wav) for i in range(n)]
    started = time.perf_counter()
    tasks = [asyncio.create_task(c.run()) for c in calls]
    await asyncio.wait_for(all_in.wait(), 120)
    await asyncio.sleep(0.3)
    rss_all_open = rss_mb(pid)
    gate.set()
    await asyncio.gather(*tasks)
    wall = time.perf_counter() - started
    sampler.cancel()
    ms = 1000.0
    return {
        "sessions": n,
        "completed": stats.completed,
        "errors": len(stats.errors),
        "error_examples": stats.errors[:3],
        "commands": stats.commands,
        "wall_seconds": round(wall, 2),
        "setup_ms_p50": round(pct(stats.setup, 50) * ms, 2),
        "setup_ms_p99": round(pct(stats.setup, 99) * ms, 2),
        "rtt_ms_p50": round(pct(stats.rtt, 50) * ms, 2),
        "rtt_ms_p99": round(pct(stats.rtt, 99) * ms, 2),
        "protocol_rtt_ms_p50": round(pct(stats.protocol, 50) * ms, 2),
        "protocol_rtt_ms_p99": round(pct(stats.protocol, 99) * ms, 2),
        "store_bound_rtt_ms_p50": round(pct(stats.store_bound, 50) * ms, 2),
        "store_bound_rtt_ms_p99": round(pct(stats.store_bound, 99) * ms, 2),
        "after_record_ms_p50": round(pct(stats.after_record, 50) * ms, 2),
        "after_record_ms_p99": round(pct(stats.after_record, 99) * ms, 2),
        "client_loop_lag_ms_p50": round(pct(lags, 50) * ms, 2),
        "client_loop_lag_ms_p99": round(pct(lags, 99) * ms, 2),
        "rss_mb_idle": round(idle, 1),
        "rss_mb_all_open": round(rss_all_open, 1),
        "rss_mb_peak": round(max(peak[0], rss_all_open), 1),
        "tickets_expected": sum(1 for c in calls if c.menu != "9"),
    }


def count_tickets(db: Path) -> int:
    import sqlite3

    with sqlite3.connect(db) as conn:
        return int(conn.execute("select count(*) from tickets").fetchone()[0])


def one_run(n: int, play_s: float, wav: bytes) -> dict[str, object]:
    base = Path(tempfile.mkdtemp(prefix="bench-agi-"))
    port = free_port()
    env = {**os.environ, "HOTLINE_DATA_DIR": str(base), "HOTLINE_PROMPTS_DIR": str(GENERATED),
           "HOTLINE_RECORDINGS_DIR": str(base / "recordings"), "HOTLINE_AGI_PORT": str(port),
           "HOTLINE_LOG_LEVEL": "WARNING"}
    log = open(base / "agi.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen([sys.executable, "-m", "hotline", "--log-level", "WARNING",
                             "agi", "--transcribe", "batch"], env=env, stdout=log,
                            stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if proc.poll() is not None:
                    raise RuntimeError((base / "agi.log").read_text()) from None
                time.sleep(0.1)
        time.sleep(0.5)
        result = asyncio.run(run_load(port, proc.pid, n, play_s, wav))
        time.sleep(0.5)
        result["tickets_created"] = count_tickets(base / "hotline.sqlite3")
        return result
    finally:
        proc.terminate()
        proc.wait(30)
        log.close()
        shutil.rmtree(base, ignore_errors=True)


def markdown(report: dict[str, object]) -> str:
    runs = report["runs"]
    assert isinstance(runs, list)
    lines = [
        "# FastAGI sessions against `hotline agi`",
        "",
        f"Machine: {report['machine']}. Simulated Asterisk sessions over TCP on loopback, "
        f"prompts 'play' {report['play_ms']} ms ±50 %; 60 % record (ticket + media), "
        "20 % progress query, 20 % operator (draft ticket). SQLite store. All sessions are "
        "held open until every one has connected, then released together.",
        "",
        "| sessions | completed | errors | round trip p50 / p99 (all) "
        "| protocol-only p50 / p99 | store-bound p50 / p99 | setup p50 / p99 "
        "| client loop lag p99 | RSS idle | RSS all open | RSS peak | tickets | wall |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in runs:
        lines.append(
            f"| {r['sessions']} | {r['completed']} | {r['errors']} "
            f"| {r['rtt_ms_p50']} / {r['rtt_ms_p99']} ms "
            f"| {r['protocol_rtt_ms_p50']} / {r['protocol_rtt_ms_p99']} ms "
            f"| {r['store_bound_rtt_ms_p50']} / {r['store_bound_rtt_ms_p99']} ms "
            f"| {r['setup_ms_p50']} / {r['setup_ms_p99']} ms "
            f"| {r['client_loop_lag_ms_p99']} ms "
            f"| {r['rss_mb_idle']} MB | {r['rss_mb_all_open']} MB | {r['rss_mb_peak']} MB "
            f"| {r['tickets_created']}/{r['tickets_expected']} | {r['wall_seconds']} s |"
        )
    lines += [
        "",
        "Round trip: from the simulated Asterisk's reply to the gateway's next command. "
        "Protocol-only: commands with no store work in between (the AGI server itself). "
        "Store-bound: the command after RECORD FILE (recording copied into the media store + "
        "ticket submitted), after GET DATA (ticket lookup) and after key 0 (draft ticket); "
        "store calls run in a 2-thread pool and SQLite serializes the writes, so with N "
        "tickets submitted at the same instant the last one waits for all the others. "
        "Setup: TCP connect + environment block to the first command (ANSWER), all N "
        "connecting at once. The benchmark client runs on the same 2 cores as the server "
        "and its own event-loop lag (how late a 50 ms sleep wakes) is part of every figure "
        f"(load average at start: {report.get('load_average', '?')}).",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sessions", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("--play-ms", type=int, default=300)
    parser.add_argument("--no-save", action="store_true")
    args = parser.parse_args()
    build_prompts(GENERATED)
    wav = tone_wav()
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    runs = [one_run(n, args.play_ms / 1000, wav) for n in args.sessions]
    report = {
        "benchmark": "agi_sessions",
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": f"{os.cpu_count()} CPUs, {platform.system()} {platform.release()}, "
                   f"Python {platform.python_version()}",
        "play_ms": args.play_ms,
        "load_average": load,
        "runs": runs,
    }
    print(json.dumps(report, indent=2, ensure_ascii=False))
    if not args.no_save:
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / "agi_sessions.json").write_text(json.dumps(report, indent=2) + "\n")
        (RESULTS / "agi_sessions.md").write_text(markdown(report))


if __name__ == "__main__":
    main()
