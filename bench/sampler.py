"""A wall-clock stack sampler for a running ``hotline`` process (stdlib only).

    python -m bench.sampler --out DIR [--interval 0.005] [--on-signal] -- serve --port 8123

runs ``hotline`` with the arguments after ``--`` and, every ``interval`` seconds (from the start,
or with ``--on-signal`` from the first SIGUSR1: not the imports and startup), records the
Python stack of every thread (``sys._current_frames``): a thread waiting for a lock, for a
database answer or for fsync is counted where it waits, which is what a profile of a
commit path must show. At exit it writes ``DIR/stacks.txt`` (collapsed stacks, one
``thread;frame;frame count`` a line, the flame-graph format) and ``DIR/profile.json``
(samples per thread kind and the inclusive share of every function).

Neither pyinstrument nor py-spy is in requirements.lock; this stands in for them.
"""

from __future__ import annotations

import argparse
import atexit
import json
import signal
import sys
import threading
from collections import Counter
from pathlib import Path
from types import FrameType


def thread_kind(name: str) -> str:
    """The event loop (uvicorn's main thread) or a worker of the thread pool (AnyIO)."""
    if name == "MainThread":
        return "event loop"
    if "AnyIO" in name or name.startswith("ThreadPoolExecutor"):
        return "worker"
    return "other"


def frame_label(frame: FrameType) -> str:
    code = frame.f_code
    parts = Path(code.co_filename).parts
    short = "/".join(parts[-2:]) if len(parts) > 1 else code.co_filename
    return f"{code.co_qualname} ({short}:{frame.f_lineno})"


def stack_of(frame: FrameType | None) -> tuple[str, ...]:
    labels: list[str] = []
    while frame is not None:
        labels.append(frame_label(frame))
        frame = frame.f_back
    return tuple(reversed(labels))


def function_of(label: str) -> str:
    """``Store.submit (tickets/store.py:190)`` → ``Store.submit (tickets/store.py)``."""
    head, _, where = label.rpartition(" (")
    return f"{head} ({where.rsplit(':', 1)[0]})" if head else label


class Sampler(threading.Thread):
    def __init__(self, interval: float, *, recording: bool = True) -> None:
        super().__init__(name="bench-sampler", daemon=True)
        self.interval = interval
        self.stacks: Counter[tuple[str, ...]] = Counter()
        self.ticks = 0
        self.recording = threading.Event()
        if recording:
            self.recording.set()
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.wait(self.interval):
            if self.recording.is_set():
                self.sample()

    def sample(self) -> None:
        names = {t.ident: t.name for t in threading.enumerate()}
        self.ticks += 1
        for ident, frame in sys._current_frames().items():
            if ident == self.ident:
                continue
            kind = thread_kind(names.get(ident, "?"))
            self.stacks[(kind, *stack_of(frame))] += 1

    def stop(self) -> None:
        self._stop_event.set()


# A thread doing nothing: the event loop in its poll (uvloop's is C code under Runner.run, the
# stdlib loop's is select), a pool thread waiting for work. Everything else is busy, waiting for
# a lock or the database included.
IDLE_LEAVES = frozenset({"Runner.run (asyncio/runners.py)",
                         "EpollSelector.select (python3.11/selectors.py)"})


def is_idle(frames: list[str]) -> bool:
    if not frames:
        return True
    if function_of(frames[-1]) in IDLE_LEAVES:
        return True
    return any(function_of(f).startswith("Queue.get (") for f in frames[-4:]) and any(
        function_of(f).startswith("WorkerThread.run (") for f in frames)


def summarize(stacks: Counter[tuple[str, ...]], ticks: int, interval: float) -> dict[str, object]:
    """Samples per thread kind (all, and busy: not :func:`is_idle`) and, per kind, each
    function's inclusive share of the busy samples (counted once per sample even when it
    recurses)."""
    per_kind: Counter[str] = Counter()
    busy: Counter[str] = Counter()
    inclusive: dict[str, Counter[str]] = {}
    for (kind, *frames), n in stacks.items():
        per_kind[kind] += n
        if is_idle(frames):
            continue
        busy[kind] += n
        seen = {function_of(f) for f in frames}
        inclusive.setdefault(kind, Counter()).update({f: n for f in seen})
    return {
        "interval_s": interval,
        "ticks": ticks,
        "samples": dict(per_kind),
        "busy_samples": dict(busy),
        "inclusive": {kind: [{"function": f, "samples": n,
                              "share": round(n / busy[kind], 4)}
                             for f, n in c.most_common(80)]
                      for kind, c in inclusive.items()},
    }


def write(sampler: Sampler, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    stacks = Counter(sampler.stacks)
    lines = [";".join(s).replace(" ", "_") + f" {n}" for s, n in stacks.most_common()]
    (out / "stacks.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (out / "profile.json").write_text(
        json.dumps(summarize(stacks, sampler.ticks, sampler.interval), indent=1) + "\n",
        encoding="utf-8")


def _exit_on_signal(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--interval", type=float, default=0.005)
    parser.add_argument("--on-signal", action="store_true",
                        help="record from the first SIGUSR1 on (not the startup)")
    parser.add_argument("hotline_args", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    rest = args.hotline_args
    rest = rest[1:] if rest[:1] == ["--"] else rest
    from hotline.cli import main as hotline_main

    sampler = Sampler(args.interval, recording=not args.on_signal)
    signal.signal(signal.SIGUSR1, lambda *_: sampler.recording.set())

    def finish() -> None:
        sampler.stop()
        write(sampler, args.out)

    atexit.register(finish)
    # uvicorn restores the handler it found and raises the signal again once it has shut down:
    # with the default handler the process would die before atexit runs
    signal.signal(signal.SIGTERM, _exit_on_signal)
    sampler.start()
    return hotline_main(rest)


if __name__ == "__main__":
    raise SystemExit(main())
