"""Faults on a schedule, applied to a :class:`~bench.chaos.cluster.Cluster` while the driver
runs, with a timeline of what was done when.

A fault is a name (:data:`FAULTS`) at an offset in seconds from the start of the drive. A
killed process is started again after ``RESTART_AFTER`` seconds, as a supervisor (systemd,
compose's ``restart:``) would. The schedule repeats its cycle until the driver is done.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from bench.chaos.cluster import Cluster

RESTART_AFTER = 2.0
STALL_SECONDS = 10.0


@dataclass(frozen=True)
class Fault:
    at: float  # seconds into the cycle
    name: str


@dataclass
class Event:
    name: str
    start: float  # seconds from the start of the drive
    end: float
    note: str


def _kill(name: str) -> Callable[[Cluster], str]:
    def apply(cluster: Cluster) -> str:
        pid = cluster.kill_and_restart(name, RESTART_AFTER)
        return f"SIGKILL pid {pid} (process group), restarted after {RESTART_AFTER:g} s"
    return apply


def _redis_restart(cluster: Cluster) -> str:
    cluster.restart_redis()
    return "SIGTERM, started again on the same append-only file"


def _redis_stall(cluster: Cluster) -> str:
    cluster.stall_redis(STALL_SECONDS)
    return f"SIGSTOP for {STALL_SECONDS:g} s, then SIGCONT"


def _pg_restart(cluster: Cluster) -> str:
    cluster.restart_postgres()
    return "pg_ctl stop -m fast, then started again"


def _pg_cut(cluster: Cluster) -> str:
    cluster.pg_proxy.set_cut(True)
    time.sleep(5)
    cluster.pg_proxy.set_cut(False)
    return "network to PostgreSQL cut for 5 s (connections reset, new ones refused)"


def _pg_slow(cluster: Cluster) -> str:
    cluster.pg_proxy.set_delay(0.1)
    time.sleep(10)
    cluster.pg_proxy.set_delay(0.0)
    return "100 ms added to every packet to PostgreSQL for 10 s"


FAULTS: dict[str, Callable[[Cluster], str]] = {
    "kill serve-a": _kill("serve-a"),
    "kill serve-b": _kill("serve-b"),
    "kill worker-1": _kill("worker-1"),
    "kill worker-2": _kill("worker-2"),
    "kill relay": _kill("relay"),
    "kill spool": _kill("spool"),
    "redis restart": _redis_restart,
    "redis stall": _redis_stall,
    "postgres restart": _pg_restart,
    "postgres cut": _pg_cut,
    "postgres slow": _pg_slow,
}

# the full cycle (make chaos): every fault once, about every 12 s
FULL = [Fault(5 + 12 * i, name) for i, name in enumerate((
    "kill serve-a", "kill worker-1", "redis stall", "kill relay", "postgres restart",
    "kill serve-b", "kill worker-2", "redis restart", "postgres cut", "kill spool",
    "postgres slow"))]
# the small run (make test): a few faults, one of each sort
SMALL = [Fault(3, "kill serve-a"), Fault(8, "kill worker-1"), Fault(12, "redis restart"),
         Fault(16, "postgres restart"), Fault(22, "kill relay"), Fault(26, "kill serve-b")]
# with calls through the IVR (bench/chaos/ivr.py): the primary gateway SIGKILLed mid-call too
KILL_AGI = "kill agi-1"
FULL_CALLS = [*FULL, Fault(FULL[-1].at + 12, KILL_AGI)]
SMALL_CALLS = [*SMALL, Fault(30, KILL_AGI)]


class Schedule:
    """Applies ``faults`` in a thread, cycle after cycle while ``repeat``, until stopped."""

    def __init__(self, cluster: Cluster, faults: list[Fault], *, repeat: bool,
                 extra: Mapping[str, Callable[[Cluster], str]] | None = None) -> None:
        self.cluster = cluster
        self.known = {**FAULTS, **(extra or {})}  # the IVR's fault comes with the IVR
        unknown = [f.name for f in faults if f.name not in self.known]
        if unknown:
            raise ValueError(f"unknown faults: {unknown}")
        self.faults = sorted(faults, key=lambda f: f.at)
        self.repeat = repeat
        self.timeline: list[Event] = []
        self._stop = threading.Event()  # no more faults
        self._done = threading.Event()  # no more supervision either
        self._thread = threading.Thread(target=self._run, name="chaos-schedule", daemon=True)
        self._watcher = threading.Thread(target=self._watch, name="chaos-supervisor",
                                         daemon=True)
        self.t0 = 0.0

    def start(self, t0: float) -> None:
        self.t0 = t0
        self._thread.start()
        self._watcher.start()

    def _watch(self) -> None:
        """The supervisor: a process that exited without a fault is started again, and the
        timeline says so."""
        while not self._done.wait(1.0):
            for name, code in self.cluster.restart_exited():
                at = round(time.monotonic() - self.t0, 2)
                self.timeline.append(Event(f"{name} exited by itself", at, at,
                                           f"exit status {code}; started again"))

    def _run(self) -> None:
        cycle_start = 0.0
        cycle = max((f.at for f in self.faults), default=0.0) + 12.0
        while not self._stop.is_set():
            for fault in self.faults:
                wait = self.t0 + cycle_start + fault.at - time.monotonic()
                if self._stop.wait(max(0.0, wait)):
                    return
                start = time.monotonic() - self.t0
                try:
                    note = self.known[fault.name](self.cluster)
                except Exception as exc:
                    note = f"fault failed: {type(exc).__name__}: {exc}"
                self.timeline.append(Event(fault.name, round(start, 2),
                                           round(time.monotonic() - self.t0, 2), note))
            if not self.repeat:
                return
            cycle_start += cycle

    def finish(self, timeout: float) -> None:
        """A single pass (not ``repeat``) runs to its last fault even when the drive ended
        first (a quiet machine drives 1,000 intakes in less time than the schedule spans):
        faults while the system settles test the same recovery."""
        if not self.repeat:
            self._thread.join(timeout)

    def stop_faults(self) -> None:
        """Stop after the fault in progress (it is finished: a killed process restarted)."""
        self._stop.set()
        self._thread.join(120)

    def stop(self) -> None:
        self.stop_faults()
        self._done.set()
        self._watcher.join(30)
