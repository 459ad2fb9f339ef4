"""The outbox relay: moves committed outbox rows onto RQ, exactly once, catching up by itself.

A row is enqueued under job id ``outbox-<id>`` together with a marker key in one MULTI/EXEC,
watched, so two relays (or a relay that died between enqueue and marking the row) never put
the same row on RQ twice. Rows written while Redis is away stay pending and go out when it
returns.
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime

from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.exceptions import WatchError
from sqlalchemy import select, update

from router.db import Database
from router.queues import queue
from router.tables import outbox

log = logging.getLogger(__name__)

MARKER_TTL = 14 * 24 * 3600
JOB_TIMEOUT = 600


def _marker(row_id: int) -> str:
    return f"hotline:outbox:{row_id}"


def relay_once(db: Database, redis: Redis, batch: int = 200) -> int:
    """Enqueue up to ``batch`` pending rows; return how many rows were settled."""
    with db.read() as conn:
        rows = conn.execute(
            select(outbox.c.id, outbox.c.queue, outbox.c.job, outbox.c.args)
            .where(outbox.c.enqueued_at.is_(None))
            .order_by(outbox.c.id)
            .limit(batch)
        ).all()
    settled: list[int] = []
    for row in rows:
        marker = _marker(row.id)
        with redis.pipeline() as pipe:
            try:
                pipe.watch(marker)  # type: ignore[no-untyped-call]
                if not pipe.exists(marker):
                    pipe.multi()
                    pipe.set(marker, "1", ex=MARKER_TTL)
                    queue(row.queue, redis).enqueue_call(
                        row.job,
                        args=tuple(row.args),
                        job_id=f"outbox-{row.id}",
                        timeout=JOB_TIMEOUT,
                        pipeline=pipe,
                    )
                    pipe.execute()
            except WatchError:
                pass  # another relay took it in the meantime: it is on RQ
        settled.append(row.id)
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
        return len(conn.execute(select(outbox.c.id).where(outbox.c.enqueued_at.is_(None))).all())


def run_relay(db: Database, redis: Redis, stop: threading.Event, interval: float = 0.2) -> None:
    """Relay until ``stop`` is set; survive Redis outages with a capped backoff."""
    backoff = interval
    while not stop.is_set():
        try:
            moved = relay_once(db, redis)
            backoff = interval
            if moved:
                continue
        except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
            log.warning("redis unavailable, outbox rows wait: %s", exc)
            backoff = min(backoff * 2, 2.0)
        stop.wait(backoff)
