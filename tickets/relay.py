"""The outbox relay: moves committed outbox rows onto RQ, exactly once, catching up by itself.

A row is enqueued under its random ``job_id`` together with a marker key in one MULTI/EXEC,
watched, so two relays (or a relay that died between enqueue and marking the row) never put the
same row on RQ twice. A row counts as sent only once its job is on the current primary and a
replica has copied it (:mod:`tickets.replication`), so a Sentinel failover that loses the old
primary's last writes makes the relay send those rows again. Rows written while Redis is away
stay pending and go out when it returns, and the relay waits out the database being restarted
or cut off the same way (it never exits on an outage); a row whose ``run_at`` lies ahead waits
for it. Every job gets its queue's retry policy (:func:`tickets.queues.retry_policy`); a job
that failed every attempt stays in the queue's failed registry for ``hotline jobs``. The relay
also runs the periodic checks it is given (``hotline relay`` gives it the router's sweep of
stuck tickets and its escalation, and the delivery room's sweep of overdue deliveries), and
every few seconds the recovery of jobs whose worker died holding them
(:mod:`tickets.jobrecovery`).
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
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

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
              sweep_interval: float = SWEEP_INTERVAL, periodic: Sequence[Periodic] = (),
              frequent: Sequence[Periodic] = (), frequent_interval: float = 5.0) -> None:
    """Relay until ``stop`` is set; wait out a Redis or database outage with a capped backoff
    (one warning when it starts, one line when it ends: the process never exits on one);
    every ``sweep_interval`` seconds run the ``periodic`` checks (stuck tickets, escalation of
    overdue tickets, overdue deliveries) and every ``frequent_interval`` seconds the
    ``frequent`` ones (the recovery of jobs lost with their worker), each given the clock."""
    backoff = interval
    next_sweep = time.monotonic() + sweep_interval
    next_frequent = time.monotonic()
    outage = _Outage()
    while not stop.is_set():
        # the checks wait with the rows while Redis or the database is away
        if outage.since is None and time.monotonic() >= next_frequent:
            next_frequent = time.monotonic() + frequent_interval
            _run_checks(frequent)
        if outage.since is None and time.monotonic() >= next_sweep:
            next_sweep = time.monotonic() + sweep_interval
            _run_checks(periodic)
        try:
            moved = relay_once(db, redis)
            outage.over()
            backoff = interval
            if moved:
                continue
        except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
            outage.began("Redis is unavailable, outbox rows wait", exc)
            backoff = min(backoff * 2, 2.0)
        except DBAPIError as exc:
            if not exc.connection_invalidated and not _is_unavailable(exc):
                raise
            outage.began("the database is unavailable, the relay waits", exc)
            backoff = min(backoff * 2, 2.0)
        stop.wait(backoff)


def _run_checks(checks: Sequence[Periodic]) -> None:
    for check in checks:
        try:
            check(datetime.now(UTC))
        except Exception as exc:  # the relay goes on; the next run tries again
            if isinstance(exc, (RedisConnectionError, RedisTimeoutError, DBAPIError)):
                log.warning("periodic check %s failed: %s",
                            getattr(check, "__name__", check), str(exc).splitlines()[0])
            else:
                log.exception("periodic check %s failed", getattr(check, "__name__", check))


def _is_unavailable(exc: DBAPIError) -> bool:
    """An error of the connection, not of the statement: the server is down, restarting, or
    the network to it is cut (psycopg's OperationalError, SQLite's locked database)."""
    return isinstance(exc, (OperationalError, InterfaceError))


class _Outage:
    """One warning when a dependency becomes unavailable, one line when it is back."""

    def __init__(self) -> None:
        self.since: float | None = None

    def began(self, what: str, exc: BaseException) -> None:
        if self.since is None:
            self.since = time.monotonic()
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            log.warning("%s: %s", what, first)

    def over(self) -> None:
        if self.since is not None:
            log.warning("the outage is over after %.1f s; relaying again",
                        time.monotonic() - self.since)
            self.since = None
