"""What an attempt's outcome does to the ticket and its delivery row, in one transaction:
acknowledged (the destination marked delivered, and the ticket ``dispatched`` once every
destination acknowledged), dead (set aside with a history note), or sent again."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from delivery.records import DEAD, DELIVERED, PENDING, Delivery, routing_version, set_values, short
from tickets import metrics
from tickets.model import Destination, HistoryEntry, Routing, Status, Ticket
from tickets.status import check_transition
from tickets.store import HistoryFull, Store, TicketNotFound

log = logging.getLogger(__name__)


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


def noted(ticket: Ticket, seq: int, at: datetime, note: str, destination: str,
           version: int, status: str) -> Ticket:
    """The ticket with a history note and (in the delivery's round only) the destination's
    status; a delivery of an earlier round leaves the current routing alone."""
    update_: dict[str, Any] = {
        "history": [*ticket.history, HistoryEntry(seq=seq, at=at, actor="router", note=note)]}
    if version == routing_version(ticket):
        update_["routing"] = _with_destination(ticket.routing, destination, status,
                                               None if status == PENDING else at)
    return ticket.model_copy(update=update_)


def acknowledged(store: Store, delivery: Delivery, transport: str, now: datetime) -> None:
    def mutate(ticket: Ticket, seq: int, at: datetime) -> Ticket:
        with_note = noted(ticket, seq, at, f"delivered to {delivery.destination} by {transport}",
                          delivery.destination, delivery.version, DELIVERED)
        return settle(with_note, seq, at)

    def mark(conn: Connection, _ticket: Ticket | None = None, _at: datetime | None = None
             ) -> None:
        set_values(conn, delivery, status=DELIVERED, transport=transport,
                   attempts=delivery.attempts + 1, delivered_at=now, last_error=None)

    metrics.delivery("delivered")
    try:
        store.change(delivery.ticket_id, mutate, also=mark)
    except (HistoryFull, TicketNotFound) as exc:
        log.warning("delivery %s acknowledged, ticket not updated: %s", delivery.id, exc)
        with store.db.write() as conn:
            mark(conn)


def dead(store: Store, delivery: Delivery, transport: str, error: str,
          attempts: int) -> None:
    note = (f"delivery to {delivery.destination} by {transport} failed {attempts} times "
            f"(last: {error}); set aside, see 'hotline deliveries list --status dead'")

    def mutate(ticket: Ticket, seq: int, at: datetime) -> Ticket:
        return noted(ticket, seq, at, short(note), delivery.destination, delivery.version,
                      "failed")

    def mark(conn: Connection, _ticket: Ticket | None = None, _at: datetime | None = None
             ) -> None:
        set_values(conn, delivery, status=DEAD, transport=transport, attempts=attempts,
                   last_error=short(error))

    metrics.delivery("dead")
    log.error("delivery %s of ticket %s to %s is dead after %d attempts: %s", delivery.id,
              delivery.ticket_id, delivery.destination, attempts, error)
    try:
        store.change(delivery.ticket_id, mutate, also=mark)
    except (HistoryFull, TicketNotFound):
        with store.db.write() as conn:
            mark(conn)
