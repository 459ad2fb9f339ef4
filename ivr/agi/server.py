"""The asyncio FastAGI server: one task per connection, routed by ``agi_network_script``.

pyst2's ``fastagi.py`` is Python 2 (``SocketServer``, one blocking thread per call), so the
server is written on asyncio instead: thousands of idle calls cost a coroutine each.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
from collections.abc import Awaitable, Callable, Mapping

from ivr.agi.protocol import ProtocolError
from ivr.agi.session import (
    DEFAULT_COMMAND_TIMEOUT,
    ENV_TIMEOUT,
    AgiSession,
    ChannelHungUp,
    read_env,
)
from tickets import metrics

HANDOVER_WAIT = 20.0  # seconds for handed-over calls to reach their next command

log = logging.getLogger(__name__)

Handler = Callable[[AgiSession], Awaitable[None]]
STREAM_LIMIT = 64 * 1024


async def hang_up(session: AgiSession) -> None:
    """The default for unknown scripts: log and hang up."""
    await session.hangup()


class AgiServer:
    def __init__(
        self,
        routes: Mapping[str, Handler],
        *,
        host: str = "127.0.0.1",
        port: int = 4573,
        unknown: Handler = hang_up,
        command_timeout: float = DEFAULT_COMMAND_TIMEOUT,
        env_timeout: float = ENV_TIMEOUT,
        secret: str | None = None,
    ) -> None:
        """``secret``: when set, a connection whose script does not carry it
        (``agi://host/96010?secret=…``) is closed before any command — nothing is read or
        written for it, and the dialplan's fallback takes the call."""
        self.secret = secret.encode() if secret else None
        self.routes = {k.strip("/"): v for k, v in routes.items()}
        self.host = host
        self.port = port
        self.unknown = unknown
        self.command_timeout = command_timeout
        self.env_timeout = env_timeout
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._sessions: set[AgiSession] = set()

    @property
    def active_calls(self) -> int:
        return len(self._tasks)

    async def start(self) -> None:
        self._server = await asyncio.start_server(
            self._accept, self.host, self.port, limit=STREAM_LIMIT, backlog=1024
        )
        sock = self._server.sockets[0]
        self.port = int(sock.getsockname()[1])
        log.info("FastAGI listening on %s:%d (scripts: %s)", self.host, self.port,
                 ", ".join(sorted(self.routes)))

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            await self._serve(reader, writer)
        finally:
            self._tasks.discard(task)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            env = await read_env(reader, self.env_timeout)
        except (ChannelHungUp, ProtocolError) as exc:
            log.info("FastAGI connection closed before a call started: %s", exc)
            writer.close()
            return
        if self.secret is not None and not hmac.compare_digest(
                env.params.get("secret", "").encode(), self.secret):
            peer = writer.get_extra_info("peername")
            log.warning("call %s from %s: FastAGI request without the right secret; closed",
                        env.unique_id or "-", peer[0] if peer else "-")
            writer.close()
            return
        session = AgiSession(reader, writer, env, command_timeout=self.command_timeout)
        self._sessions.add(session)
        handler = self.routes.get(env.script)
        if handler is None:
            log.warning("call %s asked for unknown AGI script %r; hanging up",
                        env.unique_id or "-", env.script)
            handler = self.unknown
        try:
            with metrics.agi_session():
                await handler(session)
        except ChannelHungUp:
            log.info("call %s: caller gone", env.unique_id)
        except Exception:
            log.exception("call %s: the call flow failed", env.unique_id)
        finally:
            self._sessions.discard(session)
            await session.close()

    async def serve_forever(self) -> None:
        if self._server is None:
            await self.start()
        assert self._server is not None
        async with self._server:
            await self._server.serve_forever()

    async def close(self, grace: float = 10.0,
                    before_handover: Callable[[], object] | None = None) -> None:
        """Stop accepting (new calls meet ``AGISTATUS=FAILURE`` and the dialplan's fallback);
        let running calls finish for ``grace`` seconds; hand what is left back to the dialplan
        (``IVR_ACTION=handover``, after ``before_handover()`` — e.g. ending live streams — so
        blocked commands return), and cancel whatever still runs after that."""
        if self._server is not None:
            self._server.close()
        tasks = set(self._tasks)
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=grace)
            if pending:
                log.warning("%d call(s) still running after %.0f s: handing them back to the "
                            "dialplan", len(pending), grace)
                for session in self._sessions:
                    session.request_handover()
                if before_handover is not None:
                    before_handover()
                _, pending = await asyncio.wait(pending, timeout=HANDOVER_WAIT)
            for task in pending:
                task.cancel()
            for task in pending:
                with contextlib.suppress(BaseException):
                    await task
        if self._server is not None:
            with contextlib.suppress(Exception):
                await self._server.wait_closed()
