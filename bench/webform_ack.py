"""Benchmark: ack latency and throughput of the resident web form ``POST /report``.

Starts ``hotline serve`` (uvicorn, SQLite in a temporary data dir) as a subprocess, fetches one
form token per submission beforehand (``GET /report``, not timed), then sends a fixed number of
form posts at a fixed concurrency — first text-only, then each with one phone-sized JPEG — and
times each POST until the confirmation page arrives (the ticket is committed by then).

    .venv/bin/python -m bench.webform_ack [--requests 300] [--concurrency 8]

Writes ``bench/results/webform_ack.json`` and ``.md``. Not a test: nothing here asserts timing.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
from PIL import Image, ImageChops

from bench.common import free_port, latency_stats, start_serve
from tickets.db import Database
from tickets.store import Store

RESULTS = Path(__file__).parent / "results"
SECRET = "bench-web-secret-0123456789abcdef0123"
FIELDS = {"kind": "complaint", "description": "幸福路12号门口井盖丢失，晚上很危险，请尽快处理。",
          "phone": "13800138000", "consent": "on", "address": "幸福路12号", "grid": "GX-0102"}
TOKEN = re.compile(r'name="csrf" value="([^"]+)"')
NUMBER = re.compile(r'id="ticket-number">(\d{10})<')


@dataclass
class Phase:
    name: str
    requests: int
    concurrency: int
    body_bytes: int
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    throughput_per_s: float
    errors: int


def photo_jpeg() -> bytes:
    """A 2048×1536 (3 MP) JPEG of gradients with sensor-like noise, about 650 KB."""
    size = (2048, 1536)
    gradient = Image.linear_gradient("L").resize(size)
    noise = Image.effect_noise(size, 8)
    bands = (
        ImageChops.add(gradient, noise, scale=1.3),
        ImageChops.add(gradient.rotate(90).resize(size), noise, scale=1.4),
        ImageChops.add(gradient.transpose(Image.Transpose.FLIP_LEFT_RIGHT), noise, scale=1.2),
    )
    buf = io.BytesIO()
    Image.merge("RGB", bands).save(buf, "JPEG", quality=88)
    return buf.getvalue()


def start_server(data_dir: Path, port: int) -> subprocess.Popen[bytes]:
    return start_serve(data_dir, port, {"HOTLINE_WEB_SECRET": SECRET})


async def worker(base: str, jobs: int, photo: bytes | None, latencies: list[float],
                 errors: list[str], ready: asyncio.Queue[None], start: asyncio.Event) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=60,
                                 headers={"accept": "text/html"}) as client:
        tokens = []
        for _ in range(jobs):  # one form page per submission, fetched before the clock starts
            page = await client.get("/report?grid=GX-0102")
            found = TOKEN.search(page.text)
            assert found, page.text
            tokens.append(found.group(1))
        ready.put_nowait(None)
        await start.wait()
        files = [("photos", ("photo.jpg", photo, "image/jpeg"))] if photo else None
        for token in tokens:
            t0 = time.perf_counter()
            r = await client.post("/report", data={**FIELDS, "csrf": token}, files=files)
            elapsed = time.perf_counter() - t0
            if r.status_code == 200 and NUMBER.search(r.text):
                latencies.append(elapsed * 1000)
            else:
                errors.append(f"{r.status_code} {r.text[:200]}")


async def run_phase(base: str, name: str, requests: int, concurrency: int,
                    photo: bytes | None) -> Phase:
    latencies: list[float] = []
    errors: list[str] = []
    start = asyncio.Event()
    ready: asyncio.Queue[None] = asyncio.Queue()
    per_worker = [requests // concurrency + (i < requests % concurrency)
                  for i in range(concurrency)]
    tasks = [asyncio.create_task(worker(base, n, photo, latencies, errors, ready, start))
             for n in per_worker]
    for _ in tasks:  # every worker has its form tokens: start the clock
        await ready.get()
    t0 = time.perf_counter()
    start.set()
    await asyncio.gather(*tasks)
    wall = time.perf_counter() - t0
    if errors:
        print(f"{name}: {len(errors)} errors, first: {errors[0]}", file=sys.stderr)
    body = len(photo) if photo else 0
    return Phase(
        name=name, requests=requests, concurrency=concurrency, body_bytes=body,
        **latency_stats(latencies, wall), errors=len(errors),
    )


def markdown(result: dict[str, object], phases: list[Phase]) -> str:
    lines = [
        "# Web form ack latency (`POST /report`)",
        "",
        f"Measured {result['date']} on {result['machine']} with `python -m bench.webform_ack`:",
        "`hotline serve` (one uvicorn process) on SQLite in a temporary folder, each POST timed",
        "until the confirmation page with the ticket number arrived (ticket committed).",
        "Form tokens were fetched beforehand (not timed). The photo is re-encoded on the",
        "server (decode, EXIF strip, JPEG encode) before the ticket is committed.",
        "The form's own request limit (`HOTLINE_MAX_UPLOAD_BYTES`, four 8 MiB photos) applies.",
        f"Machine shared with other jobs: load average {result['load_average_before']} at start.",
        "",
        "| phase | requests | concurrency | photo bytes | p50 ms | p90 ms | p99 ms | max ms"
        " | tickets/s | errors |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for p in phases:
        lines.append(f"| {p.name} | {p.requests} | {p.concurrency} | {p.body_bytes} | {p.p50_ms}"
                     f" | {p.p90_ms} | {p.p99_ms} | {p.max_ms} | {p.throughput_per_s}"
                     f" | {p.errors} |")
    lines += ["", f"Tickets in the store afterwards: {result['tickets_stored']} "
              f"(expected {result['tickets_expected']}).", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--requests", type=int, default=300, help="posts per phase")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)

    photo = photo_jpeg()
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="bench-webform-") as tmp:
        data_dir = Path(tmp)
        port = free_port()
        proc = start_server(data_dir, port)
        try:
            base = f"http://127.0.0.1:{port}"
            phases = [
                asyncio.run(run_phase(base, "text only", args.requests, args.concurrency, None)),
                asyncio.run(run_phase(base, "with 1 photo", args.requests, args.concurrency,
                                      photo)),
            ]
        finally:
            proc.terminate()
            proc.wait(20)
        db = Database(f"sqlite:///{data_dir / 'hotline.sqlite3'}")
        stored = len(Store(db).feed(0, 10 * args.requests))
        db.dispose()

    result: dict[str, object] = {
        "bench": "webform_ack",
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{os.cpu_count()} CPUs, {platform.system()} {platform.machine()}, "
                   f"Python {platform.python_version()}",
        "store": "SQLite",
        "load_average_before": [round(x, 2) for x in load_before],
        "tickets_expected": 2 * args.requests,
        "tickets_stored": stored,
        "phases": [asdict(p) for p in phases],
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "webform_ack.json").write_text(json.dumps(result, indent=2, ensure_ascii=False)
                                               + "\n", encoding="utf-8")
    text = markdown(result, phases)
    (args.out / "webform_ack.md").write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
