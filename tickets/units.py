"""The units a ticket is routed to: the street and department desks that see it.

A unit is a destination id of the ticket's routing other than the district center:
``street:<CODE>`` or ``dept:<department code>`` (tickets.model.Destination). The ``units``
column of ``tickets`` holds them space-separated with a space at each end
(``" street:DS dept:dept.health "``), so one unit's tickets are ``units LIKE '% street:DS %'``;
it is derived from the document on every write (tickets/store.py), never set by itself.
"""

from __future__ import annotations

from tickets.model import Ticket

DISTRICT = "district"
STREET = "street:"
DEPARTMENT = "dept:"
GRID = "grid:"


def units_of(ticket: Ticket) -> list[str]:
    """The desks of ``ticket`` now, in routing order."""
    routing = ticket.routing
    if routing is None:
        return []
    return [d.id for d in routing.destinations if d.id != DISTRICT]


def column_of(ticket: Ticket) -> str | None:
    found = units_of(ticket)
    return f" {' '.join(found)} " if found else None


def first_code(ticket: Ticket, prefix: str) -> str | None:
    """The code of the ticket's first unit of a kind (``STREET``, ``DEPARTMENT``): the
    ``desk_street`` / ``desk_dept`` columns. The router names at most one street and one
    department per ticket; :func:`tickets.worklist.unit_clause` still checks ``units``."""
    return next((code_of(u) for u in units_of(ticket) if u.startswith(prefix)), None)


def like(unit: str) -> str:
    """The LIKE pattern of the tickets routed to ``unit`` (LIKE's wildcards escaped)."""
    escaped = unit.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"% {escaped} %"


def code_of(unit: str) -> str:
    """``street:DS`` → ``DS``; ``dept:dept.health`` → ``dept.health``."""
    return unit.partition(":")[2]


def actor_unit(actor: str) -> str | None:
    """The unit a history actor speaks for: ``street:DS/wang`` (a desk person) and
    ``street:DS`` (the unit's own system through the API) → ``street:DS``."""
    head = actor.partition("/")[0]
    if head.startswith((STREET, DEPARTMENT)) and len(head) > len(STREET):
        return head
    return None
