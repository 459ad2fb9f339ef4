"""Delivery to destinations against a real local receiver and a real Redis, on SQLite and
PostgreSQL: retries with back-off and one effect per delivery key, order kept through an hour
of downtime, dead letters and retry, one drain at a time, Redis streams, ``dispatched`` only
when every destination acknowledged — job functions called with a worker context, and once
through the outbox relay and a real RQ worker."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import cast

import httpx
import pytest
from redis import Redis
from sqlalchemy import select

from delivery import plan, records, retry, webhooks
from delivery.destinations import Destinations, Webhook
from delivery.drain import BUSY_DELAY, NoRedis, backoff, drain
from delivery.records import DEAD, DELIVERED, PENDING
from delivery.transports import webhook as webhook_transport
from hotline.worker import WorkerContext
from tests.support.intakes import intake
from tests.support.services import RedisServer, free_port
from tickets.jobs import path_of
from tickets.model import Destination, HistoryEntry, Routing, Status, Ticket
from tickets.queues import QueueName
from tickets.redisclient import connect
from tickets.relay import relay_once
from tickets.store import Store
from tickets.tables import deliveries as deliveries_table
from tickets.tables import outbox
from tickets.worker import ContextWorker

SECRET = "rcv-7Hq2mZ9xL4pW1sK8"
DS = "street:DS"


class Clock:
    """The wall clock plus an offset the test moves forward (never behind real time, so what
    the store stamps with the real time is never in this clock's future)."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += timedelta(seconds=seconds)


# -- a back office on 127.0.0.1 ------------------------------------------------------------------
@dataclass
class Seen:
    delivery: str
    destination: str
    ticket_id: str
    verified: str  # "ok" or why webhooks.verify refused it


@dataclass
class Receiver:
    """A real HTTP server in a thread. It checks each request with :func:`webhooks.verify`,
    applies each delivery once (it keeps the keys it has seen) and answers as told: ``ok``,
    ``500``, ``hang`` (applies, then answers only after the client gave up) or ``hold``
    (applies, waits for :attr:`release`, then answers 200). Nothing is asserted in here."""

    port: int = field(default_factory=free_port)
    script: list[str] = field(default_factory=list)  # answers for the next requests, in order
    failing: set[str] = field(default_factory=set)  # ticket ids always answered 500
    requests: list[Seen] = field(default_factory=list)
    effects: list[Seen] = field(default_factory=list)
    waiting: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hotline"

    def handle(self, raw: bytes, headers: dict[str, str]) -> tuple[str, int]:
        try:
            webhooks.verify(SECRET, raw, headers, now=time.time())
            verified = "ok"
        except webhooks.Refused as exc:
            verified = str(exc)
        doc = json.loads(raw)
        seen = Seen(doc["delivery"], doc["destination"], doc["ticket"]["id"], verified)
        with self._lock:
            self.requests.append(seen)
            if verified != "ok":
                return "refuse", 401
            answer = self.script.pop(0) if self.script else (
                "500" if seen.ticket_id in self.failing else "ok")
            if answer != "500" and seen.delivery not in {e.delivery for e in self.effects}:
                self.effects.append(seen)  # the receiver's idempotency: once per key
        return answer, 500 if answer == "500" else 200

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                answer, status = receiver.handle(raw, dict(self.headers.items()))
                if answer in ("hang", "hold"):
                    receiver.waiting.set()
                    receiver.release.wait(30)
                try:
                    self.send_response(status)
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"ok" if status == 200 else b"no")
                except OSError:
                    pass  # the client gave up (hang)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.release.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    r.start()
    yield r
    r.stop()


@pytest.fixture
def redis(redis_server: RedisServer) -> Redis:
    return connect(redis_server.url)


@pytest.fixture
def clock() -> Clock:
    return Clock()


def context(store: Store, redis: Redis, clock: Clock | None = None, *, tmp: Path,
            webhook: dict[str, str] | None = None, streams: Sequence[str] = (),
            max_attempts: int = 30, timeout: float = 5.0) -> WorkerContext:
    """The worker context ``hotline worker`` builds, with these destinations."""
    config = Destinations(webhooks={p: Webhook(url, SECRET) for p, url in (webhook or {}).items()},
                          streams=tuple(streams), max_attempts=max_attempts, timeout=timeout)
    if clock is None:
        return WorkerContext(store=store, media_dir=tmp, redis=redis, destinations=config)
    return WorkerContext(store=store, media_dir=tmp, redis=redis, destinations=config,
                         clock=clock)


# -- what the router does (the lead's dispatch job does the same through Store.change) ----------
def routed(store: Store, ref: str, destinations: Sequence[str],
           needs: Sequence[str] = ()) -> Ticket:
    """A new ticket, registered and routed to ``destinations`` with its deliveries planned."""
    ticket = store.submit(intake(ref, f"路灯坏了 {ref}")).ticket

    def mutate(current: Ticket, seq: int, at: datetime) -> Ticket:
        routing = Routing.model_validate({
            "needs": list(needs),
            "destinations": [{"id": d, "status": "pending"} for d in destinations]})
        entry = HistoryEntry(seq=seq, at=at, actor="router", status=Status.registered,
                             from_status=current.status)
        return current.model_copy(update={"status": Status.registered, "routing": routing,
                                          "history": [*current.history, entry]})

    return store.change(ticket.id, mutate,
                        also=lambda conn, t, at: plan.plan(conn, t, destinations, at),
                        jobs=plan.drain_jobs(destinations))


def rows(store: Store, ticket_id: str | None = None) -> list[records.Delivery]:
    query = select(deliveries_table).order_by(deliveries_table.c.id)
    if ticket_id is not None:
        query = query.where(deliveries_table.c.ticket_id == ticket_id)
    with store.db.read() as conn:
        return [records.Delivery.of(r) for r in conn.execute(query)]


def drains(store: Store) -> list[tuple[str, float]]:
    """The drain jobs in the outbox: (destination, delay in seconds), oldest first."""
    with store.db.read() as conn:
        found = conn.execute(select(outbox).where(outbox.c.job == path_of(drain))
                             .order_by(outbox.c.id)).all()
    return [(r.args[0], (r.run_at - r.created_at).total_seconds()) for r in found]


def destination(ticket: Ticket, name: str) -> Destination:
    assert ticket.routing is not None
    return next(d for d in ticket.routing.destinations if d.id == name)


def notes(ticket: Ticket) -> list[str]:
    return [h.note for h in ticket.history if h.note]


# -- planning -----------------------------------------------------------------------------------
def test_plan_writes_one_delivery_per_destination_and_round(store: Store) -> None:
    t = routed(store, "p1", [DS, "district", DS])
    planned = rows(store, t.id)
    assert [(d.destination, d.status, d.attempts, d.version) for d in planned] == [
        (DS, PENDING, 0, 1), ("district", PENDING, 0, 1)]
    assert len({d.key for d in planned}) == 2
    assert drains(store) == [(DS, 0.0), ("district", 0.0)]  # written with the routing change

    # escalation adds destinations in the same round: only the new one is planned
    store.change(t.id, lambda c, _s, _a: c.model_copy(update={"priority": 2}),
                 also=lambda conn, c, at: plan.plan(conn, c, [DS, "dept:dept.health"], at))
    assert [d.destination for d in rows(store, t.id)] == [DS, "district", "dept:dept.health"]

    # handed back by the back office and routed again: a new round, delivered again
    def hand_back(c: Ticket, seq: int, at: datetime) -> Ticket:
        history = [*c.history,
                   HistoryEntry(seq=seq, at=at, actor="backoffice", status=Status.dispatched,
                                from_status=c.status),
                   HistoryEntry(seq=seq, at=at, actor="backoffice", status=Status.registered,
                                from_status=Status.dispatched)]
        return c.model_copy(update={"history": history})

    store.change(t.id, hand_back, also=lambda conn, c, at: plan.plan(conn, c, [DS], at))
    again = rows(store, t.id)
    assert [(d.destination, d.version) for d in again][-1] == (DS, 2)
    assert again[-1].key != again[0].key


def test_plan_refuses_a_malformed_destination(store: Store) -> None:
    with pytest.raises(ValueError, match="not a destination id"):
        routed(store, "bad", ["street:ds"])
    assert rows(store) == []


# -- a webhook that fails, times out, then succeeds ---------------------------------------------
def test_500_then_timeout_then_success_has_one_effect(
    store: Store, redis: Redis, receiver: Receiver, clock: Clock, tmp_path: Path
) -> None:
    receiver.script = ["500", "hang"]
    ctx = context(store, redis, clock, tmp=tmp_path, webhook={DS: receiver.url}, timeout=0.5)
    t = routed(store, "w1", [DS])

    assert "failed, next attempt in 10 s" in drain(ctx, DS)
    [row] = rows(store)
    assert (row.status, row.attempts, row.last_error) == (PENDING, 1, "webhook: HTTP 500: no")
    assert drain(ctx, DS).endswith(f"delivery {row.id} waits until "
                                   f"{row.next_attempt_at:%H:%M:%S}")  # not due yet
    assert len(receiver.requests) == 1

    clock.advance(10)
    assert "failed, next attempt in 20 s" in drain(ctx, DS)  # the client gave up waiting
    assert receiver.waiting.is_set()
    receiver.release.set()
    [row] = rows(store)
    assert row.attempts == 2 and row.last_error == "webhook: no answer within 0.5 s"

    clock.advance(20)
    assert drain(ctx, DS).startswith(f"{DS}: 1 delivered, 0 dead")
    [row] = rows(store)
    assert (row.status, row.attempts, row.transport, row.last_error) == (
        DELIVERED, 3, "webhook", None)

    # three requests, one key, every signature good; the receiver applied it once
    assert [s.delivery for s in receiver.requests] == [row.key] * 3
    assert {s.verified for s in receiver.requests} == {"ok"}
    assert [(e.delivery, e.destination, e.ticket_id) for e in receiver.effects] == [
        (row.key, DS, t.id)]
    # each failure scheduled the next drain after its back-off
    assert drains(store) == [(DS, 0.0), (DS, 10.0), (DS, 20.0)]

    done = store.get(t.id)
    assert destination(done, DS).status == "delivered" and destination(done, DS).at
    assert f"delivered to {DS} by webhook" in notes(done)
    assert done.status is Status.dispatched
    last = done.history[-1]
    assert (last.actor, last.from_status, last.status) == (
        "router", Status.registered, Status.dispatched)


# -- a destination down for an hour -------------------------------------------------------------
def test_a_destination_down_for_an_hour_drains_afterwards_in_order(
    store: Store, redis: Redis, clock: Clock, tmp_path: Path
) -> None:
    back_office = Receiver()  # not listening yet: connections are refused
    ctx = context(store, redis, clock, tmp=tmp_path, webhook={DS: back_office.url})
    planned: list[str] = []
    for minute in range(0, 60, 5):  # a ticket every five minutes, each with its drain job
        planned.append(routed(store, f"down{minute}", [DS]).id)
        drain(ctx, DS)
        clock.advance(5 * 60)
    head, *rest = rows(store)
    assert head.status == PENDING and head.attempts >= 6  # 10 s doubling, at most 15 min
    assert head.last_error is not None and "ConnectError" in head.last_error
    assert all(r.status == PENDING and r.attempts == 0 for r in rest)  # none overtook it
    assert all(store.get(t).status is Status.registered for t in planned)

    back_office.start()
    try:
        clock.advance(15 * 60)  # the longest back-off: the drain it scheduled runs
        assert drain(ctx, DS).startswith(f"{DS}: {len(planned)} delivered, 0 dead")
    finally:
        back_office.stop()
    assert [s.ticket_id for s in back_office.requests] == planned  # in order, each once
    assert [e.ticket_id for e in back_office.effects] == planned
    assert {s.verified for s in back_office.requests} == {"ok"}
    assert all(r.status == DELIVERED for r in rows(store))
    assert all(store.get(t).status is Status.dispatched for t in planned)
    assert drain(ctx, DS).endswith("nothing waits")


# -- dead letters and retry ---------------------------------------------------------------------
def test_dead_after_n_attempts_the_rest_goes_on_and_retry_brings_it_back(
    store: Store, redis: Redis, receiver: Receiver, clock: Clock, tmp_path: Path
) -> None:
    ctx = context(store, redis, clock, tmp=tmp_path, webhook={"street:*": receiver.url},
                  max_attempts=3)
    a = routed(store, "dead-a", [DS])
    b = routed(store, "dead-b", [DS])
    receiver.failing = {a.id}
    drain(ctx, DS)
    clock.advance(10)
    drain(ctx, DS)
    clock.advance(20)
    assert drain(ctx, DS).startswith(f"{DS}: 1 delivered, 1 dead")  # a set aside, b went on
    dead, ok = rows(store)
    assert (dead.status, dead.attempts, dead.last_error) == (DEAD, 3, "webhook: HTTP 500: no")
    assert ok.status == DELIVERED
    a_now = store.get(a.id)
    assert destination(a_now, DS).status == "failed"
    assert a_now.status is Status.registered
    assert any("failed 3 times" in n and "HTTP 500" in n for n in notes(a_now))
    assert store.get(b.id).status is Status.dispatched
    assert [d.id for d in retry.listing(store, statuses=[DEAD])] == [dead.id]
    assert [d.ticket_number for d in retry.listing(store)] == [a.number]

    receiver.failing = set()  # the back office fixed its side
    before = len(drains(store))
    assert [d.id for d in retry.retry(store)] == [dead.id]
    [again] = [r for r in rows(store) if r.id == dead.id]
    assert (again.status, again.attempts) == (PENDING, 0)
    assert drains(store)[before:] == [(DS, 0.0)]
    a_now = store.get(a.id)
    assert destination(a_now, DS).status == "pending"
    assert notes(a_now)[-1] == f"delivery to {DS} sent again (hotline deliveries retry)"

    assert drain(ctx, DS).startswith(f"{DS}: 1 delivered, 0 dead")
    assert store.get(a.id).status is Status.dispatched
    assert sorted(e.ticket_id for e in receiver.effects) == sorted([a.id, b.id])
    with pytest.raises(retry.RetryRefused, match="delivered already"):
        retry.retry(store, [str(dead.id)])
    with pytest.raises(retry.RetryRefused, match="no delivery 999"):
        retry.retry(store, ["999"])


def test_retry_of_a_pending_delivery_makes_it_due_now(
    store: Store, redis: Redis, clock: Clock, tmp_path: Path
) -> None:
    ctx = context(store, redis, clock, tmp=tmp_path, webhook={DS: f"http://127.0.0.1:{free_port()}/"})
    routed(store, "soon", [DS])
    drain(ctx, DS)
    [row] = rows(store)
    assert row.next_attempt_at > clock()
    [retried] = retry.retry(store, [row.key], now=clock())
    [row] = rows(store)
    assert retried.id == row.id and row.attempts == 1 and row.next_attempt_at <= clock()


# -- one drain per destination at a time --------------------------------------------------------
def test_a_second_drain_while_one_runs_sends_nothing_and_schedules_one_follow_up(
    store: Store, redis: Redis, receiver: Receiver, tmp_path: Path
) -> None:
    receiver.script = ["hold"]  # the first request waits until released
    ctx = context(store, redis, tmp=tmp_path, webhook={DS: receiver.url}, timeout=30)
    tickets = [routed(store, f"lock{i}", [DS]).id for i in range(3)]
    results: list[str] = []
    first = threading.Thread(target=lambda: results.append(drain(ctx, DS)))
    first.start()
    assert receiver.waiting.wait(30)
    before = drains(store)
    assert drain(ctx, DS).endswith("a follow-up in 2 s")
    assert drain(ctx, DS).endswith("a follow-up is due")
    assert drains(store)[len(before):] == [(DS, BUSY_DELAY)]  # one follow-up for both
    receiver.release.set()
    first.join(30)
    assert results == [f"{DS}: 3 delivered, 0 dead; nothing waits"]
    assert [s.ticket_id for s in receiver.requests] == tickets
    assert drain(ctx, DS, True).endswith("nothing waits")  # the follow-up: nothing left
    assert not redis.exists(f"hotline:deliver:again:{DS}")  # and it cleared the flag


def test_drains_racing_send_each_delivery_once(
    store: Store, redis: Redis, receiver: Receiver, tmp_path: Path
) -> None:
    ctx = context(store, redis, tmp=tmp_path, webhook={DS: receiver.url})
    tickets = [routed(store, f"race{i}", [DS]).id for i in range(12)]
    barrier = threading.Barrier(4)

    def run() -> None:
        barrier.wait()
        drain(ctx, DS)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    for _ in range(10):  # what the follow-up drains would do
        if all(r.status == DELIVERED for r in rows(store)):
            break
        drain(ctx, DS, True)
    assert [s.ticket_id for s in receiver.requests] == tickets
    assert len({s.delivery for s in receiver.requests}) == 12


# -- Redis streams ------------------------------------------------------------------------------
def test_stream_transport_adds_entries_in_order(
    store: Store, redis: Redis, tmp_path: Path
) -> None:
    ctx = context(store, redis, tmp=tmp_path, streams=["street:*"])
    tickets = [routed(store, f"s{i}", [DS]).id for i in range(3)]
    other = routed(store, "s-js", ["street:JS"]).id
    assert drain(ctx, DS).startswith(f"{DS}: 3 delivered")
    drain(ctx, "street:JS")
    entries = cast(list[tuple[bytes, dict[bytes, bytes]]], redis.xrange(f"hotline:dest:{DS}"))
    fields = [{k.decode(): v.decode() for k, v in data.items()} for _id, data in entries]
    assert [json.loads(f["ticket"])["id"] for f in fields] == tickets
    assert [f["delivery"] for f in fields] == [r.key for r in rows(store)][:3]
    assert {f["destination"] for f in fields} == {DS}
    assert redis.xlen("hotline:dest:street:JS") == 1
    assert all(r.transport == "stream" for r in rows(store))
    done = store.get(tickets[0])
    assert f"delivered to {DS} by stream" in notes(done)
    assert done.status is Status.dispatched and store.get(other).status is Status.dispatched


def test_webhook_and_stream_together_add_the_entry_once_the_webhook_acknowledged(
    store: Store, redis: Redis, receiver: Receiver, clock: Clock, tmp_path: Path
) -> None:
    receiver.script = ["500"]
    ctx = context(store, redis, clock, tmp=tmp_path, webhook={"district": receiver.url},
                  streams=["district"])
    routed(store, "both", ["district"])
    drain(ctx, "district")
    assert redis.xlen("hotline:dest:district") == 0
    clock.advance(10)
    drain(ctx, "district")
    assert redis.xlen("hotline:dest:district") == 1
    [row] = rows(store)
    assert (row.status, row.transport) == (DELIVERED, "webhook+stream")


# -- dispatched only when every destination acknowledged ---------------------------------------
def test_dispatched_only_when_every_destination_acknowledged(
    store: Store, redis: Redis, receiver: Receiver, clock: Clock, tmp_path: Path
) -> None:
    receiver.script = ["500"]
    ctx = context(store, redis, clock, tmp=tmp_path, webhook={DS: receiver.url})
    t = routed(store, "both-desks", [DS, "district"])  # district: no push transport

    assert drain(ctx, "district").startswith("district: 1 delivered")  # feed-only: at once
    after = store.get(t.id)
    assert destination(after, "district").status == "delivered"
    assert destination(after, DS).status == "pending"
    assert after.status is Status.registered
    assert "delivered to district by feed" in notes(after)
    assert receiver.requests == []

    drain(ctx, DS)
    assert store.get(t.id).status is Status.registered
    clock.advance(10)
    drain(ctx, DS)
    done = store.get(t.id)
    assert done.status is Status.dispatched
    assert notes(done)[-3:-1] == ["delivered to district by feed", f"delivered to {DS} by webhook"]
    assert done.history[-1].status is Status.dispatched
    assert [h.status for h in done.history if h.status] == [
        Status.received, Status.registered, Status.dispatched]


def test_a_ticket_waiting_for_a_person_is_not_dispatched(
    store: Store, redis: Redis, tmp_path: Path
) -> None:
    ctx = context(store, redis, tmp=tmp_path)
    t = routed(store, "needs", ["district"], needs=["place"])
    drain(ctx, "district")
    after = store.get(t.id)
    assert destination(after, "district").status == "delivered"
    assert after.status is Status.registered


# -- through the outbox relay and a real RQ worker ----------------------------------------------
def test_through_the_relay_and_a_real_worker(
    store: Store, redis: Redis, receiver: Receiver, clock: Clock, tmp_path: Path
) -> None:
    receiver.script = ["500"]
    ctx = context(store, redis, clock, tmp=tmp_path, webhook={DS: receiver.url},
                  streams=["district"])
    t = routed(store, "rq1", [DS, "district"])
    worker = ContextWorker([QueueName.deliver], connection=redis, context=ctx)

    relay_once(store.db, redis)
    assert worker.work(burst=True)
    assert destination(store.get(t.id), "district").status == "delivered"
    assert store.get(t.id).status is Status.registered  # street:DS answered 500

    clock.advance(11)  # the work horse forks with this clock: the back-off is over
    assert relay_once(store.db, redis, now=clock()) == 1  # the drain the failure scheduled
    assert worker.work(burst=True)
    done = store.get(t.id)
    assert done.status is Status.dispatched
    assert [e.ticket_id for e in receiver.effects] == [t.id]
    assert redis.xlen("hotline:dest:district") == 1
    assert all(r.status == DELIVERED for r in rows(store))


# -- the sweep for lost drains ------------------------------------------------------------------
def test_sweep_writes_a_drain_for_an_overdue_destination_only(
    store: Store, redis: Redis, clock: Clock, tmp_path: Path
) -> None:
    routed(store, "lost", [DS])  # its drain job is never run: as if Redis lost it
    waiting_ctx = context(store, redis, clock, tmp=tmp_path,
                          webhook={"district": f"http://127.0.0.1:{free_port()}/"})
    routed(store, "backing-off", ["district"])
    for attempt in range(1, 9):  # fails until its next attempt is the longest back-off away
        drain(waiting_ctx, "district")
        if attempt < 8:
            clock.advance(backoff(attempt))
    before = len(drains(store))
    now = datetime.now(UTC)  # the time the street's delivery was planned at, give or take
    assert retry.sweep(store, now) == []
    # 16 minutes on: the street's first attempt is overdue, district's (15 min ahead of the
    # test clock, which runs ahead of the wall clock) is not
    assert retry.sweep(store, now + timedelta(minutes=16)) == [DS]
    assert drains(store)[before:] == [(DS, 0.0)]


def test_a_worker_without_redis_says_so(store: Store, tmp_path: Path) -> None:
    with pytest.raises(NoRedis):
        drain(WorkerContext(store=store, media_dir=tmp_path), DS)


def test_backoff_doubles_to_fifteen_minutes_and_thirty_attempts_span_hours() -> None:
    assert [backoff(n) for n in range(1, 9)] == [
        10, 20, 40, 80, 160, 320, 640, 900]
    # the default 30 attempts: 29 waits, almost six hours
    assert 5.5 < sum(backoff(n) for n in range(1, 30)) / 3600 < 6


def test_drain_jobs_of_one_worker_share_one_http_client(
    store: Store, redis: Redis, receiver: Receiver, tmp_path: Path
) -> None:
    timeout = 7.25 if store.db.dialect == "sqlite" else 7.5  # a client of its own
    ctx = context(store, redis, tmp=tmp_path, webhook={DS: receiver.url}, timeout=timeout)
    http = webhook_transport.shared(timeout)
    assert http._client is None
    clients: list[httpx.Client | None] = []
    for n in range(2):
        routed(store, f"reuse{n}", [DS])
        assert drain(ctx, DS).startswith(f"{DS}: 1 delivered")
        clients.append(http._client)  # made by the first drain, kept by the second
    assert clients[0] is not None and clients[0] is clients[1] and not clients[0].is_closed
    assert len(receiver.effects) == 2
