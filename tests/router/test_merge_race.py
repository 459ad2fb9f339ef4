"""Router workers deciding at once that their tickets are the same matter (SQLite and
PostgreSQL, one database, one thread per worker with its own store, as separate worker
processes have): each finds the other ticket open and merges its own into it. The store
checks the survivor inside the write transaction, so the second merge is refused
(:class:`~tickets.store.MergeRefused`) and the router decides again from what is committed
(the retry in :func:`router.routing.route`): a merge chain never closes on itself, one ticket
stays open and every merged one leads to it."""

from __future__ import annotations

import threading
from pathlib import Path

from hotline.worker import WorkerContext
from router.classify import Model
from router.context import Router
from router.dispatch import dispatch
from router.routerconfig import RouterConfig
from tests.support.intakes import intake
from tickets.events import TicketEvent, apply_event
from tickets.jobs import JobsFor, no_jobs
from tickets.model import Location, Status, Ticket
from tickets.store import Also, MergeRefused, Mutation, Receipt, Store

# the same manhole in Dongsi, written three ways (each pair >= 0.75 alike: a merge)
TEXTS = ("东四三条12号门口的井盖丢了，晚上很危险", "东四三条12号门口井盖丢了 晚上很危险",
         "东四三条12号门口的井盖丢了 晚上很危险！")
CATEGORY, STREET = "municipal.manhole", "DS"
ROUNDS = 3


class Worker(Store):
    """One router worker's own store over the shared database. Its first change waits until
    every worker has read the tickets and decided (so each decided with the others still
    open); it counts the merges the store refused."""

    def __init__(self, base: Store, barrier: threading.Barrier) -> None:
        super().__init__(base.db, timezone=base.tz.key, intake_jobs=base.intake_jobs,
                         handover=base.handover, change_jobs=base.change_jobs)
        self.barrier = barrier
        self.waited = False
        self.refused = 0

    def change(self, ticket_ref: str, mutate: Mutation, *, jobs: JobsFor = no_jobs,
               also: Also | None = None, receipt: Receipt | None = None) -> Ticket:
        if not self.waited:
            self.waited = True
            self.barrier.wait(timeout=120)
        try:
            return super().change(ticket_ref, mutate, jobs=jobs, also=also, receipt=receipt)
        except MergeRefused:
            self.refused += 1
            raise


def same_matter(store: Store, ref: str, text: str) -> Ticket:
    return store.submit(intake(ref, text, category=CATEGORY,
                               location=Location(street=STREET))).ticket


def survivor(store: Store, ticket: Ticket) -> Ticket:
    """Follow ``merged_into`` to the open ticket; a cycle fails the test."""
    seen: set[str] = set()
    while ticket.merged_into is not None:
        assert ticket.id not in seen, f"the merge chain closes on itself at {ticket.number}"
        seen.add(ticket.id)
        ticket = store.get(ticket.merged_into)
    return ticket


def race(store: Store, ids: list[str], config: RouterConfig, model: Model,
         tmp_path: Path) -> list[Worker]:
    """Route every ticket of ``ids`` at once, each by its own worker."""
    barrier = threading.Barrier(len(ids))
    workers = [Worker(store, barrier) for _ in ids]
    failures: list[BaseException] = []

    def run(worker: Worker, ticket_id: str) -> None:
        ctx = WorkerContext(store=worker, media_dir=tmp_path, router=Router(config, model))
        try:
            dispatch(ctx, ticket_id)
        except BaseException as exc:  # reported by the test thread
            failures.append(exc)
            barrier.abort()

    threads = [threading.Thread(target=run, args=(w, i)) for w, i in zip(workers, ids,
                                                                          strict=True)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == [], failures
    return workers


def set_aside(store: Store, ticket: Ticket) -> None:
    """Reject the round's survivor: the next round's tickets must not find it open."""
    e = TicketEvent(actor="street:DS", status=Status.rejected, reason="测试轮次结束")
    store.change(ticket.id, lambda t, s, a: apply_event(t, e, s, a))


def check_one_survivor(store: Store, ids: list[str]) -> Ticket:
    tickets = [store.get(i) for i in ids]
    alive = [t for t in tickets if t.status is not Status.merged]
    assert len(alive) == 1, [(t.number, t.status, t.merged_into) for t in tickets]
    [kept] = alive
    assert kept.status is Status.registered and kept.merged_into is None
    assert kept.routing is not None and kept.routing.destinations  # routed to its desks
    for t in tickets:
        assert survivor(store, t).id == kept.id
    return kept


def test_opposite_merges_by_two_workers_leave_one_survivor(
        store: Store, config: RouterConfig, model: Model, tmp_path: Path) -> None:
    for r in range(ROUNDS):
        a = same_matter(store, f"race-a{r}", TEXTS[0])
        b = same_matter(store, f"race-b{r}", TEXTS[1])
        workers = race(store, [a.id, b.id], config, model, tmp_path)
        # both decided "merge into the other": the second merge was refused in the write
        # transaction and its ticket decided again, with the first one merged (the retry)
        assert sorted(w.refused for w in workers) == [0, 1]
        kept = check_one_survivor(store, [a.id, b.id])
        gone = store.get(b.id if kept.id == a.id else a.id)
        assert gone.merged_into == kept.id
        assert kept.routing is not None and gone.id in kept.routing.related
        set_aside(store, kept)


def test_three_workers_never_close_a_merge_chain(
        store: Store, config: RouterConfig, model: Model, tmp_path: Path) -> None:
    for r in range(ROUNDS):
        ids = [same_matter(store, f"chain{r}-{i}", text).id for i, text in enumerate(TEXTS)]
        workers = race(store, ids, config, model, tmp_path)
        assert sum(w.refused for w in workers) >= 1
        set_aside(store, check_one_survivor(store, ids))


class Held(Store):
    """A worker's store whose first change waits for ``go`` (after setting ``held``)."""

    def __init__(self, base: Store) -> None:
        super().__init__(base.db, timezone=base.tz.key, intake_jobs=base.intake_jobs,
                         handover=base.handover, change_jobs=base.change_jobs)
        self.held, self.go = threading.Event(), threading.Event()

    def change(self, ticket_ref: str, mutate: Mutation, *, jobs: JobsFor = no_jobs,
               also: Also | None = None, receipt: Receipt | None = None) -> Ticket:
        if not self.held.is_set():
            self.held.set()
            assert self.go.wait(timeout=120)
        return super().change(ticket_ref, mutate, jobs=jobs, also=also, receipt=receipt)


def test_a_duplicate_linked_while_the_ticket_is_routed_stays_linked(
        store: Store, config: RouterConfig, model: Model, tmp_path: Path) -> None:
    """Worker 1 has read ticket A and decided (no duplicate yet) when worker 2 merges the
    newer B into A and links it; A's routing, written after, keeps the link."""
    a = same_matter(store, "link-a", TEXTS[0])
    held = Held(store)
    routed: list[str] = []
    thread = threading.Thread(target=lambda: routed.append(dispatch(
        WorkerContext(store=held, media_dir=tmp_path, router=Router(config, model)), a.id)))
    thread.start()
    try:
        assert held.held.wait(timeout=120)  # A is decided, its change not yet written
        b = same_matter(store, "link-b", TEXTS[1])
        dispatch(WorkerContext(store=store, media_dir=tmp_path, router=Router(config, model)),
                 b.id)
        assert store.get(b.id).merged_into == a.id
    finally:
        held.go.set()
        thread.join()
    assert routed == [Status.registered.value]
    kept = store.get(a.id)
    assert kept.routing is not None and kept.routing.related == [b.id]
    assert kept.routing.destinations
    assert any(b.number in (h.note or "") for h in kept.history)
