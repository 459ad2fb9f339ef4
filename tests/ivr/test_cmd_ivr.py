"""`hotline prompts build` and `hotline agi` start-up (real subprocess, real socket)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.ivr.fake_asterisk import Caller, FakeAsterisk
from tests.support.services import free_port, wait_until
from tickets.store import Store


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {**os.environ, "HOTLINE_DATA_DIR": str(tmp_path / "data"), **extra}


def _migrated(env: dict[str, str]) -> dict[str, str]:
    done = subprocess.run([sys.executable, "-m", "hotline", "migrate"], env=env,
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    return env


def _up(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        return True
    except OSError:
        return False


def test_prompts_build_cli(tmp_path: Path) -> None:
    out = tmp_path / "prompts"
    done = subprocess.run([sys.executable, "-m", "hotline", "prompts", "build", "--out",
                           str(out)], env=_env(tmp_path), capture_output=True, text=True,
                          check=False)
    assert done.returncode == 0, done.stderr
    assert "built" in done.stdout
    assert (out / "digits" / "9.wav").is_file() and (out / "greeting.wav").is_file()


def test_agi_generates_missing_prompts_and_serves_a_call(tmp_path: Path) -> None:
    import asyncio

    port = free_port()
    prompts = tmp_path / "prompts"
    env = _migrated(_env(tmp_path, HOTLINE_AGI_PORT=str(port),
                         HOTLINE_PROMPTS_DIR=str(prompts),
                         HOTLINE_RECORDINGS_DIR=str(tmp_path / "rec")))
    with open(tmp_path / "agi.log", "wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "hotline", "agi", "--transcribe", "batch"],
                                env=env,
                                stdout=log, stderr=subprocess.STDOUT)
    try:
        def listening() -> bool:
            if proc.poll() is not None:
                return True
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                return True
            except OSError:
                return False

        wait_until(listening, timeout=60)
        assert proc.poll() is None, (tmp_path / "agi.log").read_text()
        assert (prompts / "menu.wav").is_file()  # generated at start-up
        fake = FakeAsterisk(port, Caller(keys=[("greeting", "0")]), prompts_root=prompts)
        asyncio.run(asyncio.wait_for(fake.call(), 30))
        assert fake.variables["IVR_ACTION"] == "operator"
        assert len(fake.variables["TICKET_ID"]) == 32
    finally:
        proc.terminate()
        proc.wait(30)
    assert proc.returncode == 0


def test_agi_with_live_transcription_listens_for_audiosocket(tmp_path: Path) -> None:
    import asyncio

    from ivr.prompts.build import build_prompts
    from ivr.prompts.catalog import GENERATED

    build_prompts(GENERATED)
    port, audio_port = free_port(), free_port()
    # Asterisk is told to connect to HOTLINE_AUDIOSOCKET_HOST (another loopback address here),
    # not to the address the server listens on
    env = _migrated(_env(tmp_path, HOTLINE_AGI_PORT=str(port),
                         HOTLINE_AUDIOSOCKET_PORT=str(audio_port),
                         HOTLINE_PROMPTS_DIR=str(GENERATED),
                         HOTLINE_AUDIOSOCKET_HOST="127.0.0.2"))
    with open(tmp_path / "agi.log", "wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "hotline", "agi", "--transcribe",
                                 "live"], env=env, stdout=log, stderr=subprocess.STDOUT)

    up = _up
    execs: list[str] = []

    def no_audiosocket(line: str) -> list[str] | None:
        if line.startswith("EXEC AudioSocket"):
            execs.append(line)
            return ["200 result=-2"]  # app_audiosocket not loaded: the flow falls back
        return None

    try:
        wait_until(lambda: proc.poll() is not None or (up(port) and up(audio_port)),
                   timeout=90)
        assert proc.poll() is None, (tmp_path / "agi.log").read_text()
        fake = FakeAsterisk(port, Caller(keys=[("greeting", "1")]), prompts_root=GENERATED)
        fake.on_command = no_audiosocket
        asyncio.run(asyncio.wait_for(fake.call(), 60))
    finally:
        proc.terminate()
        proc.wait(30)
    assert proc.returncode == 0, (tmp_path / "agi.log").read_text()
    assert "live transcriber on 127.0.0.1" in (tmp_path / "agi.log").read_text()
    [line] = execs
    assert line.endswith(f',127.0.0.2:{audio_port}"')
    assert fake.variables == {"IVR_ACTION": "done"}  # recorded with RECORD FILE instead


@pytest.mark.parametrize(("agi_host", "audiosocket_host", "expected"), [
    ("127.0.0.1", None, "127.0.0.1"),
    ("10.1.2.3", None, "10.1.2.3"),
    ("0.0.0.0", None, "127.0.0.1"),  # a wildcard is no address to connect to
    ("::", None, "127.0.0.1"),
    ("0.0.0.0", "gateway.internal", "gateway.internal"),
    ("127.0.0.1", "192.0.2.7", "192.0.2.7"),
])
def test_audiosocket_connect_host(agi_host: str, audiosocket_host: str | None,
                                  expected: str) -> None:
    from hotline.settings import load_settings

    settings = load_settings(agi_host=agi_host, audiosocket_host=audiosocket_host)
    assert settings.audiosocket_connect_host() == expected


def test_the_flow_spools_into_the_configured_spool(sqlite_store: Store, tmp_path: Path) -> None:
    from hotline.agi import SCRIPT, make_agi_server
    from hotline.settings import load_settings
    from ivr.flow import CallFlow
    from ivr.prompts.build import build_prompts

    prompts = tmp_path / "prompts"
    build_prompts(prompts)
    settings = load_settings(data_dir=tmp_path / "data", prompts_dir=prompts,
                             spool_dir=tmp_path / "spool")
    server, flow = make_agi_server(settings, sqlite_store)
    assert server.routes[SCRIPT] is flow and isinstance(flow, CallFlow)
    assert flow.config.spool_dir == settings.spool_path == (tmp_path / "spool").resolve()


def test_agi_refuses_a_database_that_is_not_migrated(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "hotline", "agi", "--transcribe", "batch"],
                          env=_env(tmp_path), capture_output=True, text=True, check=False,
                          timeout=60)
    assert done.returncode == 2
    assert "hotline migrate' first" in done.stderr and "Traceback" not in done.stderr


def test_sigterm_lets_a_call_in_progress_finish_and_refuses_new_ones(tmp_path: Path) -> None:
    """A restart must not lose a call: `hotline agi` stops accepting at once (Asterisk's new
    calls meet AGISTATUS=FAILURE and the dialplan's fallback) and finishes the running call."""
    import asyncio
    import signal

    from ivr.prompts.build import build_prompts
    from ivr.prompts.catalog import GENERATED
    from tickets.db import Database

    build_prompts(GENERATED)
    port = free_port()
    env = _migrated(_env(tmp_path, HOTLINE_AGI_PORT=str(port),
                         HOTLINE_PROMPTS_DIR=str(GENERATED),
                         HOTLINE_RECORDINGS_DIR=str(tmp_path / "rec")))
    with open(tmp_path / "agi.log", "wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "hotline", "agi", "--transcribe",
                                 "batch"], env=env, stdout=log, stderr=subprocess.STDOUT)
    refused: list[bool] = []

    def stop_mid_call(line: str) -> list[str] | None:
        if "record_instructions" in line and not refused:
            proc.send_signal(signal.SIGTERM)
            wait_until(lambda: not _up(port), timeout=10)  # no new calls from now on
            refused.append(True)
        return None

    try:
        wait_until(lambda: proc.poll() is not None or _up(port), timeout=60)
        assert proc.poll() is None, (tmp_path / "agi.log").read_text()
        fake = FakeAsterisk(port, Caller(keys=[("greeting", "3")]), prompts_root=GENERATED)
        fake.on_command = stop_mid_call
        asyncio.run(asyncio.wait_for(fake.call(), 60))
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert refused == [True] and proc.returncode == 0, (tmp_path / "agi.log").read_text()
    assert fake.variables == {"IVR_ACTION": "done"}  # the number was read back
    db = Database(f"sqlite:///{tmp_path / 'data' / 'hotline.sqlite3'}")
    try:
        [ticket] = Store(db).feed(0, 10)
        assert ticket.kind.value == "complaint" and len(ticket.attachments) == 1
    finally:
        db.dispose()


def test_agi_makes_tickets_of_messages_left_behind_at_start_up(tmp_path: Path) -> None:
    """A previous run was killed mid-call: Asterisk's recording and the gateway's sidecar are
    in the recordings folder. The next start turns them into the call's ticket."""
    from datetime import UTC, datetime

    from ivr import recordings
    from ivr.prompts.build import build_prompts
    from ivr.prompts.catalog import GENERATED
    from ivr.tickets import Call
    from tests.ivr.fake_asterisk import tone_pcm, write_wav
    from tickets.db import Database
    from tickets.model import Kind

    build_prompts(GENERATED)
    rec = tmp_path / "rec"
    files = recordings.new_files(rec, "pbx1/1795705400.9")
    call = Call(ref="pbx1/1795705400.9", phone="+8613800138000",
                received_at=datetime(2026, 11, 26, 8, tzinfo=UTC))
    recordings.write_meta(files, recordings.Meta(call, Kind.report))
    write_wav(files.wav, bytes(8000) + tone_pcm(2.0))
    port = free_port()
    env = _migrated(_env(tmp_path, HOTLINE_AGI_PORT=str(port),
                         HOTLINE_PROMPTS_DIR=str(GENERATED), HOTLINE_RECORDINGS_DIR=str(rec)))
    with open(tmp_path / "agi.log", "wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "hotline", "agi", "--transcribe",
                                 "batch"], env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_until(lambda: proc.poll() is not None or _up(port), timeout=60)
    finally:
        proc.terminate()
        proc.wait(30)
    db = Database(f"sqlite:///{tmp_path / 'data' / 'hotline.sqlite3'}")
    try:
        ticket = Store(db).find_by_ref("voice", "pbx1/1795705400.9")
    finally:
        db.dispose()
    assert ticket is not None, (tmp_path / "agi.log").read_text()
    assert ticket.kind is Kind.report and ticket.citizen.phone == "+8613800138000"
    assert len(ticket.attachments) == 1 and ticket.text
    assert list(rec.iterdir()) == []
