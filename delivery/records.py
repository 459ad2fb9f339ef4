"""A delivery row: one ticket to one destination in one dispatch round, and its state.

Statuses: ``pending`` (waiting for its next attempt), ``delivered`` (a transport acknowledged)
and ``dead`` (set aside after the destination's last attempt, until ``hotline deliveries
retry``). ``key`` is the idempotency key a receiver sees on every attempt.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Row, select, update

from tickets.model import Status, Ticket
from tickets.tables import deliveries

PENDING, DELIVERED, DEAD = "pending", "delivered", "dead"
STATUSES = (PENDING, DELIVERED, DEAD)
ERROR_LIMIT = 500


def routing_version(ticket: Ticket) -> int:
    """The ticket's dispatch round: how many times it became ``registered``. A ticket handed
    back for re-dispatch (``dispatched`` → ``registered``) starts a new round."""
    return sum(1 for entry in ticket.history if entry.status is Status.registered)


def utc(value: datetime) -> datetime:
    """Aware UTC (SQLite gives back the naive UTC it was given)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


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
            attempts=values["attempts"], next_attempt_at=utc(values["next_attempt_at"]),
            last_error=values["last_error"], created_at=utc(values["created_at"]),
            delivered_at=(utc(values["delivered_at"]) if values["delivered_at"] else None),
            ticket_number=values.get("number"),
        )


def oldest_pending(conn: Connection, destination: str) -> Delivery | None:
    row = conn.execute(
        select(deliveries).where(deliveries.c.destination == destination,
                                 deliveries.c.status == PENDING)
        .order_by(deliveries.c.id).limit(1)
    ).first()
    return None if row is None else Delivery.of(row)


def set_values(conn: Connection, delivery: Delivery, **values: Any) -> None:
    conn.execute(update(deliveries).where(deliveries.c.id == delivery.id).values(**values))


def short(error: str) -> str:
    flat = " ".join(error.split())
    return flat if len(flat) <= ERROR_LIMIT else flat[:ERROR_LIMIT - 1] + "…"
