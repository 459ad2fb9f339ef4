"""Taking a call over from the IVR: one click on the board moves the call into the operator
queue with its ticket draft.

:func:`take_over`, for the call ``topic`` (its id on the board):

1. refuses at once when Asterisk is not connected (:class:`~console.ami.AmiDown` → 503);
2. reads the call's snapshot (``hotline:ivr:call:<topic>``, written by the IVR: its
   ``channel_ref``, Asterisk channel, caller, menu choice); gone → the call ended (410);
3. takes the call's takeover mark (``SET hotline:ivr:takeover:<topic> NX``): a second click —
   on this page, another page or another gateway process — finds the mark and gets the same
   ticket back without a second draft or a second redirect; a call the IVR already queued
   (the resident pressed 0) is not redirected again either;
4. makes the draft — or finds it: ``Store.submit`` is idempotent on the call's
   ``channel_ref``, the same key the IVR's own draft and its recording use — and notes in its
   history who took the call over;
5. replaces the mark by the ticket id (the IVR reads it to tell this cut from a hang-up), sets
   ``TICKET_ID``, ``TICKET_NUMBER`` and ``IVR_ACTION=operator`` on the channel and redirects it
   to ``hotline-96010,operator,1``: the AGI command in progress answers -1, Asterisk closes
   the FastAGI session (``AGIEXITONHANGUP=yes``) and the dialplan queues the call with
   ``__TICKET_ID``. Whatever the resident recorded so far joins the same ticket (the IVR
   persists it under the same ``channel_ref``); a recording in progress is stopped first
   (AMI ``StopMixMonitor``), so the WAV is complete at once and the talk with the operator
   is not recorded into it.

If the redirect fails the mark is removed, so the next click can try again.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from console.ami import AmiDown, AmiLink, AmiRefused
from console.errors import ConsoleError
from ivr.events import CallState, Step, snapshot_key, takeover_key
from tickets.model import Channel, Citizen, HistoryEntry, Intake, Kind, Ticket
from tickets.store import Mutation, Store

if TYPE_CHECKING:
    from redis.asyncio import Redis

log = logging.getLogger(__name__)

CONTEXT = "hotline-96010"
EXTEN = "operator"
MARK_SECONDS = 3600
PENDING = "pending:"
NOTE = "话务员接管来电"


class TakeoverFailed(ConsoleError):
    """A takeover refused (the call ended, someone else is taking it): a console refusal."""

    def __init__(self, status: int, message: str, code: str) -> None:
        super().__init__(status, message, code=code)


@dataclass(frozen=True)
class TakenOver:
    ticket_id: str
    number: str
    redirected: bool  # False: it had been taken over (or queued) already


def _kind(value: str | None) -> Kind:
    try:
        return Kind(value) if value else Kind.unknown
    except ValueError:
        return Kind.unknown


def noted(actor: str, note: str) -> Mutation:
    """A history entry saying who did what (once: a repeat changes nothing)."""

    def mutate(ticket: Ticket, seq: int, at: datetime) -> Ticket | None:
        if any(h.actor == actor and h.note == note for h in ticket.history):
            return None
        entry = HistoryEntry(seq=seq, at=at, actor=actor, note=note)
        return ticket.model_copy(update={"history": [*ticket.history, entry]})

    return mutate


def draft_for(store: Store, state: CallState, actor: str) -> Ticket:
    """The call's ticket: made now, or the one that exists for its ``channel_ref``."""
    intake = Intake(channel=Channel.voice, channel_ref=state.ref,
                    received_at=datetime.fromtimestamp(state.started_at, UTC),
                    citizen=Citizen(phone=state.phone), kind=_kind(state.kind))
    ticket = store.submit(intake).ticket
    return store.change(ticket.id, noted(actor, NOTE))


async def _state(redis: Redis, topic: str) -> CallState:
    raw = await redis.get(snapshot_key(topic))
    if raw is None:
        raise TakeoverFailed(410, "这个通话已经结束", "call_gone")
    try:
        return CallState.from_json(json.loads(raw))
    except ValueError:
        raise TakeoverFailed(410, "这个通话已经结束", "call_gone") from None


async def _existing(store: Store, state: CallState) -> TakenOver:
    ticket = await asyncio.to_thread(store.find_by_ref, Channel.voice.value, state.ref)
    if ticket is None:
        raise TakeoverFailed(409, "这个通话正在转接人工，请稍候", "in_progress")
    return TakenOver(ticket.id, ticket.number, redirected=False)


async def _stop_recording(ami: AmiLink, channel: str) -> None:
    """End Asterisk's recording of the resident's message (the IVR's MixMonitor) before the
    redirect: a MixMonitor outlives the redirect, so it would go on recording the resident's
    talk with the operator, and the IVR would wait for a WAV that never completes."""
    try:
        await ami.action({"Action": "StopMixMonitor", "Channel": channel})
    except AmiRefused as exc:  # not recording (any more): nothing to stop
        log.debug("StopMixMonitor on %s: %s", channel, exc.message)


async def take_over(topic: str, *, redis: Redis, ami: AmiLink, store: Store,
                    actor: str) -> TakenOver:
    if not ami.connected:
        raise AmiDown("Asterisk is not connected")
    state = await _state(redis, topic)
    if state.step is Step.operator:
        return await _existing(store, state)  # the IVR queues it already (menu 0)
    mark = takeover_key(topic)
    claim = PENDING + secrets.token_hex(8)
    if not await redis.set(mark, claim, nx=True, ex=MARK_SECONDS):
        held = await redis.get(mark)
        text = held.decode() if isinstance(held, bytes) else str(held or "")
        if not text or text.startswith(PENDING):
            raise TakeoverFailed(409, "这个通话正在被接管，请稍候", "in_progress")
        ticket = await asyncio.to_thread(store.get, text)
        return TakenOver(ticket.id, ticket.number, redirected=False)
    try:
        channel = state.channel
        # a channel Asterisk no longer has (its Hangup never reached us) refuses here, before
        # a draft ticket is made for a call nobody can take
        await ami.action({"Action": "Getvar", "Channel": channel, "Variable": "UNIQUEID"})
        ticket = await asyncio.to_thread(draft_for, store, state, actor)
        await redis.set(mark, ticket.id, ex=MARK_SECONDS)
        if state.step is Step.record:
            await _stop_recording(ami, channel)
        for name, value in (("TICKET_ID", ticket.id), ("TICKET_NUMBER", ticket.number),
                            ("IVR_ACTION", "operator")):
            await ami.action({"Action": "Setvar", "Channel": channel, "Variable": name,
                              "Value": value})
        await ami.action({"Action": "Redirect", "Channel": channel, "Context": CONTEXT,
                          "Exten": EXTEN, "Priority": "1"})
    except AmiRefused as exc:
        await redis.delete(mark)
        log.info("takeover of %s refused by Asterisk: %s", state.ref, exc.message)
        raise TakeoverFailed(410, "这个通话已经结束", "call_gone") from None
    except BaseException:
        await redis.delete(mark)
        raise
    log.info("call %s taken over by %s: ticket %s", state.ref, actor, ticket.number)
    return TakenOver(ticket.id, ticket.number, redirected=True)
