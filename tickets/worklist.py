"""The worklists of the street and department desks and of the grid workers: one unit's (or
some grid cells') tickets, **overdue first**, then newest first, a page at a time.

Invariants:

* a unit's tickets are those whose routing names it now (the ``units`` column,
  tickets/units.py); a ticket sent back or routed elsewhere leaves the unit's list at once;
* overdue means not started after ``respond_by`` (still ``registered`` or ``dispatched``) or not
  resolved after ``resolve_by`` (an extension granted moves ``resolve_by``), against the
  caller's clock;
* the count and the page come from the same filter; the filters are indexed columns
  (``status``) plus the unit's pattern, so a page stays cheap with many closed tickets.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import ColumnElement, String, and_, case, cast, func, or_, select

from tickets import units
from tickets.model import HistoryKind, Status, Ticket
from tickets.store import Store
from tickets.tables import tickets

PAGE_SIZE = 50
Scope = Literal["open", "done"]
NOT_STARTED = (Status.registered, Status.dispatched)
OPEN = (Status.registered, Status.dispatched, Status.in_progress)
DONE = (Status.resolved, Status.closed, Status.evaluated)


@dataclass(frozen=True)
class Item:
    ticket: Ticket
    overdue: bool
    urged: int  # how many times the center urged it (督办)
    extension_pending: bool  # the unit asked for more time and nobody answered yet


@dataclass(frozen=True)
class Page:
    items: list[Item]
    total: int
    page: int
    pages: int


def overdue_clause(now: datetime) -> ColumnElement[bool]:
    return or_(
        and_(tickets.c.status.in_([s.value for s in NOT_STARTED]), tickets.c.respond_by < now),
        and_(tickets.c.status.in_([s.value for s in OPEN]), tickets.c.resolve_by < now))


def is_overdue(ticket: Ticket, now: datetime) -> bool:
    routing = ticket.routing
    if routing is None or ticket.status not in OPEN:
        return False
    if ticket.status in NOT_STARTED and routing.respond_by and routing.respond_by < now:
        return True
    return routing.resolve_by is not None and routing.resolve_by < now


def urges(ticket: Ticket) -> int:
    return sum(1 for h in ticket.history if h.kind is HistoryKind.urged)


def extension_pending(ticket: Ticket) -> bool:
    """The last word on an extension is the unit's request."""
    for entry in reversed(ticket.history):
        if entry.kind is HistoryKind.extension_requested:
            return True
        if entry.kind in (HistoryKind.extension_granted, HistoryKind.extension_refused):
            return False
    return False


def item_of(ticket: Ticket, now: datetime) -> Item:
    return Item(ticket, is_overdue(ticket, now), urges(ticket), extension_pending(ticket))


def _statuses(scope: Scope) -> list[str]:
    return [s.value for s in (OPEN if scope == "open" else DONE)]


def unit_clause(unit: str) -> ColumnElement[bool]:
    """The tickets routed to ``unit`` now: by the indexed ``desk_street`` / ``desk_dept``
    column, confirmed by ``units`` (which holds every unit of the routing)."""
    like = tickets.c.units.like(units.like(unit), escape="\\")
    if unit.startswith(units.STREET):
        return and_(tickets.c.desk_street == units.code_of(unit), like)
    if unit.startswith(units.DEPARTMENT):
        return and_(tickets.c.desk_dept == units.code_of(unit), like)
    return like


def _page(store: Store, where: ColumnElement[bool], now: datetime, page: int,
          size: int) -> Page:
    """Count, then order and cut the page on narrow columns, and only then read the page's
    documents (sorting whole documents would read every matching one)."""
    with store.db.read() as conn:
        total = int(conn.execute(select(func.count()).select_from(tickets).where(where))
                    .scalar_one())
        pages = max(1, -(-total // size))
        page = min(max(1, page), pages)
        late = case((overdue_clause(now), 0), else_=1)
        ids = conn.execute(
            select(tickets.c.id).where(where)
            .order_by(late, tickets.c.received_at.desc(), tickets.c.id.desc())
            .offset((page - 1) * size).limit(size)).scalars().all()
        docs = {str(row[0]): row[1] for row in conn.execute(
            select(tickets.c.id, tickets.c.doc).where(tickets.c.id.in_(ids)))} if ids else {}
    return Page([item_of(Ticket.model_validate(docs[i]), now) for i in ids if i in docs],
                total, page, pages)


def for_unit(store: Store, unit: str, now: datetime, *, scope: Scope = "open", page: int = 1,
             size: int = PAGE_SIZE) -> Page:
    """The desk of ``unit`` (``street:DS``, ``dept:dept.health``): its open (or done)
    tickets."""
    where = and_(tickets.c.status.in_(_statuses(scope)), unit_clause(unit))
    return _page(store, where, now, page, size)


def for_cells(store: Store, cells: Sequence[str], now: datetime, *, scope: Scope = "open",
              page: int = 1, size: int = PAGE_SIZE) -> Page:
    """A grid worker's tasks: the tickets located in their cells."""
    where = and_(tickets.c.status.in_(_statuses(scope)), tickets.c.grid.in_(list(cells)))
    return _page(store, where, now, page, size)


def overdue(store: Store, now: datetime, *, limit: int = 200) -> list[Item]:
    """Every unit's overdue tickets, most overdue (earliest deadline) first: the
    supervision's list (督办)."""
    with store.db.read() as conn:
        docs = conn.execute(
            select(tickets.c.doc).where(overdue_clause(now), tickets.c.units.is_not(None))
            .order_by(func.coalesce(tickets.c.respond_by, tickets.c.resolve_by))
            .limit(limit)).scalars().all()
    return [item_of(Ticket.model_validate(d), now) for d in docs]


def asked_extension(store: Store) -> list[Ticket]:
    """Open tickets whose history has an extension request (the supervision keeps those whose
    last word on it is still the request: :func:`extension_pending`), oldest first."""
    with store.db.read() as conn:
        docs = conn.execute(select(tickets.c.doc).where(
            tickets.c.status.in_(_statuses("open")), tickets.c.units.is_not(None),
            cast(tickets.c.doc, String).like('%"extension_requested"%'))
            .order_by(tickets.c.received_at)).scalars().all()
    return [t for t in (Ticket.model_validate(d) for d in docs) if extension_pending(t)]


def open_by_units(store: Store) -> dict[str, int]:
    """How many open tickets each combination of units has (the ``units`` column value):
    cheap enough for every inbox view, to find units that left the configuration."""
    with store.db.read() as conn:
        rows = conn.execute(select(tickets.c.units, func.count()).where(
            tickets.c.status.in_(_statuses("open")), tickets.c.units.is_not(None))
            .group_by(tickets.c.units)).all()
    return {str(r[0]): int(r[1]) for r in rows}


def open_with_units(store: Store, values: Sequence[str], limit: int = 50) -> list[Ticket]:
    """Open tickets whose ``units`` column is one of ``values``, oldest first."""
    if not values:
        return []
    with store.db.read() as conn:
        docs = conn.execute(select(tickets.c.doc).where(
            tickets.c.status.in_(_statuses("open")), tickets.c.units.in_(list(values)))
            .order_by(tickets.c.received_at).limit(limit)).scalars().all()
    return [Ticket.model_validate(d) for d in docs]
