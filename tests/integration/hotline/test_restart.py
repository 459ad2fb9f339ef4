"""A restart must not lose a call (issue 9): ``hotline run`` in front of a real Asterisk 22 is
stopped (SIGTERM), killed (SIGKILL), or its FastAGI child crashes (SIGKILL) while a resident is
in the middle of their message. Every time, the call ends up as one ticket with the resident's
words in its audio.

* SIGTERM: the gateway stops taking calls and lets the running one finish: the message is
  stored and the number read back before it exits.
* SIGKILL of ``hotline run``: its children get SIGTERM from the kernel (parent-death signal)
  and behave as above.
* SIGKILL of the FastAGI process (a crash, an OOM kill): the AGI connection drops without the
  flow saying how to go on; the dialplan stops Asterisk's recording and records the rest of the
  message into the spool; the restarted process turns the recording left behind into the
  ticket and the spool entry joins it.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from ivr.prompts.build import build_prompts
from ivr.prompts.catalog import GENERATED
from ivr.wavinfo import wav_info
from tests.hotline.gateway import base_env, children_of, hotline, marked_pids
from tests.integration.asterisk.audio import speech
from tests.support.agi_process import listening
from tests.support.asterisk import Asterisk, CallResult
from tests.support.services import require_root, wait_until
from tickets import media
from tickets.db import Database
from tickets.model import Ticket
from tickets.store import Store

pytestmark = [pytest.mark.integration, pytest.mark.asterisk, pytest.mark.slow]

WORDS = ("the street light at the corner of dongsi north street has been broken for a "
         "week and the lane is completely dark at night please send someone to repair it")


@dataclass
class Rig:
    base: Path
    shared: Path
    env: dict[str, str]
    speech: Path  # without extension, as Playback wants it

    def start(self) -> subprocess.Popen[bytes]:
        log = open(self.base / "run.log", "ab")  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen(hotline("run"), env=self.env, cwd=self.base, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        http = f"http://127.0.0.1:{self.env['HOTLINE_HTTP_PORT']}/healthz"

        def up() -> bool:
            if proc.poll() is not None:
                return True
            try:
                return httpx.get(http, timeout=1).is_success and listening(
                    int(self.env["HOTLINE_AGI_PORT"]))
            except httpx.HTTPError:
                return False

        wait_until(up, timeout=180)
        assert proc.poll() is None, self.log()
        return proc

    def log(self) -> str:
        return (self.base / "run.log").read_text(errors="replace")

    def stop(self, proc: subprocess.Popen[bytes]) -> None:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            proc.wait(240)
        wait_until(lambda: not marked_pids(self.env), timeout=60)

    def store(self) -> tuple[Store, Database]:
        db = Database(f"sqlite:///{self.base / 'var' / 'hotline.sqlite3'}")
        return Store(db), db


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    require_root()
    base = tmp_path
    shared = base / "shared"
    build_prompts(GENERATED)
    shutil.copytree(GENERATED, shared / "prompts", ignore=shutil.ignore_patterns(".*"))
    said = speech(shared / "caller" / "speech.wav", WORDS)
    env = base_env(base)
    env.update(HOTLINE_PROMPTS_DIR=str(shared / "prompts"),
               HOTLINE_RECORDINGS_DIR=str(shared / "recordings"),
               HOTLINE_SPOOL_DIR=str(shared / "spool"),
               HOTLINE_TRANSCRIBE="live", HOTLINE_LIVE_PROCESSES="0",  # no model to load
               HOTLINE_WORKERS="0", HOTLINE_AGI_DRAIN_SECONDS="120")
    yield Rig(base, shared, env, said)
    for pid in marked_pids(env):
        os.kill(pid, signal.SIGKILL)


def call_in_background(ast: Asterisk, rig: Rig) -> tuple[threading.Thread, list[CallResult]]:
    results: list[CallResult] = []

    def run() -> None:
        results.append(ast.call_local(
            caller_id="13800138000", timeout=240,
            # 3 (complaint) during the greeting, the message after the beep, '#'
            script=[("wait", "2"), ("dtmf", "3"), ("wait", "12"), ("play", str(rig.speech)),
                    ("dtmf", "#"), ("wait", "25")],
        ))

    thread = threading.Thread(target=run)
    thread.start()
    return thread, results


def mid_message(ast: Asterisk) -> None:
    """Wait until the resident is a few seconds into their message."""
    wait_until(lambda: "caller/speech" in ast.messages_log(), timeout=90, interval=0.1)
    time.sleep(3)  # not an assertion: the words said so far must survive


def the_ticket(rig: Rig, result: CallResult, store: Store) -> Ticket:
    wait_until(lambda: store.find_by_ref("voice", result.ref) is not None, timeout=120)
    ticket = store.find_by_ref("voice", result.ref)
    assert ticket is not None, rig.log()
    return ticket


def speech_of(rig: Rig, ticket: Ticket) -> list[float]:
    """Seconds of each audio attachment that holds speech (level above -40 dBFS)."""
    found = []
    for attachment in ticket.attachments:
        path = media.resolve(rig.base / "var" / "media", attachment.url.rsplit("/", 1)[1])
        assert path is not None
        info = wav_info(path)
        if info.dbfs > -40:
            found.append(info.duration)
    return found


@pytest.mark.parametrize("how", ["sigterm", "sigkill"])
def test_stopping_hotline_run_mid_message_keeps_the_call(rig: Rig, how: str) -> None:
    proc = rig.start()
    ast = Asterisk(rig.base / "ast", agi_port=int(rig.env["HOTLINE_AGI_PORT"]),
                   audiosocket_port=int(rig.env["HOTLINE_AUDIOSOCKET_PORT"]),
                   shared_dir=rig.shared, prompts_dir=rig.shared / "prompts")
    ast.start()
    try:
        thread, results = call_in_background(ast, rig)
        mid_message(ast)
        proc.send_signal(signal.SIGTERM if how == "sigterm" else signal.SIGKILL)
        thread.join(240)
        [result] = results
        # the running call finished: its number was read back, nothing was handed over
        assert result.ivr_action == "done", (result, rig.log())
        proc.wait(240)
        wait_until(lambda: not marked_pids(rig.env), timeout=120)
    finally:
        ast.stop()
    store, db = rig.store()
    try:
        ticket = the_ticket(rig, result, store)
        assert ticket.kind.value == "complaint" and len(ticket.attachments) == 1
        assert speech_of(rig, ticket) and speech_of(rig, ticket)[0] > 4.0
    finally:
        db.dispose()


def test_a_crashed_fastagi_process_loses_nothing(rig: Rig) -> None:
    proc = rig.start()
    ast = Asterisk(rig.base / "ast", agi_port=int(rig.env["HOTLINE_AGI_PORT"]),
                   audiosocket_port=int(rig.env["HOTLINE_AUDIOSOCKET_PORT"]),
                   shared_dir=rig.shared, prompts_dir=rig.shared / "prompts")
    ast.start()
    try:
        [agi] = [pid for pid, cmd in children_of(proc.pid).items() if " agi" in cmd]
        thread, results = call_in_background(ast, rig)
        mid_message(ast)
        os.kill(agi, signal.SIGKILL)  # the FastAGI process dies with the call in it
        thread.join(240)
        [result] = results
        # the connection dropped without a word on how to go on: the dialplan took over
        assert result.ivr_action == "", (result, rig.log())
        [fallback] = (rig.shared / "spool").rglob("*.txt")
        assert "reason=gateway-lost" in fallback.read_text()
        store, db = rig.store()
        try:
            ticket = the_ticket(rig, result, store)  # made by the restarted agi and the spool
            # the restarted agi took the recording left behind, the spool its continuation
            wait_until(lambda: not list((rig.shared / "recordings").glob("*.json"))
                       and not list((rig.shared / "spool").glob("*.txt")), timeout=120)
            ticket = store.get(ticket.id)
        finally:
            db.dispose()
    finally:
        ast.stop()
        rig.stop(proc)
    assert ticket.kind.value == "complaint"
    spoken = speech_of(rig, ticket)
    assert spoken and max(spoken) > 2.0, rig.log()  # the words said before the crash
    assert any("left behind" in h.note for h in ticket.history if h.note) or len(
        ticket.attachments) >= 1
