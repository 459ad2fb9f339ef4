"""The outbox relay on a real Redis: exactly once onto RQ, catching up after Redis was down."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from redis import Redis
from sqlalchemy import select

from hotline.worker import WorkerContext
from router.dispatch import dispatch
from tests.support.intakes import intake as _intake
from tests.support.services import RedisServer, wait_until
from tickets.jobs import Job
from tickets.model import Status
from tickets.queues import QueueName, queue
from tickets.redisclient import connect
from tickets.relay import pending_count, relay_once, run_relay
from tickets.store import Store
from tickets.tables import outbox
from tickets.worker import ContextWorker

DISPATCH = QueueName.dispatch


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
    assert all(j.func_name == "router.dispatch.dispatch" for j in jobs if j)
    assert all(j.retries_left == 5 for j in jobs if j)  # the dispatch queue's retry policy


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


def test_worker_runs_dispatch_with_its_context_and_the_job_is_idempotent(
    store: Store, redis_server: RedisServer, tmp_path: Path
) -> None:
    redis = connect(redis_server.url)
    t = store.submit(_intake("w1")).ticket
    relay_once(store.db, redis)
    context = WorkerContext(store=store, media_dir=tmp_path)
    worker = ContextWorker([DISPATCH], connection=redis, context=context)
    assert worker.work(burst=True)
    registered = store.get(t.id)
    assert registered.status is Status.registered
    assert registered.history[-1].from_status is Status.received
    assert dispatch(context, t.id) == "registered"  # a second run changes nothing
    assert store.get(t.id) == registered


def test_a_row_due_later_waits_for_its_time(sqlite_store: Store,
                                            redis_server: RedisServer) -> None:
    redis = connect(redis_server.url)
    t = sqlite_store.submit(_intake("later")).ticket
    relay_once(sqlite_store.db, redis)
    sqlite_store.change(t.id, lambda ticket, _s, _a: ticket.model_copy(update={"text": "x"}),
                        jobs=lambda tid: [Job.of(dispatch, tid, delay=60)])
    assert relay_once(sqlite_store.db, redis) == 0
    later = datetime.now(UTC) + timedelta(seconds=61)
    assert relay_once(sqlite_store.db, redis, now=later) == 1


def test_markers_are_random_job_ids_so_a_restored_database_is_not_skipped(
    sqlite_store: Store, redis_server: RedisServer
) -> None:
    """A database restored from a backup reuses row ids while Redis keeps its markers: the
    new rows must still go out, so markers name a random job id, not the row id."""
    redis = connect(redis_server.url)
    sqlite_store.submit(_intake("before-restore"))
    relay_once(sqlite_store.db, redis)
    with sqlite_store.db.write() as conn:  # the "restore": the row is gone, ids start again
        conn.execute(outbox.delete())  # SQLite reuses the ids of deleted rows
    sqlite_store.submit(_intake("after-restore"))
    with sqlite_store.db.read() as conn:
        [row] = conn.execute(select(outbox.c.id, outbox.c.job_id)).all()
    assert row.id == 1
    assert relay_once(sqlite_store.db, redis) == 1
    assert row.job_id in queued_job_ids(redis)
