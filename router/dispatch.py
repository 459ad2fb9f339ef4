"""The dispatch job: steps 2–3 of the loop. A received ticket becomes a registered case; with a
router configured it is routed at once (:mod:`router.routing`): place, category, loop,
duplicates, delivery to its desks — or it waits, registered, for a person to decide what the
router could not. This module stays light (every new ticket names its job); the routing
pipeline (scikit-learn, shapely, jieba) is imported only by a worker that routes."""

from __future__ import annotations

from datetime import datetime

from router.context import ACTOR, RouterContext
from tickets.jobs import job
from tickets.model import HistoryEntry, Status, Ticket
from tickets.queues import QueueName


def _register(ticket: Ticket, seq: int, at: datetime) -> Ticket | None:
    """Step 2 without routing (no router configured): received → registered."""
    if ticket.status is not Status.received:
        return None
    entry = HistoryEntry(seq=seq, at=at, actor=ACTOR, status=Status.registered,
                         from_status=ticket.status)
    return ticket.model_copy(update={"status": Status.registered,
                                     "history": [*ticket.history, entry]})


@job(QueueName.dispatch)
def dispatch(ctx: RouterContext, ticket_id: str) -> str:
    """Register and route a ticket; returns its status afterwards."""
    router = ctx.router
    if router is None:
        return ctx.store.change(ticket_id, _register).status.value
    from router.routing import route  # the heavy half, for workers that route

    return route(ctx, router, ticket_id)
