"""Long-poll support for the back-office feed.

A waiting request is woken only when a change it can be answered with is known: a commit of
this process reports its ``seq`` at once (:meth:`FeedNotifier.notify`), and one poller task per
process reads the newest ``seq`` from the database every ``poll_interval`` seconds while anyone
waits (commits of other processes). So a thousand waiters cost one cheap query per interval,
and a commit wakes exactly the waiters whose cursor it passes. Feed reads run on a small thread
limiter of their own, so a crowd of long-polls never delays an intake waiting for a thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from anyio import CapacityLimiter, to_thread

from tickets.model import Ticket
from tickets.store import Store

log = logging.getLogger(__name__)

READ_THREADS = 4


class FeedNotifier:
    """Known-seq high-water mark and the long-polls waiting past their cursor (one loop)."""

    def __init__(self, current_seq: Callable[[], int], poll_interval: float = 0.5) -> None:
        self._current_seq = current_seq
        self.poll_interval = poll_interval
        self._seq = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._waiters: list[tuple[int, asyncio.Future[None]]] = []
        self._poller: asyncio.Task[None] | None = None
        self.limiter: CapacityLimiter | None = None

    @property
    def waiting(self) -> int:
        return len(self._waiters)

    @property
    def known_seq(self) -> int:
        """The newest seq this process has heard of."""
        return self._seq

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        """Attach to the serving loop and start the poller."""
        self._loop = loop
        self.limiter = CapacityLimiter(READ_THREADS)
        self._poller = loop.create_task(self._poll())

    async def close(self) -> None:
        if self._poller is not None:
            self._poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poller
            self._poller = None

    def notify(self, seq: int) -> None:
        """Thread-safe: a commit of this process with ``seq``."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._advance, seq)

    def _advance(self, seq: int) -> None:
        if seq <= self._seq:
            return
        self._seq = seq
        keep = []
        for after, future in self._waiters:
            if after < seq:
                if not future.done():
                    future.set_result(None)
            else:
                keep.append((after, future))
        self._waiters = keep

    async def wait_past(self, after: int, seconds: float) -> None:
        """Return once a change with ``seq > after`` is known, or after ``seconds``."""
        if self._seq > after or seconds <= 0:
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        entry = (after, future)
        self._waiters.append(entry)
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(future, seconds)
        finally:
            with contextlib.suppress(ValueError):
                self._waiters.remove(entry)

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(self.poll_interval)
            if not self._waiters:
                continue
            try:
                seq = await to_thread.run_sync(self._current_seq, limiter=self.limiter)
            except Exception as exc:  # the database is away: waiters time out as usual
                log.warning("feed poller cannot read the current seq: %s", exc)
                continue
            self._advance(seq)


async def wait_for_tickets(store: Store, notifier: FeedNotifier, after: int, limit: int,
                           wait: float) -> list[Ticket]:
    """The feed page after ``after``; with ``wait`` > 0, wait up to that long for one."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait
    while True:
        # a change known before the query is in its answer; wait for one newer than both
        mark = max(after, notifier.known_seq)
        tickets = await to_thread.run_sync(store.feed, after, limit, limiter=notifier.limiter)
        remaining = deadline - loop.time()
        if tickets or remaining <= 0:
            return tickets
        await notifier.wait_past(mark, remaining)
