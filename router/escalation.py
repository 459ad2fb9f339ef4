"""Escalation: a small-loop ticket that is overdue goes to the big loop (district center and the
category's department), by a scheduled check.

Overdue: still ``registered`` (its street never acknowledged the delivery) or ``dispatched``
(nobody has started on it) after its ``respond_by``, or not resolved after its
``resolve_by`` (deadlines from the catalogue, by urgency). The relay's periodic check
(:func:`schedule`) writes an :func:`escalate` job for each such ticket; the job changes the
loop, plans the new deliveries and records why in the history. Both take the clock as an
argument.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, exists, or_, select

from router.context import RouterContext
from tickets import outbox
from tickets.db import Database
from tickets.jobs import Job, job
from tickets.model import Decided, Destination, HistoryEntry, Loop, Routing, Status, Ticket
from tickets.queues import QueueName
from tickets.store import now_utc
from tickets.tables import deliveries as deliveries_table
from tickets.tables import tickets

ACTOR = "router:escalation"
NOT_STARTED = (Status.registered.value, Status.dispatched.value)
STILL_OPEN = (*NOT_STARTED, Status.in_progress.value)


def overdue(db: Database, now: datetime, limit: int = 500) -> list[str]:
    """Ids of small-loop tickets past their deadline (a ``registered`` one only once its
    deliveries are planned: one still waiting for a person is the console's, not overdue)."""
    planned = exists().where(deliveries_table.c.ticket_id == tickets.c.id)
    with db.read() as conn:
        rows = conn.execute(
            select(tickets.c.id).where(
                tickets.c.loop == Loop.small.value, tickets.c.status.in_(STILL_OPEN),
                or_(tickets.c.status != Status.registered.value, planned),
                or_(and_(tickets.c.status.in_(NOT_STARTED), tickets.c.respond_by < now),
                    tickets.c.resolve_by < now))
            .order_by(tickets.c.resolve_by).limit(limit)
        ).scalars()
        return list(rows)


def schedule(db: Database, now: datetime) -> list[str]:
    """Write an escalation job for every overdue ticket (the relay calls this periodically;
    the job is idempotent, so a ticket found twice is escalated once)."""
    due = overdue(db, now)
    if due:
        with db.write() as conn:
            for ticket_id in due:
                outbox.write(conn, ticket_id, [Job.of(escalate, ticket_id, now.isoformat())],
                             now)
    return due


def reason(ticket: Ticket, now: datetime) -> str | None:
    routing = ticket.routing
    if ticket.loop is not Loop.small or ticket.status.value not in STILL_OPEN or routing is None:
        return None
    if routing.needs:  # waits for a person (the console), not for a street
        return None
    if ticket.status.value in NOT_STARTED and routing.respond_by and routing.respond_by < now:
        if ticket.status is Status.registered:
            return f"not delivered by {routing.respond_by:%Y-%m-%d %H:%M} UTC"
        return f"nobody started on it by {routing.respond_by:%Y-%m-%d %H:%M} UTC"
    if routing.resolve_by and routing.resolve_by < now:
        return f"not resolved by {routing.resolve_by:%Y-%m-%d %H:%M} UTC"
    return None


@job(QueueName.dispatch)
def escalate(ctx: RouterContext, ticket_id: str, checked_at: str = "") -> str:
    """Move an overdue small-loop ticket to the big loop; returns what happened."""
    now = datetime.fromisoformat(checked_at) if checked_at else now_utc()
    ticket = ctx.store.get(ticket_id)
    why = reason(ticket, now)
    if why is None or not ticket.category:
        return "not overdue"
    code = ticket.category
    router = ctx.router
    category = router.config.catalogue.category(code) if router else None
    added = ["district", f"dept:{category.department if category else 'unknown'}"]

    def mutate(current: Ticket, seq: int, at: datetime) -> Ticket | None:
        if reason(current, now) is None:
            return None
        routing = current.routing or Routing()
        known = {d.id for d in routing.destinations}
        routing = routing.model_copy(update={
            "loop": Decided(source="escalation", detail=why),
            "destinations": [*routing.destinations,
                             *(Destination(id=d, status="pending") for d in added
                               if d not in known)],
        })
        entry = HistoryEntry(seq=seq, at=at, actor=ACTOR,
                             note=f"escalated to the big loop: {why}; to {', '.join(added)}")
        return current.model_copy(update={"loop": Loop.big, "routing": routing,
                                          "history": [*current.history, entry]})

    plan, send = ctx.handover(added)
    changed = ctx.store.change(ticket_id, mutate, jobs=send, also=plan)
    return "escalated" if changed.loop is Loop.big else "not overdue"
