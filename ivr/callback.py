"""The outbound callback call (回访): ``agi://HOST:4573/callback,<ticket id>``.

Asterisk calls the resident (AMI ``Originate`` into the ``callback-96010`` context, see
:mod:`ivr.callback_job`) and, once they answer, runs this flow:

answer → "this is 96010 calling back about ticket …" (the number digit by digit) → the unit's
reply (the ``note`` of the ``resolved`` event, spoken by espeak-ng at call time into a file
Asterisk reads at the same path) → "问题解决了吗？按1已解决，按2未解决" → if solved,
"您对办理结果满意吗？按1满意，按2基本满意，按3不满意" → thanks, hang up.

Each question is recorded as asked (:func:`tickets.verify_store.ask`) and each key pressed is
read as a text reply would be (:func:`tickets.answers.parse_reply`) and applied through the one
entry point every channel uses, :func:`tickets.verify_store.record_answer` (channel ``voice``,
key ``callback:<unique id>:<question>``). No key or a key the question does not offer: the
question is said again once; then the call ends and the history says the resident did not
answer (the ticket keeps waiting; the back office may close it after ``HOTLINE_VERIFY_DAYS``).
A ticket that no longer waits for an answer (reopened, already evaluated) hears one sentence
and the call ends.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from ivr.agi.session import AgiSession, ChannelHungUp
from ivr.callback_history import event_id, with_entry
from ivr.handler import Handler
from ivr.prompts import Prompts
from ivr.readback import digit_prompts
from tickets import metrics
from tickets.answers import Answer, Question, parse_reply
from tickets.model import Channel, Status, Ticket
from tickets.store import Store, TicketNotFound
from tickets.verification import Result, pending_question
from tickets.verify_store import AnswerOutcome, ask, record_answer

log = logging.getLogger(__name__)
SCRIPT = "callback"
MAX_SPOKEN_CHARS = 400  # the longest reply read out; the SMS/web page carry the whole text
QUESTION_PROMPTS = {Question.solved: "callback/ask_solved",
                    Question.satisfaction: "callback/ask_satisfaction"}
ANSWERED = frozenset({Status.resolved, Status.closed, Status.evaluated})  # else: reopened
QUESTION_KEYS = {Question.solved: "12", Question.satisfaction: "123"}


def unit_reply(ticket: Ticket) -> str | None:
    """The department's reply (处理反馈): the note of the latest ``resolved`` event."""
    for entry in reversed(ticket.history):
        if entry.status is Status.resolved:
            return (entry.note or "").strip() or None
    return None


def speech_file(speech_dir: Path, ticket: Ticket, text: str) -> Path:
    """Where the spoken reply of ``ticket`` goes: one file per ticket and text."""
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
    return speech_dir / f"{ticket.id}-{digest}.wav"


def _default_speak(text: str, target: Path) -> None:
    from ivr.prompts.build import speak

    speak(text, target)


@dataclass(frozen=True)
class CallbackConfig:
    prompts: Prompts
    # where the reply is spoken into at call time: a folder Asterisk sees at the same path
    speech_dir: Path
    speak: Callable[[str, Path], None] = field(default=_default_speak)
    answer_wait_ms: int = 6000  # after a question, how long a key is waited for
    question_attempts: int = 2  # the question, and once more after no key / a wrong key
    store_threads: int = 2


class CallbackFlow(Handler):
    """The handler for ``/callback``; one instance serves every callback call."""

    def __init__(self, config: CallbackConfig, store: Store, *,
                 executor: Executor | None = None) -> None:
        self.config = config
        self.prompts = config.prompts
        self.store = store
        self.executor = executor or ThreadPoolExecutor(
            config.store_threads, thread_name_prefix="callback-store")

    async def __call__(self, session: AgiSession) -> None:
        ticket_ref = session.env.get("agi_arg_1").strip()
        call = session.env.unique_id or "nocall"
        try:
            ticket = await self._in_thread(partial(self.store.get, ticket_ref))
        except TicketNotFound:
            log.warning("callback %s: no ticket %r; hanging up", call, ticket_ref[:40])
            await session.hangup()
            return
        try:
            await self._talk(session, ticket, call)
        except ChannelHungUp:
            await self._note(ticket, "the resident hung up during the callback call",
                             event_id("hung_up", call))
            raise

    async def _talk(self, session: AgiSession, ticket: Ticket, call: str) -> None:
        await session.answer()
        await self._play(session, "callback/intro")
        for name in digit_prompts(ticket.number):
            await self._play(session, name)
        await self._say_reply(session, ticket)
        question = pending_question(ticket)
        if question is None:
            await self._play(session, "callback/nothing_to_ask")
            await self._end(session, "done")
            return
        while question is not None:
            outcome = await self._ask(session, ticket, question, call)
            if outcome is None:
                await self._play(session, "callback/no_answer")
                await self._note(ticket, f"callback call: no valid key to the {question.value} "
                                         "question (asked twice); hung up",
                                 event_id(f"no_answer:{question.value}", call))
                await self._end(session, "no_answer")
                return
            if outcome.result is Result.recorded and outcome.ticket is not None \
                    and outcome.ticket.status not in ANSWERED:
                await self._play(session, "callback/not_solved")
                await self._end(session, "done")
                return
            if outcome.result not in (Result.recorded, Result.repeat):
                await self._play(session, "callback/nothing_to_ask")
                await self._end(session, "done")
                return
            current = outcome.ticket or ticket
            question = pending_question(current)
            ticket = current
        await self._play(session, "callback/thanks")
        await self._end(session, "done")

    async def _say_reply(self, session: AgiSession, ticket: Ticket) -> None:
        reply = unit_reply(ticket)
        if reply is None:
            return
        text = reply[:MAX_SPOKEN_CHARS]
        target = speech_file(self.config.speech_dir, ticket, text)
        if not target.exists():
            try:
                await self._in_thread(partial(self.config.speak, text, target))
            except Exception:  # espeak-ng missing or failing: the questions still go on
                log.exception("callback for %s: cannot speak the unit's reply", ticket.number)
                return
        await self._play(session, "callback/reply_is")
        await session.stream_file(str(target.with_suffix("")))

    async def _ask(self, session: AgiSession, ticket: Ticket, question: Question,
                   call: str) -> AnswerOutcome | None:
        """Ask ``question`` (twice at most); the outcome of the answer, None for no answer."""
        await self._in_thread(partial(ask, self.store, ticket.id, question,
                                      channel=Channel.voice, note=f"asked by the callback "
                                                                  f"call: {question.value}"))
        cfg = self.config
        for attempt in range(cfg.question_attempts):
            digits = await session.get_data(cfg.prompts.path(QUESTION_PROMPTS[question]),
                                            cfg.answer_wait_ms, 1)
            answer = self._read(digits, question)
            if answer is not None:
                return await self._in_thread(partial(
                    record_answer, self.store, ticket.id, answer, channel=Channel.voice,
                    key=f"callback:{call}:{question.value}"))
            log.info("callback %s: %s to the %s question (attempt %d)", call,
                     "wrong key" if digits else "no key", question.value, attempt + 1)
            if attempt + 1 < cfg.question_attempts:
                await self._play(session, "invalid" if digits else "no_input")
        return None

    @staticmethod
    def _read(digits: str, question: Question) -> Answer | None:
        """A key read exactly as a text reply of that digit would be."""
        if len(digits) != 1 or digits not in QUESTION_KEYS[question]:
            return None
        reply = parse_reply(digits)
        return None if reply is None else reply.answer_to(question)

    async def _note(self, ticket: Ticket, note: str, event: str) -> None:
        try:
            await self._in_thread(partial(
                self.store.change, ticket.id,
                lambda t, seq, at: with_entry(t, seq=seq, at=at, note=note, event=event)))
        except Exception:
            log.exception("callback for %s: cannot write the history entry", ticket.number)

    @staticmethod
    async def _end(session: AgiSession, outcome: str) -> None:
        metrics.callback(outcome)
        await session.set_variable("CALLBACK_RESULT", outcome)
        await session.hangup()
