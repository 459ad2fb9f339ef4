"""The all-in-one supervisor behind ``hotline run``.

It starts each program as a child process (see :mod:`hotline.childproc`), prefixes their output
with their names, restarts a child that dies with a capped exponential backoff, and on SIGTERM,
SIGINT (Ctrl-C) or SIGHUP stops them in order: SIGTERM to every program, a grace period, SIGKILL
for what is left (with its descendants), and the private Redis last, so that the programs can
finish what they are doing while it is still there. The supervisor then exits with status 0.
"""

from __future__ import annotations

import signal
import subprocess
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import FrameType

from hotline import metrics_setup
from hotline.childproc import LinePrinter, descendants, kill_all, pump, signal_group, spawn
from hotline.redis_private import PrivateRedis

SUPERVISOR_NAME = "run"
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


class SupervisorError(Exception):
    """The supervisor could not bring its programs up (e.g. Redis did not start)."""


@dataclass(frozen=True)
class Program:
    """One process to keep running: a name for its log lines, its command line, how long
    it may take to stop after SIGTERM before it is killed, and the umask it starts with
    (None: the supervisor's)."""

    name: str
    argv: list[str]
    grace: float = 10.0
    umask: int | None = None


@dataclass
class Backoff:
    """Restart delays: ``first``, doubled after each quick death, at most ``cap``; back to
    ``first`` once a child has stayed up for ``stable_after`` seconds."""

    first: float = 0.5
    cap: float = 30.0
    stable_after: float = 30.0
    _next: float = field(default=0.0, init=False)

    def delay(self, ran_for: float) -> float:
        if self._next == 0.0 or ran_for >= self.stable_after:
            self._next = self.first
        current = self._next
        self._next = min(self._next * 2, self.cap)
        return current


@dataclass
class Child:
    program: Program
    backoff: Backoff = field(default_factory=Backoff)
    proc: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    restart_at: float | None = None
    restarts: int = 0
    pumps: list[threading.Thread] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.program.name

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


def describe_exit(code: int) -> str:
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit status {code}"


class Supervisor:
    def __init__(
        self,
        programs: Sequence[Program],
        *,
        env: Mapping[str, str],
        printer: LinePrinter,
        redis: PrivateRedis | None = None,
        poll_interval: float = 0.1,
        redis_start_timeout: float = 20.0,
        ready: tuple[Callable[[], bool], str] | None = None,
    ) -> None:
        self.env = dict(env)
        self.printer = printer
        self.redis = redis
        self.poll_interval = poll_interval
        self.redis_start_timeout = redis_start_timeout
        self.redis_child = Child(Program("redis", redis.argv(), umask=0o077)) if redis else None
        self.children = [Child(p) for p in programs]
        self._signals = 0
        # (check, message): the message is logged once, the first time the check passes.
        self._ready = ready

    # -- public -------------------------------------------------------------------------------

    def run(self) -> int:
        """Start everything, supervise until a stop signal, stop everything; return 0.

        Raises :class:`SupervisorError` if the private Redis does not come up (after stopping
        whatever was started)."""
        previous = {sig: signal.signal(sig, self._on_signal) for sig in STOP_SIGNALS}
        try:
            if self.redis_child is not None:
                self._start_redis()
            for child in self.children:
                if self._signals:
                    break
                self._start(child)
            self._supervise()
        finally:
            self._shutdown()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        return 0

    def log(self, text: str) -> None:
        self.printer.line(SUPERVISOR_NAME, text)

    # -- starting and watching ----------------------------------------------------------------

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        self._signals += 1
        name = signal.Signals(signum).name
        if self._signals == 1:
            self.log(f"{name} received: stopping (again to kill at once)")
        else:
            self.log(f"{name} received again: killing what is left")

    def _start(self, child: Child) -> None:
        child.restart_at = None
        try:
            proc = spawn(child.program.argv, self.env, umask=child.program.umask)
        except OSError as exc:
            self._schedule_restart(child, f"could not start: {exc}", 0.0)
            return
        child.proc = proc
        child.started_at = time.monotonic()
        assert proc.stdout is not None
        child.pumps = [t for t in child.pumps if t.is_alive()]
        child.pumps.append(pump(proc.stdout, child.name, self.printer))
        again = f" (restart {child.restarts})" if child.restarts else ""
        self.log(f"started {child.name}, pid {proc.pid}{again}")

    def _start_redis(self) -> None:
        assert self.redis is not None and self.redis_child is not None
        self.redis.prepare()
        self._start(self.redis_child)
        deadline = time.monotonic() + self.redis_start_timeout
        while not self.redis.answers():
            if self._signals:
                return
            if not self.redis_child.alive():
                raise SupervisorError("redis-server exited at start-up (see its lines above)")
            if time.monotonic() > deadline:
                raise SupervisorError(
                    f"redis-server did not answer on {self.redis.socket} "
                    f"within {self.redis_start_timeout:.0f}s"
                )
            time.sleep(self.poll_interval)
        self.log(f"redis is ready on {self.redis.socket}")

    def _all(self) -> list[Child]:
        return ([self.redis_child] if self.redis_child else []) + self.children

    def _supervise(self) -> None:
        while not self._signals:
            now = time.monotonic()
            for child in self._all():
                if child.proc is not None and child.restart_at is None:
                    code = child.proc.poll()
                    if code is not None:
                        # what it left in its process group goes too (RQ's scheduler, which
                        # holds copies of the dead worker's Redis sockets and would swallow
                        # the next job popped for that worker's blocking read)
                        signal_group(child.proc.pid, signal.SIGKILL)
                        metrics_setup.process_dead(child.proc.pid)
                        ran = now - child.started_at
                        self._schedule_restart(
                            child, f"{describe_exit(code)} after {ran:.1f}s", ran
                        )
                elif child.restart_at is not None and now >= child.restart_at:
                    if child is self.redis_child and self.redis is not None:
                        self.redis.prepare()
                    child.restarts += 1
                    self._start(child)
            if self._ready is not None and self._ready[0]():
                self.log(self._ready[1])
                self._ready = None
            time.sleep(self.poll_interval)

    def _schedule_restart(self, child: Child, why: str, ran_for: float) -> None:
        delay = child.backoff.delay(ran_for)
        child.restart_at = time.monotonic() + delay
        self.log(f"{child.name} stopped: {why}; restarting in {delay:.1f}s")

    # -- stopping -----------------------------------------------------------------------------

    def _shutdown(self) -> None:
        self._stop(self.children)
        if self.redis_child is not None:
            self._stop([self.redis_child])
        if self.redis is not None:
            self.redis.cleanup()
        for child in self._all():
            for thread in child.pumps:
                thread.join(timeout=2.0)
        self.log("all stopped")

    def _stop(self, children: Sequence[Child]) -> None:
        running = [c for c in children if c.alive()]
        for child in running:
            assert child.proc is not None
            self.log(f"stopping {child.name} (pid {child.proc.pid})")
            signal_group(child.proc.pid, signal.SIGTERM)
        signals_before = self._signals
        started = time.monotonic()
        waiting = list(running)
        while waiting:
            # each child is killed once ITS grace is over (or at once on a second signal)
            hurry = self._signals > max(signals_before, 1)
            elapsed = time.monotonic() - started
            for child in list(waiting):
                if child.alive() and not hurry and elapsed < child.program.grace:
                    continue
                waiting.remove(child)
                self._reap(child)
            if waiting:
                time.sleep(self.poll_interval)

    def _reap(self, child: Child) -> None:
        """Kill ``child`` (with its descendants) if it still runs; wait for it and log it."""
        assert child.proc is not None
        if child.alive():
            self.log(f"{child.name} did not stop in time: killing it")
            kill_all(descendants(child.proc.pid))
            signal_group(child.proc.pid, signal.SIGKILL)
        try:
            code = child.proc.wait(timeout=5.0)
        except subprocess.TimeoutExpired:
            self.log(f"{child.name} (pid {child.proc.pid}) is stuck in the kernel")
            return
        self.log(f"{child.name} stopped ({describe_exit(code)})")
