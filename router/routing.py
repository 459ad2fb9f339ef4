"""Routing a registered ticket (the heavy half of the dispatch job, imported by it when a
router is configured): decide, find duplicates, record the decision and plan the deliveries in
one change. Everything decided is in the ticket's history; running it again changes nothing."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection

from router.context import ACTOR, Handover, Router, RouterContext
from router.decide import Context, Decision, decide
from router.duplicates import CANDIDATES, Verdict, judge, open_tickets_nearby, repeats
from tickets.jobcontext import JobContext
from tickets.jobs import JobsFor, no_jobs
from tickets.model import Decided, Destination, HistoryEntry, Routing, Status, Ticket
from tickets.status import check_transition
from tickets.store import MAX_HISTORY, Also, MergeRefused, Mutation

log = logging.getLogger(__name__)


def _routed(ticket: Ticket) -> bool:
    """Already routed in this round: planned for delivery, or merged."""
    routing = ticket.routing
    return ticket.status not in (Status.received, Status.registered) or (
        routing is not None and not routing.needs and bool(routing.destinations))


def summary(routing: Routing, destinations: Sequence[str]) -> str:
    """One line for the history: what was decided and how."""
    def part(name: str, decided: Decided | None) -> str | None:
        if decided is None:
            return None
        how = decided.source + (f" {decided.confidence:.2f}" if decided.confidence is not None
                                and decided.confidence < 1 else "")
        return f"{name}: {decided.detail or '-'} ({how})"

    parts = [part("place", routing.place), part("category", routing.category),
             part("kind", routing.kind), part("loop", routing.loop),
             part("priority", routing.priority)]
    text = "; ".join(p for p in parts if p)
    if routing.needs:
        return f"{text}; waits for a person: needs {', '.join(routing.needs)}"
    return f"{text}; to {', '.join(destinations)}"


def _same_wait(current: Ticket, decided: Ticket) -> bool:
    """``current`` already waits for a person and deciding again found nothing new (only the
    deadlines, counted from now, would move): a repeated run must not write again."""
    routing = current.routing
    if current.status is not Status.registered or routing is None or not routing.needs:
        return False
    moving = {"respond_by", "resolve_by"}
    fields = ("location", "category", "department", "loop", "priority", "kind")
    return (decided.routing or Routing()).model_dump(exclude=moving) == \
        routing.model_dump(exclude=moving) and \
        all(getattr(decided, f) == getattr(current, f) for f in fields)


# what deciding sets on a ticket (:func:`router.decide.decide`); the change applies these to
# the ticket as committed, so what others wrote since it was read (a follow-up's words, a
# duplicate linked to it) is kept
DECIDED = ("location", "kind", "priority", "category", "department", "loop")


def _keep_links(decided: Routing, current: Routing | None) -> Routing:
    """``decided`` with the related tickets linked to the ticket since it was read."""
    linked = current.related if current is not None else []
    related = [*linked, *(r for r in decided.related if r not in linked)]
    return decided if related == decided.related else \
        decided.model_copy(update={"related": related})


@dataclass(frozen=True)
class Change:
    mutate: Mutation
    also: Also
    jobs: JobsFor


def _change(decision: Decision, verdict: Verdict, handover: Handover) -> Change:
    """The change that records ``decision`` on the ticket (and what it writes with it: the
    deliveries ``handover`` plans, and the jobs that send them)."""
    destinations = [] if verdict.action == "merge" else decision.destinations
    plan, send = handover(destinations) if destinations else (None, no_jobs)

    def mutate(current: Ticket, seq: int, at: datetime) -> Ticket | None:
        decided = decision.ticket
        if _routed(current) or _same_wait(current, decided):
            return None
        history = list(current.history)
        if current.status is Status.received:
            history.append(HistoryEntry(seq=seq, at=at, actor=ACTOR, status=Status.registered,
                                        from_status=Status.received))
        routing = _keep_links(decided.routing or Routing(), current.routing)
        update: dict[str, object] = {f: getattr(decided, f) for f in DECIDED}
        if verdict.action == "merge" and verdict.other is not None:
            check_transition(Status.registered, Status.merged)
            history.append(HistoryEntry(
                seq=seq, at=at, actor=ACTOR, status=Status.merged, from_status=Status.registered,
                note=f"the same matter as ticket {verdict.other.number} (text "
                     f"{verdict.score:.2f} alike): merged into it"))
            update.update(status=Status.merged, merged_into=verdict.other.id)
            routing = routing.model_copy(update={"destinations": []})
        else:
            if verdict.action == "related" and verdict.other is not None:
                routing = routing.model_copy(update={
                    "related": sorted({*routing.related, verdict.other.id})})
            known = {x.id for x in routing.destinations}
            routing = routing.model_copy(update={"destinations": [
                *routing.destinations,
                *(Destination(id=d, status="pending") for d in destinations if d not in known)]})
            update["status"] = Status.registered
            history.append(HistoryEntry(seq=seq, at=at, actor=ACTOR,
                                        note=summary(routing, destinations)))
        update.update(routing=routing, history=history)
        return current.model_copy(update=update)

    def also(conn: Connection, ticket: Ticket, at: datetime) -> None:
        if plan is not None and ticket.status is Status.registered:
            plan(conn, ticket, at)

    return Change(mutate, also, send)


# Tickets linked to one open ticket that each get a note in its history; later ones are in
# its ``routing.related`` only. A matter many residents report (the chaos run's streets: about
# 2,000 merges into each survivor) would otherwise grow the survivor's history by one entry per
# report — a document read and rewritten by every later merge (246 KB and 23 ms of CPU to
# validate and dump at 1,000 entries) until MAX_HISTORY refused the link and failed the job.
NOTED_LINKS = 20


def _link_survivor(ctx: JobContext, merged: Ticket, verdict: Verdict) -> None:
    """The open ticket learns of the one merged into it (or linked with it): in
    ``routing.related`` always, with a history note for the first :data:`NOTED_LINKS`."""
    other = verdict.other
    if other is None:
        return
    note = (f"ticket {merged.number} about the same matter was merged into this one"
            if verdict.action == "merge" else
            f"ticket {merged.number} may be about the same matter")

    def mutate(current: Ticket, seq: int, at: datetime) -> Ticket | None:
        routing = current.routing or Routing()
        if merged.id in routing.related:
            return None
        linked = routing.model_copy(update={"related": [*routing.related, merged.id]})
        if len(routing.related) >= NOTED_LINKS or len(current.history) >= MAX_HISTORY:
            return current.model_copy(update={"routing": linked})
        entry = HistoryEntry(seq=seq, at=at, actor=ACTOR, note=note)
        return current.model_copy(update={"routing": linked,
                                          "history": [*current.history, entry]})

    ctx.store.change(other.id, mutate)


def route(ctx: RouterContext, router: Router, ticket_id: str) -> str:
    """Route one ticket; its status afterwards.

    A merge the store refuses under its write lock — the ticket this one matched was merged
    since it was read, perhaps into this very one by another worker deciding at the same
    moment — is decided again from what is committed now. Each refusal takes one more
    ticket out of the open candidates (a merged ticket is none), so this ends: at the latest
    when no candidate is left."""
    for _ in range(CANDIDATES + 1):
        try:
            return _route_once(ctx, router, ticket_id)
        except MergeRefused as exc:
            if not exc.conflict:
                raise
            log.info("ticket %s: %s; deciding again", ticket_id, exc)
    raise RuntimeError(f"ticket {ticket_id}: merges refused more often than there are "
                       "candidates")


def _route_once(ctx: RouterContext, router: Router, ticket_id: str) -> str:
    ticket = ctx.store.get(ticket_id)
    if _routed(ticket):
        return ticket.status.value
    now = datetime.now(UTC)
    config = router.config
    first = decide(config, router.model, ticket, Context(), now)
    with ctx.store.db.read() as conn:
        seen = repeats(conn, first.ticket, config.rules.repeat.days, now)
        nearby = open_tickets_nearby(conn, first.ticket, config.rules.duplicates, now)
    decision = decide(config, router.model, ticket, Context(seen), now) if seen else first
    verdict = judge(decision.ticket, nearby, config.rules.duplicates) if not \
        decision.ticket.routing or not decision.ticket.routing.needs else Verdict("none")
    change = _change(decision, verdict, ctx.handover)
    changed = ctx.store.change(ticket_id, change.mutate, jobs=change.jobs, also=change.also)
    if verdict.action != "none" and changed.id == ticket.id:
        _link_survivor(ctx, changed, verdict)
    log.info("ticket %s routed: %s", changed.number, changed.history[-1].note or
             changed.status.value)
    return changed.status.value
