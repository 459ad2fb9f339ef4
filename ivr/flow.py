"""The 96010 call flow (agi://HOST:4573/96010).

answer → greeting (a key barges in) → menu: 1–5 record the matter → ticket → number read back;
9 progress by ticket number; 0, or no/wrong key three times → draft ticket + ``TICKET_ID`` and
``IVR_ACTION=operator`` on the channel, then the AGI ends and the dialplan queues the call.
A hang-up anywhere ends the call normally; a recording made before it still becomes a ticket.
If the store fails (database briefly down) the recording goes to the fallback spool, in the
format of the dialplan's own fallback, and ``hotline spool ingest`` makes the ticket later.
Store work runs in a thread pool so a slow database never stalls other calls.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import TypeVar

from ivr import menu, spool, tickets
from ivr.agi.session import AgiSession, ChannelHungUp
from ivr.caller import caller_e164
from ivr.menu import Action, Choice
from ivr.prompts import BEEP, Prompts
from ivr.readback import read_number
from ivr.record_file import FileRecorder, recorded_seconds, wav_path
from ivr.recorder import Recorder, Recording
from ivr.status_speech import status_prompts, valid_number
from router.model import Kind, Ticket
from router.store import Store, TicketNotFound

log = logging.getLogger(__name__)
T = TypeVar("T")
SAFE_REF = re.compile(r"[^A-Za-z0-9._-]")


@dataclass(frozen=True)
class FlowConfig:
    prompts: Prompts
    recordings_dir: Path
    media_dir: Path
    # where a recording goes when the store fails (Settings.spool_path); None: nowhere
    spool_dir: Path | None = None
    max_record_seconds: int = 120
    min_audio_seconds: float = 0.3  # less than this is "nothing was said"
    menu_attempts: int = 3  # the first time plus two repeats, then the operator
    menu_wait_ms: int = 5000
    number_wait_ms: int = 8000
    status_attempts: int = 2
    # SQLite serializes writes anyway; more threads only fight the event loop for the GIL
    # (measured: bench/agi_sessions.py). Use more with PostgreSQL.
    store_threads: int = 2


class CallFlow:
    """The handler for ``/96010``; one instance serves every call."""

    def __init__(
        self,
        config: FlowConfig,
        store: Store,
        *,
        recorder: Recorder | None = None,
        executor: Executor | None = None,
    ) -> None:
        self.config = config
        self.store = store
        self.recorder: Recorder = recorder or FileRecorder()
        self.executor = executor or ThreadPoolExecutor(
            config.store_threads, thread_name_prefix="ivr-store"
        )

    async def _in_thread(self, fn: Callable[[], T]) -> T:
        loop = asyncio.get_running_loop()
        # shielded: a call whose task is cancelled (shutdown) still finishes its write
        return await asyncio.shield(loop.run_in_executor(self.executor, fn))

    async def _play(self, session: AgiSession, name: str, escape: str = "") -> str:
        return await session.stream_file(self.config.prompts.path(name), escape)

    async def __call__(self, session: AgiSession) -> None:
        env = session.env
        call = tickets.Call(
            unique_id=env.unique_id or f"noid-{datetime.now(UTC).timestamp()}",
            phone=caller_e164(env.caller_id, env.calling_pres or "0"),
            received_at=datetime.now(UTC),
        )
        try:
            await session.answer()
            choice = await self._menu(session)
            if choice.action is Action.record:
                await self._take_matter(session, call, choice.kind)
            elif choice.action is Action.status:
                await self._status(session)
            else:
                await self._to_operator(session, call, "operator")
        except ChannelHungUp:
            log.info("call %s: caller hung up", call.unique_id)

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
        await self._play(session, "record_instructions", "#")
        await self._play(session, BEEP)
        path = self.config.recordings_dir / f"{SAFE_REF.sub('_', call.unique_id)}.wav"
        recording: Recording | None = None
        ticket: Ticket | None = None
        failed = False
        try:
            recording = await self.recorder.record(session, path, self.config.max_record_seconds)
        except ChannelHungUp:
            raise
        except Exception:
            # e.g. the live recorder could not stream: keep whatever reached the file
            log.exception("call %s: recording failed", call.unique_id)
        finally:
            # also when the caller hung up or the connection broke mid-recording
            try:
                ticket = await self._ticket_for(call, kind, recording, path)
            except Exception:
                log.exception("call %s: cannot store the recording %s", call.unique_id, path)
                failed = True
        if failed:
            if await self._spool(call, kind, recording, path):
                # the message is safe; no number exists yet to read back
                await self._play(session, "fallback-thanks")
                await session.set_variable("IVR_ACTION", "done")
                await session.hangup()
                return
            await self._to_operator(session, call, "store failed", kind)
            return
        if ticket is None:
            await self._play(session, "no_speech")
            await self._to_operator(session, call, "no speech", kind)
            return
        await read_number(session, self.config.prompts, ticket.number)
        await self._goodbye(session)

    async def _ticket_for(
        self, call: tickets.Call, kind: Kind, recording: Recording | None, path: Path
    ) -> Ticket | None:
        wav = recording.path if recording is not None else wav_path(path)
        seconds = recorded_seconds(wav)
        if seconds < self.config.min_audio_seconds:
            log.info("call %s: nothing recorded (%.1fs)", call.unique_id, seconds)
            return None
        transcript = recording.transcript if recording is not None else None
        return await self._in_thread(partial(
            tickets.submit_recording, self.store, self.config.media_dir, call, kind, wav,
            transcript,
        ))

    async def _spool(self, call: tickets.Call, kind: Kind, recording: Recording | None,
                     path: Path) -> bool:
        """Hand the recording to the fallback spool; False if there is none or it failed."""
        spool_dir = self.config.spool_dir
        if spool_dir is None:
            return False
        wav = recording.path if recording is not None else wav_path(path)
        fields = {
            "unique_id": call.unique_id,
            "caller": call.phone or "",
            "presentation": "allowed" if call.phone else "unavailable",
            "reason": "store-failed",
            "kind": kind.value,
            "started": str(int(call.received_at.timestamp())),
            "ended": str(int(datetime.now(UTC).timestamp())),
        }
        try:
            sidecar = await self._in_thread(partial(
                spool.spool_recording, spool_dir, wav, fields, call.received_at))
        except Exception:
            log.exception("call %s: cannot spool the recording %s either", call.unique_id, wav)
            return False
        log.warning("call %s: store failed; recording spooled as %s", call.unique_id,
                    sidecar.name)
        return True

    # -- 9: progress ---------------------------------------------------------------------
    async def _status(self, session: AgiSession) -> None:
        prompts = self.config.prompts
        for _ in range(self.config.status_attempts):
            digits = await session.get_data(prompts.path("ask_ticket_number"),
                                            self.config.number_wait_ms, 10)
            if valid_number(digits):
                try:
                    ticket = await self._in_thread(partial(self.store.get, digits))
                except TicketNotFound:
                    await self._play(session, "ticket_not_found")
                    break
                for name in status_prompts(ticket.status):
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
                          call.unique_id)
            ticket = None
        await self._play(session, "operator" if ticket is not None else "busy")
        if ticket is not None:
            await session.set_variable("TICKET_ID", ticket.id)
            await session.set_variable("TICKET_NUMBER", ticket.number)
        await session.set_variable("IVR_ACTION", "operator")
        log.info("call %s: to the operator queue (%s)", call.unique_id, why)
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
