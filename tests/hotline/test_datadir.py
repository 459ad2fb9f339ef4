"""The data folder is private: 0700, every file in it 0600, under any umask; a folder left
readable by an older version is fixed at start with a log line."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

from tests.hotline.gateway import base_env, hotline


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def run(tmp_path: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    def umask_022() -> None:
        os.umask(0o022)

    return subprocess.run(hotline(*args), env=env, cwd=tmp_path, capture_output=True, text=True,
                          timeout=120, check=False, preexec_fn=umask_022)


def test_a_new_data_folder_and_database_are_private(tmp_path: Path) -> None:
    env = base_env(tmp_path)
    done = run(tmp_path, env, "migrate")
    assert done.returncode == 0, done.stderr
    data = Path(env["HOTLINE_DATA_DIR"])
    assert mode(data) == 0o700
    files = [p for p in data.rglob("*") if p.is_file()]
    assert data / "hotline.sqlite3" in files
    assert {p.name: oct(mode(p)) for p in files} == {p.name: "0o600" for p in files}
    assert all(mode(p) == 0o700 for p in data.rglob("*") if p.is_dir())


def test_a_long_running_command_makes_its_metrics_folder_private_too(tmp_path: Path) -> None:
    """``serve`` prepares the metrics folder (``<data dir>/metrics``) before anything else: it
    was made with the umask's mode, parents included, so the next command had to fix it."""
    env = base_env(tmp_path)
    done = run(tmp_path, env, "serve")
    assert done.returncode == 2  # the database is not migrated: one line, nothing fixed
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    data = Path(env["HOTLINE_DATA_DIR"])
    assert mode(data) == 0o700 and mode(data / "metrics") == 0o700


def test_an_existing_readable_folder_is_fixed_at_start_with_a_log_line(tmp_path: Path) -> None:
    env = base_env(tmp_path)
    assert run(tmp_path, env, "migrate").returncode == 0
    data = Path(env["HOTLINE_DATA_DIR"])
    (data / "spool").mkdir(mode=0o755)
    (data / "spool" / "old-entry.json").write_text("{}")
    for path in (data, data / "spool"):
        path.chmod(0o755)
    for path in (data / "hotline.sqlite3", data / "spool" / "old-entry.json"):
        path.chmod(0o644)
    done = run(tmp_path, env, "migrate")
    assert done.returncode == 0, done.stderr
    assert mode(data) == 0o700 and mode(data / "spool") == 0o700
    assert mode(data / "hotline.sqlite3") == 0o600
    assert mode(data / "spool" / "old-entry.json") == 0o600
    lines = [line for line in done.stderr.splitlines() if "readable by others" in line]
    assert len(lines) == 1 and "4 entries" in lines[0], done.stderr
    again = run(tmp_path, env, "migrate")
    assert "readable by others" not in again.stderr  # nothing left to fix, nothing said
