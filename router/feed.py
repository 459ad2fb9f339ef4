"""Long-poll support for the back-office feed.

Commits in this process wake waiting requests at once; commits by other processes are seen by
polling the database every ``poll_interval`` seconds while a request waits.
"""

from __future__ import annotations

import asyncio
import contextlib

from starlette.concurrency import run_in_threadpool

from router.model import Ticket
from router.store import Store


class FeedNotifier:
    """A level-triggered wake-up shared by all waiting requests of one event loop."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._event: asyncio.Event | None = None

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._event = asyncio.Event()

    def notify(self) -> None:
        """Thread-safe: called after each commit."""
        if self._loop is not None and self._event is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._event.set)

    async def wait(self, seconds: float) -> None:
        if self._event is None:
            await asyncio.sleep(seconds)
            return
        self._event.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._event.wait(), seconds)


async def wait_for_tickets(
    store: Store,
    notifier: FeedNotifier,
    after: int,
    limit: int,
    wait: float,
    poll_interval: float = 0.5,
) -> list[Ticket]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait
    while True:
        tickets = await run_in_threadpool(store.feed, after, limit)
        remaining = deadline - loop.time()
        if tickets or remaining <= 0:
            return tickets
        await notifier.wait(min(poll_interval, remaining))
