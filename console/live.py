"""The board's live feed: one Redis subscriber per gateway process, fanned out to every open
console page over Server-Sent Events (``GET /console/events``).

* Inputs: the IVR's call states (``hotline:ivr:calls``) and live transcripts
  (``hotline:transcript:*``) from Redis, AMI events and link state from
  :class:`console.ami.AmiLink`; each goes through the pure :class:`console.board.Board`, and the
  deltas it returns are published.
* Every published event gets an id ``<hub epoch>-<seq>`` and is kept in a bounded history, so
  a page that reconnects with ``Last-Event-ID`` gets what it missed; an id from another process
  or one too old for the history gets a fresh ``snapshot`` first instead.
* Each page has a bounded queue. A page that does not keep up (its queue is full) is dropped —
  its stream ends and the browser's EventSource reconnects with its last id — never the
  process, never the other pages.
* Events addressed to one person (the screen-pop) go to that person's pages only, and are
  replayed only to them.
* A comment line every ``heartbeat`` seconds keeps proxies from closing an idle stream.
* A stream lives no longer than its session: about every ``heartbeat`` seconds it asks
  whether the session is still live (logout, a disabled person, a changed password, the idle
  and absolute limits) and ends when it is not.
* A person has at most ``pages_per_person`` open streams; a new one ends their oldest (a
  closed tab whose stream the server has not noticed yet, or someone opening streams in bulk).
* When Redis goes away the subscriber reconnects with back-off; on every (re)connection it
  reloads the calls' snapshots (``hotline:ivr:calls:index``), so the board is whole again.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from console.board import Board, Delta
from console.calls import GONE
from ivr.events import CHANNEL, INDEX, CallState, snapshot_key
from ivr.events import Step as IvrStep
from tickets import redisclient, rediskeys

if TYPE_CHECKING:
    from redis.asyncio import Redis

log = logging.getLogger(__name__)

PAGE_QUEUE = 512
PAGES_PER_PERSON = 8
HISTORY = 4000
HEARTBEAT = 15.0
RETRY_MS = 2000


def encode(event_id: str | None, name: str, data: Mapping[str, Any]) -> bytes:
    """One SSE frame (the JSON has no raw newlines, so one ``data:`` line)."""
    lines = []
    if event_id is not None:
        lines.append(f"id: {event_id}")
    lines.append(f"event: {name}")
    lines.append("data: " + json.dumps(data, ensure_ascii=False, separators=(",", ":")))
    return ("\n".join(lines) + "\n\n").encode("utf-8")


HEARTBEAT_FRAME = b": keep-alive\n\n"


@dataclass(frozen=True)
class Sent:
    seq: int
    target: int | None  # a person id, or None for everybody
    frame: bytes


@dataclass(eq=False)
class Page:
    person_id: int
    queue: asyncio.Queue[bytes | None]
    dropped: bool = False
    sent: int = field(default=0)
    opened: int = 0  # order of attachment (the oldest is ended first)


class Hub:
    def __init__(self, board: Board, redis_url: str | None, *, page_queue: int = PAGE_QUEUE,
                 history: int = HISTORY, heartbeat: float = HEARTBEAT,
                 backoff: float = 0.5, backoff_max: float = 30.0,
                 pages_per_person: int = PAGES_PER_PERSON) -> None:
        self.board = board
        self.redis_url = redis_url
        self.page_queue = page_queue
        self.pages_per_person = pages_per_person
        self._opened = 0
        self.heartbeat = heartbeat
        self.backoff = backoff
        self.backoff_max = backoff_max
        self.epoch = secrets.token_hex(4)
        self.seq = 0
        self.history: deque[Sent] = deque(maxlen=history)
        self.pages: set[Page] = set()
        self.dropped_pages = 0
        self._task: asyncio.Task[None] | None = None

    # -- publishing ------------------------------------------------------------------------
    def publish(self, deltas: Iterable[Delta], target: int | None = None) -> None:
        for delta in deltas:
            self.seq += 1
            frame = encode(f"{self.epoch}-{self.seq}", str(delta["type"]), delta)
            self.history.append(Sent(self.seq, target, frame))
            for page in list(self.pages):
                if target is None or page.person_id == target:
                    self._offer(page, frame)

    def send_to(self, person_id: int, payload: Delta) -> None:
        self.publish([payload], target=person_id)

    def _offer(self, page: Page, frame: bytes) -> None:
        if page.dropped:
            return
        try:
            page.queue.put_nowait(frame)
        except asyncio.QueueFull:
            self._drop(page)

    def _drop(self, page: Page) -> None:
        """A page that does not keep up: end its stream (the browser reconnects and gets what
        it missed from the history, or a snapshot)."""
        page.dropped = True
        self.pages.discard(page)
        self.dropped_pages += 1
        while not page.queue.empty():
            page.queue.get_nowait()
        page.queue.put_nowait(None)
        log.info("console: a page of person %d fell behind; its stream was closed",
                 page.person_id)

    # -- pages -----------------------------------------------------------------------------
    def attach(self, person_id: int, last_event_id: str | None) -> tuple[Page, list[bytes]]:
        """A new page's queue and what it gets first: the events it missed (``Last-Event-ID``
        of this hub, still in the history) or a snapshot."""
        mine = sorted((p for p in self.pages if p.person_id == person_id),
                      key=lambda p: p.opened)
        for old in mine[:max(0, len(mine) - self.pages_per_person + 1)]:
            self._drop(old)
        self._opened += 1
        page = Page(person_id, asyncio.Queue(self.page_queue), opened=self._opened)
        self.pages.add(page)
        return page, self.catch_up(person_id, last_event_id)

    def catch_up(self, person_id: int, last_event_id: str | None) -> list[bytes]:
        missed = self._missed(person_id, last_event_id)
        if missed is not None:
            return missed
        snapshot = self.board.snapshot(time.time())
        return [encode(f"{self.epoch}-{self.seq}", "snapshot", snapshot)]

    def _missed(self, person_id: int, last_event_id: str | None) -> list[bytes] | None:
        if not last_event_id:
            return None
        epoch, _, number = last_event_id.partition("-")
        if epoch != self.epoch or not number.isdigit():
            return None
        seq = int(number)
        if seq > self.seq:
            return None
        oldest = self.history[0].seq if self.history else self.seq + 1
        if seq + 1 < oldest and seq != self.seq:
            return None  # fell out of the history
        return [s.frame for s in self.history
                if s.seq > seq and (s.target is None or s.target == person_id)]

    def detach(self, page: Page) -> None:
        self.pages.discard(page)

    async def stream(self, page: Page, first: list[bytes],
                     alive: Callable[[], Awaitable[bool]] | None = None
                     ) -> AsyncIterator[bytes]:
        """The page's SSE body: retry hint, catch-up, then live events and heartbeats; it
        ends when ``alive`` (asked about every ``heartbeat`` seconds) says False."""
        try:
            yield f"retry: {RETRY_MS}\n\n".encode()
            for early in first:
                yield early
            check_at = time.monotonic() + self.heartbeat
            while True:
                try:
                    frame = await asyncio.wait_for(page.queue.get(), self.heartbeat)
                except TimeoutError:
                    frame = HEARTBEAT_FRAME
                if frame is None:
                    return
                if alive is not None and time.monotonic() >= check_at:
                    if not await alive():
                        return
                    check_at = time.monotonic() + self.heartbeat
                if frame is not HEARTBEAT_FRAME:
                    page.sent += 1
                yield frame
        finally:
            self.detach(page)

    # -- inputs ----------------------------------------------------------------------------
    def ivr_message(self, data: bytes | str) -> None:
        try:
            payload = json.loads(data)
            state = CallState.from_json(payload.get("call"))
        except (ValueError, AttributeError):
            log.warning("console: an IVR call message that is not one; ignored")
            return
        self.publish(self.board.on_ivr(state, time.time()))

    def transcript_message(self, channel: str, data: bytes | str) -> None:
        topic = channel[len(rediskeys.TRANSCRIPT):]
        try:
            message = json.loads(data)
        except ValueError:
            return
        if isinstance(message, dict):
            self.publish(self.board.on_transcript(topic, message))

    def ami_event(self, event: Mapping[str, str]) -> None:
        self.publish(self.board.on_ami(event, time.time()))

    def ami_state(self, up: bool) -> None:
        self.publish(self.board.on_link(ami=up))

    def queue_status(self, replies: Iterable[Mapping[str, str]]) -> None:
        self.publish(self.board.on_queue_status(replies, time.time()))

    def resync(self, states: Iterable[CallState]) -> None:
        """The calls in Redis now (after a (re)connection): calls the board has that are gone
        (their end was missed) leave it."""
        now = time.time()
        states = list(states)
        present = {s.topic for s in states}
        for topic, call in list(self.board.calls.live.items()):
            if topic not in present:
                ended = replace(call.state, step=IvrStep.ended, ended=GONE)
                self.publish(self.board.on_ivr(ended, now))
        for state in states:
            self.publish(self.board.on_ivr(state, now))

    # -- the Redis subscriber --------------------------------------------------------------
    async def start(self) -> None:
        if self.redis_url and self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._listen())

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        for page in list(self.pages):
            self._drop(page)

    async def _listen(self) -> None:
        from redis.exceptions import RedisError

        assert self.redis_url is not None
        delay = self.backoff
        while True:
            redis = redisclient.connect_async(self.redis_url, None)
            pubsub = redis.pubsub()
            try:
                await pubsub.subscribe(CHANNEL)
                await pubsub.psubscribe(rediskeys.TRANSCRIPTS)
                self.resync(await load_calls(redis))
                self.publish(self.board.on_link(live=True))
                delay = self.backoff
                while True:
                    message = await pubsub.get_message(ignore_subscribe_messages=True,
                                                       timeout=self.heartbeat)
                    if message is not None:
                        self._on_redis(message)
            except (RedisError, OSError) as exc:
                log.warning("console: Redis feed lost (%s); reconnecting in %.1f s",
                            type(exc).__name__, delay)
            finally:
                self.publish(self.board.on_link(live=False))
                with contextlib.suppress(Exception):
                    await pubsub.aclose()
                with contextlib.suppress(Exception):
                    await redis.aclose()
            await asyncio.sleep(delay)
            delay = min(delay * 2, self.backoff_max)

    def _on_redis(self, message: Mapping[str, Any]) -> None:
        channel = message.get("channel")
        if isinstance(channel, bytes):
            channel = channel.decode("utf-8", "replace")
        data = message.get("data")
        if not isinstance(data, bytes | str):
            return
        if channel == CHANNEL:
            self.ivr_message(data)
        elif isinstance(channel, str) and channel.startswith(rediskeys.TRANSCRIPT):
            self.transcript_message(channel, data)


async def load_calls(redis: Redis) -> list[CallState]:
    """Every call in the IVR now, from the snapshot keys; stale index entries are removed."""
    topics = [t.decode() if isinstance(t, bytes) else str(t)
              for t in await redis.zrange(INDEX, 0, -1)]
    if not topics:
        return []
    raws = await redis.mget([snapshot_key(t) for t in topics])
    states: list[CallState] = []
    stale: list[str] = []
    for topic, raw in zip(topics, raws, strict=True):
        if raw is None:
            stale.append(topic)
            continue
        try:
            states.append(CallState.from_json(json.loads(raw)))
        except ValueError:
            stale.append(topic)
    if stale:
        await redis.zrem(INDEX, *stale)
    return states
