"""Calls through the IVR during a chaos run (issue 22): two ``hotline agi`` (the cluster's
programs ``agi-1`` and ``agi-2``, on the cluster's database, Redis and data folder), one real
Asterisk from the test harness's chroot naming ``agi-1`` first and ``agi-2`` as
``AGI_BACKUP``, and SIPp callers who each speak a message and press ``#``
(tests/support/ivr_caller.py, as in the Kamailio rig).

The fault ``kill agi-1`` waits until a caller is speaking into a recording (``agi-1`` takes
every call while it is up), then SIGKILLs it; the supervisor's 2 s restart follows as for the
other programs. Which callers were cut, and which of them were speaking, is kept for the
audit (:mod:`bench.chaos.calls_audit`).
"""

from __future__ import annotations

import shutil
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bench.chaos.cluster import Cluster
from ivr.prompts.build import build_prompts
from ivr.prompts.catalog import GENERATED
from tests.support.asterisk import Asterisk
from tests.support.ivr_caller import message_pcap, speaker, speaking, wait_recognizers
from tests.support.services import free_port
from tests.support.sipp import sipp_call

AGIS = ("agi-1", "agi-2")
PBX = "chaos"
SPEAKER_WAIT = 60.0  # seconds the fault waits for a caller to speak before it kills anyway
FRESH = 2.0  # a recording written to within this many seconds is a call in progress


@dataclass
class Call:
    caller: str
    start: float  # seconds from the start of the drive
    end: float = 0.0
    returncode: int | None = None
    hung_up_by_ivr: bool = False
    output: str = ""

    @property
    def phone(self) -> str:
        return f"+86{self.caller}"


@dataclass
class Cut:
    """One SIGKILL of a gateway: when, and the callers recording (and speaking) then."""

    gateway: str
    at: float
    recording: list[str] = field(default_factory=list)
    speaking: list[str] = field(default_factory=list)


@dataclass
class Ivr:
    cluster: Cluster
    count: int
    concurrency: int
    asterisk: Asterisk | None = None
    calls: list[Call] = field(default_factory=list)
    cuts: list[Cut] = field(default_factory=list)
    t0: float = 0.0
    _thread: threading.Thread | None = None

    @property
    def recordings(self) -> Path:
        return Path(self.cluster.env["HOTLINE_DATA_DIR"]) / "recordings"

    @property
    def shared(self) -> Path:
        return Path(self.cluster.env["HOTLINE_DATA_DIR"])

    def start(self) -> None:
        """Both gateways (recognizers warm), then Asterisk pointed at them."""
        prompts = self.shared / "prompts"
        build_prompts(GENERATED)  # quick when `make prompts` already ran
        shutil.copytree(GENERATED, prompts, ignore=shutil.ignore_patterns(".*"),
                        dirs_exist_ok=True)
        self.recordings.mkdir(parents=True, exist_ok=True)
        ports = {name: free_port() for name in AGIS}
        for name in AGIS:
            self.cluster.add_program(
                name, ["agi", "--transcribe", "batch", "--port", str(ports[name])],
                {"HOTLINE_PROMPTS_DIR": str(prompts), "HOTLINE_AGI_HOST": "127.0.0.1",
                 "HOTLINE_LOG_LEVEL": "INFO"})
            self.cluster.start(name)
        wait_recognizers(self.cluster.root / "logs" / f"{name}.log" for name in AGIS)
        self.asterisk = Asterisk(self.cluster.root / "asterisk", agi_port=ports[AGIS[0]],
                                 agi_backup=f"127.0.0.1:{ports[AGIS[1]]}",
                                 shared_dir=self.shared, prompts_dir=prompts, pbx_id=PBX)
        self.asterisk.start()
        self.pcap, self.pcap_ms = message_pcap(self.cluster.root / "caller")

    # -- the callers ----------------------------------------------------------------------
    def place_calls(self, t0: float) -> None:
        """Start the callers in a thread: ``concurrency`` at a time, staggered so that their
        messages do not all fall in one moment."""
        self.t0 = t0
        self._thread = threading.Thread(target=self._call_all, name="chaos-calls",
                                        daemon=True)
        self._thread.start()

    def _call_all(self) -> None:
        slots = threading.BoundedSemaphore(self.concurrency)
        threads = []
        for i in range(self.count):
            slots.acquire()
            if i < self.concurrency:
                time.sleep(0 if i == 0 else 6.0)
            thread = threading.Thread(target=self._call, args=(i, slots), daemon=True)
            thread.start()
            threads.append(thread)
        for thread in threads:
            thread.join()

    def _call(self, index: int, slots: threading.BoundedSemaphore) -> None:
        assert self.asterisk is not None
        call = Call(caller=f"1370000{index:04d}", start=self._now())
        self.calls.append(call)
        try:
            result = sipp_call(self.asterisk.sip_port, pcap=self.pcap,
                               hold_ms=self.pcap_ms + 30000,
                               workdir=self.cluster.root / "sipp" / call.caller,
                               caller_id=call.caller, timeout=180)
            call.returncode = result.returncode
            call.hung_up_by_ivr = result.hung_up_by_ivr
            call.output = "" if result.ok else result.output[-500:]
        except Exception as exc:
            call.output = f"{type(exc).__name__}: {exc}"
        finally:
            call.end = self._now()
            slots.release()

    def wait_calls(self, timeout: float) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def _now(self) -> float:
        return round(time.monotonic() - self.t0, 2)

    # -- the fault ------------------------------------------------------------------------
    def _in_progress(self) -> list[Path]:
        now = time.time()
        found = []
        for wav in self.recordings.glob("*.wav"):
            try:
                if now - wav.stat().st_mtime < FRESH:
                    found.append(wav)
            except FileNotFoundError:
                continue
        return found

    def kill_mid_call(self, cluster: Cluster, name: str = AGIS[0]) -> str:
        """SIGKILL ``name`` once a caller speaks into a recording (or after
        :data:`SPEAKER_WAIT` s without one); restarted after 2 s like every program."""
        from bench.chaos.schedule import RESTART_AFTER

        deadline = time.monotonic() + SPEAKER_WAIT
        while time.monotonic() < deadline:
            stale = set(self.recordings.glob("*.wav")) - set(self._in_progress())
            if speaking(self.recordings, "*.wav", stale) is not None:
                break
            time.sleep(0.2)
        cut = Cut(name, self._now())
        live = self._in_progress()
        stale = set(self.recordings.glob("*.wav")) - set(live)
        cut.recording = sorted(filter(None, (speaker(w) for w in live)))
        cut.speaking = sorted(filter(None, (speaker(w) for w in live
                                            if speaking(w.parent, w.name, stale) is not None)))
        pid = cluster.kill_and_restart(name, RESTART_AFTER)
        self.cuts.append(cut)
        return (f"SIGKILL pid {pid} with {len(cut.recording)} caller(s) recording, "
                f"{len(cut.speaking)} speaking; restarted after {RESTART_AFTER:g} s")

    def stop(self) -> None:
        if self.asterisk is not None:
            self.asterisk.stop()

    def history(self) -> dict[str, Any]:
        return {"calls": [asdict(c) for c in self.calls],
                "cuts": [asdict(c) for c in self.cuts]}
