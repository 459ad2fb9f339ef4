"""The conversation rule shared by SMS and WeChat: new ticket, follow-up, or rating.

A resident who writes again is not always reporting something new. The rule, applied to the
resident's latest ticket (by the proven sender: the SMS sender's number, the WeChat openid;
never a number someone typed into a form):

1. **repeat** — the message was already handled (a provider retry): its ``channel_ref`` is the
   latest ticket's, or its key ``<channel>:<ref>`` is a history ``event_id`` of it. The answer
   is what the first delivery got; nothing is written.
2. **evaluate** — the text is a single digit 1–5 (full-width digits too), the message carries
   no attachment, and the latest ticket is ``closed`` without an evaluation (step 7 of the loop
   waits for the rating). The ticket becomes ``evaluated`` with the score and the channel.
3. **follow-up** — the latest ticket is still ``received`` or ``registered`` (not yet handed to
   a destination) and the resident's previous message for it came at most
   :data:`FOLLOW_UP_WINDOW` (30 min) before this one. Text, attachments and (when the ticket
   has none) the location are appended to that ticket with a history note whose ``event_id``
   is the message key, so a retry appends nothing.
4. otherwise **new** — a new ticket.

:func:`decide` is pure; :func:`handle` applies the decision to a store (synchronous: call it
from a thread in async code).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from tickets.events import EvaluationIn, TicketEvent, apply_event
from tickets.jobs import Job, JobsFor, no_jobs
from tickets.model import TEXT_LIMIT, HistoryEntry, Intake, Status, Ticket
from tickets.status import IllegalTransition
from tickets.store import Store, citizen_key

FOLLOW_UP_WINDOW = timedelta(minutes=30)
OPEN_FOR_FOLLOW_UP = frozenset({Status.received, Status.registered})
_RATING = re.compile(r"[1-5]")


class Action(StrEnum):
    new = "new"
    follow_up = "follow_up"
    evaluate = "evaluate"


@dataclass(frozen=True)
class Decision:
    action: Action
    ticket: Ticket | None = None  # the ticket to change (follow_up, evaluate) or repeated
    score: int | None = None
    repeat: bool = False


@dataclass(frozen=True)
class Outcome:
    """What happened to a message: the ticket it landed on and how."""

    action: Action
    ticket: Ticket
    repeat: bool = False
    score: int | None = None


def message_key(intake: Intake) -> str:
    """The idempotency key of a message that lands on an existing ticket (history event_id)."""
    return f"{intake.channel.value}:{intake.channel_ref}"


def rating(text: str) -> int | None:
    """``"4"``, ``" ４ "`` → 4; anything else → None."""
    cleaned = unicodedata.normalize("NFKC", text).strip()
    return int(cleaned) if _RATING.fullmatch(cleaned) else None


def last_contact(ticket: Ticket) -> datetime:
    """When the resident last wrote about ``ticket`` (intake or an appended follow-up)."""
    times = [ticket.received_at]
    times += [h.at for h in ticket.history if h.actor.startswith("resident:")]
    return max(times)


def _repeat_of(intake: Intake, latest: Ticket) -> Decision | None:
    if latest.channel is intake.channel and latest.channel_ref == intake.channel_ref:
        return Decision(Action.new, latest, repeat=True)
    key = message_key(intake)
    for entry in latest.history:
        if entry.event_id == key:
            if entry.status is Status.evaluated:
                score = latest.evaluation.score if latest.evaluation else None
                return Decision(Action.evaluate, latest, score=score, repeat=True)
            return Decision(Action.follow_up, latest, repeat=True)
    return None


def decide(intake: Intake, latest: Ticket | None,
           window: timedelta = FOLLOW_UP_WINDOW) -> Decision:
    """Where ``intake`` goes, given the resident's latest ticket (None: they have none)."""
    if latest is None:
        return Decision(Action.new)
    repeated = _repeat_of(intake, latest)
    if repeated is not None:
        return repeated
    score = rating(intake.text)
    if (score is not None and not intake.attachments and latest.status is Status.closed
            and latest.evaluation is None):
        return Decision(Action.evaluate, latest, score=score)
    gap = intake.received_at - last_contact(latest)
    if latest.status in OPEN_FOR_FOLLOW_UP and gap <= window:
        return Decision(Action.follow_up, latest)
    return Decision(Action.new)


def append_follow_up(ticket: Ticket, intake: Intake, seq: int, at: datetime) -> Ticket | None:
    """``ticket`` with ``intake`` appended; None when this message is already on it."""
    key = message_key(intake)
    if any(h.event_id == key for h in ticket.history):
        return None
    text = "\n".join(t for t in (ticket.text, intake.text) if t)[:TEXT_LIMIT]
    entry = HistoryEntry(seq=seq, at=at, actor=f"resident:{intake.channel.value}",
                         note=intake.text or None, event_id=key)
    return ticket.model_copy(update={
        "text": text,
        "attachments": [*ticket.attachments, *intake.attachments],
        "location": ticket.location or intake.location,
        "history": [*ticket.history, entry],
    })


def _routed_again(store: Store, jobs: JobsFor) -> JobsFor:
    """A follow-up joins a ticket that is not dispatched yet, perhaps one waiting for a person
    to name its place or matter: it gets the jobs of a new intake again, so the router decides
    again with the added words (the dispatch job leaves a ticket already routed as it is)."""
    def both(ticket_id: str) -> list[Job]:
        return [*store.intake_jobs(ticket_id), *jobs(ticket_id)]

    return both


def evaluation_event(intake: Intake, score: int) -> TicketEvent:
    return TicketEvent(
        actor=f"resident:{intake.channel.value}",
        event_id=message_key(intake),
        status=Status.evaluated,
        evaluation=EvaluationIn(score=score, channel=intake.channel),
    )


def handle(store: Store, intake: Intake, jobs: JobsFor = no_jobs,
           window: timedelta = FOLLOW_UP_WINDOW) -> Outcome:
    """Apply the threading rule to ``intake``: exactly one effect per message, retries safe."""
    existing = store.find_by_ref(intake.channel.value, intake.channel_ref)
    if existing is not None:
        return Outcome(Action.new, existing, repeat=True)
    key = citizen_key(intake)
    latest = store.latest_for_citizen(key) if key else None
    decision = decide(intake, latest, window)
    target = decision.ticket
    if decision.repeat and target is not None:
        return Outcome(decision.action, target, repeat=True, score=decision.score)
    if decision.action is Action.evaluate and target is not None and decision.score:
        event = evaluation_event(intake, decision.score)
        try:
            ticket = store.change(target.id, lambda t, s, a: apply_event(t, event, s, a))
        except IllegalTransition:
            pass  # the ticket moved on meanwhile: treat the digit as a new message
        else:
            return Outcome(Action.evaluate, ticket, score=decision.score)
    if decision.action is Action.follow_up and target is not None:
        ticket = store.change(
            target.id, lambda t, s, a: append_follow_up(t, intake, s, a),
            jobs=_routed_again(store, jobs),
        )
        return Outcome(Action.follow_up, ticket)
    result = store.submit(intake, jobs=jobs)
    return Outcome(Action.new, result.ticket, repeat=not result.created)
