"""Run ``hotline run`` as a real subprocess in a temporary working directory, and find every
process it started (by a marker in their environment, which all children inherit)."""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.support.services import free_port, wait_until

REPO = Path(__file__).resolve().parents[2]


def base_env(workdir: Path) -> dict[str, str]:
    """The environment of a test gateway: no HOTLINE_* from outside, free ports, data in tmp."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")}
    env.update(
        HOTLINE_ENV="development",
        HOTLINE_DATA_DIR=str(workdir / "var"),
        HOTLINE_HTTP_PORT=str(free_port()),
        HOTLINE_AGI_PORT=str(free_port()),
        HOTLINE_AUDIOSOCKET_PORT=str(free_port()),
        PYTHONPATH=str(REPO),
    )
    return env


def hotline(*args: str) -> list[str]:
    return [sys.executable, "-m", "hotline", *args]


def migrate(workdir: Path, env: dict[str, str]) -> None:
    """``hotline migrate``: what a single command (serve, relay, worker, agi, ...) needs
    first; ``hotline run`` and ``dev-setup`` migrate by themselves."""
    done = subprocess.run(hotline("migrate"), env=env, cwd=workdir, capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr


def marked_pids(env: dict[str, str]) -> set[int]:
    """Live processes whose environment holds this gateway's HOTLINE_DATA_DIR."""
    marker = f"HOTLINE_DATA_DIR={env['HOTLINE_DATA_DIR']}".encode()
    found: set[int] = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        if marker in environ.split(b"\0"):
            found.add(int(entry.name))
    return found


def children_of(pid: int) -> dict[int, str]:
    """Direct children of ``pid`` with their command lines."""
    found: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if int(stat[stat.rindex(")") + 2 :].split()[1]) == pid and cmdline:
            found[int(entry.name)] = cmdline
    return found


@dataclass
class Gateway:
    workdir: Path
    env: dict[str, str]
    proc: subprocess.Popen[bytes]
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.env['HOTLINE_HTTP_PORT']}"

    @property
    def redis_socket(self) -> Path:
        return Path(self.env["HOTLINE_DATA_DIR"]) / "redis" / "redis.sock"

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def healthy(self) -> bool:
        if self.proc.poll() is not None:
            raise AssertionError(f"hotline run exited early:\n{self.output()}")
        try:
            return httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def child_named(self, word: str) -> int:
        pids = [p for p, cmd in children_of(self.proc.pid).items() if word in cmd.split()]
        assert len(pids) == 1, (word, children_of(self.proc.pid))
        return pids[0]

    def api_key(self, scopes: str = "intake,read") -> str:
        """A new key (a name of its own: two active keys may not share one)."""
        out = self.workdir / "key.txt"
        done = subprocess.run(
            hotline("apikey", "create", "--scope", scopes, "--name",
                    f"test-{secrets.token_hex(4)}", "--out", str(out)),
            env=self.env, cwd=self.workdir, capture_output=True, text=True, check=False,
        )
        assert done.returncode == 0, done.stderr
        return out.read_text().strip()

    def stop(self) -> None:
        """Best effort for teardown: stop the supervisor, then anything it left behind."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for pid in marked_pids(self.env):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def start_gateway(workdir: Path, env: dict[str, str] | None = None) -> Gateway:
    env = env or base_env(workdir)
    log = workdir / "run.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            hotline("run", "--grace", "20"), env=env, cwd=workdir,
            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
        )
    gateway = Gateway(workdir, env, proc, log)
    try:
        wait_until(gateway.healthy, timeout=90, interval=0.2)
    except BaseException:
        gateway.stop()
        raise
    return gateway
