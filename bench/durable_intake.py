"""Benchmark: durable intake as a ratio of the web stack's limit, on PostgreSQL and SQLite.

In one run, on one machine, with one load generator (wrk, closed loop, ``--connections``):

* the limits (:mod:`bench.baselines`): a bare ASGI hello-world under ``hotline serve``'s
  uvicorn settings, ``redis-benchmark`` LPUSH on a private Redis, a PostgreSQL commit loop
  (pgbench, one-row INSERT per transaction, 1 and ``--connections`` clients) and a SQLite commit
  loop with the gateway's pragmas;
* durable intake — each request a new ticket committed with its outbox row before the ack —
  over the JSON API (``POST /api/v1/intake``) and a signed Twilio SMS webhook
  (``POST /channels/twilio/sms``), on ``hotline serve`` with a private PostgreSQL (the
  reference store) and with SQLite (the single-machine default).

Every repeat measures the hello-world and then each intake, so each intake's ratio is taken
against the limit measured minutes apart on the same load; the figures are the medians over
``--repeats``. Then each intake at half its own saturated rate, open loop (a request every
1/rate s, latency from its planned start), for the p99 ack. Targets (issue 22): intake ≥ 50 %
of the hello-world req/s; p99 ack ≤ 100 ms at half load. A missed target keeps a profile of the
gateway under the saturating load (:mod:`bench.sampler`) in bench/results/.

    .venv/bin/python -m bench.durable_intake [--repeats 3] [--seconds 10] [--connections 16]

Writes ``bench/results/durable_intake.{json,md}``, ``baselines.json`` and the profiles, then
``summary.md`` (:mod:`bench.summary`). Not a test: nothing here asserts timing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
from sqlalchemy import func, select

from bench import baselines, summary, wrk
from bench.channels_ack import PUBLIC_URL, TEXT, TWILIO
from bench.common import free_port, percentile, start_serve
from channels.twilio_sms import demo as sms_demo
from tickets import apikeys
from tickets.apikeys import Scope
from tickets.db import Database
from tickets.tables import outbox, tickets

RESULTS = Path(__file__).parent / "results"
RATIO_TARGET = 0.5
HALF_LOAD_P99_TARGET_MS = 100.0
PATHS = ("api", "sms")
PATH_NAMES = {"api": "JSON intake (POST /api/v1/intake)",
              "sms": "signed Twilio SMS (POST /channels/twilio/sms)"}


@dataclass(frozen=True)
class Request:
    path: str
    headers: dict[str, str]
    body: bytes


def api_requests(token: str, start: int, n: int) -> list[Request]:
    headers = {"authorization": f"Bearer {token}", "content-type": "application/json"}
    return [Request("/api/v1/intake", headers, json.dumps({
        "channel_ref": f"bench-{i}", "text": TEXT, "kind": "report",
        "citizen": {"phone": f"+86138{i:08d}"}}).encode()) for i in range(start, start + n)]


def sms_requests(start: int, n: int) -> list[Request]:
    out = []
    for i in range(start, start + n):
        path, headers, form = sms_demo.sample_request(TWILIO, TEXT, f"+86139{i:08d}",
                                                      f"SMbench{i:010d}")
        out.append(Request(path, {**headers,
                                  "content-type": "application/x-www-form-urlencoded"},
                           urlencode(form).encode()))
    return out


class Numbers:
    """Distinct residents and references across every run of the bench (no request is a
    repeat, no message threads onto an earlier ticket)."""

    def __init__(self) -> None:
        self.next = 0

    def take(self, n: int) -> int:
        start, self.next = self.next, self.next + n
        return start


@dataclass
class Gateway:
    store: str
    port: int
    db: Database
    token: str
    proc: subprocess.Popen[bytes]

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def requests(self, path: str, numbers: Numbers, n: int) -> list[Request]:
        start = numbers.take(n)
        return api_requests(self.token, start, n) if path == "api" else sms_requests(start, n)

    def counts(self) -> tuple[int, int]:
        with self.db.read() as conn:
            return (int(conn.execute(select(func.count()).select_from(tickets)).scalar_one()),
                    int(conn.execute(select(func.count()).select_from(outbox)).scalar_one()))


def serve_env(database_url: str | None) -> dict[str, str]:
    env = {"HOTLINE_PUBLIC_URL": PUBLIC_URL,
           "HOTLINE_TWILIO_ACCOUNT_SID": str(TWILIO.account_sid),
           "HOTLINE_TWILIO_AUTH_TOKEN": str(TWILIO.auth_token)}
    if database_url:
        env["HOTLINE_DATABASE_URL"] = database_url
    return env


def start_gateway(store: str, data_dir: Path, database_url: str | None,
                  prefix: list[str] | None = None) -> Gateway:
    data_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    env = serve_env(database_url)
    if prefix:  # python -m bench.…: the gateway runs in its data dir, not in the checkout
        env["PYTHONPATH"] = str(baselines.ROOT)
    proc = start_serve(data_dir, port, env, prefix or ())
    db = Database(database_url or f"sqlite:///{data_dir / 'hotline.sqlite3'}")
    _, token = apikeys.create(db, f"bench-{port}", frozenset({Scope.intake}))
    return Gateway(store, port, db, token, proc)


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far (/proc/PID/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_ticks() -> tuple[int, int]:
    """(busy, total) CPU ticks of the whole machine so far (/proc/stat)."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return sum(values) - idle, sum(values)


@dataclass(frozen=True)
class Saturated:
    wrk: wrk.WrkResult
    gateway_cpu_share: float  # of one core, over the run
    gateway_cpu_ms_per_request: float
    machine_busy_share: float  # of all cores, everything on the machine


def saturate(gw: Gateway, path: str, numbers: Numbers, *, connections: int, seconds: float,
             expect_rps: float, workdir: Path) -> Saturated:
    """wrk against one intake path with enough distinct requests for the run, and the CPU the
    gateway and the whole machine spent meanwhile."""
    n = int(max(expect_rps, 50) * seconds * 2) + 200
    host = f"127.0.0.1:{gw.port}"
    raws = [wrk.raw_request("POST", r.path, host, r.headers, r.body)
            for r in gw.requests(path, numbers, n)]
    cpu0, (busy0, total0), t0 = cpu_seconds(gw.proc.pid), machine_ticks(), time.monotonic()
    result = wrk.run(f"{gw.base}/", connections=connections, seconds=seconds, requests=raws,
                     workdir=workdir)
    cpu1, (busy1, total1), t1 = cpu_seconds(gw.proc.pid), machine_ticks(), time.monotonic()
    return Saturated(
        wrk=result,
        gateway_cpu_share=round((cpu1 - cpu0) / (t1 - t0), 3),
        gateway_cpu_ms_per_request=round(1000 * (cpu1 - cpu0) / max(result.requests, 1), 2),
        machine_busy_share=round((busy1 - busy0) / max(total1 - total0, 1), 3))


@dataclass(frozen=True)
class OpenLoop:
    load_average: float  # 1 min, at the start
    machine_busy_share: float
    rate_per_s: float
    seconds: float
    sent: int
    ok: int
    errors: int
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float


async def open_loop(base: str, requests: list[Request], rate: float) -> OpenLoop:
    """Send ``requests`` one every 1/``rate`` s regardless of answers; each latency from its
    planned start (a late answer delays nothing, so no coordinated omission)."""
    latencies: list[float] = []
    errors = 0
    load, (busy0, total0) = os.getloadavg()[0], machine_ticks()
    limits = httpx.Limits(max_connections=256, max_keepalive_connections=256)
    async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as client:
        t0 = time.perf_counter() + 0.1

        async def one(i: int, req: Request) -> None:
            nonlocal errors
            planned = t0 + i / rate
            await asyncio.sleep(max(0.0, planned - time.perf_counter()))
            try:
                r = await client.post(req.path, content=req.body, headers=req.headers)
                ok = r.status_code in (200, 201)
            except httpx.HTTPError:
                ok = False
            if ok:
                latencies.append((time.perf_counter() - planned) * 1000)
            else:
                errors += 1

        await asyncio.gather(*(one(i, r) for i, r in enumerate(requests)))
        wall = time.perf_counter() - t0
    busy1, total1 = machine_ticks()
    if not latencies:
        raise RuntimeError("every request of the open-loop run failed")
    return OpenLoop(load_average=round(load, 2),
                    machine_busy_share=round((busy1 - busy0) / max(total1 - total0, 1), 3),
                    rate_per_s=round(rate, 1), seconds=round(wall, 1), sent=len(requests),
                    ok=len(latencies), errors=errors,
                    p50_ms=round(statistics.median(latencies), 1),
                    p90_ms=round(percentile(latencies, .9), 1),
                    p99_ms=round(percentile(latencies, .99), 1),
                    max_ms=round(max(latencies), 1))


def median(values: list[float]) -> float:
    return round(statistics.median(values), 3) if values else float("nan")


def verdict(met: bool) -> str:
    return "met" if met else "MISSED"


def profile(store: str, data_dir: Path, database_url: str | None, numbers: Numbers, *,
            connections: int, seconds: float, expect_rps: float, out: Path) -> dict[str, Any]:
    """The gateway under the saturating JSON-intake load, sampled (bench.sampler); the
    profile is written to ``out`` (stacks.txt, profile.json)."""
    prefix = [sys.executable, "-m", "bench.sampler", "--on-signal", "--out", str(out), "--"]
    gw = start_gateway(store, data_dir, database_url, prefix)
    try:
        gw.proc.send_signal(signal.SIGUSR1)  # the gateway is up: record from here on
        result = saturate(gw, "api", numbers, connections=connections, seconds=seconds,
                          expect_rps=expect_rps, workdir=data_dir)
    finally:
        stop(gw.proc)
        gw.db.dispose()
    return {"store": store, "path": "api", "rps_while_sampled": result.wrk.rps,
            "gateway_cpu_share": result.gateway_cpu_share,
            "stacks": str(out.relative_to(out.parent) / "stacks.txt"),
            "profile": str(out.relative_to(out.parent) / "profile.json")}


def log(message: str) -> None:
    print(f"{datetime.now(UTC):%H:%M:%S} {message}", flush=True)


def run(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    from tests.support.services import PostgresServer, RedisServer

    numbers = Numbers()
    # not under ``tmp``: that folder is private to this user, and postgres runs as postgres
    pg_root = Path(tempfile.mkdtemp(prefix="bench-pg-"))
    pg = PostgresServer(pg_root)
    redis = RedisServer(tmp / "redis")
    procs: list[subprocess.Popen[bytes]] = []
    gateways: dict[str, Gateway] = {}
    repeats: list[dict[str, Any]] = []
    pg.start()
    redis.start()
    try:
        assert pg.bin is not None
        pg_url = pg.create_database() if "postgresql" in args.stores else None
        commit_db = pg.create_database().rsplit("/", 1)[1]
        hello_port = free_port()
        procs.append(baselines.start_hello(hello_port, tmp / "hello.log"))
        for store in args.stores:
            gateways[store] = start_gateway(
                store, tmp / f"gw-{store}", pg_url if store == "postgresql" else None)
        expect: dict[tuple[str, str], float] = {}
        log(f"servers up: hello-world, gateways on {', '.join(gateways)}")
        for r in range(args.repeats):
            rep: dict[str, Any] = {"repeat": r + 1,
                                   "load_average": [round(x, 2) for x in os.getloadavg()]}
            cpu0, t0 = cpu_seconds(procs[0].pid), time.monotonic()
            rep["hello"] = asdict(baselines.hello_world(
                hello_port, connections=args.connections, seconds=args.seconds))
            rep["hello"]["server_cpu_share"] = round(
                (cpu_seconds(procs[0].pid) - cpu0) / (time.monotonic() - t0), 3)
            # the gateway's own web stack (FastAPI, its middleware) without the store
            first = next(iter(gateways.values()))
            healthz = wrk.run(f"{first.base}/healthz", connections=args.connections,
                              seconds=args.seconds)
            rep["gateway_healthz"] = {**asdict(healthz),
                                      "ratio": round(healthz.rps / rep["hello"]["rps"], 4)}
            for store, gw in gateways.items():
                for path in PATHS:
                    work = tmp / f"wrk-{store}-{path}-{r}"
                    work.mkdir()
                    sat = saturate(gw, path, numbers, connections=args.connections,
                                   seconds=args.seconds, workdir=work,
                                   expect_rps=expect.get((store, path), 200.0))
                    res = sat.wrk
                    expect[(store, path)] = res.rps
                    rep[f"{store}/{path}"] = {
                        **asdict(res), "ratio": round(res.rps / rep["hello"]["rps"], 4),
                        **{k: v for k, v in asdict(sat).items() if k != "wrk"}}
                    log(f"repeat {r + 1}: {store} {path}: {res.rps} req/s "
                        f"(hello {rep['hello']['rps']})")
            rep["redis_lpush"] = asdict(baselines.redis_lpush(
                redis.socket, requests=args.redis_requests, clients=args.connections))
            rep["pg_commit_1"] = asdict(baselines.pg_commit_loop(
                pg.bin, pg.port, commit_db, tmp, clients=1, seconds=args.commit_seconds))
            rep["pg_commit_n"] = asdict(baselines.pg_commit_loop(
                pg.bin, pg.port, commit_db, tmp, clients=args.connections,
                seconds=args.commit_seconds))
            rep["sqlite_commit"] = asdict(baselines.sqlite_commit_loop(
                tmp / "commit_loop.sqlite3", seconds=args.commit_seconds))
            repeats.append(rep)
        log("limits and saturating runs done; half-load runs")
        half: dict[str, list[dict[str, Any]]] = {}
        for store, gw in gateways.items():
            for path in PATHS:
                key = f"{store}/{path}"
                rate = median([rep[key]["rps"] for rep in repeats]) / 2
                n = max(10, int(rate * args.half_seconds))
                for _ in range(args.repeats):
                    reqs = gw.requests(path, numbers, n)
                    half.setdefault(key, []).append(asdict(asyncio.run(
                        open_loop(gw.base, reqs, rate))))
        counts = {store: gw.counts() for store, gw in gateways.items()}
    finally:
        for gw in gateways.values():
            stop(gw.proc)
            gw.db.dispose()
        for proc in procs:
            stop(proc)
        redis.stop()
    # the profiles: the gateway alone (nothing else of this bench running), under the same load
    profiles = []
    log("profiles")
    try:
        for store in args.stores:
            if args.profile_seconds <= 0:
                break
            key = f"{store}/api"
            profiles.append(profile(
                store, tmp / f"profiled-{store}",
                pg.create_database() if store == "postgresql" else None, numbers,
                connections=args.connections, seconds=args.profile_seconds,
                expect_rps=median([rep[key]["rps"] for rep in repeats]),
                out=args.out / f"durable_intake_profile_{store}"))
    finally:
        pg.stop()
        shutil.rmtree(pg_root, ignore_errors=True)
    return {"repeats": repeats, "half_load": half, "counts": counts, "profiles": profiles}


def headline(measured: dict[str, Any], stores: list[str]) -> dict[str, Any]:
    repeats, half = measured["repeats"], measured["half_load"]
    out: dict[str, Any] = {
        "hello_rps": median([r["hello"]["rps"] for r in repeats]),
        "hello_server_cpu_share": median([r["hello"]["server_cpu_share"] for r in repeats]),
        "healthz_rps": median([r["gateway_healthz"]["rps"] for r in repeats]),
        "healthz_ratio": median([r["gateway_healthz"]["ratio"] for r in repeats]),
        "redis_lpush_rps": median([r["redis_lpush"]["rps"] for r in repeats]),
        "pg_commit_1_per_s": median([r["pg_commit_1"]["commits_per_s"] for r in repeats]),
        "pg_commit_n_per_s": median([r["pg_commit_n"]["commits_per_s"] for r in repeats]),
        "sqlite_commit_per_s": median([r["sqlite_commit"]["commits_per_s"] for r in repeats]),
        "intake": {},
    }
    for store in stores:
        for path in PATHS:
            key = f"{store}/{path}"
            runs = [r[key] for r in repeats]
            ratio = median([x["ratio"] for x in runs])
            p99_half = median([h["p99_ms"] for h in half[key]])
            out["intake"][key] = {
                "rps": median([x["rps"] for x in runs]),
                "p50_ms": median([x["p50_ms"] for x in runs]),
                "p99_ms": median([x["p99_ms"] for x in runs]),
                "ratio": ratio,
                "ratio_target": RATIO_TARGET,
                "ratio_met": ratio >= RATIO_TARGET,
                "half_load_rate_per_s": half[key][0]["rate_per_s"],
                "half_load_p50_ms": median([h["p50_ms"] for h in half[key]]),
                "half_load_p99_ms": p99_half,
                "half_load_p99_target_ms": HALF_LOAD_P99_TARGET_MS,
                "half_load_p99_met": p99_half <= HALF_LOAD_P99_TARGET_MS,
                "half_load_p99s_ms": [h["p99_ms"] for h in half[key]],
                "half_load_load_averages": [h["load_average"] for h in half[key]],
                "gateway_cpu_share": median([x["gateway_cpu_share"] for x in runs]),
                "gateway_cpu_ms_per_request": median(
                    [x["gateway_cpu_ms_per_request"] for x in runs]),
                "machine_busy_share": median([x["machine_busy_share"] for x in runs]),
                "errors": sum(x["non_2xx"] + x["socket_errors"] for x in runs)
                + sum(h["errors"] for h in half[key]),
                "wrapped": any(x["wrapped"] for x in runs),
            }
    return out


def markdown(result: dict[str, Any]) -> str:
    h = result["headline"]
    lines = [
        "# Durable intake against the limits measured in the same run",
        "",
        f"Measured {result['date']} on {result['machine']} with `python -m bench.durable_intake`"
        f" ({result['settings']['repeats']} repeats of {result['settings']['seconds']} s, wrk"
        f" with {result['settings']['connections']} connections; medians). Load average"
        f" {result['load_average_before']} at start, {result['load_average_after']} at the end"
        " (the machine is shared).",
        "",
        "Each request makes a new ticket, committed with its outbox row before the ack (201 /"
        " TwiML with the number). The hello-world is a bare ASGI app under `hotline serve`'s"
        " uvicorn settings, same machine, same load generator.",
        "",
        "## Limits (baselines.json)",
        "",
        "| limit | median |",
        "|---|---|",
        f"| bare ASGI hello-world (wrk, {result['settings']['connections']} connections)"
        f" | {h['hello_rps']} req/s (the server at {h['hello_server_cpu_share']:.0%} of a"
        " core) |",
        f"| the gateway's `GET /healthz` (its web stack and middleware, no store; not a limit"
        f" but what is left of it) | {h['healthz_rps']} req/s = {h['healthz_ratio']:.1%}"
        " of the hello-world |",
        f"| redis-benchmark LPUSH ({result['settings']['connections']} clients)"
        f" | {h['redis_lpush_rps']} req/s |",
        f"| PostgreSQL commit loop, 1 client (one commit at a time) | {h['pg_commit_1_per_s']}"
        " commits/s |",
        f"| PostgreSQL commit loop, {result['settings']['connections']} clients"
        f" | {h['pg_commit_n_per_s']} commits/s |",
        f"| SQLite commit loop (WAL, synchronous=FULL) | {h['sqlite_commit_per_s']} commits/s |",
        "",
        "The private PostgreSQL of the test harness runs with `fsync=off`,"
        " `synchronous_commit=off` (tests/support/services.py): the PostgreSQL figures have no"
        " fsync in them, on either side of the ratio. SQLite fsyncs every commit.",
        "",
        "## Durable intake",
        "",
        "| store | path | req/s | ratio to hello-world (target ≥ 50 %) | p50 ms | p99 ms"
        " | half load req/s | p99 ms at half load (target ≤ 100) | errors |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for key, x in h["intake"].items():
        store, path = key.split("/")
        lines.append(
            f"| {store} | {PATH_NAMES[path]} | {x['rps']} | {x['ratio']:.1%} —"
            f" {verdict(x['ratio_met'])} | {x['p50_ms']} | {x['p99_ms']}"
            f" | {x['half_load_rate_per_s']} | {x['half_load_p99_ms']} —"
            f" {verdict(x['half_load_p99_met'])} | {x['errors']} |")
    lines += ["", "CPU while saturated (medians): the gateway process's share of one core,"
              " its CPU per request, and how busy the whole machine was (all cores, every"
              " process, the other agents' included) — table below."]
    lines += ["", "The half-load runs, each one's p99 and the machine's 1-minute load average"
              " when it began (2 cores): " + "; ".join(
                  f"{key}: " + ", ".join(f"{p} ms (load {la})" for p, la in
                                         zip(x["half_load_p99s_ms"], x["half_load_load_averages"],
                                             strict=True))
                  for key, x in h["intake"].items()) + "."]
    lines += ["", "| store | path | gateway CPU (of one core) | CPU ms per request"
              " | machine busy (all cores) |", "|---|---|---|---|---|"]
    for key, x in h["intake"].items():
        store, path = key.split("/")
        lines.append(f"| {store} | {path} | {x['gateway_cpu_share']:.0%}"
                     f" | {x['gateway_cpu_ms_per_request']} | {x['machine_busy_share']:.0%} |")
    lines += ["", "Tickets and outbox rows in each store afterwards: " + ", ".join(
        f"{s}: {t} tickets, {o} outbox rows" for s, (t, o) in result["counts"].items()) + "."]
    if any(x["wrapped"] for x in h["intake"].values()):
        lines += ["", "**A run ran out of distinct requests and sent repeats: its figure is too"
                  " high.**"]
    if result["profiles"]:
        lines += ["", "Profiles of the gateway under the saturating JSON-intake load"
                  " (bench/sampler.py, wall-clock stacks of every thread): "
                  + ", ".join(f"`{Path(p['profile']).parent.name}/`" for p in result["profiles"])
                  + "; the analysis is in summary.md."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=10, help="each saturating wrk run")
    parser.add_argument("--half-seconds", type=float, default=10, help="each half-load run")
    parser.add_argument("--commit-seconds", type=int, default=5, help="each commit loop")
    parser.add_argument("--profile-seconds", type=float, default=10,
                        help="the sampled run per store (0: none)")
    parser.add_argument("--redis-requests", type=int, default=100_000)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--stores", default="postgresql,sqlite")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    args.stores = [s for s in args.stores.split(",") if s]
    if unknown := set(args.stores) - {"postgresql", "sqlite"}:
        parser.error(f"unknown store {', '.join(sorted(unknown))}; choose postgresql, sqlite")
    args.out.mkdir(parents=True, exist_ok=True)
    load_before = [round(x, 2) for x in os.getloadavg()]
    with tempfile.TemporaryDirectory(prefix="bench-intake-") as tmp:
        measured = run(args, Path(tmp))
    result: dict[str, Any] = {
        "bench": "durable_intake",
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{os.cpu_count()} CPUs, {platform.system()} {platform.machine()}, "
                   f"Python {platform.python_version()}",
        "settings": {"repeats": args.repeats, "seconds": args.seconds,
                     "half_seconds": args.half_seconds, "connections": args.connections,
                     "stores": args.stores},
        "load_average_before": load_before,
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "headline": headline(measured, args.stores),
        **measured,
    }
    (args.out / "durable_intake.json").write_text(
        json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    h = result["headline"]
    (args.out / "baselines.json").write_text(json.dumps({
        "bench": "baselines", "date": result["date"], "machine": result["machine"],
        "load_average_before": load_before, "load_average_after": result["load_average_after"],
        "measured_with": "bench.durable_intake (same run as the intake figures)",
        "hello_asgi_rps": h["hello_rps"], "gateway_healthz_rps": h["healthz_rps"],
        "redis_lpush_rps": h["redis_lpush_rps"],
        "pg_commit_1_client_per_s": h["pg_commit_1_per_s"],
        "pg_commit_n_clients_per_s": h["pg_commit_n_per_s"],
        "sqlite_commit_per_s": h["sqlite_commit_per_s"],
        "repeats": [{k: v for k, v in rep.items() if "/" not in k}
                    for rep in measured["repeats"]],
    }, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    text = markdown(result)
    (args.out / "durable_intake.md").write_text(text, encoding="utf-8")
    print(text)
    summary.write(args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
