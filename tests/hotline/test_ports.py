"""A taken port is one line naming the setting, for ``serve``, ``agi`` and ``run`` started as
real processes — and nothing hangs: ``serve`` with the console on exits by itself, and a
running ``serve`` stops on SIGTERM."""

from __future__ import annotations

import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from hotline.errors import CliError
from hotline.ports import bind, ensure_free
from tests.hotline.gateway import base_env, hotline, migrate
from tests.support.services import free_port, wait_until

CONSOLE = {"HOTLINE_CONSOLE_SECRET": "c" * 40, "HOTLINE_AMI_USERNAME": "hotline",
           "HOTLINE_AMI_SECRET": "a" * 32}


@pytest.fixture
def taken() -> Iterator[int]:
    """A port another process-like listener holds (listening, as a running server does)."""
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        yield busy.getsockname()[1]


def test_bind_names_the_setting_when_the_port_is_taken(taken: int) -> None:
    with pytest.raises(CliError) as caught:
        bind("127.0.0.1", taken, "HOTLINE_HTTP_PORT")
    assert str(caught.value) == (
        f"127.0.0.1:{taken} is already in use (another 'hotline run' or 'serve'?); stop it or "
        "choose another port with HOTLINE_HTTP_PORT")
    with socket.socket(socket.AF_INET6) as six:
        six.bind(("::1", 0))
        six.listen()
        with pytest.raises(CliError, match=r"\[::1\]:\d+ is already in use"):
            ensure_free("::1", six.getsockname()[1], "HOTLINE_AGI_PORT")


def test_bind_gives_a_listening_socket_on_a_free_port() -> None:
    port = free_port()
    with bind("127.0.0.1", port, "HOTLINE_HTTP_PORT") as sock:
        assert sock.getsockname() == ("127.0.0.1", port)
        socket.create_connection(("127.0.0.1", port), timeout=2).close()  # it listens
    ensure_free("127.0.0.1", port, "HOTLINE_HTTP_PORT")  # and is free again once closed


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


@pytest.mark.parametrize(("command", "setting", "extra"), [
    (["serve"], "HOTLINE_HTTP_PORT", CONSOLE),
    (["agi", "--transcribe", "batch"], "HOTLINE_AGI_PORT", {}),
    (["agi", "--transcribe", "live"], "HOTLINE_AUDIOSOCKET_PORT", {}),
    (["run"], "HOTLINE_AGI_PORT", CONSOLE),
])
def test_a_taken_port_is_one_line_and_a_quick_exit(
    tmp_path: Path, taken: int, command: list[str], setting: str, extra: dict[str, str],
) -> None:
    env = {**base_env(tmp_path), **extra, setting: str(taken)}
    if command[0] != "run":
        migrate(tmp_path, env)
    started = time.monotonic()
    done = subprocess.run(hotline(*command), env=env, cwd=tmp_path, capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode == 2, done.stderr
    line = one_line(done.stderr)
    assert line.startswith(f"hotline: 127.0.0.1:{taken} is already in use (another '")
    assert line.endswith(f"hotline run' or 'serve'?); stop it or choose another port with "
                         f"{setting}")
    assert time.monotonic() - started < 30
    assert done.stdout == ""


def test_serve_port_option_is_named_when_it_is_the_one_taken(tmp_path: Path,
                                                             taken: int) -> None:
    env = base_env(tmp_path)
    migrate(tmp_path, env)
    done = subprocess.run(hotline("serve", "--port", str(taken)), env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2
    assert one_line(done.stderr).endswith("choose another port with --port")


def test_serve_with_the_console_on_stops_on_sigterm(tmp_path: Path) -> None:
    env = {**base_env(tmp_path), **CONSOLE}
    migrate(tmp_path, env)
    url = f"http://127.0.0.1:{env['HOTLINE_HTTP_PORT']}/healthz"
    proc = subprocess.Popen(hotline("serve"), env=env, cwd=tmp_path, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    try:
        def up() -> bool:
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            try:
                return httpx.get(url, timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        wait_until(up, timeout=60, interval=0.2)
        proc.send_signal(signal.SIGTERM)
        # uvicorn shuts down, then re-raises the signal it caught (status 0 on older ones)
        assert proc.wait(timeout=30) in (0, -signal.SIGTERM)
        output = proc.stdout.read().decode() if proc.stdout else ""
        assert "Application shutdown complete" in output, output
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stdout:
            proc.stdout.close()
