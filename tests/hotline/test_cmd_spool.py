"""`hotline spool ingest`: the spool under HOTLINE_DATA_DIR becomes tickets in the store."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from hotline.cli import main
from hotline.services import make_store
from hotline.settings import load_settings
from tests.ivr.test_spool import STEM, put
from tests.support.services import wait_until


def test_spool_ingest_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                           capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)  # no stray .env
    for name in ("HOTLINE_DATABASE_URL", "HOTLINE_SPOOL_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOTLINE_DATA_DIR", str(tmp_path / "var"))
    put(tmp_path / "var" / "spool")
    assert main(["spool", "ingest"]) == 0
    assert "ingested 1 spooled call(s)" in capsys.readouterr().out
    assert main(["spool", "ingest"]) == 0
    assert "ingested 0 spooled call(s)" in capsys.readouterr().out
    store = make_store(load_settings())
    try:
        ticket = store.find_by_ref("voice", "1795705400.1")
        assert ticket is not None and len(ticket.attachments) == 1
    finally:
        store.db.dispose()
    assert (tmp_path / "var" / "spool" / "done" / f"{STEM}.wav").exists()


def test_spool_ingest_watch_stops_on_sigterm(tmp_path: Path) -> None:
    env = {**os.environ, "HOTLINE_DATA_DIR": str(tmp_path / "var")}
    for name in ("HOTLINE_DATABASE_URL", "HOTLINE_SPOOL_DIR"):
        env.pop(name, None)
    proc = subprocess.Popen([sys.executable, "-m", "hotline", "spool", "ingest", "--watch",
                             "--interval", "0.1"], cwd=tmp_path, env={
                                 **env, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    done = tmp_path / "var" / "spool" / "done" / f"{STEM}.txt"
    try:
        put(tmp_path / "var" / "spool")
        with contextlib.suppress(TimeoutError):
            wait_until(done.exists, timeout=60)
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
    assert done.exists(), out.decode()
    assert proc.returncode == 0, out.decode()
