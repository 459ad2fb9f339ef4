"""Read-only listings of tickets for public read APIs (Open311): by numbers, by a date window
with filters (one page at a time, ordered by ``received_at`` on its index, so memory stays
bounded however many tickets match), and the tickets changed in a window."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import or_, select

from tickets.db import Database
from tickets.model import Status, Ticket
from tickets.tables import tickets


@dataclass(frozen=True)
class Window:
    """Tickets received in ``[start, end]``; ``categories`` (None: any; ``""`` inside it means
    "no category yet"), ``statuses`` (empty: any)."""

    start: datetime
    end: datetime
    categories: Collection[str] | None = None
    statuses: Collection[Status] = field(default_factory=frozenset)


def by_numbers(db: Database, numbers: Sequence[str]) -> list[Ticket]:
    if not numbers:
        return []
    with db.read() as conn:
        docs = conn.execute(select(tickets.c.doc).where(tickets.c.number.in_(list(numbers)))
                            .order_by(tickets.c.number)).scalars()
        return [Ticket.model_validate(d) for d in docs]


def page(db: Database, window: Window, offset: int, limit: int) -> list[Ticket]:
    """One page of the tickets in ``window``, newest first (``received_at``, then id)."""
    where = [tickets.c.received_at >= window.start, tickets.c.received_at <= window.end]
    if window.categories is not None:
        named = [c for c in window.categories if c]
        either = [tickets.c.category.in_(named)] if named else []
        if "" in window.categories:
            either.append(tickets.c.category.is_(None))
        where.append(or_(*either) if either else tickets.c.id.is_(None))
    if window.statuses:
        where.append(tickets.c.status.in_([s.value for s in window.statuses]))
    with db.read() as conn:
        docs = conn.execute(
            select(tickets.c.doc).where(*where)
            .order_by(tickets.c.received_at.desc(), tickets.c.id.desc())
            .offset(offset).limit(limit)
        ).scalars()
        return [Ticket.model_validate(d) for d in docs]


def changed_between(db: Database, start: datetime, end: datetime, limit: int) -> list[Ticket]:
    """Tickets that may have history entries in ``[start, end]``: received by ``end`` and
    changed since ``start`` (oldest change first, at most ``limit``)."""
    with db.read() as conn:
        docs = conn.execute(
            select(tickets.c.doc)
            .where(tickets.c.updated_at >= start, tickets.c.received_at <= end)
            .order_by(tickets.c.updated_at, tickets.c.id)
            .limit(limit)
        ).scalars()
        return [Ticket.model_validate(d) for d in docs]
