"""The resident's answers applied to the store (the rules are :mod:`tickets.verification`).

The one entry point every channel uses — SMS and WeChat replies, the web status page's
buttons, the outbound callback call's DTMF — is :func:`record_answer` (an :class:`Answer` to a
ticket, from a channel, with the message's idempotency key); text channels use
:func:`answer_text`, which reads the text (:func:`tickets.answers.parse_reply`), finds the
resident's ticket it is about (:func:`find_answerable`: the number it names, else the ticket
last asked about) and interprets a bare digit against the question that ticket waits for —
inside the write transaction, so an answer racing another one is judged on the state it
changes. :func:`ask` records that a question went out; :func:`close_unanswered` and
:func:`unanswered` serve the back office and the operators once ``HOTLINE_VERIFY_DAYS`` passed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, select

from tickets.answers import Answer, Question, Reply, parse_reply
from tickets.jobs import Job
from tickets.model import Channel, Status, Ticket
from tickets.store import Store, TicketNotFound, now_utc
from tickets.tables import tickets
from tickets.verification import (
    BIG_LOOP,
    LATE_ANSWER_DAYS,
    VERIFY_DAYS,
    Result,
    Step,
    apply_answer,
    last_asked_at,
    mark_asked,
    next_question,
    pending_question,
    question_for_digit,
)
from tickets.verification import close_unanswered as close_ticket

CANDIDATES = 20  # the resident's most recently changed tickets an answer may be about
_ANSWERABLE = (Status.resolved.value, Status.closed.value, Status.evaluated.value,
               Status.registered.value, Status.dispatched.value, Status.in_progress.value)


@dataclass(frozen=True)
class AnswerOutcome:
    """What an answer did: the ticket it concerned (None: unknown number), the result, and
    the question to put to the resident next (None: nothing more to ask)."""

    result: Result
    ticket: Ticket | None
    answer: Answer | None = None
    next_question: Question | None = None
    big_loop: bool = False
    again: bool = False  # the message (its key) was applied before: this is a repeat of it


def record_answer(store: Store, ticket_ref: str, answer: Answer | Callable[[Ticket], Answer | None],
                  *, channel: Channel, key: str | None = None, words: str = "",
                  now: datetime | None = None, ask_next: bool = True) -> AnswerOutcome:
    """Apply the resident's ``answer`` to ticket ``ticket_ref`` (id or number).

    ``answer`` is an :class:`Answer`, or a function of the current ticket that gives one (a
    bare digit means what the ticket's pending question makes it mean). ``key`` is the
    message's idempotency key (``sms:<MessageSid>``, ``web:<form id>``, ``voice:<call>``): a
    repeat changes nothing. A second "not solved" plans the ticket's delivery to the district
    center through the store's hand-over, in the same transaction.

    ``ask_next``: the caller puts the next question to the resident in its answer (an SMS or
    WeChat reply, the web page, the call): it is recorded as asked in the same change, so no
    separate message asks it again, and returned as :attr:`AnswerOutcome.next_question`.
    With False, the store's notifications ask it.
    """
    step: list[Step] = []
    asked: list[Question] = []
    also, send = store.handover([BIG_LOOP])

    def mutate(ticket: Ticket, seq: int, at: datetime) -> Ticket | None:
        given = answer(ticket) if callable(answer) else answer
        result = apply_answer(ticket, given, channel=channel, seq=seq, at=at, key=key,
                              words=words, now=now)
        step[:] = [result]
        changed = result.ticket
        question = next_question(changed) if changed is not None and ask_next else None
        if changed is not None and question is not None:
            asked[:] = [question]
            changed = mark_asked(changed, question, channel=channel, seq=seq, at=at,
                                 note=f"asked by {channel.value}: {question.value}") or changed
        return changed

    def big_loop_rows(conn: Connection, ticket: Ticket, at: datetime) -> None:
        if step and step[0].big_loop:
            also(conn, ticket, at)

    def big_loop_jobs(ticket_id: str) -> Sequence[Job]:
        return send(ticket_id) if step and step[0].big_loop else ()

    ticket = store.change(ticket_ref, mutate, also=big_loop_rows, jobs=big_loop_jobs)
    done = step[0]
    if ask_next:
        # the question just recorded, else the one still pending is put again
        again = done.result in (Result.recorded, Result.repeat, Result.unclear)
        question = asked[0] if asked else (pending_question(ticket) if again else None)
    else:
        question = next_question(ticket)
    return AnswerOutcome(done.result, ticket, done.answer, question, done.big_loop, done.again)


def _candidates(conn: Connection, citizen_key: str) -> list[Ticket]:
    docs = conn.execute(
        select(tickets.c.doc)
        .where(tickets.c.citizen_key == citizen_key, tickets.c.status.in_(_ANSWERABLE))
        .order_by(tickets.c.updated_at.desc())
        .limit(CANDIDATES)
    ).scalars()
    return [Ticket.model_validate(d) for d in docs]


def find_answerable(store: Store, citizen_key: str, number: str | None = None,
                    now: datetime | None = None) -> Ticket | None:
    """The resident's ticket an answer is about: the one ``number`` names (only the
    resident's own), else the one they were last asked about within
    :data:`~tickets.verification.LATE_ANSWER_DAYS`, else their newest ``resolved`` ticket
    (a ticket closed before the questions existed keeps the old 1–5 rating)."""
    now = now or now_utc()
    with store.db.read() as conn:
        if number is not None:
            doc = conn.execute(select(tickets.c.doc).where(
                tickets.c.number == number, tickets.c.citizen_key == citizen_key)).scalar()
            return None if doc is None else Ticket.model_validate(doc)
        candidates = _candidates(conn, citizen_key)
    recent = timedelta(days=LATE_ANSWER_DAYS)
    asked = [(at, t) for t in candidates
             if (at := last_asked_at(t)) is not None and now - at <= recent]
    if asked:
        return max(asked, key=lambda pair: pair[0])[1]
    for ticket in candidates:
        if ticket.status is Status.resolved:
            return ticket
    return None


def answer_text(store: Store, citizen_key: str | None, text: str, *, channel: Channel,
                key: str, now: datetime | None = None,
                ask_next: bool = True) -> AnswerOutcome | None:
    """Read ``text`` from the proven sender ``citizen_key`` as an answer; None when it is not
    one (no answer shape, or nothing of theirs asked for one) — the caller files it as a
    message. A number the resident does not own gives :attr:`Result.unknown_ticket`."""
    reply = parse_reply(text)
    if reply is None or citizen_key is None:
        return None
    ticket = find_answerable(store, citizen_key, reply.number, now)
    if ticket is None:
        if reply.number is not None:
            return AnswerOutcome(Result.unknown_ticket, None)
        return None
    return record_answer(store, ticket.id, _interpreter(reply), channel=channel, key=key,
                         words=reply.words, now=now, ask_next=ask_next)


def _interpreter(reply: Reply) -> Callable[[Ticket], Answer | None]:
    def answer_for(ticket: Ticket) -> Answer | None:
        return reply.answer_to(question_for_digit(ticket) or Question.solved)

    return answer_for


def ask(store: Store, ticket_ref: str, question: Question, *, channel: Channel,
        note: str = "") -> Ticket:
    """Record that ``question`` went out to the resident (once per question and round)."""
    return store.change(ticket_ref, lambda t, seq, at: mark_asked(
        t, question, channel=channel, seq=seq, at=at, note=note))


def close_unanswered(store: Store, ticket_ref: str, *, actor: str,
                     verify_days: int = VERIFY_DAYS, now: datetime | None = None) -> Ticket:
    """Close a ``resolved`` ticket whose resident did not answer within ``verify_days``
    (``closed``, "未回复"); :class:`~tickets.verification.NotClosable` otherwise."""
    return store.change(ticket_ref, lambda t, seq, at: close_ticket(
        t, actor=actor, seq=seq, at=at, verify_days=verify_days, now=now))


def unanswered(store: Store, *, verify_days: int = VERIFY_DAYS, now: datetime | None = None,
               limit: int = 200) -> list[Ticket]:
    """``resolved`` tickets whose resident has not answered within ``verify_days`` of the
    question (oldest first): what the back office or an operator may close."""
    now = now or now_utc()
    with store.db.read() as conn:
        docs = conn.execute(
            select(tickets.c.doc).where(tickets.c.status == Status.resolved.value)
            .order_by(tickets.c.updated_at).limit(limit * 5)
        ).scalars()
        found = [Ticket.model_validate(d) for d in docs]
    due: list[Ticket] = []
    for ticket in found:
        try:
            close_ticket(ticket, actor="check", seq=ticket.seq, at=now, verify_days=verify_days)
        except ValueError:
            continue
        due.append(ticket)
    return due[:limit]


def waiting_question(store: Store, ticket_ref: str) -> Question | None:
    """The question ticket ``ticket_ref`` waits for an answer to (None: none)."""
    try:
        return pending_question(store.get(ticket_ref))
    except TicketNotFound:
        return None
