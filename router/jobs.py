"""RQ jobs of the ticket room. Each is idempotent: running it twice changes nothing more."""

from __future__ import annotations

from datetime import datetime

from router import runtime
from router.model import HistoryEntry, Status, Ticket


def _register(ticket: Ticket, seq: int, at: datetime) -> Ticket | None:
    if ticket.status is not Status.received:
        return None  # already registered (a repeat) or moved on
    entry = HistoryEntry(
        seq=seq, at=at, actor="router", status=Status.registered, from_status=ticket.status
    )
    return ticket.model_copy(
        update={"status": Status.registered, "history": [*ticket.history, entry]}
    )


def dispatch(ticket_id: str) -> str:
    """Step 2 of the loop: a received ticket becomes a registered case.

    Classification, location → grid and delivery to a destination plug in here later; for now
    the case is registered with its number and stays for the back office to pick up.
    """
    ticket = runtime.store().change(ticket_id, _register)
    return ticket.status.value
