"""The 96010 call flow (agi://HOST:4573/96010).

answer → greeting (a key barges in) → menu: 1–5 record the matter → ticket → number read back;
9 progress by ticket number; 0, or no/wrong key three times → draft ticket + ``TICKET_ID`` and
``IVR_ACTION=operator`` on the channel, then the AGI ends and the dialplan queues the call.

A message is recorded by Asterisk (:mod:`ivr.capture`) and made a ticket by one explicit step,
:func:`ivr.persist.persist`, whatever happened to the call: finished, hung up, connection lost
— stored, or spooled when the store fails, or kept for the sweep when the spool fails too. The
caller hears the number as soon as the ticket exists; a live transcript joins the ticket when
the recognizer is done (the batch job otherwise). Store work runs in a thread pool so a slow
database never stalls other calls.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

from ivr import menu, recordings, tickets
from ivr.agi.session import AgiSession, ChannelHungUp, HandedOver
from ivr.caller import caller_e164
from ivr.capture import Capture
from ivr.events import CallEvents, Step
from ivr.handler import Handler
from ivr.menu import Action, Choice
from ivr.persist import Persisted, Saved, persist
from ivr.prompts import BEEP, Prompts
from ivr.readback import read_number
from ivr.recorder import Recorder, Recording
from ivr.status_speech import NUMBER_DIGITS, status_prompts, valid_number
from tickets.model import Kind, Ticket, Transcript
from tickets.store import Store, TicketNotFound
from transcription.jobs import with_transcript

log = logging.getLogger(__name__)
LIVE_RESULT_WAIT = 120.0  # seconds a live transcript may take after the call


@dataclass(frozen=True)
class FlowConfig:
    prompts: Prompts
    recordings_dir: Path
    media_dir: Path
    # where a message goes when the store fails (Settings.spool_path); None: nowhere
    spool_dir: Path | None = None
    max_record_seconds: int = 120
    menu_attempts: int = 3  # the first time plus two repeats, then the operator
    menu_wait_ms: int = 5000
    number_wait_ms: int = 8000
    status_attempts: int = 2
    # SQLite serializes writes anyway; more threads only fight the event loop for the GIL
    # (measured: bench/agi_sessions.py). Use more with PostgreSQL.
    store_threads: int = 2


class CallFlow(Handler):
    """The handler for ``/96010``; one instance serves every call."""

    def __init__(self, config: FlowConfig, store: Store, *, recorder: Recorder | None = None,
                 executor: Executor | None = None, events: CallEvents | None = None) -> None:
        self.config = config
        self.prompts = config.prompts
        self.store = store
        # the console's live view of each call (never blocks the call; see ivr.events)
        self.events = events or CallEvents(None)
        self.recorder: Recorder = recorder or Capture()
        self.executor = executor or ThreadPoolExecutor(
            config.store_threads, thread_name_prefix="ivr-store"
        )
        self._background: set[asyncio.Task[None]] = set()

    async def __call__(self, session: AgiSession) -> None:
        env = session.env
        unique_id = env.unique_id or f"noid-{datetime.now(UTC).timestamp()}"
        call = tickets.Call(
            ref=tickets.voice_ref(env.get("agi_arg_1"), unique_id),
            phone=caller_e164(env.caller_id, env.calling_pres or "0"),
            received_at=datetime.now(UTC),
        )
        self.events.started(call.ref, env.channel, call.phone)
        ended = "done"
        try:
            await session.answer()
            choice = await self._menu(session)
            self.events.step(call.ref, Step(choice.action.value), choice.kind.value)
            if choice.action is Action.record:
                await self._take_matter(session, call, choice.kind)
            elif choice.action is Action.status:
                await self._status(session)
            else:
                await self._to_operator(session, call, "operator")
        except HandedOver:
            log.info("call %s: handed back to the dialplan (the gateway is stopping)", call.ref)
            ended = "handover"
        except ChannelHungUp:
            ended = await self._cut(call)
        finally:
            self.events.ended(call.ref, ended)

    async def _cut(self, call: tickets.Call) -> str:
        """The session ended under the flow: the caller hung up, or the console took the call
        over (AMI Redirect to the operator queue: the blocked command answers -1, then Asterisk
        closes the session). Either way what was recorded is already persisted."""
        ticket_id = await self.events.taken_over(call.ref)
        if ticket_id is not None:
            log.info("call %s: taken over by an operator (ticket %s)", call.ref, ticket_id)
            return "takeover"
        log.info("call %s: caller hung up", call.ref)
        return "hangup"

    async def drain(self) -> None:
        """Wait for the transcripts still being attached (shutdown)."""
        if self._background:
            await asyncio.wait(self._background, timeout=LIVE_RESULT_WAIT)

    # -- menu ----------------------------------------------------------------------------
    async def _menu(self, session: AgiSession) -> Choice:
        digit = await self._play(session, "greeting", menu.ESCAPE_DIGITS)
        for attempt in range(self.config.menu_attempts):
            if not digit:
                digit = await self._play(session, "menu", menu.ESCAPE_DIGITS)
            if not digit:
                digit = await session.wait_for_digit(self.config.menu_wait_ms)
            choice = menu.choose(digit)
            if choice is not None:
                return choice
            if attempt + 1 < self.config.menu_attempts:
                await self._play(session, "invalid" if digit else "no_input")
            digit = ""
        log.info("call %s: no valid menu key after %d attempts", session.unique_id,
                 self.config.menu_attempts)
        return menu.OPERATOR

    # -- 1–5: record the matter ----------------------------------------------------------
    async def _take_matter(self, session: AgiSession, call: tickets.Call, kind: Kind) -> None:
        files = recordings.new_files(self.config.recordings_dir, call.ref)
        await self._in_thread(partial(recordings.write_meta, files, recordings.Meta(call, kind)))

        async def cue() -> None:
            await self._play(session, "record_instructions", "#")
            await self._play(session, BEEP)
            self.events.recording(call.ref)

        try:
            recording = await self.recorder.record(
                session, files.wav, cue=cue, call_ref=call.ref,
                max_seconds=self.config.max_record_seconds)
        except Exception:  # a bug or an unexpected reply: keep whatever Asterisk wrote
            log.exception("call %s: the recording failed", call.ref)
            recording = Recording(path=files.wav, ended_by="hangup")
        persisted = await self._in_thread(partial(
            persist, self.store, self.config.media_dir, self.config.spool_dir, files,
            recordings.Meta(call, kind), live=recording.live))
        if persisted.ticket is not None and recording.transcript is not None:
            self._attach_later(persisted.ticket, recording.transcript)
        if session.hung_up or session.closed:
            log.info("call %s: session ended during the message (%s)", call.ref,
                     persisted.saved.value)
            raise ChannelHungUp("the session ended during the message")
        await self._after_message(session, call, kind, persisted)

    async def _after_message(self, session: AgiSession, call: tickets.Call, kind: Kind,
                             persisted: Persisted) -> None:
        if persisted.saved is Saved.stored and persisted.ticket is not None:
            await read_number(session, self.config.prompts, persisted.ticket.number)
            await self._goodbye(session)
        elif persisted.saved in (Saved.spooled, Saved.kept):
            # the message is safe; no number exists yet to read back
            await self._play(session, "fallback-thanks")
            await session.set_variable("IVR_ACTION", "done")
            await session.hangup()
        else:
            await self._play(session, "no_speech")
            await self._to_operator(session, call, "no speech", kind)

    def _attach_later(self, ticket: Ticket, transcript: asyncio.Future[Transcript | None],
                      ) -> None:
        task = asyncio.get_running_loop().create_task(self._attach(ticket, transcript))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _attach(self, ticket: Ticket, future: asyncio.Future[Transcript | None]) -> None:
        """Put the live transcript on the ticket when it arrives (the batch job written with
        the ticket does it instead if this never happens)."""
        with contextlib.suppress(TimeoutError, asyncio.CancelledError):
            transcript = await asyncio.wait_for(future, LIVE_RESULT_WAIT)
            if transcript is None:
                return
            try:
                await self._in_thread(partial(
                    self.store.change, ticket.id,
                    with_transcript(transcript, f"live transcript ({transcript.model})")))
            except Exception:
                log.exception("ticket %s: cannot attach the live transcript", ticket.number)

    # -- 9: progress ---------------------------------------------------------------------
    async def _status(self, session: AgiSession) -> None:
        prompts = self.config.prompts
        for _ in range(self.config.status_attempts):
            digits = await session.get_data(prompts.path("ask_ticket_number"),
                                            self.config.number_wait_ms, NUMBER_DIGITS)
            if valid_number(digits):
                try:
                    ticket = await self._in_thread(partial(self.store.get, digits))
                except TicketNotFound:
                    await self._play(session, "ticket_not_found")
                    break
                survivor = await self._in_thread(partial(self.store.survivor_of, ticket))
                for name in status_prompts(ticket.status,
                                           survivor.status if survivor.id != ticket.id else None):
                    await self._play(session, name)
                break
            await self._play(session, "invalid" if digits else "no_input")
        await self._goodbye(session)

    # -- 0: the operator -----------------------------------------------------------------
    async def _to_operator(
        self, session: AgiSession, call: tickets.Call, why: str, kind: Kind = Kind.unknown
    ) -> None:
        try:
            ticket: Ticket | None = await self._in_thread(
                partial(tickets.submit_draft, self.store, call, kind)
            )
        except Exception:
            log.exception("call %s: cannot create the draft ticket; queueing without it",
                          call.ref)
            ticket = None
        await self._play(session, "operator" if ticket is not None else "busy")
        if ticket is not None:
            await session.set_variable("TICKET_ID", ticket.id)
            await session.set_variable("TICKET_NUMBER", ticket.number)
        await session.set_variable("IVR_ACTION", "operator")
        self.events.operator(call.ref, ticket.id if ticket else None,
                             ticket.number if ticket else None)
        log.info("call %s: to the operator queue (%s)", call.ref, why)
        # returning ends the AGI; the dialplan continues with Queue(operators-96010)

    async def _goodbye(self, session: AgiSession) -> None:
        await self._play(session, "thanks")
        await session.set_variable("IVR_ACTION", "done")
        await session.hangup()


async def unavailable(prompts: Prompts, session: AgiSession) -> None:
    """For an unknown AGI script: say sorry and hang up."""
    try:
        await session.answer()
        await session.stream_file(prompts.path("unavailable"))
    except ChannelHungUp:
        return
    await session.hangup()
