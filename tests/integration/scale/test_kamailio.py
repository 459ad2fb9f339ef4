"""Several Asterisks behind Kamailio, each pointed at both FastAGI gateways.

SIPp callers → Kamailio (dispatcher, round-robin, OPTIONS probing) → two Asterisk 22
instances (the harness's chroot, PBX_ID pbx-a and pbx-b) → ``hotline agi`` gateway 1 or 2 (each
Asterisk names one first and the other as AGI_BACKUP, in opposite order) → one ticket store.
README "Several Asterisks behind Kamailio". The measured figures (calls per Asterisk, how
long the dispatcher took to mark a killed Asterisk down) are logged and written to
``figures.json`` in the test's folder; nothing here asserts on time.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from ivr.prompts.build import build_prompts
from ivr.prompts.catalog import GENERATED
from ivr.wavinfo import wav_info
from tests.support.agi_process import agi_process
from tests.support.asterisk import Asterisk
from tests.support.ivr_caller import message_pcap, speaker, speaking, wait_recognizers
from tests.support.kamailio import Kamailio
from tests.support.services import free_port, require_root, wait_until
from tests.support.sipp import SippResult, sipp_call
from tickets import media
from tickets.db import Database
from tickets.migrate import upgrade
from tickets.model import Channel, Ticket
from tickets.store import Store

pytestmark = [pytest.mark.integration, pytest.mark.asterisk, pytest.mark.slow]

log = logging.getLogger(__name__)
PBXS = ("pbx-a", "pbx-b")
TICKETED = re.compile(r"ivr\.tickets \[[^]]*\]: call (\S+) from .*: ticket ")


@dataclass
class Rig:
    base: Path
    store: Store
    kam: Kamailio
    asterisks: dict[str, Asterisk]
    gateways: list[subprocess.Popen[bytes]]
    gateway_logs: list[Path]
    env: dict[str, str]
    pcap: Path
    pcap_ms: int
    recordings: Path
    figures: dict[str, object] = field(default_factory=dict)
    _calls: int = 0

    def caller(self) -> str:
        self._calls += 1
        return f"1370013{self._calls:04d}"

    def call(self, caller: str) -> SippResult:
        work = self.base / "sipp" / caller
        return sipp_call(self.kam.sip_port, pcap=self.pcap, hold_ms=self.pcap_ms + 30000,
                         workdir=work, caller_id=caller, proxy=True)

    def calls(self, count: int) -> dict[str, SippResult]:
        """``count`` callers at once through Kamailio; {caller id: result}."""
        callers = [self.caller() for _ in range(count)]
        with ThreadPoolExecutor(count) as pool:
            futures = {c: pool.submit(self.call, c) for c in callers}
            return {c: f.result() for c, f in futures.items()}

    def ticket_of(self, caller: str, timeout: float = 60) -> Ticket:
        phone = f"+86{caller}"

        def found() -> Ticket | None:
            for ticket in self.store.feed(0, 1000):
                if ticket.channel is Channel.voice and ticket.citizen.phone == phone:
                    return ticket
            return None

        wait_until(lambda: found() is not None, timeout=timeout)
        ticket = found()
        assert ticket is not None
        return ticket

    def tickets_of(self, caller: str) -> list[Ticket]:
        phone = f"+86{caller}"
        return [t for t in self.store.feed(0, 1000)
                if t.channel is Channel.voice and t.citizen.phone == phone]

    def ticketed_by(self, index: int) -> set[str]:
        """The calls (``pbx/unique id``) gateway ``index`` (0 or 1) made tickets of, from its
        log."""
        text = self.gateway_logs[index].read_text(errors="replace")
        return set(TICKETED.findall(text))

    def record(self, **figures: object) -> None:
        self.figures.update(figures)
        (self.base / "figures.json").write_text(json.dumps(self.figures, indent=2))
        log.warning("kamailio figures: %s", json.dumps(figures))


def _pbx(ticket: Ticket) -> str:
    return ticket.channel_ref.split("/", 1)[0]


@pytest.fixture
def rig(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Rig]:
    """The whole chain; ``indirect`` parametrisation sets Kamailio's probe interval (s)."""
    require_root()
    ping_interval = int(getattr(request, "param", 1))
    if shutil.which("kamailio") is None:
        pytest.fail("kamailio is not installed (Debian package kamailio): run make deps")
    base = tmp_path
    shared = base / "shared"
    prompts = shared / "prompts"
    build_prompts(GENERATED)  # quick when `make prompts` already ran
    shutil.copytree(GENERATED, prompts, ignore=shutil.ignore_patterns(".*"))
    pcap, pcap_ms = message_pcap(shared / "caller")
    url = f"sqlite:///{base / 'hotline.sqlite3'}"
    db = Database(url)
    upgrade(db)
    agi_ports = [free_port(), free_port()]
    recordings = shared / "recordings"
    common = {
        **os.environ,
        "HOTLINE_DATA_DIR": str(base / "data"),
        "HOTLINE_DATABASE_URL": url,
        "HOTLINE_PROMPTS_DIR": str(prompts),
        "HOTLINE_RECORDINGS_DIR": str(recordings),
        "HOTLINE_SPOOL_DIR": str(shared / "spool"),
        "HOTLINE_AGI_HOST": "127.0.0.1",
    }
    with ExitStack() as stack:
        stack.callback(db.dispose)
        gateways = []
        logs = []
        for i, port in enumerate(agi_ports):
            logs.append(base / f"agi-{i + 1}.log")
            gateways.append(stack.enter_context(agi_process(
                {**common, "HOTLINE_AGI_PORT": str(port)}, port, logs[-1], "batch")))
        wait_recognizers(logs)
        asterisks: dict[str, Asterisk] = {}
        for pbx, first, second in ((PBXS[0], agi_ports[0], agi_ports[1]),
                                   (PBXS[1], agi_ports[1], agi_ports[0])):
            ast = Asterisk(base / pbx, agi_port=first, agi_backup=f"127.0.0.1:{second}",
                           shared_dir=shared, prompts_dir=prompts, pbx_id=pbx)
            stack.callback(ast.stop)
            ast.start()
            asterisks[pbx] = ast
        kam = stack.enter_context(Kamailio(base / "kamailio",
                                           [a.sip_port for a in asterisks.values()],
                                           ping_interval=ping_interval))
        for ast in asterisks.values():  # the first probes have answered
            kam.wait_state(ast.sip_port, active=True, timeout=30)
        yield Rig(base, Store(db), kam, asterisks, gateways, logs, common, pcap, pcap_ms,
                  recordings)


def _assert_kept(rig: Rig, results: dict[str, SippResult]) -> list[Ticket]:
    """Every call went through (the IVR read the number back and hung up) and is one ticket."""
    tickets = []
    for caller, result in results.items():
        assert result.ok, f"{caller}: {result.output}\n{rig.kam.log_tail()}"
        assert result.hung_up_by_ivr, caller
        tickets.append(rig.ticket_of(caller))
        assert len(rig.tickets_of(caller)) == 1, caller
    return tickets


def test_calls_spread_over_both_asterisks_and_each_is_a_ticket(rig: Rig) -> None:
    results = rig.calls(4)
    tickets = _assert_kept(rig, results)
    per_pbx = {pbx: sum(_pbx(t) == pbx for t in tickets) for pbx in PBXS}
    assert all(per_pbx.values()), per_pbx  # round-robin: each Asterisk took calls
    # each Asterisk's first gateway took its calls
    for index, pbx in enumerate(PBXS):
        assert {t.channel_ref for t in tickets if _pbx(t) == pbx} == rig.ticketed_by(index)
    rig.record(spread_calls=len(tickets), per_pbx=per_pbx)


def test_killed_gateway_calls_continue_on_the_other(rig: Rig) -> None:
    dead = rig.gateways[0]
    os.kill(dead.pid, signal.SIGKILL)
    dead.wait(10)
    results = rig.calls(2)
    tickets = _assert_kept(rig, results)
    # both Asterisks took one (round-robin); pbx-a's first gateway is the dead one, so its
    # dialplan went on to AGI_BACKUP: gateway 2 made both tickets
    assert {_pbx(t) for t in tickets} == set(PBXS)
    assert {t.channel_ref for t in tickets} <= rig.ticketed_by(1)
    rig.record(gateway_failover_calls=len(tickets))


def test_killed_asterisk_new_calls_go_to_the_other(rig: Rig) -> None:
    """Asterisk pbx-a is SIGKILLed while a caller speaks into its recording. That caller is
    cut; the part of the message Asterisk had written is a ticket; the dispatcher's probe
    marks pbx-a down and every new call goes to pbx-b."""
    victim, survivor = rig.asterisks[PBXS[0]], rig.asterisks[PBXS[1]]
    known = set(rig.recordings.glob("*.wav"))
    with ThreadPoolExecutor(2) as pool:
        callers = [rig.caller(), rig.caller()]
        running: dict[str, Future[SippResult]] = {c: pool.submit(rig.call, c) for c in callers}
        wait_until(lambda: speaking(rig.recordings, f"{PBXS[0]}_*.wav", known) is not None,
                   timeout=90)
        wav = speaking(rig.recordings, f"{PBXS[0]}_*.wav", known)
        assert wav is not None
        phone = speaker(wav)  # who is speaking
        [on_victim] = [c for c in callers if phone == f"+86{c}"]
        assert victim.pid is not None
        os.killpg(victim.pid, signal.SIGKILL)  # the unshare/chroot group: Asterisk with it
        killed_at = time.monotonic()
        down_after = rig.kam.wait_state(victim.sip_port, active=False, timeout=60)
        # The cut call: its gateway saw the session end and kept what Asterisk had written.
        partial = rig.ticket_of(on_victim, timeout=90)
        partial_after = time.monotonic() - killed_at
        # New calls once the probe marked pbx-a down (the cut caller still holds on): all on
        # pbx-b, no failover needed.
        after = rig.calls(2)
        results = {c: f.result() for c, f in running.items()}
    victim.stop()  # reaps the killed process group's leader
    assert _pbx(partial) == PBXS[0]
    [attachment] = partial.attachments
    audio = media.resolve(rig.base / "data" / "media", attachment.url.rsplit("/", 1)[1])
    assert audio is not None
    kept_audio = wav_info(audio)
    assert kept_audio.duration >= 1.0 and kept_audio.rms > 500, kept_audio  # speech, not silence
    assert not results[on_victim].hung_up_by_ivr  # cut: nobody was left to say goodbye
    [kept] = [c for c in callers if c != on_victim]
    assert results[kept].hung_up_by_ivr, results[kept].output
    assert _pbx(rig.ticket_of(kept)) == PBXS[1]
    tickets = _assert_kept(rig, after)
    assert {_pbx(t) for t in tickets} == {PBXS[1]}
    assert survivor.proc is not None and survivor.proc.poll() is None
    rig.record(asterisk_down_after_s=round(down_after, 2),
               partial_ticket_after_s=round(partial_after, 2),
               partial_ticket=partial.number, partial_seconds=round(kept_audio.duration, 2),
               routed=rig.kam.routed())


@pytest.mark.parametrize("rig", [3600], indirect=True)  # no probe during the test
def test_call_sent_to_a_dead_asterisk_fails_over_to_the_other(rig: Rig) -> None:
    """Before any probe noticed: the INVITE to the dead Asterisk gets no reply at all, the
    failure route marks it down and sends the call to the next destination."""
    victim = rig.asterisks[PBXS[0]]
    assert victim.pid is not None
    os.killpg(victim.pid, signal.SIGKILL)
    victim.stop()
    assert rig.kam.is_active(victim.sip_port)  # the dispatcher does not know yet
    results = rig.calls(2)  # round-robin: one of them is sent to the dead one first
    tickets = _assert_kept(rig, results)
    assert {_pbx(t) for t in tickets} == {PBXS[1]}
    dead = rig.kam.uri(victim.sip_port)
    failed_over = {call for call, dest in rig.kam.routed() if dest == dead}
    assert len(failed_over) == 1, rig.kam.routed()
    assert not rig.kam.is_active(victim.sip_port)
    rig.record(failed_over_calls=len(failed_over))
