"""The callback call as a retry of unanswered texts (the relay's periodic check).

A resident who was asked "问题解决了吗？" by SMS or WeChat and has not answered after
``wait`` (``HOTLINE_CALLBACK_AFTER_TEXT``, default 24 h — well inside the
``HOTLINE_VERIFY_DAYS`` after which the center may close the ticket unanswered) is called back
once per round of questions, when the ticket has a phone number to call. The plan is a
``callback`` history entry written with the first attempt's job in one change (the outbox), so
a check that runs again, or on two relays at once, plans it once; the job itself keeps to the
callback policy (attempts, interval, quiet hours, SMS fallback).

Landline voice callers are not this check's business: they get the call when the ticket is
resolved (:func:`ivr.callback_job.callback_planner`).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import select

from ivr.callback_history import event_id, with_entry
from ivr.callback_job import callback_job, next_attempt, wants_callback
from tickets.model import Status, Ticket
from tickets.store import Store
from tickets.tables import tickets
from tickets.verification import last_asked_at, pending_question, resolution_round

log = logging.getLogger(__name__)

AFTER_TEXT = timedelta(hours=24)  # default of HOTLINE_CALLBACK_AFTER_TEXT
BATCH = 200  # resolved tickets read per check (oldest change first)


def planned_event(ticket: Ticket) -> str:
    return event_id("after-text", str(resolution_round(ticket)))


def due(ticket: Ticket, now: datetime, wait: timedelta) -> bool:
    """``ticket``'s resident was asked by text at least ``wait`` ago, has not answered, can be
    called, and no callback was planned or made in this round."""
    if ticket.status is not Status.resolved or ticket.citizen.phone is None:
        return False
    if wants_callback(ticket) or pending_question(ticket) is None:
        return False
    asked = last_asked_at(ticket)
    if asked is None or asked > now - wait:
        return False
    if next_attempt(ticket) != 1:
        return False
    return not any(h.event_id == planned_event(ticket) for h in ticket.history)


def plan_after_unanswered_texts(store: Store, now: datetime,
                                wait: timedelta = AFTER_TEXT) -> list[str]:
    """Plan the callback of every ticket :func:`due` at ``now``; the numbers planned."""
    with store.db.read() as conn:
        docs = conn.execute(
            select(tickets.c.doc).where(tickets.c.status == Status.resolved.value)
            .order_by(tickets.c.updated_at).limit(BATCH)).scalars().all()
    planned: list[str] = []
    for doc in docs:
        ticket = Ticket.model_validate(doc)
        if due(ticket, now, wait) and _plan(store, ticket.id, now, wait):
            planned.append(ticket.number)
    if planned:
        log.info("callback planned after unanswered texts: %s", ", ".join(planned))
    return planned


def _plan(store: Store, ticket_id: str, now: datetime, wait: timedelta) -> bool:
    """One ticket's plan, checked again under the write lock; whether it was written."""
    made: list[bool] = []

    def mutate(t: Ticket, seq: int, at: datetime) -> Ticket | None:
        if not due(t, now, wait):  # answered or planned meanwhile
            return None
        made.append(True)
        return with_entry(t, seq=seq, at=at, event=planned_event(t),
                          note="no answer to the text questions: a callback call is planned")

    store.change(ticket_id, mutate, jobs=lambda planned_id: [callback_job(planned_id)])
    return bool(made)
