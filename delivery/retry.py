"""Operators' side of deliveries: list them, send them again, and the periodic sweep that
writes a fresh drain for a destination whose drain job was lost."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, func, select

from delivery.destinations import check_id
from delivery.drain import drain
from delivery.outcomes import noted
from delivery.records import DEAD, DELIVERED, PENDING, Delivery, set_values, utc
from tickets import outbox
from tickets.jobs import Job
from tickets.model import Ticket
from tickets.store import HistoryFull, Store, TicketNotFound
from tickets.tables import deliveries, tickets

log = logging.getLogger(__name__)

SWEEP_OVERDUE = timedelta(minutes=15)


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
    at = utc(now or datetime.now(UTC))
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
                set_values(conn, delivery, next_attempt_at=at)
                outbox.write(conn, delivery.ticket_id, jobs, at)
            continue
        _revive(store, delivery, at, jobs)
    return chosen


def _revive(store: Store, delivery: Delivery, at: datetime, jobs: list[Job]) -> None:
    def mutate(ticket: Ticket, seq: int, when: datetime) -> Ticket:
        return noted(ticket, seq, when, f"delivery to {delivery.destination} sent again "
                      "(hotline deliveries retry)", delivery.destination, delivery.version,
                      PENDING)

    def reset(conn: Connection, _ticket: Ticket | None = None, _at: datetime | None = None
              ) -> None:
        set_values(conn, delivery, status=PENDING, attempts=0, next_attempt_at=at)

    try:
        store.change(delivery.ticket_id, mutate, also=reset, jobs=lambda _tid: jobs)
    except (HistoryFull, TicketNotFound):
        with store.db.write() as conn:
            reset(conn)
            outbox.write(conn, delivery.ticket_id, jobs, at)


def sweep(store: Store, now: datetime, overdue: timedelta = SWEEP_OVERDUE) -> list[str]:
    """Write a drain for every destination whose oldest pending delivery is overdue by more
    than ``overdue`` (its drain job was lost: Redis lost it, or every retry of it failed);
    the destinations. Drains are idempotent and locked, so a sweep racing one is harmless."""
    since = utc(now) - overdue
    heads = (select(func.min(deliveries.c.id)).where(deliveries.c.status == PENDING)
             .group_by(deliveries.c.destination))
    with store.db.write() as conn:
        late = {row.destination: row.ticket_id for row in conn.execute(
            select(deliveries.c.destination, deliveries.c.ticket_id)
            .where(deliveries.c.id.in_(heads), deliveries.c.next_attempt_at < since)
            .order_by(deliveries.c.id))}
        for destination, ticket_id in late.items():
            outbox.write(conn, ticket_id, [Job.of(drain, destination)], utc(now))
    if late:
        log.error("deliveries overdue for %s; drains written again", ", ".join(late))
    return list(late)
