"""The operators' console on the real Asterisk 22: takeover → operator ringing, partial → board.

Everything is the product: ``hotline serve`` (the console, its AMI link and Redis subscriber),
``hotline agi`` (the 96010 flow, ``--transcribe batch``), the test Asterisk from the cached sid
chroot, a private Redis, operators logged in through the console's login form, their desk
phones one SIPp UAS (tests/integration/console/takeover_rig.py). Three phases:

1. **Takeover** (``--takeovers``, default 24, one at a time, five operators in the
   queue): a caller (Local channel) sits in
   the IVR's greeting; once the board stream shows it, an operator clicks "take over"
   (``POST /console/calls/<id>/takeover``). Measured from the click to: the HTTP answer, the
   queue dialling a member (AMI ``AgentCalled``), the operator's leg ringing (AMI
   ``Newstate`` Ringing of ``PJSIP/op-*``: the desk phone's 180), the screen-pop on that
   operator's stream. AMI events are stamped when a reader thread receives them.
2. **Partial → board, quiet**: one call on the board (``ivr.events.CallEvents``), one page;
   ``--probes`` partials published on Redis (``transcription.publish.RedisPublisher``, the live
   transcriber's publisher); the time from just before the publish to the transcript delta
   read from the page's SSE stream.
3. **Load**: ``--calls`` (200) synthetic live calls (CallEvents: started, record step) each
   publishing a growing partial every ``--partial-interval`` s, ``--pages`` (20) operator pages
   open (20 people logged in; one parses, the others read and count bytes). The app process's
   CPU (utime+stime from /proc over the window) and RSS (sampled each second), and the probe
   latency again under this load.

The machine's load average and its overall CPU use during each window are recorded: other
work on the machine shows up in every figure.

Run: ``.venv/bin/python -m bench.console_takeover`` (results to
bench/results/console_takeover.md and .json). Needs root (the Asterisk chroot).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import statistics
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"
GOAL_RING_P95_MS = 500.0
GOAL_PARTIAL_P95_MS = 300.0
# five in the queue: operators-96010 gives a member 5 s of wrap-up after each call
# (queues.conf), and a takeover every ~1.6 s must find one free, or the queue waits its
# 2 s retry (that wait is the queue's, not the console's)
QUEUE_OPERATORS = ("op1", "op2", "op3", "op4", "op5")


# -- pure parts ------------------------------------------------------------------------------
def pct(values: Sequence[float], q: float) -> float:
    """The nearest-rank ``q`` (0..1) quantile; NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def summary(values_ms: Sequence[float]) -> dict[str, float | int]:
    """n, p50, p95, max (ms, one decimal)."""
    if not values_ms:
        return {"n": 0}
    return {"n": len(values_ms), "p50_ms": round(statistics.median(values_ms), 1),
            "p95_ms": round(pct(values_ms, 0.95), 1), "max_ms": round(max(values_ms), 1)}


def cpu_percent(cpu_seconds: float, wall_seconds: float) -> float:
    """CPU time over a window as a percentage of one core."""
    return round(100.0 * cpu_seconds / wall_seconds, 1) if wall_seconds > 0 else float("nan")


def machine_busy(before: Sequence[int], after: Sequence[int]) -> float:
    """The whole machine's busy share (%, all cores) between two /proc/stat ``cpu`` lines."""
    total = sum(after) - sum(before)
    idle = (after[3] + after[4]) - (before[3] + before[4])
    return round(100.0 * (total - idle) / total, 1) if total > 0 else float("nan")


def verdict(stats: dict[str, Any], goal_ms: float) -> str:
    p95 = stats.get("p95_ms")
    if p95 is None:
        return "no data"
    return f"{'meets' if p95 <= goal_ms else 'misses'} the goal (p95 ≤ {goal_ms:.0f} ms)"


def markdown(report: dict[str, Any]) -> str:
    t = report["takeover"]
    q = report["partial_quiet"]
    load = report["load"]
    lines = [
        "# Console: takeover and live board on the real Asterisk",
        "",
        f"Date {report['date']}. Machine: {report['machine']}; load average at start "
        f"{report['load_average_start']}, at end {report['load_average_end']}. The machine is "
        "shared (other benchmarks and tests ran on it at the same time), so the figures "
        "include their noise; the whole machine's CPU use in each window is given.",
        "",
        "`hotline serve` (console, AMI link, Redis subscriber) and `hotline agi` as "
        "subprocesses, the test Asterisk 22 (Debian sid chroot), a private Redis, operators "
        "logged in through the login form, desk phones = one SIPp UAS (180 then 200 at once). "
        "Run: `.venv/bin/python -m bench.console_takeover`.",
        "",
        f"## Takeover click → operator leg ringing ({t['completed']}/{t['attempted']} "
        "takeovers, one at a time)",
        "",
        "| from the click to | n | p50 | p95 | max |",
        "|---|---:|---:|---:|---:|",
    ]
    for key, label in (("http", "the HTTP answer (draft made, Setvar ×3, Redirect)"),
                       ("agent_called", "the queue dials a member (AMI AgentCalled)"),
                       ("ringing", "**operator leg ringing** (AMI Newstate Ringing)"),
                       ("screenpop", "the screen-pop on the operator's stream")):
        s = t[key]
        lines.append(f"| {label} | {s.get('n', 0)} | {s.get('p50_ms', '-')} ms | "
                     f"{s.get('p95_ms', '-')} ms | {s.get('max_ms', '-')} ms |")
    lines += [
        "",
        f"Ringing: {verdict(t['ringing'], GOAL_RING_P95_MS)}. {len(QUEUE_OPERATORS)} "
        "operators in the queue, so one is always out of its 5 s wrap-up (queues.conf) when "
        "the next takeover comes (~every 1.6 s). Machine CPU busy during the "
        f"phase: {t['machine_busy_percent']} % (of {report['cpus']} cores).",
        "",
        "## Partial transcript published on Redis → shown on the board stream",
        "",
        "| condition | n | p50 | p95 | max | machine CPU busy |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for label, s, busy in (
            ("quiet: 1 call, 1 page", q, q.get("machine_busy_percent")),
            (f"loaded: {load['calls']} calls, {load['pages']} pages, a partial per call every "
             f"{load['partial_interval_s']} s", load["partial"], load["machine_busy_percent"])):
        lines.append(f"| {label} | {s.get('n', 0)} | {s.get('p50_ms', '-')} ms | "
                     f"{s.get('p95_ms', '-')} ms | {s.get('max_ms', '-')} ms | {busy} % |")
    lines += [
        "",
        f"Quiet: {verdict(q, GOAL_PARTIAL_P95_MS)}. Loaded: "
        f"{verdict(load['partial'], GOAL_PARTIAL_P95_MS)}.",
        "",
        f"## The app process with {load['calls']} live calls and {load['pages']} operator "
        "pages",
        "",
        "| | CPU (% of one core) | RSS |",
        "|---|---:|---:|",
        f"| idle (no call, no page) | {load['idle_cpu_percent']} % | {load['idle_rss_mb']} MB |",
        f"| loaded, over {load['seconds']} s | {load['cpu_percent']} % | "
        f"{load['rss_mb_end']} MB (peak {load['rss_mb_peak']} MB) |",
        "",
        f"Board events pushed during the window: {load['published_partials']} partials "
        f"published, {load['bytes_to_pages']} bytes read by the {load['pages']} pages "
        f"({load['pages_dropped']} page streams ended early, i.e. fell behind).",
        "",
    ]
    return "\n".join(lines)


# -- the run ---------------------------------------------------------------------------------
def _cpu_line() -> list[int]:
    with open("/proc/stat") as f:
        return [int(x) for x in f.readline().split()[1:]]


@dataclass
class AmiTap:
    """Every AMI event, stamped with time.monotonic() when received (a reader thread)."""

    events: list[tuple[float, dict[str, str]]] = field(default_factory=list)
    _stop: bool = False

    def run(self, session: Any) -> None:
        session._sock.settimeout(0.5)
        while not self._stop:
            try:
                message = session.read_message()
            except TimeoutError:
                continue
            except Exception:
                return
            if "Event" in message:
                self.events.append((time.monotonic(), message))

    def first(self, since: float, kind: str, **match: str) -> float | None:
        for at, event in list(self.events):
            if at >= since and event.get("Event") == kind and all(
                    event.get(k, "").startswith(v) for k, v in match.items()):
                return at
        return None


def _wait(predicate: Any, timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.01)
    return None


def _after_click(tap: AmiTap, pages: Sequence[Any], marks: Sequence[int], clicked: float,
                 ticket_id: str) -> tuple[float | None, float | None, float | None]:
    """When the operator's leg rang, the queue dialled, the screen-pop arrived (monotonic);
    returns once the operator is connected (or after 10 s)."""
    ring = _wait(lambda: tap.first(clicked, "Newstate", Channel="PJSIP/op-",
                                   ChannelStateDesc="Ringing"), 10)
    called = tap.first(clicked, "AgentCalled", Queue="operators-96010")

    def popped() -> float | None:
        for page, mark in zip(pages, marks, strict=True):
            for event in page.events[mark:]:
                if event.name == "screenpop" and (
                        event.data.get("ticket") or {}).get("id") == ticket_id:
                    return float(event.at)
        return None

    pop = _wait(popped, 10)
    _wait(lambda: tap.first(clicked, "AgentConnect", Queue="operators-96010"), 10)
    return ring, called, pop


def takeovers(rig: Any, count: int) -> dict[str, Any]:
    operators = [rig.log_in(login) for login in QUEUE_OPERATORS]
    pages = [op.open_page() for op in operators]
    for op in operators:
        answer = op.post("/console/queue/login")
        answer.raise_for_status()
    clicker = operators[0]
    tap = AmiTap()
    session = rig.ast.ami_session(events=True, timeout=30)
    reader = threading.Thread(target=tap.run, args=(session,), daemon=True)
    reader.start()
    times: dict[str, list[float]] = {"http": [], "agent_called": [], "ringing": [],
                                     "screenpop": []}
    seen: set[str] = set()
    failures: list[str] = []
    busy_before, began = _cpu_line(), time.monotonic()
    try:
        for i in range(count):
            call = rig.call(caller_id=f"1380013{i:04d}", timeout=90,
                            script=[("wait", "60")])
            mark = len(pages[0].events)
            try:
                shown = pages[0].wait_for(lambda e: e.name == "call"
                                          and e.data["call"]["id"] not in seen, 20, after=mark)
            except TimeoutError as exc:
                failures.append(f"{i}: call not on the board ({exc})")
                rig.ast.ami({"Action": "Hangup", "Channel": "/^Local\\/96010@ivr-test-/"})
                continue
            topic = shown.data["call"]["id"]
            seen.add(topic)
            time.sleep(1.0)  # the greeting plays (an AGI command in progress)
            marks = [len(p.events) for p in pages]
            clicked = time.monotonic()
            answer = clicker.post(f"/console/calls/{topic}/takeover")
            answered = time.monotonic()
            if answer.status_code != 200:
                failures.append(f"{i}: HTTP {answer.status_code} {answer.text[:200]}")
                rig.ast.ami({"Action": "Hangup", "Channel": "/^Local\\/96010@ivr-test-/"})
                with contextlib.suppress(Exception):
                    call.join(30)
                continue
            times["http"].append(1000 * (answered - clicked))
            ticket_id = answer.json()["ticket"]["id"]
            ring, called, pop = _after_click(tap, pages, marks, clicked, ticket_id)
            if ring is None:
                failures.append(f"{i}: the operator's leg did not ring")
            else:
                times["ringing"].append(1000 * (ring - clicked))
            if called is not None:
                times["agent_called"].append(1000 * (called - clicked))
            if pop is None:
                failures.append(f"{i}: no screen-pop")
            else:
                times["screenpop"].append(1000 * (pop - clicked))
            rig.hang_up_operators()
            try:
                call.join(30)
            except Exception as exc:
                failures.append(f"{i}: caller did not end ({exc})")
            tap.events.clear()
    finally:
        tap._stop = True
        reader.join(2)
        session.close()
    busy = machine_busy(busy_before, _cpu_line())
    return {"attempted": count, "completed": len(times["ringing"]),
            "failures": failures[:10], "machine_busy_percent": busy,
            "seconds": round(time.monotonic() - began, 1),
            **{key: summary(values) for key, values in times.items()}}


@contextlib.contextmanager
def _loop_thread() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield loop
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()


def _probe(loop: asyncio.AbstractEventLoop, publisher: Any, page: Any, topic: str, ref: str,
           count: int, every: float) -> list[float]:
    """Publish ``count`` partials for ``topic``; latency to the page's transcript delta."""
    from transcription.publish import channel

    latencies: list[float] = []
    for i in range(count):
        text = f"probe-{i}-{time.monotonic_ns()}"
        mark = len(page.events)
        sent = time.monotonic()
        asyncio.run_coroutine_threadsafe(publisher.publish(channel(topic), {
            "type": "partial", "uuid": topic, "call": ref, "text": text}), loop).result(5)
        try:
            got = page.wait_for(lambda e, t=text: e.name == "transcript"
                                and e.data.get("partial") == t, 10, after=mark)
        except TimeoutError:
            continue
        latencies.append(1000 * (got.at - sent))
        time.sleep(every)
    return latencies


async def _count_bytes(client: Any, counter: dict[str, int], stop: asyncio.Event) -> None:
    try:
        async with client.stream("GET", "/console/events", timeout=None) as response:
            async for chunk in response.aiter_raw():
                counter["bytes"] += len(chunk)
                if stop.is_set():
                    return
        counter["ended"] += 1
    except Exception:
        counter["ended"] += 1


async def _feed(events: Any, publisher: Any, calls: list[tuple[str, str]], interval: float,
                stop: asyncio.Event, counter: dict[str, int]) -> None:
    """Every call publishes a growing partial every ``interval`` s (spread evenly), and a
    finished segment every tenth time."""
    from transcription.publish import channel

    words = ["东四十条", "路口", "的", "路灯", "坏了", "三天", "了", "请", "尽快", "修理"]
    step = interval / max(1, len(calls))
    n = 0
    while not stop.is_set():
        for topic, ref in calls:
            n += 1
            said = " ".join(words[: 1 + (n // len(calls)) % len(words)])
            kind = "segment" if (n // len(calls)) % 10 == 9 else "partial"
            await publisher.publish(channel(topic), {"type": kind, "uuid": topic, "call": ref,
                                                     "text": said})
            counter["partials"] += 1
            await asyncio.sleep(step)
            if stop.is_set():
                return


def board_load(rig: Any, *, calls: int, pages: int, seconds: float, interval: float,
               probes: int) -> tuple[dict[str, Any], dict[str, Any]]:
    import httpx

    from ivr.events import CallEvents, Step, call_topic, redis_client
    from tests.integration.console.takeover_rig import process_cpu_seconds, process_rss_mb
    from transcription.publish import RedisPublisher

    pid = rig.serve.pid
    cpu0, t0 = process_cpu_seconds(pid), time.monotonic()
    time.sleep(5)
    idle_cpu = cpu_percent(process_cpu_seconds(pid) - cpu0, time.monotonic() - t0)
    idle_rss = round(process_rss_mb(pid), 1)

    people = [f"page{i:02d}" for i in range(pages)]
    with _loop_thread() as loop:
        def run(coro: Any, timeout: float = 30) -> Any:
            return asyncio.run_coroutine_threadsafe(coro, loop).result(timeout)

        events = run(_make_events(CallEvents, redis_client, rig.redis.url))
        publisher = run(_make_publisher(RedisPublisher, rig.redis.url))
        probe_ref = "bench/probe-0"
        probe_topic = call_topic(probe_ref)
        loop.call_soon_threadsafe(events.started, probe_ref, "Local/bench-probe;2",
                                  "+8613800000000")
        loop.call_soon_threadsafe(events.recording, probe_ref)
        watcher = rig.log_in(people[0])
        page = watcher.open_page()
        page.wait_for(lambda e: e.name in ("snapshot", "call") and probe_topic in json.dumps(
            e.data), 10)
        busy0 = _cpu_line()
        quiet = _probe(loop, publisher, page, probe_topic, probe_ref, probes, 0.1)
        quiet_stats = {**summary(quiet), "machine_busy_percent": machine_busy(busy0,
                                                                              _cpu_line())}

        synthetic = [(call_topic(f"bench/load-{i}"), f"bench/load-{i}") for i in range(calls - 1)]
        for topic, ref in synthetic:
            loop.call_soon_threadsafe(events.started, ref, f"Local/bench-{topic[:8]};2",
                                      f"+86139{len(topic):08d}")
            loop.call_soon_threadsafe(events.step, ref, Step.record, "complaint")
            loop.call_soon_threadsafe(events.recording, ref)
        page.wait_for(lambda e: e.name == "call" and e.data["call"]["id"] == synthetic[-1][0],
                      30)
        # the other pages: people logged in, streams read and counted
        others = [rig.log_in(login) for login in people[1:]]
        counter = {"bytes": 0, "ended": 0, "partials": 0}
        stop = asyncio.Event()
        clients = [httpx.AsyncClient(base_url=rig.url, cookies=o.client.cookies)
                   for o in others]
        readers = [asyncio.run_coroutine_threadsafe(_count_bytes(c, counter, stop), loop)
                   for c in clients]
        feeder = asyncio.run_coroutine_threadsafe(
            _feed(events, publisher, synthetic, interval, stop, counter), loop)
        time.sleep(3)  # the pages' snapshots, the feed running
        counter["bytes"] = 0
        partials0 = counter["partials"]
        busy0, cpu0, t0 = _cpu_line(), process_cpu_seconds(pid), time.monotonic()
        rss = [process_rss_mb(pid)]
        loaded: list[float] = []
        deadline = t0 + seconds
        while time.monotonic() < deadline:
            loaded += _probe(loop, publisher, page, probe_topic, probe_ref, 1, 0)
            rss.append(process_rss_mb(pid))
            time.sleep(max(0.0, min(0.5, deadline - time.monotonic())))
        wall = time.monotonic() - t0
        cpu = cpu_percent(process_cpu_seconds(pid) - cpu0, wall)
        busy = machine_busy(busy0, _cpu_line())
        load = {"calls": calls, "pages": pages, "partial_interval_s": interval,
                "seconds": round(wall, 1), "idle_cpu_percent": idle_cpu,
                "idle_rss_mb": idle_rss, "cpu_percent": cpu,
                "rss_mb_end": round(rss[-1], 1), "rss_mb_peak": round(max(rss), 1),
                "published_partials": counter["partials"] - partials0,
                "bytes_to_pages": counter["bytes"], "pages_dropped": counter["ended"],
                "machine_busy_percent": busy, "partial": summary(loaded)}
        loop.call_soon_threadsafe(stop.set)
        with contextlib.suppress(Exception):
            feeder.result(10)
        for topic_ref in [*synthetic, (probe_topic, probe_ref)]:
            loop.call_soon_threadsafe(events.ended, topic_ref[1], "hangup")
        for reader in readers:
            reader.cancel()
        for client in clients:
            run(client.aclose())
        run(events.close())
        run(publisher.close())
    return quiet_stats, load


async def _make_events(cls: Any, client: Any, url: str) -> Any:
    return cls(client(url))


async def _make_publisher(cls: Any, url: str) -> Any:
    return cls(url)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--takeovers", type=int, default=24)
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--pages", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=30.0, help="the loaded window")
    parser.add_argument("--partial-interval", type=float, default=1.0)
    parser.add_argument("--probes", type=int, default=60)
    parser.add_argument("--no-write", action="store_true", help="print, do not write results")
    args = parser.parse_args(argv)

    from tests.integration.console.takeover_rig import console_rig

    load_start = " ".join(f"{x:.1f}" for x in os.getloadavg())
    logins = [*QUEUE_OPERATORS, *(f"page{i:02d}" for i in range(args.pages))]
    with tempfile.TemporaryDirectory(prefix="bench-console-") as tmp, \
            console_rig(Path(tmp), logins=logins, transcribe="batch",
                        log_level="WARNING") as rig:
        taken = takeovers(rig, args.takeovers)
        rig.hang_up_operators()
        quiet, load = board_load(rig, calls=args.calls, pages=args.pages,
                                 seconds=args.seconds, interval=args.partial_interval,
                                 probes=args.probes)
    report = {
        "benchmark": "console_takeover",
        "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "machine": f"{os.cpu_count()} CPUs, {platform.system()} {platform.release()}, "
                   f"Python {platform.python_version()}",
        "cpus": os.cpu_count(),
        "load_average_start": load_start,
        "load_average_end": " ".join(f"{x:.1f}" for x in os.getloadavg()),
        "goals": {"ringing_p95_ms": GOAL_RING_P95_MS, "partial_p95_ms": GOAL_PARTIAL_P95_MS},
        "takeover": taken, "partial_quiet": quiet, "load": load,
    }
    text = json.dumps(report, indent=2, ensure_ascii=False) + "\n"
    print(text)
    if not args.no_write:
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / "console_takeover.json").write_text(text, encoding="utf-8")
        (RESULTS / "console_takeover.md").write_text(markdown(report), encoding="utf-8")
    return 0 if taken["completed"] >= min(20, args.takeovers) else 1


if __name__ == "__main__":
    raise SystemExit(main())
