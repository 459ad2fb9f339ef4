"""The sweep for tickets stuck in 'received' (a lost or dead-lettered dispatch job)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from router.dispatch import dispatch
from router.sweep import STUCK_AFTER, sweep_stuck
from tests.support.intakes import intake
from tickets.jobs import path_of
from tickets.store import Store
from tickets.tables import outbox, tickets


def dispatch_rows(store: Store, ticket_id: str) -> int:
    with store.db.read() as conn:
        return len(conn.execute(select(outbox.c.id).where(
            outbox.c.ticket_id == ticket_id, outbox.c.job == path_of(dispatch))).all())


def age(store: Store, ticket_id: str, by: timedelta) -> None:
    with store.db.write() as conn:
        conn.execute(update(tickets).where(tickets.c.id == ticket_id)
                     .values(updated_at=datetime.now(UTC) - by))
        conn.execute(update(outbox).where(outbox.c.ticket_id == ticket_id)
                     .values(created_at=datetime.now(UTC) - by))


def test_a_stuck_ticket_gets_a_new_dispatch_job_once_per_period(store: Store) -> None:
    stuck = store.submit(intake("stuck")).ticket
    fresh = store.submit(intake("fresh")).ticket
    age(store, stuck.id, STUCK_AFTER + timedelta(minutes=1))
    assert sweep_stuck(store.db, datetime.now(UTC)) == [stuck.id]
    assert dispatch_rows(store, stuck.id) == 2
    assert dispatch_rows(store, fresh.id) == 1
    # the new job is recent: no third one until another period has passed
    assert sweep_stuck(store.db, datetime.now(UTC)) == []
    assert dispatch_rows(store, stuck.id) == 2


def test_a_ticket_that_moved_on_is_not_stuck(store: Store) -> None:
    t = store.submit(intake("moved")).ticket
    store.change(t.id, lambda ticket, seq, at: dispatch_context_free(ticket))
    age(store, t.id, STUCK_AFTER * 3)
    assert sweep_stuck(store.db, datetime.now(UTC)) == []


def dispatch_context_free(ticket: object) -> object:
    from router.dispatch import _register
    from tickets.model import Ticket

    assert isinstance(ticket, Ticket)
    return _register(ticket, ticket.seq + 1, datetime.now(UTC))
