"""The relay and the worker wait out an outage of what they depend on instead of exiting
(issue 22: the chaos run saw "relay exited by itself" after PostgreSQL restarts and cuts and
"worker exited by itself" around Redis restarts).

* ``hotline relay`` over PostgreSQL (behind the chaos run's TCP proxy): PostgreSQL restarted,
  then the network to it cut for a few seconds; the same process relays a ticket written
  after each.
* ``hotline worker`` over a Redis with its append-only file: Redis restarted twice; the same
  process dispatches a ticket written after each.
"""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from redis import Redis

from bench.chaos.cluster import Postgres
from bench.chaos.proxy import Proxy
from hotline.wiring import store_over
from tests.hotline.gateway import base_env, hotline, migrate
from tests.support.intakes import intake
from tests.support.services import RedisServer, wait_until
from tickets.db import Database
from tickets.model import Status
from tickets.queues import QueueName, queue
from tickets.relay import relay_once
from tickets.store import Store

pytestmark = [pytest.mark.integration]


class Process:
    def __init__(self, workdir: Path, env: dict[str, str], *args: str) -> None:
        self.log = workdir / f"{args[0]}.log"
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(hotline(*args), env=env, cwd=workdir, stdout=out,
                                         stderr=subprocess.STDOUT, start_new_session=True)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        if self.alive():
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


def submitted(store: Store, ref: str) -> str:
    """Submit an intake, retrying while the database is still coming back; its ticket id."""
    def attempt() -> bool:
        try:
            ids.append(store.submit(intake(ref)).ticket.id)
            return True
        except Exception:
            return False
    ids: list[str] = []
    wait_until(attempt, timeout=60, interval=0.5)
    return ids[0]


def on_rq(redis: Redis, ticket_id: str) -> bool:
    jobs = queue(QueueName.dispatch, redis).get_jobs()
    return any(job.args and job.args[0] == ticket_id for job in jobs)


@pytest.fixture
def pg(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Postgres]:
    import shutil
    import tempfile

    # not under pytest's tmp folder: that one is private to root, and postgres runs as postgres
    root = Path(tempfile.mkdtemp(prefix="hotline-pg-outage-"))
    root.chmod(0o755)
    server = Postgres(root / "pg")
    server.start()
    yield server
    server.stop()
    shutil.rmtree(root, ignore_errors=True)


def test_the_relay_waits_out_a_postgresql_restart_and_a_cut(
        tmp_path: Path, pg: Postgres, redis_server: RedisServer) -> None:
    proxy = Proxy(("127.0.0.1", pg.port))
    proxy.start()
    env = base_env(tmp_path)
    env.update(HOTLINE_DATABASE_URL=f"postgresql+psycopg://postgres@127.0.0.1:{proxy.port}/postgres",
               HOTLINE_REDIS_URL=redis_server.url)
    migrate(tmp_path, env)
    store = store_over(Database(pg.url()))
    redis = Redis.from_url(redis_server.url)
    relay = Process(tmp_path, env, "relay")
    try:
        first = submitted(store, "before")
        wait_until(lambda: on_rq(redis, first), timeout=60)

        pg.restart()
        time.sleep(2)  # the relay meets the restarted server's dropped connections
        after_restart = submitted(store, "after-restart")
        wait_until(lambda: on_rq(redis, after_restart), timeout=60)
        assert relay.alive(), relay.text()

        proxy.set_cut(True)
        time.sleep(5)
        proxy.set_cut(False)
        after_cut = submitted(store, "after-cut")
        wait_until(lambda: on_rq(redis, after_cut), timeout=60)
        assert relay.alive(), relay.text()
        assert "Traceback" not in relay.text(), relay.text()
    finally:
        relay.stop()
        proxy.stop()
        store.db.dispose()


def test_a_worker_waits_out_redis_restarts_and_postgresql_cuts(
        tmp_path: Path, pg: Postgres) -> None:
    server = RedisServer(tmp_path / "redis", persistent=True)
    server.start()
    proxy = Proxy(("127.0.0.1", pg.port))
    proxy.start()
    env = base_env(tmp_path)
    env.update(HOTLINE_DATABASE_URL=f"postgresql+psycopg://postgres@127.0.0.1:{proxy.port}/postgres",
               HOTLINE_REDIS_URL=server.url)
    migrate(tmp_path, env)
    store = store_over(Database(pg.url()))
    redis = Redis.from_url(server.url)
    worker = Process(tmp_path, env, "worker", "dispatch", "notify", "deliver")

    def restart_redis() -> None:
        server.stop()
        time.sleep(6)  # longer than the worker's pause before it makes a new RQ worker
        server.start()

    def cut_postgresql() -> None:
        proxy.set_cut(True)
        time.sleep(6)
        proxy.set_cut(False)

    try:
        for n, outage in enumerate([None, restart_redis, cut_postgresql, restart_redis]):
            if outage is not None:
                outage()
            ticket_id = submitted(store, f"ticket-{n}")
            wait_until(lambda: relay_once(store.db, redis) > 0, timeout=30)
            wait_until(lambda t=ticket_id: store.get(t).status is not Status.received,
                       timeout=90, interval=0.5)
            assert worker.alive(), worker.text()
    finally:
        worker.stop()
        server.stop()
        proxy.stop()
        store.db.dispose()
