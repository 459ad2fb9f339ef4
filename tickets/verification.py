"""Verification and evaluation by the resident (核实结案 + 综合评价): what an answer does to a
ticket. Pure: every function takes the ticket and the clock and returns the changed ticket;
:mod:`tickets.verify_store` applies them under the store's write lock.

The rules (DESIGN.md steps 6–7):

* **solved** (``resolved`` → ``closed``): the evaluation says ``solved``, the history says the
  resident confirmed; the satisfaction question comes next. An answer to it makes the ticket
  ``evaluated``.
* **not solved** (``resolved`` → ``in_progress``, the same destinations): the evaluation says
  ``solved: false`` with the resident's words, the history says why, ``reopened`` counts it.
  The second "not solved" of a ticket also moves it to the **big loop** (district center):
  ``loop: big``, a ``district`` destination, planned by the store's hand-over. A ticket the
  resident says is not solved is never closed by it.
* **no answer** within ``HOTLINE_VERIFY_DAYS`` of the question: the back office or an
  operator may close it (:func:`close_unanswered`: ``closed``, kind ``closed_unanswered``,
  "未回复"). An answer up to :data:`LATE_ANSWER_DAYS` after the question is still taken,
  also on a ticket closed unanswered ("not solved" then reopens it).
* **repeats and disorder**: a message (``key``) is applied once; the same answer again changes
  nothing; a satisfaction answer before the solved one is kept and completes the evaluation
  when "solved" arrives; a digit sent again before the satisfaction question went out still
  belongs to the solved question; an answer about a ticket that went back to handling in the
  meantime is refused (:attr:`Result.reopened_meanwhile`), as is one after ``evaluated``.

Every answer is one history entry of kind ``answered`` (``event_id`` = the message key) before
the status entries it causes; each question put to the resident is one entry of kind ``asked``
whose ``event_id`` is ``asked:<question>:<round>`` (:func:`ask_key`; round = how many times the
ticket was resolved), so a question is recorded once per round.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from tickets.answers import Answer, Question
from tickets.model import (
    Channel,
    Decided,
    Destination,
    Evaluation,
    HistoryEntry,
    HistoryKind,
    Loop,
    Routing,
    Status,
    Ticket,
)

VERIFY_DAYS = 3  # default of HOTLINE_VERIFY_DAYS
LATE_ANSWER_DAYS = 14
BIG_LOOP = "district"  # the destination of a ticket not solved twice
UNANSWERED_NOTE = "未回复"
WAITING = frozenset({Status.resolved, Status.closed})
BACK_IN_HANDLING = frozenset({Status.registered, Status.dispatched, Status.in_progress})


class Result(StrEnum):
    recorded = "recorded"  # the answer changed the ticket
    repeat = "repeat"  # this message or this same answer was already taken
    reopened_meanwhile = "reopened_meanwhile"  # the ticket went back to handling
    finished = "finished"  # already evaluated: nothing is asked any more
    not_waiting = "not_waiting"  # the ticket never waited for an answer
    too_late = "too_late"  # more than LATE_ANSWER_DAYS after the question
    unclear = "unclear"  # a digit the question does not offer ("3" to solved?)
    unknown_ticket = "unknown_ticket"  # a number that is not one of the resident's tickets


@dataclass(frozen=True)
class Step:
    """What an answer does: the changed ticket (None: nothing changes) and why."""

    ticket: Ticket | None
    result: Result
    answer: Answer | None = None
    big_loop: bool = False
    again: bool = False  # this very message (its key) was applied before: a repeat of it



class NotClosable(ValueError):
    """A ticket that may not be closed as unanswered (yet)."""


def ask_key(question: Question, round_: int) -> str:
    return f"asked:{question.value}:{round_}"


def resolution_round(ticket: Ticket) -> int:
    """How many times the ticket was resolved (each "not solved" starts a new round)."""
    return sum(1 for h in ticket.history if h.status is Status.resolved)


def last_resolved_at(ticket: Ticket) -> datetime | None:
    times = [h.at for h in ticket.history if h.status is Status.resolved]
    return max(times) if times else None


def asked_entries(ticket: Ticket) -> list[HistoryEntry]:
    return [h for h in ticket.history if h.kind is HistoryKind.asked]


def last_asked_at(ticket: Ticket) -> datetime | None:
    times = [h.at for h in asked_entries(ticket)]
    return max(times) if times else None


def was_asked(ticket: Ticket, question: Question) -> bool:
    """``question`` was put to the resident in the ticket's current round."""
    key = ask_key(question, resolution_round(ticket))
    return any(h.event_id == key for h in asked_entries(ticket))


def current_evaluation(ticket: Ticket) -> Evaluation | None:
    """The evaluation of the current round (an earlier round's "not solved" is history)."""
    ev, resolved_at = ticket.evaluation, last_resolved_at(ticket)
    if ev is None or resolved_at is None or ev.at < resolved_at:
        return None
    return ev


def pending_question(ticket: Ticket) -> Question | None:
    """The question the ticket waits for an answer to (None: none)."""
    if ticket.status is Status.resolved:
        return Question.solved
    if ticket.status is Status.closed:
        ev = current_evaluation(ticket)
        if ev is None or ev.solved is None:
            return Question.solved
        if ev.solved and ev.satisfaction is None and ev.score is None:
            return Question.satisfaction
    return None


def question_for_digit(ticket: Ticket) -> Question | None:
    """The question a bare digit answers: the pending one, except that before the
    satisfaction question went out the resident has only seen the solved question."""
    pending = pending_question(ticket)
    if pending is Question.satisfaction and not was_asked(ticket, Question.satisfaction):
        return Question.solved
    return pending


def answer_base(ticket: Ticket) -> datetime | None:
    """When the resident was last asked (or the ticket resolved): answers count from here."""
    times = [t for t in (last_resolved_at(ticket), last_asked_at(ticket)) if t is not None]
    return max(times) if times else None


def _entry(seq: int, at: datetime, actor: str, note: str, *, kind: HistoryKind | None = None,
           status: Status | None = None, from_status: Status | None = None,
           event_id: str | None = None) -> HistoryEntry:
    return HistoryEntry(seq=seq, at=at, actor=actor, status=status, from_status=from_status,
                        note=note, kind=kind, event_id=event_id)


def _describe(answer: Answer, words: str) -> str:
    if answer.question is Question.solved:
        said = "solved" if answer.solved else "not solved"
    else:
        said = f"satisfaction: {answer.satisfaction}"
    return f"the resident answered: {said}" + (f" — {words}" if words else "")


def _same(answer: Answer, ev: Evaluation | None) -> bool:
    if ev is None:
        return False
    if answer.question is Question.solved:
        return ev.solved is answer.solved
    return ev.satisfaction is answer.satisfaction


def _reopen(ticket: Ticket, ev: Evaluation, entries: list[HistoryEntry], seq: int,
            at: datetime, actor: str, words: str) -> Step:
    big = ticket.reopened >= 1
    update: dict[str, object] = {"status": Status.in_progress, "evaluation": ev,
                                 "reopened": ticket.reopened + 1}
    why = "the resident says it is not solved" + (f": {words}" if words else "")
    if big:
        why += "; not solved twice: to the big loop (district center)"
        routing = ticket.routing or Routing()
        known = {d.id for d in routing.destinations}
        added = [] if BIG_LOOP in known else [Destination(id=BIG_LOOP, status="pending")]
        update["loop"] = Loop.big
        update["routing"] = routing.model_copy(update={
            "loop": Decided(source="escalation", detail="not solved twice by the resident"),
            "destinations": [*routing.destinations, *added]})
    entries.append(_entry(seq, at, actor, why, kind=HistoryKind.reopened,
                          status=Status.in_progress, from_status=ticket.status))
    update["history"] = [*ticket.history, *entries]
    return Step(ticket.model_copy(update=update), Result.recorded, big_loop=big)


def apply_answer(ticket: Ticket, answer: Answer | None, *, channel: Channel, seq: int,
                 at: datetime, key: str | None = None, words: str = "",
                 now: datetime | None = None) -> Step:
    """What ``answer`` (None: a digit the question does not offer) does to ``ticket``."""
    now = now or at
    if key and any(h.event_id == key for h in ticket.history):
        return Step(None, Result.repeat, answer, again=True)
    if ticket.status is Status.evaluated:
        same = answer is not None and _same(answer, ticket.evaluation)
        return Step(None, Result.repeat if same else Result.finished, answer)
    if ticket.status not in WAITING:
        asked = bool(asked_entries(ticket))
        if ticket.status in BACK_IN_HANDLING and (asked or ticket.reopened):
            return Step(None, Result.reopened_meanwhile, answer)
        return Step(None, Result.not_waiting, answer)
    base = answer_base(ticket)
    if base is not None and now - base > timedelta(days=LATE_ANSWER_DAYS):
        return Step(None, Result.too_late, answer)
    if answer is None:
        return Step(None, Result.unclear)
    pending = pending_question(ticket)
    if pending is None:  # closed with a legacy score: nothing is asked of it
        return Step(None, Result.finished, answer)
    ev = current_evaluation(ticket)
    if _same(answer, ev):
        return Step(None, Result.repeat, answer)
    actor = f"resident:{channel.value}"
    comment = words or (ev.comment if ev else None)
    entries = [_entry(seq, at, actor, _describe(answer, words), kind=HistoryKind.answered,
                      event_id=key)]
    if answer.question is Question.solved and answer.solved is False:
        new_ev = Evaluation(solved=False, comment=words or None, channel=channel, at=at)
        return _reopen(ticket, new_ev, entries, seq, at, actor, words)
    if answer.question is Question.solved:
        new_ev = Evaluation(solved=True, satisfaction=ev.satisfaction if ev else None,
                            comment=comment, channel=channel, at=at)
    else:
        new_ev = Evaluation(solved=ev.solved if ev else None, satisfaction=answer.satisfaction,
                            comment=comment, channel=channel, at=at)
    status: Status = ticket.status
    if new_ev.solved and status is Status.resolved:
        entries.append(_entry(seq, at, actor, "the resident confirmed it is solved",
                              status=Status.closed, from_status=status))
        status = Status.closed
    if new_ev.solved and new_ev.satisfaction is not None and status is Status.closed:
        entries.append(_entry(seq, at, actor, "the resident evaluated the result",
                              status=Status.evaluated, from_status=status))
        status = Status.evaluated
    changed = ticket.model_copy(update={"status": status, "evaluation": new_ev,
                                        "history": [*ticket.history, *entries]})
    return Step(changed, Result.recorded, answer)


def next_question(ticket: Ticket) -> Question | None:
    """What to ask the resident next about ``ticket`` (None: nothing, or already asked)."""
    pending = pending_question(ticket)
    if pending is None or was_asked(ticket, pending):
        return None
    return pending


def mark_asked(ticket: Ticket, question: Question, *, channel: Channel, seq: int,
               at: datetime, note: str = "") -> Ticket | None:
    """``ticket`` with "``question`` was put to the resident" recorded; None when it already
    was in this round or the ticket no longer waits for it."""
    if pending_question(ticket) is not question or was_asked(ticket, question):
        return None
    entry = _entry(seq, at, f"gateway:{channel.value}", note or f"asked: {question.value}",
                   kind=HistoryKind.asked,
                   event_id=ask_key(question, resolution_round(ticket)))
    return ticket.model_copy(update={"history": [*ticket.history, entry]})


def close_unanswered(ticket: Ticket, *, actor: str, seq: int, at: datetime,
                     verify_days: int = VERIFY_DAYS, now: datetime | None = None) -> Ticket:
    """``ticket`` closed because the resident did not answer within ``verify_days`` of the
    question; :class:`NotClosable` when it does not wait for the solved answer or is not due."""
    now = now or at
    if ticket.status is not Status.resolved:
        raise NotClosable(f"ticket {ticket.number} is '{ticket.status}', not waiting for the "
                          "resident's answer")
    base = answer_base(ticket) or ticket.updated_at
    due = base + timedelta(days=verify_days)
    if now < due:
        raise NotClosable(f"ticket {ticket.number} waits for the resident's answer until "
                          f"{due:%Y-%m-%d %H:%M} UTC")
    entry = _entry(seq, at, actor, UNANSWERED_NOTE, kind=HistoryKind.closed_unanswered,
                   status=Status.closed, from_status=Status.resolved)
    return ticket.model_copy(update={"status": Status.closed,
                                     "history": [*ticket.history, entry]})
