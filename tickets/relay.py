"""The outbox relay: moves committed outbox rows onto RQ, exactly once, catching up by itself.

A row is enqueued under its random ``job_id`` together with a marker key in one MULTI/EXEC,
watched, so two relays (or a relay that died between enqueue and marking the row) never put
the same row on RQ twice. A row counts as sent only once its job is on the current primary
and a replica has copied it (:mod:`tickets.replication`), so a Sentinel failover that loses
the old primary's last writes makes the relay send those rows again. Rows written while Redis
is away stay pending and go out when it returns; a row whose ``run_at`` lies ahead waits for
it. Every job gets its queue's retry policy (:func:`tickets.queues.retry_policy`); a job that
failed every attempt stays in the queue's failed registry for ``hotline jobs``. The relay also
runs the periodic checks it is given (``hotline relay`` gives it the router's sweep of stuck
tickets and its escalation, and the delivery room's sweep of overdue deliveries).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.exceptions import WatchError
from sqlalchemy import func, select, update

from tickets import rediskeys, replication
from tickets.db import Database
from tickets.queues import FAILED_TTL, JOB_TIMEOUT, QueueName, queue, retry_policy
from tickets.tables import outbox

log = logging.getLogger(__name__)

MARKER_TTL = 14 * 24 * 3600
SWEEP_INTERVAL = 60.0  # seconds between two runs of the periodic checks


def relay_once(db: Database, redis: Redis, batch: int = 200,
               now: datetime | None = None) -> int:
    """Enqueue up to ``batch`` due rows; return how many rows were settled."""
    due = now or datetime.now(UTC)
    with db.read() as conn:
        rows = conn.execute(
            select(outbox.c.id, outbox.c.job_id, outbox.c.queue, outbox.c.job, outbox.c.args)
            .where(outbox.c.enqueued_at.is_(None), outbox.c.run_at <= due)
            .order_by(outbox.c.id)
            .limit(batch)
        ).all()
    settled: list[int] = []
    for row in rows:
        marker = rediskeys.outbox_marker(row.job_id)
        with redis.pipeline() as pipe:
            try:
                pipe.watch(marker)  # type: ignore[no-untyped-call]
                if not pipe.exists(marker):
                    pipe.multi()
                    pipe.set(marker, "1", ex=MARKER_TTL)
                    queue(row.queue, redis).enqueue_call(
                        row.job,
                        args=tuple(row.args),
                        job_id=row.job_id,
                        timeout=JOB_TIMEOUT,
                        failure_ttl=FAILED_TTL,
                        retry=retry_policy(QueueName(row.queue)),
                        pipeline=pipe,
                    )
                    pipe.execute()
            except WatchError:
                pass  # another relay took it in the meantime: it is on RQ
        settled.append(row.id)
    if settled and not replication.confirmed(
            redis, [rediskeys.outbox_marker(row.job_id) for row in rows]):
        return 0
    if settled:
        with db.write() as conn:
            conn.execute(
                update(outbox)
                .where(outbox.c.id.in_(settled))
                .values(enqueued_at=datetime.now(UTC))
            )
    return len(settled)


def pending_count(db: Database) -> int:
    with db.read() as conn:
        count = conn.execute(
            select(func.count()).select_from(outbox).where(outbox.c.enqueued_at.is_(None))
        ).scalar_one()
    return int(count)


Periodic = Callable[[datetime], object]


def run_relay(db: Database, redis: Redis, stop: threading.Event, interval: float = 0.2,
              sweep_interval: float = SWEEP_INTERVAL, periodic: Sequence[Periodic] = ()) -> None:
    """Relay until ``stop`` is set; survive Redis outages with a capped backoff; every
    ``sweep_interval`` seconds run the ``periodic`` checks (stuck tickets, escalation of
    overdue tickets, overdue deliveries), each given the clock."""
    backoff = interval
    next_sweep = time.monotonic() + sweep_interval
    checks = list(periodic)
    while not stop.is_set():
        if time.monotonic() >= next_sweep:
            next_sweep = time.monotonic() + sweep_interval
            for check in checks:
                try:
                    check(datetime.now(UTC))
                except Exception:  # the relay goes on; the next sweep tries again
                    log.exception("periodic check %s failed", getattr(check, "__name__", check))
        try:
            moved = relay_once(db, redis)
            backoff = interval
            if moved:
                continue
        except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
            log.warning("redis unavailable, outbox rows wait: %s", exc)
            backoff = min(backoff * 2, 2.0)
        stop.wait(backoff)
