"""The drain job: a destination's due deliveries sent in order, retried with back-off.

Invariants:

* a destination receives its deliveries in the order they were planned: a drain sends the oldest
  pending delivery first and stops at the first that fails, so no later ticket overtakes an
  earlier one while a destination is down (a dead delivery is set aside and the rest go on);
* at most one drain per destination runs at a time (a Redis lock): an attempt is sent once;
* every attempt of a delivery carries the same key (``X-Hotline-Delivery``; the ``delivery``
  field of a stream entry), so a receiver whose answer was lost applies a delivery once;
* an acknowledgment and the ticket's change (destination delivered, history, ``dispatched``
  once every destination acknowledged) commit in one transaction (:mod:`delivery.outcomes`).

Transports: a signed webhook (:mod:`delivery.transports.webhook`), an entry on a Redis stream
(:mod:`delivery.transports.stream`) — webhook first, the stream entry only once the webhook
acknowledged — or nothing at all for a feed-only destination, which the back office pulls.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from contextlib import suppress
from datetime import datetime, timedelta
from typing import Protocol

from redis import Redis
from redis.exceptions import LockError
from redis.lock import Lock
from sqlalchemy import select

from delivery import outcomes
from delivery.destinations import Destinations, Route, check_id
from delivery.records import Delivery, oldest_pending, set_values, short, utc
from delivery.transports import stream, webhook
from tickets import metrics, outbox, rediskeys
from tickets.jobcontext import JobContext
from tickets.jobs import Job, job
from tickets.model import Ticket
from tickets.queues import QueueName
from tickets.store import TicketNotFound
from tickets.tables import deliveries

log = logging.getLogger(__name__)

BACKOFF_FIRST = 10.0  # seconds before the second attempt; doubled after each failure …
BACKOFF_MAX = 15 * 60.0  # … up to this
BUSY_DELAY = 2.0  # a drain that found another one running looks again this much later
BATCH_SECONDS = 60.0  # a drain hands over to a fresh job after this long (fair to other queues)
AGAIN_TTL = 300


class DeliveryContext(JobContext, Protocol):
    """What :func:`drain` needs from the worker (``hotline.worker.WorkerContext``)."""

    @property
    def redis(self) -> Redis | None: ...

    @property
    def destinations(self) -> Destinations: ...

    @property
    def clock(self) -> Callable[[], datetime]: ...


class NoRedis(RuntimeError):
    pass


def backoff(attempts: int) -> float:
    """Seconds to wait after the ``attempts``-th failed attempt: 10, 20, 40 … at most 900."""
    return float(min(BACKOFF_FIRST * 2 ** max(attempts - 1, 0), BACKOFF_MAX))


def _send(ctx: DeliveryContext, redis: Redis, http: webhook.Http, route: Route,
          delivery: Delivery, ticket: Ticket) -> str | None:
    """One attempt over every transport of the route (webhook first, then the stream: a
    stream entry is only added once the webhook acknowledged); the error, or None."""
    doc = ticket.model_dump(mode="json")
    if route.webhook is not None:
        error = webhook.send(http.client(), route, delivery, doc, ctx.destinations.timeout)
        if error is not None:
            return error
    if route.stream is not None:
        return stream.send(redis, route, delivery, doc, ctx.destinations.stream_maxlen)
    return None


def _failed(ctx: DeliveryContext, delivery: Delivery, transport: str, error: str,
            now: datetime) -> bool:
    """Record a failed attempt: the next one after :func:`backoff` (a drain written to the
    outbox with that delay), or dead after the last attempt. True when it is dead."""
    attempts = delivery.attempts + 1
    if attempts >= ctx.destinations.max_attempts:
        outcomes.dead(ctx.store, delivery, transport, error, attempts)
        return True
    delay = backoff(attempts)
    metrics.delivery("retry")
    with ctx.store.db.write() as conn:
        set_values(conn, delivery, transport=transport, attempts=attempts,
                   last_error=short(error), next_attempt_at=now + timedelta(seconds=delay))
        outbox.write(conn, delivery.ticket_id, [Job.of(drain, delivery.destination,
                                                       delay=delay)], now)
    log.warning("delivery %s to %s failed (attempt %d, next in %g s): %s", delivery.id,
                delivery.destination, attempts, delay, error)
    return False


# -- the job ------------------------------------------------------------------------------------
def _redis(ctx: DeliveryContext) -> Redis:
    if ctx.redis is None:
        raise NoRedis("this worker has no Redis connection for delivery locks and streams")
    return ctx.redis


def _schedule(ctx: DeliveryContext, destination: str, delay: float, *,
              follow_up: bool = False) -> None:
    """Write a drain of ``destination`` due in ``delay`` s (the outbox row names the ticket of
    its oldest pending delivery, else of its newest one)."""
    with ctx.store.db.write() as conn:
        head = oldest_pending(conn, destination)
        ticket_id = head.ticket_id if head is not None else conn.execute(
            select(deliveries.c.ticket_id).where(deliveries.c.destination == destination)
            .order_by(deliveries.c.id.desc()).limit(1)).scalar() or ""
        outbox.write(conn, ticket_id, [Job.of(drain, destination, follow_up, delay=delay)],
                     utc(ctx.clock()))


def _busy(ctx: DeliveryContext, redis: Redis, destination: str) -> str:
    """Another drain holds the lock and may have read its queue before our deliveries
    committed: make sure one follow-up drain runs after now. The flag says "a follow-up is
    written and has not started" (the follow-up clears it when it starts), so of many drains
    that find the lock taken only the first writes one."""
    busy = "busy: another drain of this destination is running"
    if not redis.set(rediskeys.deliver_again(destination), "1", nx=True, ex=AGAIN_TTL):
        return f"{busy}; a follow-up is due"
    try:
        _schedule(ctx, destination, BUSY_DELAY, follow_up=True)
    except BaseException:
        redis.delete(rediskeys.deliver_again(destination))  # a retry of this job writes it again
        raise
    return f"{busy}; a follow-up in {BUSY_DELAY:g} s"


@job(QueueName.deliver)
def drain(ctx: DeliveryContext, destination: str, follow_up: bool = False) -> str:
    """Send ``destination``'s due deliveries, oldest first, until one fails; a summary.
    ``follow_up``: written by a drain that found this one's lock taken (see :func:`_busy`)."""
    check_id(destination)
    redis = _redis(ctx)
    if follow_up:
        redis.delete(rediskeys.deliver_again(destination))
    ttl = int(4 * ctx.destinations.timeout + 60)
    lock = redis.lock(rediskeys.deliver_lock(destination), timeout=ttl, blocking=False)
    if not lock.acquire():
        return _busy(ctx, redis, destination)
    try:
        return _drain(ctx, redis, lock, destination, ttl)
    finally:
        with suppress(LockError):
            lock.release()


def _drain(ctx: DeliveryContext, redis: Redis, lock: Lock, destination: str, ttl: int) -> str:
    started = time.monotonic()
    sent = dead = 0

    def summary(rest: str) -> str:
        return f"{destination}: {sent} delivered, {dead} dead; {rest}"

    http = webhook.shared(ctx.destinations.timeout)
    while True:
        now = utc(ctx.clock())
        with ctx.store.db.read() as conn:
            head = oldest_pending(conn, destination)
        if head is None:
            return summary("nothing waits")
        if head.next_attempt_at > now:  # its failure scheduled the drain for that time
            return summary(f"delivery {head.id} waits until {head.next_attempt_at:%H:%M:%S}")
        if time.monotonic() - started > BATCH_SECONDS:
            _schedule(ctx, destination, 0)
            return summary("more in a fresh job")
        route = ctx.destinations.route(destination)
        try:
            ticket = ctx.store.get(head.ticket_id)
        except TicketNotFound:
            outcomes.dead(ctx.store, head, route.transport, "the ticket does not exist",
                          head.attempts + 1)
            dead += 1
            continue
        error = _send(ctx, redis, http, route, head, ticket)
        if error is None:
            outcomes.acknowledged(ctx.store, head, route.transport, now)
            sent += 1
        elif _failed(ctx, head, route.transport, error, now):
            dead += 1
        else:
            return summary(f"delivery {head.id} failed, next attempt in "
                           f"{backoff(head.attempts + 1):g} s")
        try:
            lock.extend(ttl, replace_ttl=True)
        except LockError:
            return summary("the lock expired; another drain goes on")

