"""Benchmark: memory and CPU of ``hotline serve`` under a burst of hostile photo uploads.

Issue 9, item 3: four posts of four 40 MP PNGs (solid colour, 2.6 MB on the wire) took the old
server from 131 MB to 2.9 GB RSS and 18 s of CPU, and the memory was not returned. This starts
``hotline migrate`` and ``hotline serve`` as real subprocesses (SQLite in a
temporary data dir, rate limits off so the burst is not simply refused), fetches one form page
per post (``GET /report``: the CSRF cookie and hidden token, not timed) after one text-only
report (a warm server: the first ticket loads the classifier), then sends every post of a
burst at once. Two scenarios, each on a fresh server: the issue's burst (4 posts × 4 photos of
40 MP PNG), then a mixed one (4 posts × 4 photos each of 40 MP PNG, 40 MP JPEG and 16 MP PNG).
Every photo is a solid colour: at most a few hundred KB on the wire, megapixels to decode.

While the burst runs, ``/proc/<pid>/status`` (VmRSS, VmHWM) and ``/proc/<pid>/stat`` (CPU) of
the server and of every process below it (the photo workers, multiprocessing's resource
tracker) are read every 50 ms. Recorded: peak RSS of the server and of the workers (sampled
sums and each process's own high-water mark), RSS after the burst (is it returned?), CPU
seconds, how each post was answered and the wall time.

    .venv/bin/python -m bench.photo_burst [--scenarios issue,mixed] [--posts 4] [--photos 4]
                                          [--workers 2] [--settle 10]

Writes ``bench/results/photo_burst.json`` and ``.md``. Not a test: nothing here asserts.
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
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx
from PIL import Image

from bench.common import free_port, start_serve

RESULTS = Path(__file__).parent / "results"
SECRET = "bench-photo-burst-secret-0123456789abcdef"
FIELDS = {"kind": "complaint", "description": "幸福路12号门口井盖丢失，晚上很危险，请尽快处理。",
          "address": "幸福路12号"}
TOKEN = re.compile(r'name="csrf" value="([^"]+)"')
NUMBER = re.compile(r'id="ticket-number">(\d{10,})<')
PHOTO_PROBLEM = re.compile(r"第 \d+ 张照片：[^；<\"]+")
SAMPLE_EVERY = 0.05  # seconds
MB = 1024 * 1024
ISSUE_BASELINE = {"rss_before_mb": 131, "rss_after_mb": 2900, "cpu_s": 18,
                  "burst": "4 posts x 4 photos of 40 MP PNG (2.6 MB on the wire)"}


# -- the photos ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Kind:
    name: str
    fmt: str  # PNG | JPEG
    width: int
    height: int

    @property
    def megapixels(self) -> float:
        return round(self.width * self.height / 1e6, 1)


KINDS = {
    "png40": Kind("40 MP PNG", "PNG", 8000, 5000),
    "jpeg40": Kind("40 MP JPEG", "JPEG", 8000, 5000),
    "png16": Kind("16 MP PNG", "PNG", 4000, 4000),
}


def make_photo(kind: Kind) -> bytes:
    """A solid-colour image: tiny on the wire, ``kind.megapixels`` to decode."""
    image = Image.new("RGB", (kind.width, kind.height), (40, 120, 200))
    buf = io.BytesIO()
    if kind.fmt == "PNG":
        image.save(buf, "PNG", optimize=False, compress_level=9)
    else:
        image.save(buf, "JPEG", quality=85)
    return buf.getvalue()


# -- /proc ---------------------------------------------------------------------------------------
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def memory_of(pid: int) -> tuple[int, int] | None:
    """(VmRSS, VmHWM) in bytes, or None when the process is gone."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    values = {}
    for line in text.splitlines():
        name, _, rest = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            values[name] = int(rest.split()[0]) * 1024
    if "VmRSS" not in values:  # a zombie has no memory lines
        return None
    return values["VmRSS"], values.get("VmHWM", values["VmRSS"])


def _stat_fields(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rfind(")") + 2:].split()  # after "pid (comm) ": state, ppid, ...


def cpu_seconds_of(pid: int) -> float | None:
    fields = _stat_fields(pid)
    if fields is None:
        return None
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime + stime


def descendants(root: int) -> list[int]:
    """Every live process below ``root`` (children, grandchildren, …)."""
    parents: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        fields = _stat_fields(int(entry.name))
        if fields is not None:
            parents.setdefault(int(fields[1]), []).append(int(entry.name))
    found: list[int] = []
    todo = [root]
    while todo:
        for child in parents.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def role_of(pid: int) -> str:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return "gone"
    if "resource_tracker" in cmdline:
        return "resource tracker"
    if "multiprocessing" in cmdline or "spawn_main" in cmdline:
        return "photo worker"
    return cmdline[:60]


@dataclass
class Process:
    role: str
    peak_rss: int = 0  # largest sampled VmRSS
    hwm: int = 0  # the kernel's VmHWM (peak RSS over the process's life), last read
    last_rss: int = 0
    cpu_s: float = 0.0  # last read utime + stime


@dataclass
class Sampler:
    """Reads the server's and its descendants' memory and CPU every ``SAMPLE_EVERY``."""

    server: int
    processes: dict[int, Process] = field(default_factory=dict)
    peak_total: int = 0  # largest sampled sum of VmRSS over the server and its descendants
    peak_workers: int = 0  # largest sampled sum over the descendants only
    samples: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def sample(self) -> None:
        with self._lock:
            self._sample()

    def _sample(self) -> None:
        total = workers = 0
        for pid in [self.server, *descendants(self.server)]:
            memory = memory_of(pid)
            cpu = cpu_seconds_of(pid)
            if memory is None or cpu is None:
                continue
            proc = self.processes.get(pid)
            if proc is None:
                proc = self.processes[pid] = Process("server" if pid == self.server
                                                     else role_of(pid))
            rss, hwm = memory
            proc.last_rss, proc.cpu_s = rss, cpu
            proc.peak_rss = max(proc.peak_rss, rss)
            proc.hwm = max(proc.hwm, hwm)
            total += rss
            if pid != self.server:
                workers += rss
        self.peak_total = max(self.peak_total, total)
        self.peak_workers = max(self.peak_workers, workers)
        self.samples += 1

    def _run(self) -> None:
        while not self._stop.wait(SAMPLE_EVERY):
            self.sample()

    def start(self) -> None:
        self.sample()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.sample()

    def snapshot(self) -> dict[str, float]:
        """Current RSS (MB) of the server and the sum of its descendants (live ones)."""
        with self._lock:
            self._sample()
            live = [pid for pid in [self.server, *descendants(self.server)]
                    if memory_of(pid) is not None]
            server = self.processes[self.server].last_rss
            others = sum(self.processes[p].last_rss for p in live if p != self.server
                         and p in self.processes)
        return {"server_mb": mb(server), "workers_mb": mb(others),
                "total_mb": mb(server + others)}

    def cpu(self) -> tuple[float, float]:
        """(server, descendants) CPU seconds, last read of each process ever seen."""
        with self._lock:
            self._sample()
            server = self.processes[self.server].cpu_s
            return server, sum(p.cpu_s for pid, p in self.processes.items()
                               if pid != self.server)


def mb(value: float) -> float:
    return round(value / MB, 1)


# -- the server ----------------------------------------------------------------------------------
def start_server(data_dir: Path, port: int, workers: int) -> subprocess.Popen[bytes]:
    """``hotline migrate``, then ``hotline serve`` with ``workers`` photo workers; waits for
    /healthz (:func:`bench.common.start_serve`)."""
    return start_serve(data_dir, port, {"HOTLINE_WEB_SECRET": SECRET,
                                        "HOTLINE_PHOTO_WORKERS": str(workers)})


# -- the burst -----------------------------------------------------------------------------------
@dataclass
class Post:
    kind: str
    photos: int
    body_bytes: int
    status: int = 0
    outcome: str = ""  # accepted | refused | error
    ticket: str | None = None
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0


def warm_up(base: str) -> None:
    """File one text-only report, so what the server loads on its first ticket (the ticket
    classifier, ~100 MB) is loaded before the burst and not counted as the photos' cost."""
    with httpx.Client(base_url=base, timeout=300, headers={"accept": "text/html"}) as client:
        found = TOKEN.search(client.get("/report").text)
        if not found:
            raise RuntimeError("GET /report: no form token")
        r = client.post("/report", data={**FIELDS, "csrf": found.group(1)})
        if r.status_code != 200 or not NUMBER.search(r.text):
            raise RuntimeError(f"warm-up report: {r.status_code} {r.text[:300]}")


async def fetch_form(client: httpx.AsyncClient) -> str:
    page = await client.get("/report")
    found = TOKEN.search(page.text)
    if page.status_code != 200 or not found:
        raise RuntimeError(f"GET /report: {page.status_code} {page.text[:300]}")
    return found.group(1)


async def send_post(client: httpx.AsyncClient, token: str, post: Post, photo: bytes,
                    suffix: str, start: asyncio.Event) -> None:
    files = [("photos", (f"photo{i}.{suffix}", photo, f"image/{suffix}"))
             for i in range(post.photos)]
    await start.wait()
    t0 = time.perf_counter()
    try:
        r = await client.post("/report", data={**FIELDS, "csrf": token}, files=files)
    except httpx.HTTPError as exc:
        post.outcome, post.problems = "error", [f"{type(exc).__name__}: {exc}"]
        return
    finally:
        post.seconds = round(time.perf_counter() - t0, 2)
    post.status = r.status_code
    number = NUMBER.search(r.text)
    if r.status_code == 200 and number:
        post.outcome, post.ticket = "accepted", number.group(1)
    elif 400 <= r.status_code < 500:
        post.outcome = "refused"
        post.problems = sorted(set(PHOTO_PROBLEM.findall(r.text))) or [r.text[:200]]
    else:
        post.outcome, post.problems = "error", [r.text[:300]]


async def burst(base: str, plan: list[tuple[str, int, int]], photos: dict[str, bytes],
                ready: Callable[[], None]) -> tuple[list[Post], float]:
    """Every post of ``plan`` ((kind, posts, photos per post)) at once; (posts, wall s).
    ``ready`` is called once every form page is fetched, just before the posts go."""
    clients: list[httpx.AsyncClient] = []
    jobs = []
    start = asyncio.Event()
    try:
        posts: list[Post] = []
        for key, count, per_post in plan:
            for _ in range(count):
                client = httpx.AsyncClient(base_url=base, timeout=900,
                                           headers={"accept": "text/html"})
                clients.append(client)
                token = await fetch_form(client)  # its own cookie jar: its own CSRF cookie
                post = Post(KINDS[key].name, per_post, per_post * len(photos[key]))
                posts.append(post)
                suffix = "png" if KINDS[key].fmt == "PNG" else "jpeg"
                jobs.append(asyncio.create_task(
                    send_post(client, token, post, photos[key], suffix, start)))
        ready()
        t0 = time.perf_counter()
        start.set()
        await asyncio.gather(*jobs)
        return posts, time.perf_counter() - t0
    finally:
        for client in clients:
            await client.aclose()


# -- one scenario, the report -------------------------------------------------------------------
def run_scenario(name: str, keys: list[str], photos: dict[str, bytes],
                 args: argparse.Namespace) -> dict[str, object]:
    """A fresh server, one burst of ``args.posts`` posts of each kind in ``keys``."""
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="bench-photo-burst-") as tmp:
        port = free_port()
        proc = start_server(Path(tmp), port, args.workers)
        sampler = Sampler(proc.pid)
        try:
            idle = sampler.snapshot()
            warm_up(f"http://127.0.0.1:{port}")
            warm = sampler.snapshot()
            plan = [(key, args.posts, args.photos) for key in keys]
            sampler.start()
            before: dict[str, float] = {}
            cpu0: list[float] = []

            def ready() -> None:  # every form page fetched: the burst starts now
                before.update(sampler.snapshot())
                cpu0.extend(sampler.cpu())

            posts, wall = asyncio.run(burst(f"http://127.0.0.1:{port}", plan, photos, ready))
            cpu1 = sampler.cpu()
            time.sleep(2)
            after_2s = sampler.snapshot()
            time.sleep(max(0.0, args.settle - 2))
            after_settle = sampler.snapshot()
            sampler.stop()
        finally:
            proc.terminate()
            proc.wait(60)

    server = sampler.processes[proc.pid]
    others = [p for pid, p in sampler.processes.items() if pid != proc.pid]
    return {
        "name": name,
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "samples": sampler.samples,
        "photos": [{"kind": KINDS[k].name, "format": KINDS[k].fmt, "width": KINDS[k].width,
                    "height": KINDS[k].height, "megapixels": KINDS[k].megapixels,
                    "bytes": len(photos[k])} for k in keys],
        "posts": [asdict(p) for p in posts],
        "answers": {outcome: sum(p.outcome == outcome for p in posts)
                    for outcome in ("accepted", "refused", "error")},
        "wall_seconds": round(wall, 2),
        "memory_mb": {
            "idle_total": idle["total_mb"], "idle_server": idle["server_mb"],
            "warm_total": warm["total_mb"], "warm_server": warm["server_mb"],
            "before_total": before["total_mb"], "before_server": before["server_mb"],
            "before_workers": before["workers_mb"],
            "peak_total": mb(sampler.peak_total), "peak_server": mb(server.peak_rss),
            "peak_workers": mb(sampler.peak_workers), "server_hwm": mb(server.hwm),
            "workers_hwm_sum": mb(sum(p.hwm for p in others)),
            "after_2s_total": after_2s["total_mb"], "after_2s_server": after_2s["server_mb"],
            "after_2s_workers": after_2s["workers_mb"],
            "after_settle_total": after_settle["total_mb"],
            "after_settle_server": after_settle["server_mb"],
            "after_settle_workers": after_settle["workers_mb"],
        },
        "processes": [{"pid": pid, "role": p.role, "peak_rss_mb": mb(p.peak_rss),
                       "hwm_mb": mb(p.hwm), "cpu_s": round(p.cpu_s, 2)}
                      for pid, p in sampler.processes.items()],
        "cpu_seconds": {"server": round(cpu1[0] - cpu0[0], 2),
                        "workers": round(cpu1[1] - cpu0[1], 2),
                        "total": round(cpu1[0] + cpu1[1] - cpu0[0] - cpu0[1], 2)},
    }


def table(rows: Iterable[tuple[str, ...]], header: tuple[str, ...]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def _posts_rows(posts: list[dict[str, object]]) -> Iterator[tuple[str, ...]]:
    """One row per kind and answer: how many posts, their status and reasons, seconds."""
    groups: dict[tuple[str, str, str, str], list[Post]] = {}
    for raw in posts:
        post = Post(**raw)  # type: ignore[arg-type]  # asdict(Post) read back
        groups.setdefault((post.kind, post.outcome, str(post.status), str(post.photos)),
                          []).append(post)
    for (kind, outcome, status, photos), group in groups.items():
        reasons = sorted({r.split("：", 1)[-1] for p in group for r in p.problems})
        seconds = [p.seconds for p in group]
        yield (kind, str(len(group)), photos, status, outcome,
               "; ".join(reasons)[:80] or "ticket filed", f"{min(seconds)}–{max(seconds)}")


def markdown(result: dict[str, object], scenarios: list[dict[str, object]]) -> str:
    lines = [
        "# Photo burst: memory of `hotline serve` under hostile uploads",
        "",
        f"Measured {result['date']} on {result['machine']} with `python -m bench.photo_burst`.",
        "Each scenario: a fresh `hotline serve` (one uvicorn process, SQLite, rate",
        f"limits off, `HOTLINE_PHOTO_WORKERS={result['photo_workers']}`) as a subprocess; one",
        "form page per post fetched first (its CSRF cookie and token, not timed), then every",
        "post sent at once. RSS of the server and of every process below it (the photo",
        "workers, multiprocessing's resource tracker) read from `/proc/<pid>/status` every",
        f"{int(SAMPLE_EVERY * 1000)} ms; CPU seconds from `/proc/<pid>/stat` (utime + stime).",
        "Photos are solid colour: small on the wire, many pixels to decode. Before the burst",
        "one text-only report is filed: the first ticket loads the ticket classifier (about",
        "100 MB, nothing to do with photos), so the burst is measured on a warm server.",
        "",
    ]
    summary = []
    for scenario in scenarios:
        mem, cpu = scenario["memory_mb"], scenario["cpu_seconds"]
        photos, posts = scenario["photos"], scenario["posts"]
        assert isinstance(mem, dict) and isinstance(cpu, dict)
        assert isinstance(photos, list) and isinstance(posts, list)
        summary.append((str(scenario["name"]), f"{mem['before_total']}",
                        f"{mem['peak_total']} ({mem['peak_server']} + {mem['peak_workers']})",
                        f"{mem['after_settle_total']} ({mem['after_settle_server']} + "
                        f"{mem['after_settle_workers']})", str(cpu["total"]),
                        str(scenario["wall_seconds"])))
        lines += [
            f"## {scenario['name']}",
            "",
            *table(((str(p["kind"]), f"{p['width']}×{p['height']}", str(p["bytes"]))
                    for p in photos if isinstance(p, dict)),
                   ("photo", "pixels", "bytes on the wire")),
            "",
            *table(_posts_rows(posts),
                   ("posts of", "count", "photos each", "status", "answer", "reason",
                    "seconds to answer")),
            "",
            *table((
                ("idle, after start", str(mem["idle_total"]), str(mem["idle_server"]), "—"),
                ("after one text-only report (warm)", str(mem["warm_total"]),
                 str(mem["warm_server"]), "—"),
                ("before the burst", str(mem["before_total"]), str(mem["before_server"]),
                 str(mem["before_workers"])),
                ("peak during the burst (sampled)", str(mem["peak_total"]),
                 str(mem["peak_server"]), str(mem["peak_workers"])),
                ("peak, kernel VmHWM", "—", str(mem["server_hwm"]),
                 f"{mem['workers_hwm_sum']} (sum of each one's)"),
                ("2 s after the last answer", str(mem["after_2s_total"]),
                 str(mem["after_2s_server"]), str(mem["after_2s_workers"])),
                (f"{result['settle_seconds']} s after the last answer",
                 str(mem["after_settle_total"]), str(mem["after_settle_server"]),
                 str(mem["after_settle_workers"])),
            ), ("RSS, MB", "server + workers", "server", "workers")),
            "",
            f"Wall time of the burst: {scenario['wall_seconds']} s. CPU during it: server "
            f"{cpu['server']} s, workers {cpu['workers']} s. Load average "
            f"{scenario['load_average_before']} before, {scenario['load_average_after']} after.",
            "",
        ]
    lines += [
        "## Summary",
        "",
        *table(summary, ("scenario", "RSS before, MB", "peak RSS, MB (server + workers)",
                         f"RSS {result['settle_seconds']} s after, MB", "CPU s", "wall s")),
        "",
        f"For comparison, issue 9 (the server decoding photos itself): "
        f"{ISSUE_BASELINE['burst']} took `serve` from {ISSUE_BASELINE['rss_before_mb']} MB to "
        f"{ISSUE_BASELINE['rss_after_mb']} MB RSS and {ISSUE_BASELINE['cpu_s']} s of CPU, and "
        "the memory was not returned.",
        "",
        "The machine was shared with other jobs (other agents' test runs on the same 2 CPUs, "
        "load averages above): wall times, and the time a post waits for a photo worker, are "
        "inflated by that; RSS is not.",
        "",
    ]
    return "\n".join(lines)


SCENARIOS = {
    "issue": ("the issue's burst: 4 posts × 4 photos of 40 MP PNG", ["png40"]),
    "mixed": ("mixed burst: 4 posts × 4 photos each of 40 MP PNG, 40 MP JPEG, 16 MP PNG",
              ["png40", "jpeg40", "png16"]),
    # one kind alone, to see what each costs a worker (not run by default)
    "jpeg40": ("4 posts × 4 photos of 40 MP JPEG", ["jpeg40"]),
    "png16": ("4 posts × 4 photos of 16 MP PNG", ["png16"]),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--posts", type=int, default=4, help="posts of each kind")
    parser.add_argument("--photos", type=int, default=4, help="photos per post (form max 4)")
    parser.add_argument("--scenarios", default="issue,mixed",
                        help=f"comma-separated, of: {', '.join(SCENARIOS)}")
    parser.add_argument("--workers", type=int, default=2, help="HOTLINE_PHOTO_WORKERS")
    parser.add_argument("--settle", type=float, default=10.0,
                        help="seconds to wait after the burst before the last RSS reading")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    chosen = [SCENARIOS[s.strip()] for s in args.scenarios.split(",") if s.strip()]

    photos = {key: make_photo(KINDS[key]) for key in {k for _, keys in chosen for k in keys}}
    scenarios = [run_scenario(name, keys, photos, args) for name, keys in chosen]
    result: dict[str, object] = {
        "bench": "photo_burst",
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{os.cpu_count()} CPUs, {platform.system()} {platform.machine()}, "
                   f"Python {platform.python_version()}",
        "store": "SQLite",
        "photo_workers": args.workers,
        "posts_per_kind": args.posts,
        "photos_per_post": args.photos,
        "settle_seconds": args.settle,
        "sample_every_s": SAMPLE_EVERY,
        "scenarios": scenarios,
        "issue_baseline": ISSUE_BASELINE,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "photo_burst.json").write_text(json.dumps(result, indent=2, ensure_ascii=False)
                                               + "\n", encoding="utf-8")
    text = markdown(result, scenarios)
    (args.out / "photo_burst.md").write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
