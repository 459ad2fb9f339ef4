"""At most a few photos are decoded at once, each in a worker process of its own.

Decoding and re-encoding a photo is CPU-heavy and its memory is only partly returned to the
system by the allocator; doing it in the server process let a burst of hostile uploads take
gigabytes and stall every request. Here photos wait for one of ``workers`` processes (spawned,
recycled after :data:`TASKS_PER_CHILD` photos), so the server's memory stays flat and a burst
only queues.
"""

from __future__ import annotations

import asyncio
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from functools import partial

from channels.webform.photos import Photo, check_photo, precheck

TASKS_PER_CHILD = 100


class PhotoWorkers:
    def __init__(self, workers: int = 2) -> None:
        self.workers = max(1, workers)
        self._pool: ProcessPoolExecutor | None = None

    def _executor(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                self.workers, mp_context=multiprocessing.get_context("spawn"),
                max_tasks_per_child=TASKS_PER_CHILD)
        return self._pool

    async def check(self, data: bytes, *, max_bytes: int, keep_location: bool) -> Photo:
        """:func:`~channels.webform.photos.check_photo` in a worker process, after the
        header-only :func:`~channels.webform.photos.precheck` here (refusals answer at once)."""
        precheck(data, max_bytes=max_bytes)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self._executor(), partial(check_photo, data, max_bytes=max_bytes,
                                      keep_location=keep_location))

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
