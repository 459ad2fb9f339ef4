"""The resident's side of closing the loop on the text channels (SMS, WeChat): opting out of
notifications ("TD"/"退订") and answering the two verification questions.

:func:`reply_to` runs before the conversation rule (:mod:`channels.conversation`): it returns
the text to answer with when the message was an opt-out or an answer about one of the
sender's tickets (:func:`tickets.verify_store.answer_text`: the number it names, else the
ticket last asked about), and None when it is neither — then the message is filed as usual.
Only a sender the channel proved (the SMS number, the WeChat openid) can answer or opt out.
The reply puts the next question itself (it is recorded as asked with the answer).

:func:`respond` is the one rule a text message goes through, live or kept by the spool past
its channel's deadline (:mod:`channels.spooled`): :func:`reply_to` first, else the channel
files it. So a spooled opt-out, answer or status query is handled as what it is, never filed
as a new ticket.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from channels import lookup
from channels.conversation import Outcome, message_key
from channels.texts import texts
from tickets import notifications
from tickets.answers import Question, normalize
from tickets.model import Intake, Loop, Status
from tickets.store import Store, citizen_key
from tickets.verification import Result
from tickets.verify_store import AnswerOutcome, answer_text


@dataclass(frozen=True)
class Replied:
    """A message that was no new request (an opt-out, a status query, an answer), and what
    answers it."""

    text: str


OPT_OUT_WORDS = frozenset({"TD", "退订", "T D", "取消订阅"})


def is_opt_out(text: str) -> bool:
    return normalize(text).upper() in OPT_OUT_WORDS


def question_text(question: Question, number: str) -> str:
    t = texts().notify
    template = t.ask_solved if question is Question.solved else t.ask_satisfaction
    return template.format(number=number)


def answer_reply(outcome: AnswerOutcome) -> str | None:
    """What the resident reads after an answer (None: it was not one after all)."""
    v = texts().verify
    ticket = outcome.ticket
    if ticket is None:
        return v.unknown_ticket
    n = ticket.number
    said: str | None
    # a repeat of the very message (a provider's retry, or the spool's copy of a message the
    # stalled request applied late) reads what the first delivery would have: its resident
    # never saw that answer
    if outcome.result is Result.recorded or outcome.again:
        if ticket.status is Status.evaluated:
            said = v.evaluated.format(number=n)
        elif ticket.status is Status.in_progress:
            big = outcome.big_loop or (outcome.again and ticket.loop is Loop.big)
            said = (v.big_loop if big else v.reopened).format(number=n)
        elif ticket.status is Status.closed:
            said = v.solved.format(number=n)
        else:  # a satisfaction answer before the solved one: the question follows
            said = None
    elif outcome.result is Result.repeat:
        said = v.repeat.format(number=n)
    elif outcome.result is Result.unclear:
        said = None
    elif outcome.result is Result.reopened_meanwhile:
        said = v.reopened_meanwhile.format(number=n)
    elif outcome.result is Result.finished:
        said = v.finished.format(number=n)
    elif outcome.result is Result.too_late:
        said = v.too_late.format(number=n)
    else:
        return None
    parts = [said] if said else []
    if outcome.next_question is not None:
        parts.append(question_text(outcome.next_question, n))
    return "\n".join(parts) or None


def reply_to(store: Store, intake: Intake) -> str | None:
    """The answer to an opt-out, a status query ("查询 <number>", :mod:`channels.lookup`) or a
    verification answer; None for any other message."""
    key = citizen_key(intake)
    if key is None or intake.attachments:
        return None
    if is_opt_out(intake.text):
        notifications.opt_out(store.db, key, intake.channel, intake.received_at)
        return texts().notify.opted_out
    status = lookup.reply_to(store, intake.text, key)
    if status is not None:
        return status
    outcome = answer_text(store, key, intake.text, channel=intake.channel,
                          key=message_key(intake), now=intake.received_at)
    return None if outcome is None else answer_reply(outcome)


def respond(store: Store, intake: Intake, file: Callable[[Intake], Outcome]) -> Replied | Outcome:
    """What a text message does, live or spooled: the reply to an opt-out, a status query or
    an answer (:func:`reply_to`), else ``file(intake)`` — the channel's conversation rule."""
    said = reply_to(store, intake)
    return Replied(said) if said is not None else file(intake)
