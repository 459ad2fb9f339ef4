"""A trivial FastAGI server for the dialplan tests (test-only; the real flow lives in ivr/).

Each connection reads the ``agi_*`` block, then sends the scripted commands one by one and keeps
every reply line. Runs its asyncio loop in a thread so synchronous tests can drive calls.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass
class Session:
    env: dict[str, str] = field(default_factory=dict)
    replies: list[tuple[str, str]] = field(default_factory=list)
    closed: threading.Event = field(default_factory=threading.Event)


class AgiStub:
    def __init__(self, port: int, commands: Sequence[str]) -> None:
        self.port = port
        self.commands = list(commands)
        self.sessions: list[Session] = []
        self._loop = asyncio.new_event_loop()
        self._started = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._server: asyncio.Server | None = None

    def __enter__(self) -> AgiStub:
        self._thread.start()
        self._started.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._server = self._loop.run_until_complete(
            asyncio.start_server(self._handle, "127.0.0.1", self.port)
        )
        self._started.set()
        self._loop.run_forever()
        self._server.close()
        self._loop.run_until_complete(self._server.wait_closed())
        self._loop.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        session = Session()
        self.sessions.append(session)
        try:
            while True:
                line = (await reader.readline()).decode().rstrip("\n")
                if not line:
                    break
                key, _, value = line.partition(": ")
                session.env[key] = value
            for command in self.commands:
                writer.write(command.encode() + b"\n")
                await writer.drain()
                reply = (await reader.readline()).decode().strip()
                while reply == "HANGUP":
                    reply = (await reader.readline()).decode().strip()
                session.replies.append((command, reply))
                if not reply:
                    break
        finally:
            writer.close()
            session.closed.set()
