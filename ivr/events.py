"""Each IVR call's lifecycle, published to Redis for the operators' console.

What the console sees of a call in the IVR is a :class:`CallState` — masked caller, menu step,
when the message recording started, the draft ticket — published in full on every change:

* pub/sub ``hotline:ivr:calls``: ``{"type": "ivr", "call": <public state>}`` (live updates;
  a message lost is healed by the next one, since each carries the whole state);
* the key ``hotline:ivr:call:<topic>`` (the state with the caller's E.164 number, which the
  takeover needs for the draft ticket; TTL :data:`SNAPSHOT_TTL`) and the sorted set
  ``hotline:ivr:calls:index`` (topics by start time), so a console that starts mid-call sees
  the calls already there.

``topic`` is the call's public id (:func:`transcription.live.topic_of` of its ``channel_ref``),
the same as its live transcript's channel ``hotline:transcript:<topic>``.

Publishing never blocks or breaks a call: :class:`CallEvents` queues the state and returns at
once; one task per process writes to Redis in order, every write bounded by a short timeout;
when Redis fails, events are dropped for a few seconds (logged once per outage), and the queue
is bounded. The console marks a call it takes over (``hotline:ivr:takeover:<topic>`` = ticket
id) before it redirects the channel, so the flow can tell that cut from a caller's hang-up.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from dataclasses import asdict, dataclass, replace
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from tickets import redisclient, rediskeys
from tickets.masking import mask_phone
from transcription.live import topic_of

if TYPE_CHECKING:
    from redis.asyncio import Redis

log = logging.getLogger(__name__)

CHANNEL = rediskeys.IVR_CALLS
INDEX = rediskeys.IVR_CALLS_INDEX
SNAPSHOT_TTL = 4 * 3600  # seconds a call's snapshot outlives its last change (a lost "ended")
TIMEOUT = redisclient.EVENTS  # seconds one Redis write may take
PAUSE = 5.0  # seconds events are dropped after a failed write
BACKLOG = 1000  # states waiting to be written; more are dropped


class Step(StrEnum):
    greeting = "greeting"  # answered, the greeting and the menu play
    record = "record"  # a matter (1–5) is being recorded
    status = "status"  # a progress query (9)
    operator = "operator"  # to the operator queue (0, no input, takeover)
    ended = "ended"  # the IVR is done with the call (it may still be in the queue)


@dataclass(frozen=True)
class CallState:
    topic: str
    ref: str  # the ticket's channel_ref, <pbx>/<unique id>
    channel: str  # Asterisk's channel name (what AMI Redirect names)
    caller: str  # masked, "" when anonymous
    started_at: float  # epoch seconds
    step: Step = Step.greeting
    kind: str | None = None  # the menu choice (tickets.model.Kind value)
    recording_since: float | None = None
    ticket_id: str | None = None
    ticket_number: str | None = None
    ended: str | None = None  # why the IVR let go: hangup, done, operator, takeover, handover
    phone: str | None = None  # E.164; in the snapshot key only, never published

    def public(self) -> dict[str, Any]:
        out = asdict(self)
        del out["phone"]
        return out

    def private(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: object) -> CallState:
        """A state from a snapshot or a message; ValueError when it is not one."""
        if not isinstance(data, dict):
            raise ValueError("a call state is a JSON object")
        try:
            state = cls(
                topic=str(data["topic"]), ref=str(data["ref"]), channel=str(data["channel"]),
                caller=str(data.get("caller") or ""),
                started_at=float(data["started_at"]), step=Step(data.get("step", "greeting")),
                kind=_opt_str(data.get("kind")),
                recording_since=_opt_float(data.get("recording_since")),
                ticket_id=_opt_str(data.get("ticket_id")),
                ticket_number=_opt_str(data.get("ticket_number")),
                ended=_opt_str(data.get("ended")), phone=_opt_str(data.get("phone")))
        except (KeyError, TypeError) as exc:
            raise ValueError(f"not a call state: {exc}") from None
        return state


def _opt_str(value: object) -> str | None:
    return None if value is None else str(value)


def _opt_float(value: object) -> float | None:
    if value is None:
        return None
    if not isinstance(value, int | float | str):
        raise TypeError(f"not a number: {value!r}")
    return float(value)


def call_topic(ref: str) -> str:
    """The public id of the call whose ticket ``channel_ref`` is ``ref``."""
    return topic_of(ref)


def new_call(ref: str, channel: str, phone: str | None, now: float) -> CallState:
    return CallState(topic=topic_of(ref), ref=ref, channel=channel,
                     caller=mask_phone(phone) if phone else "", started_at=now, phone=phone)


def message(state: CallState) -> str:
    """The pub/sub message for one state."""
    return json.dumps({"type": "ivr", "call": state.public()}, ensure_ascii=False)


def snapshot_key(topic: str) -> str:
    return rediskeys.ivr_call(topic)


def takeover_key(topic: str) -> str:
    return rediskeys.ivr_takeover(topic)


def redis_client(url: str, timeout: float = TIMEOUT) -> Redis:
    """A client whose every operation gives up quickly (no retries)."""
    return redisclient.connect_async(url, timeout, retries=False)


class CallEvents:
    """The flow's side: one instance per process, keyed by the call's ``channel_ref``.
    ``redis`` None publishes nothing (tests, no Redis configured)."""

    def __init__(self, redis: Redis | None, *, timeout: float = TIMEOUT,
                 ttl: int = SNAPSHOT_TTL, backlog: int = BACKLOG, pause: float = PAUSE) -> None:
        self.redis = redis
        self.timeout = timeout
        self.ttl = ttl
        self.pause = pause
        self.dropped = 0
        self._calls: dict[str, CallState] = {}
        self._queue: asyncio.Queue[CallState | None] = asyncio.Queue(backlog)
        self._worker: asyncio.Task[None] | None = None
        self._down_until = 0.0

    @classmethod
    def from_url(cls, url: str | None) -> CallEvents:
        return cls(redis_client(url) if url else None)

    # -- the flow's calls (never raise, never wait) ----------------------------------------
    def started(self, ref: str, channel: str, phone: str | None) -> None:
        self._emit(new_call(ref, channel, phone, time.time()))

    def step(self, ref: str, step: Step, kind: str | None = None) -> None:
        self._change(ref, step=step, kind=kind)

    def recording(self, ref: str) -> None:
        self._change(ref, step=Step.record, recording_since=time.time())

    def operator(self, ref: str, ticket_id: str | None, ticket_number: str | None) -> None:
        self._change(ref, step=Step.operator, ticket_id=ticket_id, ticket_number=ticket_number)

    def ended(self, ref: str, why: str) -> None:
        state = self._calls.pop(ref, None)
        if state is not None:
            if why == "done" and state.step is Step.operator:
                why = "operator"  # the dialplan queues it now
            self._emit(replace(state, step=Step.ended, ended=why), keep=False)

    async def taken_over(self, ref: str) -> str | None:
        """The ticket id the console marked when it took this call over, or None (not taken
        over, or Redis does not answer)."""
        if self.redis is None:
            return None
        try:
            value = await asyncio.wait_for(self.redis.get(takeover_key(topic_of(ref))),
                                           self.timeout)
        except Exception:  # Redis down or slow: no takeover could have been marked either
            return None
        if isinstance(value, bytes):
            value = value.decode("utf-8", "replace")
        return str(value) if value else None

    async def close(self, seconds: float = 2.0) -> None:
        """Write what is queued (for at most ``seconds``), then close the client."""
        if self._worker is not None:
            with contextlib.suppress(asyncio.QueueFull):
                self._queue.put_nowait(None)
            try:
                await asyncio.wait_for(self._worker, seconds)
            except (TimeoutError, asyncio.CancelledError):
                self._worker.cancel()
            self._worker = None
        if self.redis is not None:
            with contextlib.suppress(Exception):
                await self.redis.aclose()

    # -- inside ----------------------------------------------------------------------------
    def _change(self, ref: str, **changes: Any) -> None:
        state = self._calls.get(ref)
        if state is None:
            return
        if changes.get("kind") is None:
            changes.pop("kind", None)
        self._emit(replace(state, **changes))

    def _emit(self, state: CallState, *, keep: bool = True) -> None:
        if keep:
            self._calls[state.ref] = state
        if self.redis is None:
            return
        if time.monotonic() < self._down_until:
            self.dropped += 1
            return
        try:
            self._queue.put_nowait(state)
        except asyncio.QueueFull:
            self.dropped += 1
            return
        if self._worker is None:
            self._worker = asyncio.get_running_loop().create_task(self._write_in_order())

    async def _write_in_order(self) -> None:
        while (state := await self._queue.get()) is not None:
            if time.monotonic() < self._down_until:
                self.dropped += 1
                continue
            try:
                await asyncio.wait_for(self._write(state), self.timeout)
            except Exception as exc:  # the call goes on; the console shows less
                if self._down_until == 0.0:
                    log.warning("IVR events: Redis does not answer (%s); dropping call events "
                                "until it does", type(exc).__name__)
                self._down_until = time.monotonic() + self.pause
                self.dropped += 1
            else:
                if self._down_until:
                    log.info("IVR events: Redis answers again")
                self._down_until = 0.0

    async def _write(self, state: CallState) -> None:
        assert self.redis is not None
        key = snapshot_key(state.topic)
        async with self.redis.pipeline(transaction=False) as pipe:
            if state.step is Step.ended:
                pipe.delete(key)
                pipe.zrem(INDEX, state.topic)
            else:
                pipe.set(key, json.dumps(state.private(), ensure_ascii=False), ex=self.ttl)
                pipe.zadd(INDEX, {state.topic: state.started_at})
            pipe.publish(CHANNEL, message(state))
            await pipe.execute()
