"""The ``hotline`` command as a user meets it: clear messages and exit status 2 on bad input."""

from __future__ import annotations

import fcntl
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.hotline.gateway import base_env, hotline
from tests.support.services import free_port


def run(args: list[str], tmp_path: Path, **extra: str) -> subprocess.CompletedProcess[str]:
    env = base_env(tmp_path)
    env.update(extra)
    return subprocess.run(hotline(*args), env=env, cwd=tmp_path, capture_output=True,
                          text=True, timeout=120, check=False)


SCRIPT = Path(sys.executable).parent / "hotline"


@pytest.mark.parametrize("entry", ["console-script", "python-m"])
def test_apikey_with_an_unknown_scope_names_the_valid_ones(tmp_path: Path, entry: str) -> None:
    if entry == "console-script":
        if not SCRIPT.exists():
            pytest.skip("the hotline console script is not installed beside this Python")
        result = subprocess.run(
            [str(SCRIPT), "apikey", "create", "--scope", "bogus"], env=base_env(tmp_path),
            cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False,
        )
    else:
        result = run(["apikey", "create", "--scope", "bogus"], tmp_path)
    assert result.returncode == 2, result.stderr
    assert "bogus" in result.stderr
    for scope in ("intake", "read", "events"):
        assert scope in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


def test_apikey_create_writes_a_private_token_file(tmp_path: Path) -> None:
    out = tmp_path / "keys" / "k"
    result = run(["apikey", "create", "--scope", "intake,read", "--out", str(out)], tmp_path)
    assert result.returncode == 0, result.stderr
    assert out.read_text().startswith("hk_")
    assert out.stat().st_mode & 0o777 == 0o600


def test_run_refuses_a_busy_http_port_before_starting_anything(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = run(["run"], tmp_path, HOTLINE_HTTP_PORT=str(port))
    assert result.returncode == 2
    assert f"127.0.0.1:{port} is already in use" in result.stderr
    assert "HOTLINE_HTTP_PORT" in result.stderr
    assert not (tmp_path / "var" / "redis").exists()  # no Redis was started


def test_run_refuses_placeholder_secrets_in_production(tmp_path: Path) -> None:
    result = run(["run"], tmp_path, HOTLINE_ENV="production", HOTLINE_WECHAT_TOKEN="changeme")
    assert result.returncode == 2
    assert "HOTLINE_WECHAT_TOKEN is a placeholder" in result.stderr
    assert "Traceback" not in result.stderr


def test_help_lists_run_and_dev_setup(tmp_path: Path) -> None:
    result = run(["--help"], tmp_path)
    assert result.returncode == 0
    assert "run" in result.stdout and "dev-setup" in result.stdout


def test_run_refuses_a_data_dir_another_supervisor_holds(tmp_path: Path) -> None:
    data = tmp_path / "var"
    data.mkdir()
    with (data / "run.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        result = run(["run"], tmp_path)
    assert result.returncode == 2
    assert f"another 'hotline run' is using {data}" in result.stderr
    assert not (data / "redis").exists()


def test_an_unreachable_database_is_a_clear_error(tmp_path: Path) -> None:
    result = run(["spool", "ingest"], tmp_path,
                 HOTLINE_DATABASE_URL=f"postgresql://postgres@127.0.0.1:{free_port()}/hotline")
    assert result.returncode == 2
    assert "the database does not answer" in result.stderr
    assert "HOTLINE_DATABASE_URL" in result.stderr and "Traceback" not in result.stderr
