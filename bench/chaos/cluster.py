"""The gateway in its production shape, as processes the harness can kill and restart.

PostgreSQL and Redis (append-only file, fsync on every write) are private instances
(tests/support/services.py); ``hotline serve`` twice (two ports), ``hotline worker`` twice,
``hotline relay`` and ``hotline spool ingest --watch`` share them and one data directory (the
spool and media volume two gateway machines would share). PostgreSQL is reached through a
:class:`~bench.chaos.proxy.Proxy`, so the schedule can stall or cut the network to it.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bench.chaos.proxy import Proxy
from bench.chaos.secrets import PUBLIC_URL, Credentials
from tests.support.services import PostgresServer, RedisServer, free_port, wait_until

SERVES = ("serve-a", "serve-b")
WORKERS = ("worker-1", "worker-2")
PROGRAMS = (*SERVES, *WORKERS, "relay", "spool")


class Postgres(PostgresServer):
    """The private cluster, restartable in place: fast shutdown (``pg_ctl -m fast``: clients
    are disconnected, in-flight transactions roll back), then the same data directory again."""

    def _spawn(self) -> None:
        assert self.bin is not None
        with open(self.root / "postgres.log", "ab") as log:
            self.proc = subprocess.Popen(
                [*self._run_as(), str(self.bin / "postgres"), "-D", str(self.data),
                 "-p", str(self.port), "-h", "127.0.0.1", "-k", str(self.root),
                 "-c", "max_connections=300"],
                stdout=subprocess.DEVNULL, stderr=log)
        wait_until(self._ready, timeout=60)

    def fast_stop(self) -> None:
        assert self.bin is not None and self.proc is not None
        subprocess.run([*self._run_as(), str(self.bin / "pg_ctl"), "-D", str(self.data), "-m",
                        "fast", "-w", "stop"], check=True, capture_output=True, timeout=60)
        self.proc.wait(30)

    def restart(self) -> None:
        self.fast_stop()
        self._spawn()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            try:
                self.fast_stop()
            except (subprocess.SubprocessError, OSError):
                super().stop()
        self.proc = None


@dataclass
class Cluster:
    root: Path
    creds: Credentials
    webhook_url: str
    twilio_api_url: str
    wechat_api_url: str
    redis: RedisServer = field(init=False)
    postgres: Postgres = field(init=False)
    pg_proxy: Proxy = field(init=False)
    ports: dict[str, int] = field(default_factory=dict)
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    held: set[str] = field(default_factory=set)  # being killed and restarted by a fault
    # more programs (the IVR's gateways): name -> (hotline arguments, environment on top)
    extra: dict[str, tuple[list[str], dict[str, str]]] = field(default_factory=dict)
    lock: threading.RLock = field(default_factory=threading.RLock)

    def __post_init__(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / "logs").mkdir(exist_ok=True)
        self.redis = RedisServer(self.root / "redis", persistent=True)
        self.postgres = Postgres(self.root / "pg")
        self.ports = {name: free_port() for name in SERVES}

    # -- services -------------------------------------------------------------------------
    def start_services(self) -> None:
        self.redis.start()
        self.postgres.start()  # initdb, then a first server without durability settings
        self.postgres.fast_stop()
        self.postgres._spawn()  # fsync on, as production runs it
        self.pg_proxy = Proxy(("127.0.0.1", self.postgres.port))
        self.pg_proxy.start()
        self.env = self._env()

    def _env(self) -> dict[str, str]:
        c = self.creds
        env = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")}
        env.update(
            HOTLINE_ENV="production",
            HOTLINE_DATA_DIR=str(self.root / "var"),
            HOTLINE_DATABASE_URL=(f"postgresql+psycopg://postgres@127.0.0.1:"
                                  f"{self.pg_proxy.port}/postgres"),
            HOTLINE_REDIS_URL=self.redis.url,
            HOTLINE_PUBLIC_URL=PUBLIC_URL,
            HOTLINE_LOG_LEVEL="WARNING",
            HOTLINE_TWILIO_ACCOUNT_SID=c.twilio_sid, HOTLINE_TWILIO_AUTH_TOKEN=c.twilio_token,
            HOTLINE_TWILIO_API_URL=self.twilio_api_url, HOTLINE_TWILIO_FROM="+861065529601",
            HOTLINE_WECHAT_TOKEN=c.wechat_token, HOTLINE_WECHAT_APP_ID=c.wechat_app_id,
            HOTLINE_WECHAT_AES_KEY=c.wechat_aes_key, HOTLINE_WECHAT_MODE="safe",
            HOTLINE_WECHAT_APP_SECRET=c.wechat_app_secret,
            HOTLINE_WECHAT_API_URL=self.wechat_api_url,
            HOTLINE_WEB_SECRET=c.web_secret,
            HOTLINE_WEBHOOKS=json.dumps({"*": {"url": self.webhook_url,
                                               "secret": c.webhook_secret}}),
            HOTLINE_QUIET_HOURS="",  # residents are told at once, whatever the hour
            HOTLINE_RATE_LIMITS="false",  # every intake is a different resident anyway
            HOTLINE_AGI_PORT=str(free_port()), HOTLINE_AUDIOSOCKET_PORT=str(free_port()),
            PYTHONPATH=str(Path(__file__).resolve().parents[2]),
        )
        return env

    def hotline(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "hotline", *args], env=self.env,
                              cwd=self.root, capture_output=True, text=True, timeout=300,
                              check=False)

    def prepare(self) -> Credentials:
        """Migrate the database, train the router's classifier (as ``make classifier`` does)
        and create the API key the driver uses."""
        classifier = str(Path(self.env["HOTLINE_DATA_DIR"]) / "router" / "classifier.joblib")
        key = ("apikey", "create", "--scope", "intake,read", "--name", "chaos", "--out",
               str(self.root / "key.txt"))
        for args in (("migrate",), ("router", "train", "--out", classifier), key):
            done = self.hotline(*args)
            if done.returncode:
                raise RuntimeError(f"hotline {' '.join(args)} failed:\n{done.stderr}")
        token = (self.root / "key.txt").read_text().strip()
        return Credentials(**{**self.creds.as_dict(), "api_token": token})

    # -- the gateway's processes ----------------------------------------------------------
    def add_program(self, name: str, args: list[str], env: dict[str, str]) -> None:
        """One more ``hotline ARGS`` program, with ``env`` over the shared environment,
        started, killed and supervised like the others."""
        self.extra[name] = (args, env)

    def command(self, name: str) -> list[str]:
        base = [sys.executable, "-m", "hotline"]
        if name in self.extra:
            return [*base, *self.extra[name][0]]
        if name in SERVES:
            return [*base, "serve", "--host", "127.0.0.1", "--port", str(self.ports[name])]
        if name in WORKERS:
            return [*base, "worker"]
        if name == "relay":
            return [*base, "relay"]
        return [*base, "spool", "ingest", "--watch"]

    def start(self, name: str) -> None:
        with open(self.root / "logs" / f"{name}.log", "ab") as log:
            env = {**self.env, **self.extra[name][1]} if name in self.extra else self.env
            self.procs[name] = subprocess.Popen(
                self.command(name), env=env, cwd=self.root, stdout=log,
                stderr=subprocess.STDOUT, start_new_session=True)

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    def healthy(self, name: str) -> bool:
        proc = self.procs[name]
        if proc.poll() is not None:
            raise RuntimeError(f"{name} exited ({proc.returncode}):\n{self.log_tail(name)}")
        try:
            return httpx.get(self.url(name) + "/healthz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def start_all(self) -> None:
        for name in PROGRAMS:
            self.start(name)
        for name in SERVES:
            wait_until(lambda n=name: self.healthy(n), timeout=120, interval=0.3)

    def kill_and_restart(self, name: str, after: float) -> int:
        """SIGKILL ``name``, start it again ``after`` seconds later; its pid."""
        with self.lock:
            self.held.add(name)
        try:
            pid = self.kill(name)
            time.sleep(after)
            self.restart(name)
        finally:
            with self.lock:
                self.held.discard(name)
        return pid

    def restart_exited(self) -> list[tuple[str, int | None]]:
        """What a supervisor does (systemd ``Restart=always``): start again every process
        that exited by itself; (name, exit status) of each."""
        found = []
        with self.lock:
            for name, proc in list(self.procs.items()):
                if name not in self.held and proc.poll() is not None:
                    found.append((name, proc.returncode))
                    with (self.root / "logs" / f"{name}.exit").open("a") as out:
                        out.write(self.log_tail(name, 1500) + "\n----\n")
                    self.start(name)
        return found

    def kill(self, name: str) -> int:
        """SIGKILL ``name`` (the whole process group: uvicorn's or rq's children too)."""
        proc = self.procs[name]
        pid = proc.pid
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
        proc.wait(30)
        return pid

    def restart(self, name: str) -> None:
        self.start(name)
        if name in SERVES:
            wait_until(lambda: self.healthy(name), timeout=120, interval=0.3)

    def alive(self) -> dict[str, bool]:
        return {name: proc.poll() is None for name, proc in self.procs.items()}

    def log_tail(self, name: str, chars: int = 3000) -> str:
        path = self.root / "logs" / f"{name}.log"
        return path.read_text(errors="replace")[-chars:] if path.exists() else ""

    # -- faults of the services -----------------------------------------------------------
    def restart_redis(self) -> None:
        self.redis.stop()
        self.redis.start()  # same socket, port and append-only file

    def stall_redis(self, seconds: float) -> None:
        assert self.redis.proc is not None
        os.kill(self.redis.proc.pid, signal.SIGSTOP)
        try:
            time.sleep(seconds)
        finally:
            os.kill(self.redis.proc.pid, signal.SIGCONT)

    def restart_postgres(self) -> None:
        self.postgres.restart()

    def stop(self) -> None:
        for _name, proc in self.procs.items():
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                    proc.wait(20)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait(10)
                except ProcessLookupError:
                    pass
        for stop in (getattr(self, "pg_proxy", None), self.postgres, self.redis):
            try:
                if stop is not None:
                    stop.stop()
            except Exception as exc:
                print(f"chaos: stopping {type(stop).__name__}: {exc}", file=sys.stderr)
