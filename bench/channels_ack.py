"""Benchmark: ack latency and throughput of the text-channel webhooks.

Starts ``hotline serve`` (uvicorn, SQLite in a temporary data dir) as a subprocess with the
Twilio and WeChat channels configured, builds every request beforehand (signed, and encrypted
for WeChat safe mode — not timed), then sends a fixed number of requests per channel at a fixed
concurrency and times each one until its reply (TwiML, passive reply, JSON ack) arrived; the
ticket is committed by then. Every message comes from a different resident, so each makes a new
ticket (the threading rule's cheapest path is not what is measured).

Channels: ``sms`` (``POST /channels/twilio/sms``), ``wechat plaintext`` and ``wechat safe mode``
(``POST /channels/wechat``), ``api`` (``POST /api/v1/intake`` with an API key).

    .venv/bin/python -m bench.channels_ack [--requests 400] [--concurrency 16]

Writes ``bench/results/channels_ack.json`` and ``.md``. Not a test: nothing here asserts timing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

import httpx

from bench.common import free_port, latency_stats, start_serve
from channels.twilio_sms import demo as sms_demo
from channels.twilio_sms.config import TwilioConfig
from channels.wechat import demo as wechat_demo
from channels.wechat.config import Mode, WechatConfig
from tickets import apikeys
from tickets.apikeys import Scope
from tickets.db import Database
from tickets.store import Store

RESULTS = Path(__file__).parent / "results"
PUBLIC_URL = "https://bench.hotline.example.cn"
TWILIO = TwilioConfig(account_sid="AC" + "b" * 32, auth_token="bench-twilio-token-0123456789ab",
                      public_url=PUBLIC_URL)
WECHAT_PLAIN = WechatConfig(token="bench-wechat-token", mode=Mode.compatible)
WECHAT_SAFE = WechatConfig(token="bench-wechat-token", app_id="wxbench0123456789",
                           aes_key="kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR")
TEXT = "幸福路12号门口井盖丢失，晚上很危险，请尽快处理。"
NUMBER = re.compile(rb"\d{10,16}")


@dataclass(frozen=True)
class Request:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Phase:
    name: str
    requests: int
    concurrency: int
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    throughput_per_s: float
    errors: int


def sms_requests(n: int, tag: str) -> list[Request]:
    out = []
    for i in range(n):
        path, headers, form = sms_demo.sample_request(
            TWILIO, TEXT, f"+86139{i:08d}", f"SM{tag}{i:08d}")
        out.append(Request(path, {**headers, "content-type": "application/x-www-form-urlencoded"},
                           urlencode(form).encode()))
    return out


def wechat_requests(config: WechatConfig, n: int, base_id: int) -> list[Request]:
    out = []
    for i in range(n):
        path, headers, body = wechat_demo.sample_request(
            config, TEXT, f"oBench{base_id}{i:08d}", base_id + i)
        out.append(Request(path, headers, body))
    return out


def api_requests(token: str, n: int) -> list[Request]:
    headers = {"authorization": f"Bearer {token}", "content-type": "application/json"}
    return [
        Request("/api/v1/intake", headers, json.dumps({
            "channel_ref": f"bench-{i}", "text": TEXT, "kind": "report",
            "citizen": {"phone": f"+86138{i:08d}"}}).encode())
        for i in range(n)
    ]


def start_server(data_dir: Path, port: int) -> subprocess.Popen[bytes]:
    return start_serve(data_dir, port, {
        "HOTLINE_PUBLIC_URL": PUBLIC_URL,
        "HOTLINE_TWILIO_ACCOUNT_SID": str(TWILIO.account_sid),
        "HOTLINE_TWILIO_AUTH_TOKEN": str(TWILIO.auth_token),
        "HOTLINE_WECHAT_TOKEN": str(WECHAT_SAFE.token),
        "HOTLINE_WECHAT_APP_ID": str(WECHAT_SAFE.app_id),
        "HOTLINE_WECHAT_AES_KEY": str(WECHAT_SAFE.aes_key),
        "HOTLINE_WECHAT_MODE": "compatible"})  # both kinds of push are measured


async def run_phase(base: str, name: str, requests: list[Request], concurrency: int) -> Phase:
    latencies: list[float] = []
    errors: list[str] = []
    pending = iter(requests)

    async def worker(client: httpx.AsyncClient) -> None:
        for req in pending:  # a shared iterator: each request is sent once
            t0 = time.perf_counter()
            r = await client.post(req.path, content=req.body, headers=req.headers)
            elapsed = (time.perf_counter() - t0) * 1000
            encrypted = b"<Encrypt>" in r.content
            if r.status_code in (200, 201) and (encrypted or NUMBER.search(r.content)):
                latencies.append(elapsed)
            else:
                errors.append(f"{r.status_code} {r.text[:200]}")

    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as client:
        t0 = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
        wall = time.perf_counter() - t0
    if errors:
        print(f"{name}: {len(errors)} errors, first: {errors[0]}", file=sys.stderr)
    if not latencies:
        raise RuntimeError(f"{name}: every request failed")
    return Phase(
        name=name, requests=len(requests), concurrency=concurrency,
        **latency_stats(latencies, wall), errors=len(errors),
    )


def markdown(result: dict[str, object], phases: list[Phase]) -> str:
    lines = [
        "# Text-channel ack latency (SMS, WeChat, generic API)",
        "",
        f"Measured {result['date']} on {result['machine']} with `python -m bench.channels_ack`:",
        "`hotline serve` (one uvicorn process) on SQLite in a temporary folder; each request",
        "timed until its reply arrived (TwiML / WeChat passive reply / JSON ack; the ticket is",
        "committed by then). Requests were signed (and encrypted) beforehand, not timed; every",
        "message is from a different resident, so each makes a new ticket.",
        f"Machine shared with other jobs: load average {result['load_average_before']} at start.",
        "",
        "| channel | requests | concurrency | p50 ms | p90 ms | p99 ms | max ms | tickets/s"
        " | errors |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for p in phases:
        lines.append(f"| {p.name} | {p.requests} | {p.concurrency} | {p.p50_ms} | {p.p90_ms}"
                     f" | {p.p99_ms} | {p.max_ms} | {p.throughput_per_s} | {p.errors} |")
    lines += ["", f"Tickets in the store afterwards: {result['tickets_stored']} "
              f"(expected {result['tickets_expected']}).", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--requests", type=int, default=400, help="requests per channel")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    n = args.requests

    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="bench-channels-") as tmp:
        data_dir = Path(tmp)
        port = free_port()
        proc = start_server(data_dir, port)
        db = Database(f"sqlite:///{data_dir / 'hotline.sqlite3'}")
        try:
            _, token = apikeys.create(db, "bench", frozenset({Scope.intake}))
            base = f"http://127.0.0.1:{port}"
            # WeChat requests carry a timestamp valid for 300 s: build each set just before use.
            builders: list[tuple[str, Callable[[], list[Request]]]] = [
                ("sms", lambda: sms_requests(n, "a")),
                ("wechat plaintext", lambda: wechat_requests(WECHAT_PLAIN, n, 10_000_000)),
                ("wechat safe mode", lambda: wechat_requests(WECHAT_SAFE, n, 20_000_000)),
                ("api (JSON intake)", lambda: api_requests(token, n)),
            ]
            phases = [asyncio.run(run_phase(base, name, build(), args.concurrency))
                      for name, build in builders]
        finally:
            proc.terminate()
            proc.wait(20)
        stored = len(Store(db).feed(0, 10 * n))
        db.dispose()

    result: dict[str, object] = {
        "bench": "channels_ack",
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{os.cpu_count()} CPUs, {platform.system()} {platform.machine()}, "
                   f"Python {platform.python_version()}",
        "store": "SQLite",
        "load_average_before": [round(x, 2) for x in load_before],
        "tickets_expected": 4 * n,
        "tickets_stored": stored,
        "phases": [asdict(p) for p in phases],
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "channels_ack.json").write_text(
        json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    text = markdown(result, phases)
    (args.out / "channels_ack.md").write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
