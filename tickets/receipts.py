"""Idempotency receipts of back-office events: ``(API key, ticket, event_id)`` → content digest.

Kept in ``channel_state`` inside the change's own transaction, so a repeat of an event is seen
by the transaction that would apply it again: the same digest changes nothing, another digest
is :class:`EventIdReused` (409).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, select

from tickets.model import Ticket
from tickets.tables import channel_state

_RECEIPTS = "api-event"  # channel_state rows: one receipt per (key, ticket, event_id)


class EventIdReused(ValueError):
    def __init__(self, event_id: str) -> None:
        super().__init__(f"event_id '{event_id[:100]}' was already used by this key for a "
                         "different event on this ticket; send a new event_id")


@dataclass(frozen=True)
class Receipt:
    """An idempotency receipt: ``scope`` (the API key's id) sent ``event_id`` for a change whose
    content hashes to ``digest``. A repeat with the same digest changes nothing; another digest
    is :class:`EventIdReused`."""

    scope: str
    event_id: str
    digest: str


def _key(ticket: Ticket, receipt: Receipt) -> str:
    return f"{receipt.scope}:{ticket.id}:{receipt.event_id}"


def seen(conn: Connection, ticket: Ticket, receipt: Receipt) -> bool:
    """True for a repeat of ``receipt`` on ``ticket``; :class:`EventIdReused` for a reuse."""
    row = conn.execute(select(channel_state.c.value).where(
        channel_state.c.channel == _RECEIPTS,
        channel_state.c.key == _key(ticket, receipt))).scalar()
    if row is None:
        return False
    if row.get("digest") != receipt.digest:
        raise EventIdReused(receipt.event_id)
    return True


def keep(conn: Connection, ticket: Ticket, receipt: Receipt, *, seq: int, at: datetime) -> None:
    """Record ``receipt`` for ``ticket`` in the caller's transaction (the change it made)."""
    conn.execute(channel_state.insert().values(
        channel=_RECEIPTS, key=_key(ticket, receipt),
        value={"digest": receipt.digest, "seq": seq}, updated_at=at))
