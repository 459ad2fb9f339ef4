"""Planning deliveries inside the change that routes a ticket (the router's hand-over).

Invariant: a delivery exists once per ticket, destination and dispatch round
(:func:`routing_version`): planning again in the same round writes nothing, a ticket handed
back and routed again is delivered again.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection, select

from delivery.destinations import check_id
from delivery.drain import drain
from delivery.records import PENDING, routing_version, utc
from tickets.jobs import Job, JobsFor
from tickets.model import Ticket
from tickets.store import Also
from tickets.tables import deliveries


def plan(conn: Connection, ticket: Ticket, destinations: Sequence[str], at: datetime, *,
         version: int | None = None) -> None:
    """Write one pending delivery of ``ticket`` per destination not yet planned in this round.

    Call it inside the change that routes the ticket (``Store.change(..., also=...)``) and
    write :func:`drain_jobs` with the same change (:func:`handover` does both). ``version``
    defaults to the ticket's :func:`~delivery.records.routing_version`.
    """
    wanted = list(dict.fromkeys(check_id(d) for d in destinations))
    if not wanted:
        return
    round_ = routing_version(ticket) if version is None else version
    planned = set(conn.execute(
        select(deliveries.c.destination).where(
            deliveries.c.ticket_id == ticket.id, deliveries.c.version == round_,
            deliveries.c.destination.in_(wanted))
    ).scalars())
    at = utc(at)
    for destination in wanted:
        if destination in planned:
            continue
        conn.execute(deliveries.insert().values(
            key=uuid.uuid4().hex, ticket_id=ticket.id, destination=destination, version=round_,
            transport=None, status=PENDING, attempts=0, next_attempt_at=at, last_error=None,
            created_at=at, delivered_at=None))


def drain_jobs(destinations: Sequence[str]) -> JobsFor:
    """The jobs to write with the change that planned deliveries: one drain per destination."""
    ids = list(dict.fromkeys(check_id(d) for d in destinations))

    def jobs(_ticket_id: str) -> list[Job]:
        return [Job.of(drain, destination) for destination in ids]

    return jobs


def handover(destinations: Sequence[str]) -> tuple[Also, JobsFor]:
    """What the router writes with the change that routes a ticket to ``destinations``: the
    planned deliveries (rows in the same transaction) and one drain job per destination."""
    wanted = list(destinations)

    def also(conn: Connection, ticket: Ticket, at: datetime) -> None:
        plan(conn, ticket, wanted, at)

    return also, drain_jobs(wanted)
