"""Tickets routed to desks, for the desks', grid and supervision tests: a submitted intake
moved through the loop by real store changes (the history a router and deliveries write),
without running the router's models."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from tests.support.intakes import intake
from tickets.model import (
    Destination,
    HistoryEntry,
    Location,
    Loop,
    Routing,
    Status,
    Ticket,
)
from tickets.store import Store


def routed(store: Store, ref: str, units: list[str], *, at: datetime,
           respond_hours: float = 2, resolve_hours: float = 72, text: str = "楼道灯不亮",
           category: str = "municipal.streetlight", street: str | None = "DS",
           grid: str | None = None, status: Status = Status.dispatched, **over: Any) -> Ticket:
    """A ticket received at ``at``, registered and routed to ``units`` (plus the district for
    a big-loop ticket) with deadlines counted from ``at``, then ``dispatched`` (or left
    ``registered``)."""
    ticket = store.submit(intake(ref, text, at=at, location=Location(street=street, grid=grid),
                                 **over)).ticket
    big = any(u.startswith("dept:") for u in units)
    destinations = (["district"] if big else []) + units

    def mutate(t: Ticket, seq: int, now: datetime) -> Ticket:
        history = [*t.history,
                   HistoryEntry(seq=seq, at=at, actor="router", status=Status.registered,
                                from_status=Status.received),
                   HistoryEntry(seq=seq, at=at, actor="router", note="routed")]
        if status is Status.dispatched:
            history.append(HistoryEntry(seq=seq, at=at, actor="router",
                                        status=Status.dispatched,
                                        from_status=Status.registered))
        routing = Routing(
            respond_by=at + timedelta(hours=respond_hours),
            resolve_by=at + timedelta(hours=resolve_hours),
            destinations=[Destination(id=d, status="delivered", at=at) for d in destinations])
        return t.model_copy(update={"status": status, "history": history, "routing": routing,
                                    "category": category, "loop": Loop.big if big else
                                    Loop.small})

    return store.change(ticket.id, mutate)
