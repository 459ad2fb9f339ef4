"""``hotline run`` with ``HOTLINE_PBX=true`` brings up the local PBX (the Asterisk 22 root the
tests use, asterisk-conf/ rendered for the run's folders and generated AMI secret), the console
links to its AMI, ``hotline operator add`` loads an operator's endpoint into it, and ``hotline
call --key 3 --say …`` is a resident's call to 96010 through its production dialplan: the IVR
records the complaint and a ticket with the audio is stored. SIGINT (Ctrl-C) stops the PBX too:
no process of the run is left.
"""

from __future__ import annotations

import html
import re
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from hotline.settings import Settings
from hotline.wiring import open_store
from ivr.prompts.catalog import GENERATED
from tests.hotline.gateway import base_env, hotline, marked_pids
from tests.support.ami import Ami
from tests.support.asterisk import free_udp_port
from tests.support.services import free_port, require_root, wait_until
from tickets.model import Kind

pytestmark = [pytest.mark.integration, pytest.mark.asterisk]
SAY = "东四北大街的路灯坏了三天了"
AMI_SECRET = "pbx-test-ami-secret-0123456789"
PASSWORD = "correct horse battery staple"


class Run:
    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.env = base_env(workdir)
        self.env.update(
            HOTLINE_PBX="true", HOTLINE_AMI_USERNAME="hotline", HOTLINE_AMI_SECRET=AMI_SECRET,
            HOTLINE_AMI_PORT=str(free_port()), HOTLINE_PBX_SIP_PORT=str(free_udp_port()),
            HOTLINE_PBX_HTTP_PORT=str(free_port()), HOTLINE_WORKERS="0",
            HOTLINE_TRANSCRIBE="batch", HOTLINE_PROMPTS_DIR=str(GENERATED),
            HOTLINE_CONSOLE_SECRET="pbx-test-console-secret-0123456789abcdef")
        self.lines: list[str] = []
        self.proc = subprocess.Popen(hotline("run"), cwd=workdir, env=self.env, bufsize=0,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            self.lines.append(raw.decode(errors="replace").rstrip("\n"))

    def output(self) -> str:
        return "\n".join(self.lines)

    def saw(self, text: str) -> bool:
        if self.proc.poll() is not None:
            raise AssertionError(f"hotline run exited:\n{self.output()}")
        return any(text in line for line in self.lines)

    def cli(self, *args: str, stdin: str | None = None, timeout: float = 60) -> str:
        done = subprocess.run(hotline(*args), cwd=self.workdir, env=self.env, input=stdin,
                              capture_output=True, text=True, timeout=timeout, check=False)
        assert done.returncode == 0, f"hotline {args}: {done.stdout}{done.stderr}"
        return done.stdout


def take_over(run: Run, lines: list[str]) -> dict[str, object]:
    """Log in as alice, find the call on the board and press 接管 (the console's own routes)."""
    base = f"http://127.0.0.1:{run.env['HOTLINE_HTTP_PORT']}"
    wait_until(lambda: any("recording the message" in line for line in lines), timeout=60,
               interval=0.2)
    with httpx.Client(base_url=base, timeout=10) as web:
        form = web.get("/console/login").text
        token = re.search(r'name="csrf" value="([^"]+)"', form)
        assert token is not None
        done = web.post("/console/login", data={"login": "alice", "password": PASSWORD,
                                                "csrf": token.group(1), "next": "/console/"})
        assert done.status_code in (200, 303), done.text
        page = web.get("/console/").text
        meta = re.search(r'<meta name="csrf-token" content="([^"]+)">', page)
        assert meta is not None
        calls: list[dict[str, object]] = []

        def on_board() -> bool:
            calls[:] = web.get("/console/board.json").json()["calls"]
            return bool(calls)

        wait_until(on_board, timeout=20, interval=0.3)
        [call] = calls
        assert call["caller"] == "138****8000" or "8000" in str(call["caller"]), call
        answer = web.post(f"/console/calls/{call['id']}/takeover",
                          headers={"X-CSRF-Token": html.unescape(meta.group(1))})
        assert answer.status_code == 200, answer.text
        result: dict[str, object] = answer.json()
        return result


@pytest.fixture
def run(tmp_path: Path) -> Iterator[Run]:
    require_root("the PBX needs root (mount namespace, chroot)")
    assert (GENERATED / "beep.wav").exists(), "run 'make prompts'"
    started = Run(tmp_path)
    try:
        yield started
    finally:
        if started.proc.poll() is None:
            started.proc.send_signal(signal.SIGKILL)
            started.proc.wait(10)
        if started.proc.stdout is not None:
            started.proc.stdout.close()


def test_make_run_answers_96010_and_hotline_call_leaves_a_ticket(run: Run) -> None:
    try:
        wait_until(lambda: run.saw("| PBX ready in"), timeout=120, interval=0.2)
        wait_until(lambda: run.saw("console.ami [-]: AMI 127.0.0.1:"), timeout=60, interval=0.2)
    except TimeoutError:
        raise AssertionError(run.output()) from None
    assert run.saw("PBX        Asterisk 22, sip:96010@127.0.0.1:")
    assert run.saw("processes  http, relay, agi, spool, pbx")

    # an operator's endpoint, written by `hotline operator add` and loaded over AMI
    added = run.cli("operator", "add", "alice", "--name", "王小丽", "--password-stdin",
                    stdin=PASSWORD + "\n")
    assert "Asterisk reloaded res_pjsip" in added, added
    with Ami("127.0.0.1", int(run.env["HOTLINE_AMI_PORT"]), "hotline", AMI_SECRET) as ami:
        shown = ami.action({"Action": "PJSIPShowEndpoint", "Endpoint": "op-alice"})
    assert shown[0].get("Response") == "Success", shown

    began = time.monotonic()
    out = run.cli("call", "--key", "3", "--say", SAY, timeout=180)
    seconds = time.monotonic() - began
    print(f"hotline call took {seconds:.1f} s:\n{out}")
    assert "IVR: recording the message (complaint)" in out, out
    found = re.search(r"^ticket (\d{10}): complaint, \w+; /api/v1/media/", out, re.M)
    assert found, out
    heard_line = re.search(r"what the resident heard: (\S+)", out)
    assert heard_line, out
    # what the resident heard: the greeting, the beep, the number read back
    assert Path(heard_line.group(1)).stat().st_size > 16000

    settings = Settings(_env_file=None, env="development",
                        data_dir=Path(run.env["HOTLINE_DATA_DIR"]))
    store = open_store(settings)
    try:
        ticket = store.get(found.group(1))
    finally:
        store.db.dispose()
    assert ticket.kind is Kind.complaint
    assert ticket.channel_ref.startswith("local/")
    assert ticket.citizen.phone == "+8613800138000" and ticket.attachments

    # --wait-operator: the resident keeps talking in the IVR, the call is on the board, an
    # operator takes it over there; the line stays open until the resident hangs up (Ctrl-C)
    waiting = subprocess.Popen(hotline("call", "--key", "4", "--say", "小区门口的井盖丢了",
                                       "--wait-operator"), cwd=run.workdir, env=run.env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(waiting.stdout or []), daemon=True)
    reader.start()
    try:
        board = take_over(run, lines)
        assert board["redirected"] is True and re.fullmatch(r"\d{10}", board["ticket"]["number"])
        time.sleep(3)
        assert waiting.poll() is None, "".join(lines)  # the resident is still on the line
        waiting.send_signal(signal.SIGINT)
        assert waiting.wait(20) == 130
    finally:
        if waiting.poll() is None:
            waiting.kill()
            waiting.wait(10)
    reader.join(5)
    if waiting.stdout is not None:
        waiting.stdout.close()
    said = "".join(lines)
    assert "IVR: recording the message (report)" in said and "ended: takeover" in said, said

    # Ctrl-C stops everything, the PBX with it (Asterisk inside its namespace included)
    run.proc.send_signal(signal.SIGINT)
    assert run.proc.wait(90) == 0, run.output()
    assert "PBX stopped" in run.output()
    assert "pbx stopped (exit status 0)" in run.output()
    assert marked_pids(run.env) == set()


def test_a_killed_run_leaves_no_pbx_behind(run: Run) -> None:
    """SIGKILL of the supervisor: its children get SIGTERM from the kernel (parent death
    signal); hotline pbx then stops Asterisk (core stop now) — nothing of the run is left."""
    try:
        wait_until(lambda: run.saw("| PBX ready in"), timeout=120, interval=0.2)
    except TimeoutError:
        raise AssertionError(run.output()) from None
    run.proc.send_signal(signal.SIGKILL)
    run.proc.wait(10)
    try:
        wait_until(lambda: not marked_pids(run.env), timeout=30, interval=0.5)
    except TimeoutError:
        raise AssertionError(f"left behind: {marked_pids(run.env)}") from None
