"""Delivery of tickets to their destinations: planned with the routing change, drained per
destination in order, retried with back-off, set aside (dead) after N attempts.

The router's routing change calls :func:`plan` (through ``Store.change(..., also=...)``) and
writes :func:`drain_jobs` with it; the :func:`drain` job of a destination then sends that
destination's deliveries over its transports (:mod:`router.destinations`): a signed webhook
(:mod:`router.webhooks`), an entry on its Redis stream, or nothing at all for a feed-only
destination, which the back office pulls from the feed.

Invariants:

* a delivery exists once per ticket, destination and dispatch round (:func:`routing_version`):
  planning again in the same round writes nothing, a ticket handed back and routed again is
  delivered again;
* a destination receives its deliveries in the order they were planned: a drain sends the oldest
  pending delivery first and stops at the first that fails, so no later ticket overtakes an
  earlier one while a destination is down (a dead delivery is set aside and the rest go on);
* at most one drain per destination runs at a time (a Redis lock): an attempt is sent once;
* every attempt of a delivery carries the same key (``X-Hotline-Delivery``; the ``delivery``
  field of a stream entry), so a receiver whose answer was lost applies a delivery once;
* an acknowledgment and the ticket's change (destination delivered, history, ``dispatched``
  once every destination acknowledged) commit in one transaction.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

import httpx
from redis import Redis
from redis.exceptions import LockError, RedisError
from redis.lock import Lock
from sqlalchemy import Connection, Row, func, select, update

from router import outbox, webhooks
from router import store as store_module  # the module: router.store imports the dispatch job
from router.destinations import Destinations, Route, check_id
from router.jobs import Job, JobContext, JobsFor, job
from router.model import Destination, HistoryEntry, Routing, Status, Ticket
from router.queues import QueueName
from router.status import check_transition
from router.tables import deliveries, tickets

if TYPE_CHECKING:
    from router.store import Store

log = logging.getLogger(__name__)

PENDING, DELIVERED, DEAD = "pending", "delivered", "dead"
STATUSES = (PENDING, DELIVERED, DEAD)
BACKOFF_FIRST = 10.0  # seconds before the second attempt; doubled after each failure …
BACKOFF_MAX = 15 * 60.0  # … up to this
BUSY_DELAY = 2.0  # a drain that found another one running looks again this much later
BATCH_SECONDS = 60.0  # a drain hands over to a fresh job after this long (fair to other queues)
SWEEP_OVERDUE = timedelta(minutes=15)
AGAIN_TTL = 300
ERROR_LIMIT = 500
USER_AGENT = "hotline-96010-delivery/1"


def _lock_key(destination: str) -> str:
    return f"hotline:deliver:lock:{destination}"


def _again_key(destination: str) -> str:
    return f"hotline:deliver:again:{destination}"


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


def routing_version(ticket: Ticket) -> int:
    """The ticket's dispatch round: how many times it became ``registered``. A ticket handed
    back for re-dispatch (``dispatched`` → ``registered``) starts a new round."""
    return sum(1 for entry in ticket.history if entry.status is Status.registered)


def _utc(value: datetime) -> datetime:
    """Aware UTC (SQLite gives back the naive UTC it was given)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# -- planning (inside the routing change) -------------------------------------------------------
def plan(conn: Connection, ticket: Ticket, destinations: Sequence[str], at: datetime, *,
         version: int | None = None) -> None:
    """Write one pending delivery of ``ticket`` per destination not yet planned in this round.

    Call it inside the change that routes the ticket (``Store.change(..., also=...)``) and
    write :func:`drain_jobs` with the same change. ``version`` defaults to the ticket's
    :func:`routing_version`.
    """
    wanted = list(dict.fromkeys(check_id(d) for d in destinations))
    if not wanted:
        return
    round_ = routing_version(ticket) if version is None else version
    planned = set(conn.execute(
        select(deliveries.c.destination).where(
            deliveries.c.ticket_id == ticket.id, deliveries.c.version == round_,
            deliveries.c.destination.in_(wanted))
    ).scalars())
    at = _utc(at)
    for destination in wanted:
        if destination in planned:
            continue
        conn.execute(deliveries.insert().values(
            key=uuid.uuid4().hex, ticket_id=ticket.id, destination=destination, version=round_,
            transport=None, status=PENDING, attempts=0, next_attempt_at=at, last_error=None,
            created_at=at, delivered_at=None))


def drain_jobs(destinations: Sequence[str]) -> JobsFor:
    """The jobs to write with the change that planned deliveries: one drain per destination."""
    ids = list(dict.fromkeys(check_id(d) for d in destinations))

    def jobs(_ticket_id: str) -> list[Job]:
        return [Job.of(drain, destination) for destination in ids]

    return jobs


# -- the ticket's side --------------------------------------------------------------------------
def _with_destination(routing: Routing | None, destination: str,
                      status: str, at: datetime | None) -> Routing:
    routing = routing or Routing()
    entry = Destination.model_validate({"id": destination, "status": status, "at": at})
    entries = [d for d in routing.destinations if d.id != destination]
    position = next((i for i, d in enumerate(routing.destinations) if d.id == destination),
                    len(entries))
    entries.insert(position, entry)
    return routing.model_copy(update={"destinations": entries})


def settle(ticket: Ticket, seq: int, at: datetime) -> Ticket:
    """``ticket`` moved from ``registered`` to ``dispatched`` when every destination of its
    routing acknowledged and nothing waits for a person; else ``ticket`` as it is."""
    routing = ticket.routing
    if (ticket.status is not Status.registered or routing is None or not routing.destinations
            or routing.needs or any(d.status != DELIVERED for d in routing.destinations)):
        return ticket
    check_transition(ticket.status, Status.dispatched)
    entry = HistoryEntry(seq=seq, at=at, actor="router", status=Status.dispatched,
                         from_status=ticket.status,
                         note="every destination acknowledged: "
                              + ", ".join(d.id for d in routing.destinations))
    return ticket.model_copy(update={"status": Status.dispatched,
                                     "history": [*ticket.history, entry]})


def _noted(ticket: Ticket, seq: int, at: datetime, note: str, destination: str,
           version: int, status: str) -> Ticket:
    """The ticket with a history note and (in the delivery's round only) the destination's
    status; a delivery of an earlier round leaves the current routing alone."""
    update_: dict[str, Any] = {
        "history": [*ticket.history, HistoryEntry(seq=seq, at=at, actor="router", note=note)]}
    if version == routing_version(ticket):
        update_["routing"] = _with_destination(ticket.routing, destination, status,
                                               None if status == PENDING else at)
    return ticket.model_copy(update=update_)


# -- rows ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Delivery:
    id: int
    key: str
    ticket_id: str
    destination: str
    version: int
    transport: str | None
    status: str
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None
    ticket_number: str | None = None

    @classmethod
    def of(cls, row: Row[Any]) -> Delivery:
        values = row._mapping
        return cls(
            id=values["id"], key=values["key"], ticket_id=values["ticket_id"],
            destination=values["destination"], version=values["version"],
            transport=values["transport"], status=values["status"],
            attempts=values["attempts"], next_attempt_at=_utc(values["next_attempt_at"]),
            last_error=values["last_error"], created_at=_utc(values["created_at"]),
            delivered_at=(_utc(values["delivered_at"]) if values["delivered_at"] else None),
            ticket_number=values.get("number"),
        )


def _oldest_pending(conn: Connection, destination: str) -> Delivery | None:
    row = conn.execute(
        select(deliveries).where(deliveries.c.destination == destination,
                                 deliveries.c.status == PENDING)
        .order_by(deliveries.c.id).limit(1)
    ).first()
    return None if row is None else Delivery.of(row)


def _set(conn: Connection, delivery: Delivery, **values: Any) -> None:
    conn.execute(update(deliveries).where(deliveries.c.id == delivery.id).values(**values))


def _short(error: str) -> str:
    flat = " ".join(error.split())
    return flat if len(flat) <= ERROR_LIMIT else flat[:ERROR_LIMIT - 1] + "…"


# -- sending ------------------------------------------------------------------------------------
def _post(client: httpx.Client, route: Route, delivery: Delivery, doc: dict[str, Any],
          timeout: float) -> str | None:
    assert route.webhook is not None
    raw = webhooks.body(delivery.key, delivery.destination, doc)
    headers = webhooks.sign(route.webhook.secret, raw, delivery.key, int(time.time()))
    headers["User-Agent"] = USER_AGENT
    try:
        with client.stream("POST", route.webhook.url, content=raw, headers=headers) as response:
            if 200 <= response.status_code < 300:
                return None
            said = b""
            for chunk in response.iter_bytes():
                said += chunk
                if len(said) >= 200:
                    break
    except httpx.TimeoutException:
        return f"webhook: no answer within {timeout:g} s"
    except httpx.HTTPError as exc:
        return f"webhook: {type(exc).__name__}: {exc}"
    text = said[:200].decode("utf-8", "replace").strip()
    return f"webhook: HTTP {response.status_code}" + (f": {text}" if text else "")


def _xadd(redis: Redis, route: Route, delivery: Delivery, doc: dict[str, Any],
          maxlen: int) -> str | None:
    assert route.stream is not None
    fields = {"delivery": delivery.key, "destination": delivery.destination,
              "ticket": json.dumps(doc, ensure_ascii=False, separators=(",", ":"))}
    try:
        redis.xadd(route.stream, fields, maxlen=maxlen, approximate=True)  # type: ignore[arg-type]
    except RedisError as exc:
        return f"stream: {type(exc).__name__}: {exc}"
    return None


class _Http:
    """The drain's HTTP client, made on first use: feed-only and stream destinations never pay
    for one (TLS context and all)."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self._client: httpx.Client | None = None

    def client(self) -> httpx.Client:
        if self._client is None:
            self._client = httpx.Client(timeout=self.timeout, follow_redirects=False)
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()


def _send(ctx: DeliveryContext, redis: Redis, http: _Http, route: Route,
          delivery: Delivery, ticket: Ticket) -> str | None:
    """One attempt over every transport of the route (webhook first, then the stream: a
    stream entry is only added once the webhook acknowledged); the error, or None."""
    doc = ticket.model_dump(mode="json")
    if route.webhook is not None:
        error = _post(http.client(), route, delivery, doc, ctx.destinations.timeout)
        if error is not None:
            return error
    if route.stream is not None:
        return _xadd(redis, route, delivery, doc, ctx.destinations.stream_maxlen)
    return None


# -- outcomes -----------------------------------------------------------------------------------
def _acknowledged(store: Store, delivery: Delivery, transport: str, now: datetime) -> None:
    def mutate(ticket: Ticket, seq: int, at: datetime) -> Ticket:
        noted = _noted(ticket, seq, at, f"delivered to {delivery.destination} by {transport}",
                       delivery.destination, delivery.version, DELIVERED)
        return settle(noted, seq, at)

    def mark(conn: Connection, _ticket: Ticket | None = None, _at: datetime | None = None
             ) -> None:
        _set(conn, delivery, status=DELIVERED, transport=transport,
             attempts=delivery.attempts + 1, delivered_at=now, last_error=None)

    try:
        store.change(delivery.ticket_id, mutate, also=mark)
    except (store_module.HistoryFull, store_module.TicketNotFound) as exc:
        log.warning("delivery %s acknowledged, ticket not updated: %s", delivery.id, exc)
        with store.db.write() as conn:
            mark(conn)


def _dead(store: Store, delivery: Delivery, transport: str, error: str,
          attempts: int) -> None:
    note = (f"delivery to {delivery.destination} by {transport} failed {attempts} times "
            f"(last: {error}); set aside, see 'hotline deliveries list --status dead'")

    def mutate(ticket: Ticket, seq: int, at: datetime) -> Ticket:
        return _noted(ticket, seq, at, _short(note), delivery.destination, delivery.version,
                      "failed")

    def mark(conn: Connection, _ticket: Ticket | None = None, _at: datetime | None = None
             ) -> None:
        _set(conn, delivery, status=DEAD, transport=transport, attempts=attempts,
             last_error=_short(error))

    log.error("delivery %s of ticket %s to %s is dead after %d attempts: %s", delivery.id,
              delivery.ticket_id, delivery.destination, attempts, error)
    try:
        store.change(delivery.ticket_id, mutate, also=mark)
    except (store_module.HistoryFull, store_module.TicketNotFound):
        with store.db.write() as conn:
            mark(conn)


def _failed(ctx: DeliveryContext, delivery: Delivery, transport: str, error: str,
            now: datetime) -> bool:
    """Record a failed attempt: the next one after :func:`backoff` (a drain written to the
    outbox with that delay), or dead after the last attempt. True when it is dead."""
    attempts = delivery.attempts + 1
    if attempts >= ctx.destinations.max_attempts:
        _dead(ctx.store, delivery, transport, error, attempts)
        return True
    delay = backoff(attempts)
    with ctx.store.db.write() as conn:
        _set(conn, delivery, transport=transport, attempts=attempts, last_error=_short(error),
             next_attempt_at=now + timedelta(seconds=delay))
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
        head = _oldest_pending(conn, destination)
        ticket_id = head.ticket_id if head is not None else conn.execute(
            select(deliveries.c.ticket_id).where(deliveries.c.destination == destination)
            .order_by(deliveries.c.id.desc()).limit(1)).scalar() or ""
        outbox.write(conn, ticket_id, [Job.of(drain, destination, follow_up, delay=delay)],
                     _utc(ctx.clock()))


def _busy(ctx: DeliveryContext, redis: Redis, destination: str) -> str:
    """Another drain holds the lock and may have read its queue before our deliveries
    committed: make sure one follow-up drain runs after now. The flag says "a follow-up is
    written and has not started" (the follow-up clears it when it starts), so of many drains
    that find the lock taken only the first writes one."""
    busy = "busy: another drain of this destination is running"
    if not redis.set(_again_key(destination), "1", nx=True, ex=AGAIN_TTL):
        return f"{busy}; a follow-up is due"
    try:
        _schedule(ctx, destination, BUSY_DELAY, follow_up=True)
    except BaseException:
        redis.delete(_again_key(destination))  # a retry of this job writes it again
        raise
    return f"{busy}; a follow-up in {BUSY_DELAY:g} s"


@job(QueueName.deliver)
def drain(ctx: DeliveryContext, destination: str, follow_up: bool = False) -> str:
    """Send ``destination``'s due deliveries, oldest first, until one fails; a summary.
    ``follow_up``: written by a drain that found this one's lock taken (see :func:`_busy`)."""
    check_id(destination)
    redis = _redis(ctx)
    if follow_up:
        redis.delete(_again_key(destination))
    ttl = int(4 * ctx.destinations.timeout + 60)
    lock = redis.lock(_lock_key(destination), timeout=ttl, blocking=False)
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

    http = _Http(ctx.destinations.timeout)
    try:
        while True:
            now = _utc(ctx.clock())
            with ctx.store.db.read() as conn:
                head = _oldest_pending(conn, destination)
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
            except store_module.TicketNotFound:
                _dead(ctx.store, head, route.transport, "the ticket does not exist",
                      head.attempts + 1)
                dead += 1
                continue
            error = _send(ctx, redis, http, route, head, ticket)
            if error is None:
                _acknowledged(ctx.store, head, route.transport, now)
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
    finally:
        http.close()


# -- operators: list, retry, sweep --------------------------------------------------------------
def listing(store: Store, *, statuses: Sequence[str] = (PENDING, DEAD),
            destination: str | None = None, limit: int = 1000) -> list[Delivery]:
    """Deliveries with one of ``statuses`` (of ``destination``), oldest first, with their
    ticket's number."""
    query = (select(deliveries, tickets.c.number)
             .outerjoin(tickets, tickets.c.id == deliveries.c.ticket_id)
             .where(deliveries.c.status.in_(list(statuses)))
             .order_by(deliveries.c.id).limit(limit))
    if destination is not None:
        query = query.where(deliveries.c.destination == check_id(destination))
    with store.db.read() as conn:
        return [Delivery.of(row) for row in conn.execute(query)]


class RetryRefused(ValueError):
    """A delivery named for retry that does not exist or was delivered already."""


def _find(conn: Connection, ref: str) -> Delivery:
    if ref.isascii() and ref.isdigit() and len(ref) <= 12:
        where = deliveries.c.id == int(ref)
    elif len(ref) == 32 and all(c in "0123456789abcdef" for c in ref):
        where = deliveries.c.key == ref
    else:
        raise RetryRefused(f"'{ref[:40]}' is not a delivery id (a number, or a 32-hex key)")
    row = conn.execute(select(deliveries).where(where)).first()
    if row is None:
        raise RetryRefused(f"no delivery {ref}")
    found = Delivery.of(row)
    if found.status == DELIVERED:
        raise RetryRefused(f"delivery {ref} was delivered already")
    return found


def retry(store: Store, refs: Sequence[str] | None = None, *, destination: str | None = None,
          now: datetime | None = None) -> list[Delivery]:
    """Send deliveries again: the ones named (by id or key; dead or pending) or, when ``refs``
    is None, every dead one (of ``destination``). A dead delivery is pending again from its
    first attempt and its ticket's destination too (with a history note); a pending one is
    due now. A drain of each destination is written; the deliveries are returned."""
    at = _utc(now or datetime.now(UTC))
    with store.db.read() as conn:
        if refs is not None:
            chosen = list({d.id: d for d in (_find(conn, r) for r in refs)}.values())
        else:
            query = select(deliveries).where(deliveries.c.status == DEAD)
            if destination is not None:
                query = query.where(deliveries.c.destination == check_id(destination))
            chosen = [Delivery.of(r) for r in conn.execute(query.order_by(deliveries.c.id))]
    for delivery in chosen:
        jobs = [Job.of(drain, delivery.destination)]
        if delivery.status == PENDING:
            with store.db.write() as conn:
                _set(conn, delivery, next_attempt_at=at)
                outbox.write(conn, delivery.ticket_id, jobs, at)
            continue
        _revive(store, delivery, at, jobs)
    return chosen


def _revive(store: Store, delivery: Delivery, at: datetime, jobs: list[Job]) -> None:
    def mutate(ticket: Ticket, seq: int, when: datetime) -> Ticket:
        return _noted(ticket, seq, when, f"delivery to {delivery.destination} sent again "
                      "(hotline deliveries retry)", delivery.destination, delivery.version,
                      PENDING)

    def reset(conn: Connection, _ticket: Ticket | None = None, _at: datetime | None = None
              ) -> None:
        _set(conn, delivery, status=PENDING, attempts=0, next_attempt_at=at)

    try:
        store.change(delivery.ticket_id, mutate, also=reset, jobs=lambda _tid: jobs)
    except (store_module.HistoryFull, store_module.TicketNotFound):
        with store.db.write() as conn:
            reset(conn)
            outbox.write(conn, delivery.ticket_id, jobs, at)


def sweep(store: Store, now: datetime, overdue: timedelta = SWEEP_OVERDUE) -> list[str]:
    """Write a drain for every destination whose oldest pending delivery is overdue by more
    than ``overdue`` (its drain job was lost: Redis lost it, or every retry of it failed);
    the destinations. Drains are idempotent and locked, so a sweep racing one is harmless."""
    since = _utc(now) - overdue
    heads = (select(func.min(deliveries.c.id)).where(deliveries.c.status == PENDING)
             .group_by(deliveries.c.destination))
    with store.db.write() as conn:
        late = {row.destination: row.ticket_id for row in conn.execute(
            select(deliveries.c.destination, deliveries.c.ticket_id)
            .where(deliveries.c.id.in_(heads), deliveries.c.next_attempt_at < since)
            .order_by(deliveries.c.id))}
        for destination, ticket_id in late.items():
            outbox.write(conn, ticket_id, [Job.of(drain, destination)], _utc(now))
    if late:
        log.error("deliveries overdue for %s; drains written again", ", ".join(late))
    return list(late)
