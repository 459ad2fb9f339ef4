"""What every FastAGI call handler shares: the store's blocking calls run in the handler's
thread pool, shielded so that a call cancelled at shutdown still finishes its write, and
prompts are played by name."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import Executor
from typing import TypeVar

from ivr.agi.session import AgiSession
from ivr.prompts import Prompts

T = TypeVar("T")


class Handler:
    """Base of the ``/96010`` and ``/callback`` handlers (one instance serves every call)."""

    prompts: Prompts
    executor: Executor

    async def _in_thread(self, fn: Callable[[], T]) -> T:
        loop = asyncio.get_running_loop()
        return await asyncio.shield(loop.run_in_executor(self.executor, fn))

    async def _play(self, session: AgiSession, name: str, escape: str = "") -> str:
        return await session.stream_file(self.prompts.path(name), escape)
