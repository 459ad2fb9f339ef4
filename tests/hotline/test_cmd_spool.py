"""``hotline spool ingest|retry|list``: the spool under HOTLINE_DATA_DIR becomes tickets in the
store; entries set aside in ``bad/`` go back for another try; the listing says what waits."""

from __future__ import annotations

import contextlib
import io
import math
import signal
import struct
import subprocess
import wave
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from hotline.cli import main
from hotline.context import CliContext, settings_or_error
from ivr.spool.format import scan, write_entry
from tests.hotline.gateway import base_env, hotline
from tests.support.services import wait_until
from tests.support.settings_env import hotline_env

UNIQUE_ID = "1795705400.1"
AT = datetime(2026, 11, 26, 15, 3, 20, tzinfo=UTC)


def tone(seconds: float = 1.5) -> bytes:
    rate = 8000
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(b"".join(
            struct.pack("<h", int(8000 * math.sin(2 * math.pi * 440 * i / rate)))
            for i in range(int(rate * seconds))))
    return buffer.getvalue()


def spool_call(spool_dir: Path, unique_id: str = UNIQUE_ID) -> str:
    """A complete spooled call, as the dialplan's fallback leaves it; its stem."""
    sidecar = write_entry(spool_dir, tone(), {
        "unique_id": unique_id, "caller": "13800138000",
        "presentation": "allowed_not_screened", "reason": "gateway-down",
        "started": "1795705400", "ended": "1795705439"}, AT)
    return sidecar.stem


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No stray .env and no HOTLINE_* from outside: data in tmp_path/var."""
    hotline_env(monkeypatch, tmp_path)
    return tmp_path


@pytest.fixture
def spool(workdir: Path) -> Path:
    return workdir / "var" / "spool"


@pytest.fixture
def ctx(workdir: Path) -> Iterator[CliContext]:
    context = CliContext(settings_or_error())
    yield context
    context.close()


def test_spool_ingest_once(spool: Path, ctx: CliContext,
                           capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["migrate"]) == 0
    stem = spool_call(spool)
    assert main(["spool", "ingest"]) == 0
    assert "ingested 1 spooled or left-behind call(s)" in capsys.readouterr().out
    assert main(["spool", "ingest"]) == 0
    assert "ingested 0 spooled or left-behind call(s)" in capsys.readouterr().out
    ticket = ctx.store.find_by_ref("voice", UNIQUE_ID)
    assert ticket is not None and len(ticket.attachments) == 1
    assert ticket.citizen.phone == "+8613800138000"
    assert (spool / "done" / f"{stem}.wav").exists()


def test_spool_ingest_on_an_unmigrated_database_says_to_migrate(
    spool: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stem = spool_call(spool)
    assert main(["spool", "ingest"]) == 2
    err = capsys.readouterr().err
    assert "hotline migrate' first" in err and "Traceback" not in err
    assert [e.stem for e in scan(spool)] == [stem]  # the call waits in the spool


def test_spool_retry_moves_bad_entries_back_and_the_next_pass_takes_them(
    spool: Path, ctx: CliContext, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["migrate"]) == 0
    stem = spool_call(spool / "bad")  # e.g. set aside during a long outage
    (spool / f".{stem}.attempts").write_text('{"count": 5, "next_at": 9e12}')
    assert main(["spool", "ingest"]) == 0
    assert "ingested 0" in capsys.readouterr().out  # bad/ is not ingested by itself

    assert main(["spool", "retry"]) == 0
    assert "moved 1 entry from" in capsys.readouterr().out
    assert [e.stem for e in scan(spool)] == [stem] and scan(spool / "bad") == []
    assert not (spool / f".{stem}.attempts").exists()  # a fresh start, not five failures

    assert main(["spool", "ingest"]) == 0
    assert "ingested 1" in capsys.readouterr().out
    assert ctx.store.find_by_ref("voice", UNIQUE_ID) is not None

    assert main(["spool", "retry"]) == 0
    assert "moved 0 entries" in capsys.readouterr().out


def test_spool_list_says_what_waits_and_what_is_set_aside(
    spool: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    waiting = spool_call(spool, "1795705400.2")
    bad = spool_call(spool / "bad", "1795705400.3")
    assert main(["spool", "list"]) == 0  # needs no database
    out = capsys.readouterr().out.splitlines()
    assert out[-1] == "1 waiting, 1 in bad/"
    assert any(line.startswith(waiting) and "gateway-down" in line and "waiting" in line
               for line in out), out
    assert any(line.startswith(f"{bad}  in bad/ (") and line.endswith("hotline spool retry)")
               for line in out), out


def test_spool_ingest_watch_stops_on_sigterm(tmp_path: Path) -> None:
    env = base_env(tmp_path)
    migrate = subprocess.run(hotline("migrate"), env=env, cwd=tmp_path, capture_output=True,
                             text=True, timeout=120, check=False)
    assert migrate.returncode == 0, migrate.stderr
    proc = subprocess.Popen(hotline("spool", "ingest", "--watch", "--interval", "0.1"),
                            cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    spool = tmp_path / "var" / "spool"
    stem = spool_call(spool)
    done = spool / "done" / f"{stem}.txt"
    try:
        with contextlib.suppress(TimeoutError):
            wait_until(done.exists, timeout=60)
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
    assert done.exists(), out.decode()
    assert proc.returncode == 0, out.decode()
    assert "Traceback" not in out.decode()


def test_spool_watch_waits_out_an_unmigrated_database_without_tracebacks(
    tmp_path: Path,
) -> None:
    """The watcher keeps the calls while the database cannot take them (one warning line a
    pass, no traceback) and takes them once it can."""
    env = base_env(tmp_path)
    spool = tmp_path / "var" / "spool"
    stem = spool_call(spool)
    log = tmp_path / "watch.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(hotline("spool", "ingest", "--watch", "--interval", "0.2"),
                                cwd=tmp_path, env=env, stdout=out, stderr=subprocess.STDOUT)
    done = spool / "done" / f"{stem}.txt"
    try:
        wait_until(lambda: "run 'hotline migrate' first; retrying" in log.read_text(),
                   timeout=60)
        assert [e.stem for e in scan(spool)] == [stem]  # kept, not set aside
        migrate = subprocess.run(hotline("migrate"), env=env, cwd=tmp_path,
                                 capture_output=True, text=True, timeout=120, check=False)
        assert migrate.returncode == 0, migrate.stderr
        with contextlib.suppress(TimeoutError):
            wait_until(done.exists, timeout=60)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    text = log.read_text()
    assert done.exists(), text
    assert proc.returncode == 0, text
    assert "Traceback" not in text and " ERROR " not in text, text
