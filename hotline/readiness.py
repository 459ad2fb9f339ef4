"""``GET /readyz``: which part answers. The gateway is ready (200) while its database answers —
intake and the feed need nothing else. Redis (queues, live board, shared rate limits) and
Asterisk's manager (the console's AMI link, when configured) are reported beside it; either
one away makes the answer ``degraded`` (still 200), and ``down`` names every part that is away.
Details of a failure go to the log, not to the caller."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from sqlalchemy import text
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse

from tickets import redisclient
from tickets.store import Store

log = logging.getLogger(__name__)
DOWN = "not reachable"


class Readiness:
    def __init__(self, store: Store, redis_url: str | None,
                 ami_connected: Callable[[], bool] | None = None) -> None:
        self.store = store
        self.redis_url = redis_url or None
        self.ami_connected = ami_connected

    def _database(self) -> None:
        with self.store.db.read() as conn:
            conn.execute(text("SELECT 1"))

    async def _redis(self) -> None:
        assert self.redis_url is not None
        client = redisclient.connect_async(self.redis_url, 1.0, retries=False)
        try:
            await client.ping()
        finally:
            await client.aclose()

    async def check(self) -> JSONResponse:
        parts: dict[str, str] = {}
        try:
            await run_in_threadpool(self._database)
            parts["database"] = "ok"
        except Exception:  # any failure means not ready
            log.exception("readiness check: the database does not answer")
            parts["database"] = DOWN
        if self.redis_url is not None:
            try:
                await asyncio.wait_for(self._redis(), 3.0)
                parts["redis"] = "ok"
            except Exception as exc:
                log.warning("readiness check: Redis does not answer (%s)", type(exc).__name__)
                parts["redis"] = DOWN
        if self.ami_connected is not None:
            parts["asterisk"] = "ok" if self.ami_connected() else DOWN
        down = [name for name, state in parts.items() if state != "ok"]
        if parts["database"] != "ok":
            return JSONResponse({"status": "unavailable", **parts, "down": down}, 503)
        if down:
            return JSONResponse({"status": "degraded", **parts, "down": down})
        return JSONResponse({"status": "ready", **parts})
