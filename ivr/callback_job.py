"""The callback job (回访): ask Asterisk over AMI to call the resident into ``callback-96010``.

``call_resident(ctx, ticket_id, attempt)`` runs on the ``callback`` queue. It places one call
through the context's :class:`Dialer` (the composition room gives it an AMI ``Originate``;
``hotline callback`` uses the same one) and writes what happened into the ticket's history
(kind ``callback``, one entry per attempt, ``event_id`` ``callback:attempt:<round>:<n>``, so a
retried job records an attempt once):

* answered — the call flow (:mod:`ivr.callback`) takes over; nothing more is planned;
* no answer, busy, refused by Asterisk, AMI down or not configured — the next attempt is
  written in the same transaction (the outbox, ``delay`` = :attr:`CallbackPolicy.interval`),
  up to :attr:`CallbackPolicy.attempts`; after the last one the resident gets an SMS instead
  when they have a mobile number and :attr:`CallbackContext.sms_fallback` is given;
* an attempt due inside quiet hours is not made: it is moved to their end (an entry says so).

Producers: :func:`callback_job` (the job for a ticket; the first attempt), :func:`wants_callback`
(whose ticket is answered by a call rather than a text: a voice caller with a landline).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Protocol

from sqlalchemy import Connection

from ivr.callback_history import event_id, has_entry, with_entry
from tickets.jobcontext import JobContext
from tickets.jobs import Job, job
from tickets.model import Channel, Status, Ticket
from tickets.phone import is_mobile
from tickets.queues import QueueName
from tickets.store import TicketNotFound
from tickets.verification import pending_question, resolution_round

log = logging.getLogger(__name__)

ATTEMPTS = 3  # default of HOTLINE_CALLBACK_ATTEMPTS
INTERVAL = 7200.0  # default of HOTLINE_CALLBACK_INTERVAL (seconds between attempts)


class Outcome(StrEnum):
    answered = "answered"
    no_answer = "no_answer"
    busy = "busy"
    failed = "failed"  # Asterisk refused the call or it failed (congestion, no such number)
    ami_down = "ami_down"  # AMI unreachable, login refused, not configured, no answer in time


SAID = {Outcome.answered: "answered", Outcome.no_answer: "no answer", Outcome.busy: "busy",
        Outcome.failed: "the call failed", Outcome.ami_down: "Asterisk (AMI) unreachable"}


@dataclass(frozen=True)
class CallRequest:
    ticket_id: str
    phone: str  # E.164
    action_id: str = field(default_factory=lambda: f"callback-{uuid.uuid4().hex[:16]}")


@dataclass(frozen=True)
class Dialed:
    outcome: Outcome
    detail: str = ""  # Asterisk's words (the refusal, the reason code)


class Dialer(Protocol):
    def __call__(self, request: CallRequest) -> Dialed: ...


class QuietPeriod(Protocol):
    """Quiet hours (``HOTLINE_QUIET_HOURS``): no call inside them."""

    def contains(self, at: datetime) -> bool: ...

    def ends_after(self, at: datetime) -> datetime: ...


@dataclass(frozen=True)
class CallbackPolicy:
    attempts: int = ATTEMPTS
    interval: float = INTERVAL
    quiet: QuietPeriod | None = None


# (conn, ticket, at) → the jobs that ask the resident by SMS instead, planned inside the
# transaction of the last attempt's entry (none: they were asked by SMS already)
SmsFallback = Callable[[Connection, Ticket, datetime], Sequence[Job]]


class CallbackContext(JobContext, Protocol):
    @property
    def dialer(self) -> Dialer | None:
        """How a call is placed (None: AMI not configured — every attempt fails as AMI down)."""

    @property
    def callback_policy(self) -> CallbackPolicy: ...

    @property
    def sms_fallback(self) -> SmsFallback | None:
        """After the last unanswered attempt, for a mobile number (None: not available)."""

    @property
    def clock(self) -> Callable[[], datetime]: ...


def wants_callback(ticket: Ticket) -> bool:
    """A resident asked by a call rather than a text: a voice caller whose number is a
    landline (a mobile number gets the SMS), or one who asked for the call
    (``citizen.callback_requested``, with consent to be contacted)."""
    citizen = ticket.citizen
    if citizen.phone is None:
        return False
    if citizen.callback_requested and citizen.consent_to_contact:
        return True
    return ticket.channel is Channel.voice and not is_mobile(citizen.phone)


def callback_job(ticket_id: str, attempt: int = 1, delay: float = 0.0) -> Job:
    """The job that calls the resident of ``ticket_id`` back (write it with a change)."""
    return Job.of(call_resident, ticket_id, attempt, delay=delay)


def attempt_event(ticket: Ticket, attempt: int) -> str:
    return event_id("attempt", f"{resolution_round(ticket)}:{attempt}")


def next_attempt(ticket: Ticket) -> int:
    """The number of the next attempt in the ticket's current round of questions."""
    prefix = event_id("attempt", f"{resolution_round(ticket)}:")
    return 1 + sum(1 for h in ticket.history if (h.event_id or "").startswith(prefix))


def _next_at(policy: CallbackPolicy, at: datetime) -> datetime:
    """When the next attempt may run: ``interval`` later, moved past quiet hours."""
    due = at + timedelta(seconds=policy.interval)
    return policy.quiet.ends_after(due) if policy.quiet is not None else due


def _record(ctx: CallbackContext, ticket: Ticket, note: str, event: str,
            jobs: Sequence[Job] = ()) -> Ticket:
    return ctx.store.change(
        ticket.id, lambda t, seq, at: with_entry(t, seq=seq, at=at, note=note, event=event),
        jobs=lambda _id: jobs)


@job(QueueName.callback)
def call_resident(ctx: CallbackContext, ticket_id: str, attempt: int = 1) -> str:
    """Attempt ``attempt`` of the callback call for ``ticket_id``; what happened, in words."""
    try:
        ticket = ctx.store.get(ticket_id)
    except TicketNotFound:
        return "no such ticket"
    if pending_question(ticket) is None:
        return f"ticket {ticket.number} waits for no answer ({ticket.status.value})"
    event = attempt_event(ticket, attempt)
    if has_entry(ticket, event):
        return f"attempt {attempt} already made"
    phone = ticket.citizen.phone
    if phone is None:
        _record(ctx, ticket, "callback call: no phone number to call", event)
        return "no phone number"
    policy = ctx.callback_policy
    now = ctx.clock()
    if policy.quiet is not None and policy.quiet.contains(now):
        resume = policy.quiet.ends_after(now)
        delay = max(0.0, (resume - now).total_seconds())
        _record(ctx, ticket, f"callback attempt {attempt} waits for the end of quiet hours "
                             f"({resume.astimezone(UTC):%Y-%m-%d %H:%M} UTC)",
                event_id("quiet", f"{resolution_round(ticket)}:{attempt}:{resume:%Y%m%d}"),
                [callback_job(ticket.id, attempt, delay)])
        return "quiet hours"
    dialed = _dial(ctx.dialer, CallRequest(ticket.id, phone))
    said = f"callback attempt {attempt} of {policy.attempts}: {SAID[dialed.outcome]}"
    if dialed.detail:
        said += f" ({dialed.detail[:200]})"
    if dialed.outcome is Outcome.answered:
        _record(ctx, ticket, said, event)
        return "answered"
    if dialed.outcome in (Outcome.ami_down, Outcome.failed):
        log.warning("callback for ticket %s: %s", ticket.number, said)
    if attempt < policy.attempts:
        next_at = _next_at(policy, now)
        delay = max(0.0, (next_at - now).total_seconds())
        _record(ctx, ticket, f"{said}; next attempt at {next_at.astimezone(UTC):%Y-%m-%d %H:%M} "
                             "UTC", event,
                [callback_job(ticket.id, attempt + 1, delay)])
        return f"{dialed.outcome.value}: retry planned"
    return _give_up(ctx, ticket, said, event, phone)


def _give_up(ctx: CallbackContext, ticket: Ticket, said: str, event: str, phone: str) -> str:
    if not is_mobile(phone):
        _record(ctx, ticket, f"{said}; no more attempts (a landline: no SMS)", event)
        return "gave up"
    fallback = ctx.sms_fallback
    if fallback is None:
        _record(ctx, ticket, f"{said}; no more attempts (SMS fallback not available)", event)
        return "gave up"
    planned: list[Job] = []
    note = (f"{said}; no more attempts, the question goes to the resident by SMS (once per "
            "round: not again when it went already)")

    def mutate(t: Ticket, seq: int, at: datetime) -> Ticket | None:
        return with_entry(t, seq=seq, at=at, note=note, event=event)

    def sms(conn: Connection, t: Ticket, at: datetime) -> None:
        planned[:] = fallback(conn, t, at)

    ctx.store.change(ticket.id, mutate, also=sms, jobs=lambda _id: list(planned))
    return "gave up; SMS planned" if planned else "gave up; no new SMS (planned before)"


def _dial(dialer: Dialer | None, request: CallRequest) -> Dialed:
    if dialer is None:
        return Dialed(Outcome.ami_down, "HOTLINE_AMI_USERNAME / HOTLINE_AMI_SECRET not set")
    try:
        return dialer(request)
    except Exception as exc:  # a bug or an unexpected answer: an attempt that failed
        log.exception("callback for ticket %s: the dialer failed", request.ticket_id)
        return Dialed(Outcome.failed, type(exc).__name__)


def resolved_now(before: Ticket, after: Ticket) -> bool:
    """``after`` was just resolved (a new round of questions starts)."""
    return after.status is Status.resolved and (
        before.status is not Status.resolved
        or resolution_round(after) != resolution_round(before))


def callback_planner(_conn: Connection, before: Ticket, after: Ticket,
                     _at: datetime) -> Sequence[Job]:
    """The store's change hook for callbacks (``ChangeJobs``' shape: conn, before, after, at):
    a ticket of a landline voice caller that was just resolved gets its callback job in the
    same transaction."""
    if resolved_now(before, after) and wants_callback(after):
        return (callback_job(after.id),)
    return ()
