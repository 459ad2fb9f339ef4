"""The outbox relay on a real Redis: exactly once onto RQ, catching up after Redis was down."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
from redis import Redis
from rq import SimpleWorker
from rq.serializers import JSONSerializer

from router import runtime
from router.jobs import dispatch
from router.model import Channel, Intake, Kind, Status
from router.queues import DISPATCH, connect, queue
from router.relay import pending_count, relay_once, run_relay
from router.store import Store
from tests.support.services import RedisServer, wait_until


def _intake(ref: str) -> Intake:
    return Intake(channel=Channel.sms, channel_ref=ref, received_at=datetime.now(UTC),
                  kind=Kind.help, text="路灯不亮")


def queued_job_ids(redis: Redis) -> list[str]:
    return [j.decode() for j in redis.lrange(f"rq:queue:{DISPATCH}", 0, -1)]


def test_relay_enqueues_each_row_once(sqlite_store: Store, redis_server: RedisServer) -> None:
    redis = connect(redis_server.url)
    tickets = [sqlite_store.submit(_intake(f"r{i}")).ticket for i in range(5)]
    assert relay_once(sqlite_store.db, redis) == 5
    assert relay_once(sqlite_store.db, redis) == 0
    ids = queued_job_ids(redis)
    assert len(ids) == 5 and len(set(ids)) == 5
    jobs = [queue(DISPATCH, redis).fetch_job(i) for i in ids]
    assert sorted(j.args[0] for j in jobs if j) == sorted(t.id for t in tickets)
    assert all(j.func_name == "router.jobs.dispatch" for j in jobs if j)


def test_a_row_enqueued_but_not_marked_is_not_enqueued_again(
    sqlite_store: Store, redis_server: RedisServer
) -> None:
    """The relay died after EXEC, before marking the row: the marker stops a second copy."""
    redis = connect(redis_server.url)
    sqlite_store.submit(_intake("once"))
    relay_once(sqlite_store.db, redis)
    with sqlite_store.db.write() as conn:
        conn.exec_driver_sql("UPDATE outbox SET enqueued_at = NULL")
    assert relay_once(sqlite_store.db, redis) == 1
    assert len(queued_job_ids(redis)) == 1


def test_two_relays_racing_enqueue_each_row_once(
    store: Store, redis_server: RedisServer
) -> None:
    for i in range(40):
        store.submit(_intake(f"race{i}"))
    barrier = threading.Barrier(2)

    def relay() -> None:
        barrier.wait()
        relay_once(store.db, connect(redis_server.url), batch=1000)

    threads = [threading.Thread(target=relay) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ids = queued_job_ids(connect(redis_server.url))
    assert len(ids) == 40 and len(set(ids)) == 40


def test_redis_down_mid_run_every_ticket_reaches_rq_exactly_once(
    store: Store, tmp_path: Path
) -> None:
    server = RedisServer(tmp_path / "redis", persistent=True)
    server.start()
    redis = connect(server.url)
    stop = threading.Event()
    relay = threading.Thread(target=run_relay, args=(store.db, redis, stop),
                             kwargs={"interval": 0.05})
    relay.start()
    try:
        submitted = [store.submit(_intake(f"a{i}")).ticket.id for i in range(10)]
        wait_until(lambda: pending_count(store.db) == 0)
        server.stop()
        # Intake goes on while Redis is away: tickets are acknowledged, outbox rows wait.
        submitted += [store.submit(_intake(f"b{i}")).ticket.id for i in range(15)]
        assert pending_count(store.db) == 15
        server.start()
        submitted += [store.submit(_intake(f"c{i}")).ticket.id for i in range(5)]
        wait_until(lambda: pending_count(store.db) == 0, timeout=30)
    finally:
        stop.set()
        relay.join()
    ids = queued_job_ids(redis)
    assert len(ids) == len(set(ids)) == 30
    args = Counter(queue(DISPATCH, redis).fetch_job(i).args[0] for i in ids)  # type: ignore[union-attr]
    assert args == Counter(submitted)
    server.stop()


def test_worker_runs_dispatch_and_the_job_is_idempotent(
    store: Store, redis_server: RedisServer
) -> None:
    redis = connect(redis_server.url)
    t = store.submit(_intake("w1")).ticket
    relay_once(store.db, redis)
    runtime.install(store)
    worker = SimpleWorker([DISPATCH], connection=redis, serializer=JSONSerializer)
    assert worker.work(burst=True)
    registered = store.get(t.id)
    assert registered.status is Status.registered
    assert registered.history[-1].from_status is Status.received
    assert dispatch(t.id) == "registered"  # a second run changes nothing
    assert store.get(t.id) == registered


@pytest.fixture(autouse=True)
def _reset_runtime() -> None:
    runtime._store = None
