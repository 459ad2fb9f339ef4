"""Tickets as the router sees them, built without a store (for the pure decision and duplicate
checks), and a clock the tests move."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from tickets.model import Channel, Kind, Location, Status, Ticket, Transcript

NOW = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)  # 10:00 in Beijing


def ticket(text: str = "", *, channel: Channel = Channel.sms, kind: Kind = Kind.help,
           location: Location | None = None, transcript: str | None = None,
           received_at: datetime = NOW, status: Status = Status.received,
           **over: Any) -> Ticket:
    """A ticket with ``text``; keyword arguments set any other field."""
    ticket_id = over.pop("id", uuid.uuid4().hex)
    return Ticket(
        id=ticket_id, number=over.pop("number", "2611260001"), seq=over.pop("seq", 1),
        channel=channel, channel_ref=over.pop("channel_ref", ticket_id),
        received_at=received_at, updated_at=received_at, citizen=over.pop("citizen", {}),
        kind=kind, text=text,
        transcript=Transcript(text=transcript, model="vosk-model-cn") if transcript else None,
        attachments=[], location=location, status=status, history=over.pop("history", []),
        **over)


class Clock:
    """A controllable clock: starts at ``start`` (the real time by default) and moves only
    when told."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now
