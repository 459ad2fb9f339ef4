"""Redis behind Sentinel (issue 22): the gateway's processes — ``hotline serve``, ``hotline
worker`` and ``hotline relay``, each its own process as in production — find the primary
through three Sentinels while a stream of JSON intakes comes in, and Redis fails over twice
during the stream: first ``SENTINEL FAILOVER`` (the primary is demoted to a replica), then a
SIGKILL of the new primary (the Sentinels promote the demoted one back).

The audit at the end: every intake the API acknowledged is exactly one ticket, the worker
registered every one of them (its dispatch job ran; a job lost with the old primary's last
writes would leave its ticket ``received``), nothing is left in the outbox, and every process
lived through both failovers.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
import redis
from sqlalchemy import func, select

from tests.hotline.gateway import base_env, hotline, migrate
from tests.support.services import SentinelGroup, stop_process, wait_until
from tickets.db import Database
from tickets.model import Status
from tickets.relay import pending_count
from tickets.tables import tickets

pytestmark = [pytest.mark.integration, pytest.mark.slow]

STEP = 25  # acknowledged intakes between two events of the run


@dataclass
class Stream:
    """Posts intakes one after another until told to stop; an answer that never came (a
    timeout, a 5xx) is sent again under the same ``channel_ref`` (the API is idempotent per
    key and ref), as a client that wants its number would."""

    url: str
    key: str
    acked: dict[str, str] = field(default_factory=dict)  # channel_ref → ticket id
    retried: int = 0
    stop: threading.Event = field(default_factory=threading.Event)
    error: list[BaseException] = field(default_factory=list)

    def run(self) -> None:
        try:
            with httpx.Client(base_url=self.url, timeout=15,
                              headers={"Authorization": f"Bearer {self.key}"}) as client:
                n = 0
                while not self.stop.is_set():
                    ref = f"sentinel-{n}"
                    self._send(client, ref, n)
                    n += 1
        except BaseException as exc:  # reported by the test
            self.error.append(exc)

    def _send(self, client: httpx.Client, ref: str, n: int) -> None:
        for _ in range(20):
            try:
                answer = client.post("/api/v1/intake", json={
                    "channel_ref": ref, "text": f"第{n}号路灯不亮", "kind": "complaint"})
            except httpx.HTTPError:
                self.retried += 1
                continue
            if answer.status_code in (200, 201):
                self.acked[ref] = answer.json()["id"]
                return
            assert answer.status_code >= 500, answer.text
            self.retried += 1
        raise AssertionError(f"intake {ref} was never acknowledged")

    def reach(self, count: int) -> None:
        wait_until(lambda: len(self.acked) >= count or bool(self.error), timeout=180)
        assert not self.error, self.error


@dataclass
class Processes:
    workdir: Path
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def start(self, name: str, env: dict[str, str], *args: str) -> None:
        with open(self.workdir / f"{name}.log", "ab") as log:
            self.procs[name] = subprocess.Popen(hotline(*args), env=env, cwd=self.workdir,
                                                stdout=log, stderr=subprocess.STDOUT)

    def logs(self) -> str:
        return "\n".join(f"--- {name}\n" + (self.workdir / f"{name}.log").read_text(
            errors="replace")[-4000:] for name in self.procs)

    def alive(self) -> list[str]:
        return [name for name, proc in self.procs.items() if proc.poll() is None]

    def stop(self) -> None:
        for proc in self.procs.values():
            stop_process(proc, grace=30)


def api_key(workdir: Path, env: dict[str, str]) -> str:
    out = workdir / "key.txt"
    done = subprocess.run(hotline("apikey", "create", "--scope", "intake,read", "--name",
                                  "sentinel-test", "--out", str(out)),
                          env=env, cwd=workdir, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    return out.read_text().strip()


def failed_over(group: SentinelGroup, to: int) -> bool:
    """Every Sentinel names the server on port ``to`` and that server is a writable primary."""
    try:
        if any(group.primary_port(n) != to for n in range(3)):
            return False
        with redis.Redis(host="127.0.0.1", port=to, socket_timeout=2) as client:
            return bool(client.role()[0] == b"master")
    except (redis.RedisError, OSError):
        return False


def test_failovers_during_a_stream_lose_nothing(tmp_path: Path,
                                                sentinel_group: SentinelGroup) -> None:
    env = base_env(tmp_path)
    env.update(HOTLINE_REDIS_SENTINELS=sentinel_group.addresses,
               HOTLINE_REDIS_SENTINEL_SERVICE=sentinel_group.service)
    migrate(tmp_path, env)
    key = api_key(tmp_path, env)
    processes = Processes(tmp_path)
    processes.start("serve", env, "serve")
    processes.start("worker", env, "worker", "dispatch")
    processes.start("relay", env, "relay")
    url = f"http://127.0.0.1:{env['HOTLINE_HTTP_PORT']}"
    stream = Stream(url, key)
    sender = threading.Thread(target=stream.run)
    db = Database(f"sqlite:///{tmp_path / 'var' / 'hotline.sqlite3'}")
    try:
        wait_until(lambda: _healthy(url) or bool(set(processes.procs) - set(processes.alive())),
                   timeout=120)
        assert processes.alive() == list(processes.procs), processes.logs()
        first, second = sentinel_group.primary.port, sentinel_group.replica.port
        assert sentinel_group.primary_port() == first
        sender.start()

        stream.reach(STEP)
        # the primary becomes a replica
        sentinel_group.ask(0, "SENTINEL", "FAILOVER", sentinel_group.service)
        wait_until(lambda: failed_over(sentinel_group, second), timeout=60, interval=0.2)
        wait_until(sentinel_group.settled, timeout=60, interval=0.5)  # the old primary replicates

        stream.reach(len(stream.acked) + STEP)
        killed = sentinel_group.server_on(second).proc
        assert killed is not None
        os.kill(killed.pid, signal.SIGKILL)  # the new primary dies, its last writes with it
        killed.wait()
        wait_until(lambda: failed_over(sentinel_group, first), timeout=60, interval=0.2)

        stream.reach(len(stream.acked) + STEP)
        stream.stop.set()
        sender.join(60)
        assert not stream.error, stream.error

        acked = dict(stream.acked)
        wait_until(lambda: _unregistered(db, acked) == 0 and pending_count(db) == 0,
                   timeout=300, interval=0.5)  # a claim whose answer was lost: back in seconds
    except BaseException:
        stream.stop.set()
        print(processes.logs())
        raise
    finally:
        stream.stop.set()
        if sender.is_alive():
            sender.join(60)
        survivors = processes.alive()
        processes.stop()
        db.dispose()

    assert survivors == list(processes.procs), processes.logs()
    with db.read() as conn:
        rows = conn.execute(select(tickets.c.channel_ref, tickets.c.id, tickets.c.status)).all()
    by_ref: dict[str, list[str]] = {}
    for row in rows:
        by_ref.setdefault(row.channel_ref.split(":", 1)[1], []).append(row.id)
    assert len(acked) >= 3 * STEP
    lost = [ref for ref in acked if ref not in by_ref]
    doubled = [ref for ref, ids in by_ref.items() if len(ids) > 1]
    assert (lost, doubled) == ([], [])
    assert all(by_ref[ref] == [ticket_id] for ref, ticket_id in acked.items())
    assert {row.status for row in rows} <= {s.value for s in Status} - {Status.received.value}
    print(f"acknowledged {len(acked)}, retried {stream.retried}, tickets {len(rows)}")


def _healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _unregistered(db: Database, acked: dict[str, str]) -> int:
    """Acknowledged tickets the worker has not registered yet (or that do not exist)."""
    with db.read() as conn:
        done = conn.execute(
            select(func.count()).select_from(tickets).where(
                tickets.c.id.in_(list(acked.values())),
                tickets.c.status != Status.received.value)
        ).scalar_one()
    return len(acked) - int(done)
