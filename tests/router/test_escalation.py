"""Escalation of overdue small-loop tickets (router/escalation.py) with a controllable clock, on
SQLite and PostgreSQL: past ``respond_by`` while still ``registered`` (never delivered) or
``dispatched``, or past ``resolve_by``,
the scheduled check writes an escalation job; the job moves the ticket to the big loop, plans
the district center and the department, and says why in the history — not before the
deadline, and only once."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from delivery import outcomes
from delivery.drain import drain
from delivery.records import DELIVERED, PENDING
from hotline.worker import WorkerContext
from router import escalation
from router.classify import Model
from router.context import Router
from router.dispatch import dispatch
from router.routerconfig import RouterConfig
from tests.router.tickets import Clock
from tests.support.intakes import intake
from tickets.jobs import path_of
from tickets.model import Destination, HistoryEntry, Loop, Status, Ticket
from tickets.store import Store
from tickets.tables import deliveries as deliveries_table
from tickets.tables import outbox

LAMP = "东四三条胡同口的路灯不亮了"  # municipal.streetlight: small loop, normal priority
HEAT = "东四三条12号楼暖气不热"  # heating.supply: big loop
ESCALATED_TO = ["district", "dept:dept.urban-management"]


@pytest.fixture
def ctx(store: Store, tmp_path: Path, config: RouterConfig, model: Model) -> WorkerContext:
    return WorkerContext(store=store, media_dir=tmp_path / "media", router=Router(config, model))


def acknowledge(store: Store, ticket_id: str) -> Ticket:
    """Every destination acknowledged (what the delivery drains do): ``dispatched``."""
    def mutate(ticket: Ticket, seq: int, at: datetime) -> Ticket:
        assert ticket.routing is not None
        done = [Destination(id=d.id, status=DELIVERED, at=at) for d in ticket.routing.destinations]
        routed = ticket.model_copy(update={
            "routing": ticket.routing.model_copy(update={"destinations": done})})
        return outcomes.settle(routed, seq, at)

    def mark(conn: Any, ticket: Ticket, at: datetime) -> None:
        conn.execute(update(deliveries_table).where(deliveries_table.c.ticket_id == ticket.id)
                     .values(status=DELIVERED, delivered_at=at))

    return store.change(ticket_id, mutate, also=mark)


def started(store: Store, ticket_id: str) -> Ticket:
    """The street sub-center started on it (step 4)."""
    def mutate(ticket: Ticket, seq: int, at: datetime) -> Ticket:
        entry = HistoryEntry(seq=seq, at=at, actor="street:DS", status=Status.in_progress,
                             from_status=ticket.status)
        return ticket.model_copy(update={"status": Status.in_progress,
                                         "history": [*ticket.history, entry]})

    return store.change(ticket_id, mutate)


def dispatched(ctx: WorkerContext, text: str, ref: str) -> Ticket:
    t = ctx.store.submit(intake(ref, text)).ticket
    dispatch(ctx, t.id)
    ticket = acknowledge(ctx.store, t.id)
    assert ticket.status is Status.dispatched
    return ticket


def deadlines(ticket: Ticket) -> tuple[datetime, datetime]:
    assert ticket.routing and ticket.routing.respond_by and ticket.routing.resolve_by
    return ticket.routing.respond_by, ticket.routing.resolve_by


def planned(store: Store, ticket_id: str) -> list[tuple[str, str]]:
    with store.db.read() as conn:
        return [(r.destination, r.status) for r in conn.execute(
            select(deliveries_table).where(deliveries_table.c.ticket_id == ticket_id)
            .order_by(deliveries_table.c.id))]


def escalation_jobs(store: Store, ticket_id: str) -> list[list[Any]]:
    with store.db.read() as conn:
        return [r.args for r in conn.execute(
            select(outbox).where(outbox.c.ticket_id == ticket_id,
                                 outbox.c.job == path_of(escalation.escalate))
            .order_by(outbox.c.id))]


def drains(store: Store, ticket_id: str) -> list[list[Any]]:
    with store.db.read() as conn:
        return [r.args for r in conn.execute(
            select(outbox).where(outbox.c.ticket_id == ticket_id, outbox.c.job == path_of(drain))
            .order_by(outbox.c.id))]


def check(ctx: WorkerContext, clock: Clock) -> dict[str, str]:
    """The relay's periodic check, then every escalation job it wrote: ticket id → outcome."""
    due = escalation.schedule(ctx.store.db, clock())
    return {ticket_id: escalation.escalate(ctx, ticket_id, clock().isoformat())
            for ticket_id in due}


def test_not_started_by_respond_by_escalates_once(ctx: WorkerContext) -> None:
    t = dispatched(ctx, LAMP, "e-1")
    assert t.loop is Loop.small and t.priority == 3
    respond_by = deadlines(t)[0]
    assert ctx.router is not None
    lamp = ctx.router.config.catalogue.category("municipal.streetlight")
    assert lamp is not None and respond_by - t.received_at < timedelta(
        hours=lamp.deadlines["normal"].respond, minutes=1)
    clock = Clock(respond_by - timedelta(minutes=1))

    assert check(ctx, clock) == {}  # not before its deadline
    assert escalation.escalate(ctx, t.id, clock().isoformat()) == "not overdue"
    assert ctx.store.get(t.id).seq == t.seq

    clock.advance(minutes=2)
    assert escalation.overdue(ctx.store.db, clock()) == [t.id]
    assert check(ctx, clock) == {t.id: "escalated"}
    assert escalation_jobs(ctx.store, t.id) == [[t.id, clock().isoformat()]]
    up = ctx.store.get(t.id)
    assert up.loop is Loop.big and up.status is Status.dispatched
    assert up.routing is not None and up.routing.loop is not None
    assert up.routing.loop.source == "escalation"
    why = f"nobody started on it by {respond_by:%Y-%m-%d %H:%M} UTC"
    assert up.routing.loop.detail == why
    last = up.history[-1]
    assert last.actor == escalation.ACTOR
    assert last.note == f"escalated to the big loop: {why}; to {', '.join(ESCALATED_TO)}"
    assert [(d.id, d.status) for d in up.routing.destinations] == [
        ("street:DS", DELIVERED), ("district", PENDING), ("dept:dept.urban-management", PENDING)]
    assert planned(ctx.store, t.id) == [("street:DS", DELIVERED), ("district", PENDING),
                                        ("dept:dept.urban-management", PENDING)]
    assert drains(ctx.store, t.id)[-2:] == [["district"], ["dept:dept.urban-management"]]

    # not twice: the check does not find it again, a repeated job changes nothing
    clock.advance(hours=1)
    assert check(ctx, clock) == {}
    assert escalation.escalate(ctx, t.id, clock().isoformat()) == "not overdue"
    again = ctx.store.get(t.id)
    assert again.seq == up.seq and len(planned(ctx.store, t.id)) == 3


def test_a_started_ticket_escalates_only_after_resolve_by(ctx: WorkerContext) -> None:
    t = dispatched(ctx, LAMP, "e-2")
    respond_by, resolve_by = deadlines(t)
    t = started(ctx.store, t.id)
    clock = Clock(respond_by + timedelta(hours=1))
    assert check(ctx, clock) == {}  # someone is on it
    clock.now = resolve_by - timedelta(minutes=1)
    assert check(ctx, clock) == {}
    clock.advance(minutes=2)
    assert check(ctx, clock) == {t.id: "escalated"}
    up = ctx.store.get(t.id)
    assert up.status is Status.in_progress and up.loop is Loop.big
    assert up.history[-1].note is not None
    assert f"not resolved by {resolve_by:%Y-%m-%d %H:%M} UTC" in up.history[-1].note


def test_a_job_written_twice_escalates_once(ctx: WorkerContext) -> None:
    t = dispatched(ctx, LAMP, "e-3")
    clock = Clock(deadlines(t)[0] + timedelta(minutes=5))
    assert escalation.schedule(ctx.store.db, clock()) == [t.id]
    assert escalation.schedule(ctx.store.db, clock()) == [t.id]  # the relay came round again
    outcomes = [escalation.escalate(ctx, t.id, args[1]) for args in
                escalation_jobs(ctx.store, t.id)]
    assert outcomes == ["escalated", "not overdue"]
    up = ctx.store.get(t.id)
    assert [h.actor for h in up.history].count(escalation.ACTOR) == 1
    assert len(planned(ctx.store, t.id)) == 3


def test_big_loop_resolved_and_waiting_tickets_are_never_escalated(ctx: WorkerContext) -> None:
    big = dispatched(ctx, HEAT, "e-4")
    assert big.loop is Loop.big
    resolved = dispatched(ctx, LAMP, "e-5")

    def resolve(ticket: Ticket, seq: int, at: datetime) -> Ticket:
        return ticket.model_copy(update={"status": Status.resolved})

    ctx.store.change(resolved.id, resolve)
    waiting = ctx.store.submit(intake("e-6", "楼下的路灯不亮了")).ticket  # no place
    dispatch(ctx, waiting.id)
    latest = max(deadlines(big)[1], deadlines(resolved)[1])
    clock = Clock(latest + timedelta(days=30))
    assert check(ctx, clock) == {}
    for ticket in (big, resolved):
        assert escalation.escalate(ctx, ticket.id, clock().isoformat()) == "not overdue"
    still = ctx.store.get(waiting.id)  # waits for a person to name the place: not escalated
    assert still.status is Status.registered and still.loop is Loop.small
    assert still.routing is not None and still.routing.needs == ["place"]
    assert escalation.escalate(ctx, waiting.id, clock().isoformat()) == "not overdue"


def test_the_clock_defaults_to_now(ctx: WorkerContext) -> None:
    t = dispatched(ctx, LAMP, "e-7")
    assert escalation.escalate(ctx, t.id) == "not overdue"  # its deadline is hours away
    assert escalation.reason(t, deadlines(t)[0] + timedelta(seconds=1)) is not None
    assert escalation.reason(t, deadlines(t)[0] - timedelta(seconds=1)) is None


def test_a_ticket_its_street_never_acknowledged_escalates(ctx: WorkerContext) -> None:
    # The street's webhook is down for good: the ticket stays registered with its delivery
    # pending; past respond_by it goes to the district center and the department.
    t = ctx.store.submit(intake("e-7", LAMP)).ticket
    dispatch(ctx, t.id)
    routed = ctx.store.get(t.id)
    assert routed.status is Status.registered and routed.loop is Loop.small
    respond_by = deadlines(routed)[0]
    clock = Clock(respond_by - timedelta(minutes=1))
    assert check(ctx, clock) == {}
    clock.advance(minutes=2)
    assert check(ctx, clock) == {t.id: "escalated"}
    up = ctx.store.get(t.id)
    assert up.loop is Loop.big and up.status is Status.registered
    assert up.history[-1].note == (
        f"escalated to the big loop: not delivered by {respond_by:%Y-%m-%d %H:%M} UTC; "
        f"to {', '.join(ESCALATED_TO)}")
    assert planned(ctx.store, t.id) == [("street:DS", PENDING), ("district", PENDING),
                                        ("dept:dept.urban-management", PENDING)]
