"""What the outbound callback call (回访) writes into a ticket's history: one entry of kind
``callback`` per attempt and per outcome of the call (pure; the store applies it).

Entries are idempotent by ``event_id`` (``callback:<what>:<key>``): a job retried by RQ, or a
call flow that writes the same outcome twice, records it once.
"""

from __future__ import annotations

from datetime import datetime

from tickets.model import HistoryEntry, HistoryKind, Ticket

ACTOR = "gateway:callback"


def event_id(what: str, key: str) -> str:
    return f"callback:{what}:{key}"


def has_entry(ticket: Ticket, event: str) -> bool:
    return any(h.event_id == event for h in ticket.history)


def with_entry(ticket: Ticket, *, seq: int, at: datetime, note: str,
               event: str) -> Ticket | None:
    """``ticket`` with a ``callback`` history entry; None when ``event`` is already there."""
    if has_entry(ticket, event):
        return None
    entry = HistoryEntry(seq=seq, at=at, actor=ACTOR, note=note, event_id=event,
                         kind=HistoryKind.callback)
    return ticket.model_copy(update={"history": [*ticket.history, entry]})


def callback_entries(ticket: Ticket) -> list[HistoryEntry]:
    return [h for h in ticket.history if h.kind is HistoryKind.callback]
