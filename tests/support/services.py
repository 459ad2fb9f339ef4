"""Start and stop private Redis and PostgreSQL servers in a temporary folder."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import uuid
from pathlib import Path

from hotline.redis_private import answers_ping

PG_BIN_CANDIDATES = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def stop_process(proc: subprocess.Popen[bytes], grace: float = 20.0) -> None:
    """SIGTERM ``proc`` and wait up to ``grace`` seconds, then SIGKILL it; a process that has
    already exited is only reaped."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def wait_until(predicate: object, timeout: float = 20.0, interval: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(interval)
    raise TimeoutError(f"condition not met within {timeout}s")


class RedisServer:
    """A private redis-server on a unix socket (and a TCP port), restartable on the same paths."""

    def __init__(self, root: Path, *, persistent: bool = False,
                 replica_of: int | None = None) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        # persistent: an append-only file fsynced on every write survives a restart, as a
        # production Redis under RQ should.
        self.persistent = persistent
        # replica_of: the TCP port of the primary on 127.0.0.1 this server replicates
        self.replica_of = replica_of
        self.socket = root / "redis.sock"
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    @property
    def tcp_url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        exe = shutil.which("redis-server")
        if exe is None:
            raise RuntimeError("redis-server is not installed: run 'make deps'")
        self.proc = subprocess.Popen(
            [exe, "--port", str(self.port), "--bind", "127.0.0.1", "--unixsocket",
             str(self.socket), "--unixsocketperm", "700", "--save", "",
             "--appendonly", "yes" if self.persistent else "no", "--appendfsync", "always",
             "--dir", str(self.root), "--logfile", str(self.root / "redis.log"),
             *(["--replicaof", "127.0.0.1", str(self.replica_of)] if self.replica_of else [])],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        wait_until(self._answers)

    def _answers(self) -> bool:
        return answers_ping(self.socket)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)
            self.proc = None


class SentinelGroup:
    """A private Redis under Sentinel: one primary, one replica and three Sentinels (quorum 2)
    monitoring them as :attr:`service`, all on 127.0.0.1, failing over within seconds."""

    service = "hotline"
    down_after_ms = 1000

    def __init__(self, root: Path) -> None:
        self.root = root
        self.primary = RedisServer(root / "primary")
        self.replica = RedisServer(root / "replica", replica_of=self.primary.port)
        self.sentinel_ports = [free_port() for _ in range(3)]
        self.sentinels: list[subprocess.Popen[bytes]] = []

    @property
    def addresses(self) -> str:
        """The value of ``HOTLINE_REDIS_SENTINELS``."""
        return ",".join(f"127.0.0.1:{port}" for port in self.sentinel_ports)

    def servers(self) -> list[RedisServer]:
        return [self.primary, self.replica]

    def start(self) -> None:
        self.primary.start()
        self.replica.start()
        exe = shutil.which("redis-server")
        assert exe is not None
        for n, port in enumerate(self.sentinel_ports):
            folder = self.root / f"sentinel{n}"
            folder.mkdir(parents=True, exist_ok=True)
            conf = folder / "sentinel.conf"  # Sentinel rewrites it: one file each
            conf.write_text(
                f"port {port}\nbind 127.0.0.1\ndir {folder}\n"
                f"logfile {folder / 'sentinel.log'}\n"
                f"sentinel monitor {self.service} 127.0.0.1 {self.primary.port} 2\n"
                f"sentinel down-after-milliseconds {self.service} {self.down_after_ms}\n"
                f"sentinel failover-timeout {self.service} 10000\n"
                f"sentinel parallel-syncs {self.service} 1\n")
            self.sentinels.append(subprocess.Popen(
                [exe, str(conf), "--sentinel"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        wait_until(self.settled, timeout=60, interval=0.5)

    def ask(self, n: int, *command: str) -> object:
        import redis

        with redis.Redis(host="127.0.0.1", port=self.sentinel_ports[n], socket_timeout=2,
                         decode_responses=True) as client:
            return client.execute_command(*command)

    def primary_port(self, n: int = 0) -> int:
        """The primary's port as Sentinel ``n`` sees it."""
        answer = self.ask(n, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", self.service)
        assert isinstance(answer, list)
        return int(answer[1])

    def server_on(self, port: int) -> RedisServer:
        return next(s for s in self.servers() if s.port == port)

    def settled(self) -> bool:
        """Every Sentinel agrees on the primary, sees a healthy replica and the other two
        Sentinels (what a failover needs)."""
        import redis

        try:
            ports = {self.primary_port(n) for n in range(3)}
            if len(ports) != 1:
                return False
            for n in range(3):
                replicas = self.ask(n, "SENTINEL", "REPLICAS", self.service)
                others = self.ask(n, "SENTINEL", "SENTINELS", self.service)
                assert isinstance(replicas, list) and isinstance(others, list)
                healthy = [r for r in replicas
                           if "down" not in str(r.get("flags", ""))
                           and "disconnected" not in str(r.get("flags", ""))
                           and r.get("master-link-status") == "ok"]
                if not healthy or len(others) < 2:
                    return False
        except (redis.RedisError, OSError):
            return False
        return True

    def stop(self) -> None:
        for proc in self.sentinels:
            stop_process(proc, grace=10)
        self.sentinels = []
        for server in self.servers():
            if server.proc is not None and server.proc.poll() is None:
                server.stop()
            server.proc = None


class PostgresServer:
    """A private PostgreSQL cluster (initdb) owned by the ``postgres`` system user."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.data = root / "data"
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.bin = PG_BIN_CANDIDATES[0] if PG_BIN_CANDIDATES else None

    def _run_as(self) -> list[str]:
        return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    def start(self) -> None:
        if self.bin is None:
            raise RuntimeError("PostgreSQL is not installed: run 'make deps'")
        self.root.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
        subprocess.run(
            [*self._run_as(), str(self.bin / "initdb"), "-D", str(self.data), "-A", "trust",
             "-U", "postgres", "--no-sync", "-E", "UTF8", "--locale=C"],
            check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        with open(self.root / "postgres.log", "wb") as log:
            self.proc = subprocess.Popen(
                [*self._run_as(), str(self.bin / "postgres"), "-D", str(self.data),
                 "-p", str(self.port), "-h", "127.0.0.1", "-k", str(self.root),
                 "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
                 "-c", "max_connections=200"],
                stdout=subprocess.DEVNULL, stderr=log,
            )
        wait_until(self._ready, timeout=30)

    def _ready(self) -> bool:
        assert self.bin is not None
        return subprocess.run(
            [str(self.bin / "pg_isready"), "-h", "127.0.0.1", "-p", str(self.port), "-q"],
            check=False,
        ).returncode == 0

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, template: str | None = None) -> str:
        """A new database, empty or a copy of the database ``template``."""
        import psycopg

        name = "t_" + uuid.uuid4().hex[:12]
        copy = f' TEMPLATE "{template}"' if template else ""
        with psycopg.connect(f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres",
                             autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"{copy}')
        return self.url(name)

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc)
            self.proc = None


def require_root(why: str = "the Asterisk chroot needs root (mount namespace, chroot)") -> None:
    """Skip a test that needs root on a developer's machine; fail it in CI (CI=true runs as
    root, so a skip there would hide a missing test)."""
    import pytest

    if os.geteuid() != 0:
        if os.environ.get("CI"):
            pytest.fail(f"{why}; CI must run as root")
        pytest.skip(why)
