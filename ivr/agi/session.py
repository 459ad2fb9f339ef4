"""One FastAGI connection as an asyncio session: send a command, await its reply.

Every read and write has a timeout, so an Asterisk that stops answering (or a network that
drops packets silently) ends this session only; other calls never wait for it. The caller's
hang-up shows up in three ways and all of them end the call normally: the asynchronous
``HANGUP`` line, ``511`` replies on the dead channel, and the connection closing (Asterisk
does that after ``HANGUP`` when ``AGIEXITONHANGUP=yes``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from urllib.parse import parse_qsl

from ivr.agi import commands
from ivr.agi.protocol import Hangup, ProtocolError, Reply, ReplyParser, parse_env_line

log = logging.getLogger(__name__)

DEFAULT_COMMAND_TIMEOUT = 120.0  # the longest prompt plus margin
ENV_TIMEOUT = 10.0
MAX_ENV_LINES = 200


class ChannelHungUp(Exception):
    """The caller is gone (HANGUP, 511, result -1 on a media command, or the socket closed)."""


class ConnectionLost(ChannelHungUp):
    """The FastAGI socket closed, broke, or stopped answering within the timeout."""


class HandedOver(ChannelHungUp):
    """The gateway is stopping: the call was handed back to the dialplan (``IVR_ACTION=
    handover``), which records the caller into the fallback spool."""


class CommandFailed(Exception):
    """Asterisk rejected a command (510 unknown, 520 usage): a bug on our side."""

    def __init__(self, line: str, reply: Reply) -> None:
        detail = " / ".join((reply.message, *reply.usage)).strip(" /")
        super().__init__(f"{line!r} -> {reply.code} {detail}")
        self.reply = reply


@dataclass(frozen=True)
class AgiEnv:
    """The ``agi_*`` block Asterisk sends first."""

    values: Mapping[str, str]

    def get(self, key: str, default: str = "") -> str:
        return self.values.get(key, default)

    @property
    def unique_id(self) -> str:
        return self.get("agi_uniqueid")

    @property
    def script(self) -> str:
        """``agi_network_script`` without slashes and parameters: ``agi://host/96010`` and
        ``agi://host/96010?secret=…`` → ``96010``."""
        return self.get("agi_network_script").split("?", 1)[0].strip("/")

    @property
    def params(self) -> dict[str, str]:
        """The script's parameters, ``agi://host/96010?secret=…`` → ``{"secret": "…"}``
        (Asterisk relays the part after the host as ``agi_network_script``)."""
        _, _, query = self.get("agi_network_script").partition("?")
        return dict(parse_qsl(query, keep_blank_values=True))

    @property
    def caller_id(self) -> str:
        return self.get("agi_callerid")

    @property
    def calling_pres(self) -> str:
        return self.get("agi_callingpres")

    @property
    def channel(self) -> str:
        return self.get("agi_channel")


async def _readline(reader: asyncio.StreamReader, seconds: float) -> str:
    try:
        raw = await asyncio.wait_for(reader.readline(), seconds)
    except TimeoutError:
        raise ConnectionLost(f"no reply from Asterisk within {seconds:g}s") from None
    except (ConnectionError, asyncio.LimitOverrunError, ValueError) as exc:
        raise ConnectionLost(f"connection failed: {exc}") from None
    if not raw or not raw.endswith(b"\n"):
        raise ConnectionLost("Asterisk closed the connection")
    return raw.decode("utf-8", errors="replace").rstrip("\r\n")


async def read_env(reader: asyncio.StreamReader, seconds: float = ENV_TIMEOUT) -> AgiEnv:
    """Read the environment block up to its blank line."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    values: dict[str, str] = {}
    for _ in range(MAX_ENV_LINES):
        line = await _readline(reader, max(0.0, deadline - loop.time()))
        pair = parse_env_line(line)
        if pair is None:
            return AgiEnv(MappingProxyType(values))
        values[pair[0]] = pair[1]
    raise ProtocolError(f"AGI environment longer than {MAX_ENV_LINES} lines")


class AgiSession:
    """Commands on one call. Implements :class:`ivr.recorder.AgiCommands`."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        env: AgiEnv,
        *,
        command_timeout: float = DEFAULT_COMMAND_TIMEOUT,
    ) -> None:
        self._reader = reader
        self._writer = writer
        self.env = env
        self.command_timeout = command_timeout
        self.hung_up = False  # HANGUP seen or 511 received: only non-media commands work
        self.closed = False
        self._handover = False
        self._lock = asyncio.Lock()

    @property
    def unique_id(self) -> str:
        return self.env.unique_id

    def request_handover(self) -> None:
        """Before the next command, hand the call back to the dialplan and end the session."""
        self._handover = True

    # -- the wire ------------------------------------------------------------------------
    async def command(self, line: str, *, seconds: float | None = None) -> Reply:
        """Send one command line and return its reply (HANGUP lines are noted, not returned)."""
        if self.closed:
            raise ConnectionLost("the FastAGI connection is closed")
        if self._handover:
            await self._hand_over()
        limit = self.command_timeout if seconds is None else seconds
        async with self._lock:
            try:
                self._writer.write(line.encode("utf-8") + b"\n")
                await asyncio.wait_for(self._writer.drain(), limit)
            except (TimeoutError, ConnectionError) as exc:
                await self.close()
                raise ConnectionLost(f"cannot send to Asterisk: {exc!r}") from None
            parser = ReplyParser()
            loop = asyncio.get_running_loop()
            deadline = loop.time() + limit
            while True:
                try:
                    text = await _readline(self._reader, max(0.0, deadline - loop.time()))
                    out = parser.feed(text)
                except (ConnectionLost, ProtocolError):
                    await self.close()
                    raise
                if isinstance(out, Hangup):
                    self.hung_up = True
                    continue
                if out is None:
                    continue
                if out.dead_channel:
                    self.hung_up = True
                log.debug("agi %s: %s -> %s %s", self.unique_id, line.split(" ")[0], out.code,
                          out.result)
                return out

    async def _hand_over(self) -> None:
        self._handover = False
        if not self.hung_up:
            with contextlib.suppress(ChannelHungUp):
                await self.command(commands.set_variable("IVR_ACTION", "handover"), seconds=5)
        await self.close()
        raise HandedOver("the gateway is stopping: the call went back to the dialplan")

    async def execute(self, line: str) -> tuple[int, int, str]:
        """The recorder seam: (code, result, data) of the reply; see :meth:`Reply.as_tuple`."""
        return (await self.command(line)).as_tuple()

    async def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        try:
            self._writer.close()
            await asyncio.wait_for(self._writer.wait_closed(), 2.0)
        except (TimeoutError, ConnectionError, OSError):
            pass

    # -- typed helpers -------------------------------------------------------------------
    async def _media(self, line: str, *, seconds: float | None = None) -> Reply:
        """A command that needs a live channel: 511 or result -1 means the caller is gone."""
        reply = await self.command(line, seconds=seconds)
        if reply.dead_channel:
            raise ChannelHungUp(reply.message)
        if reply.code != 200:
            raise CommandFailed(line, reply)
        return reply

    async def answer(self) -> None:
        reply = await self._media(commands.answer())
        if reply.number == -1:
            raise ChannelHungUp("ANSWER failed")

    async def stream_file(self, path: str, escape_digits: str = "") -> str:
        """Play a file (no extension); return the escape digit pressed, or ""."""
        reply = await self._media(commands.stream_file(path, escape_digits))
        number = reply.number
        if number is None or number == -1:
            # -1: a hang-up (the HANGUP line may still be on its way), or a missing file —
            # which must not end the call; the next command tells the two apart (511/EOF)
            if self.hung_up:
                raise ChannelHungUp("hang-up during playback")
            log.info("agi %s: playback of %s returned -1 (hang-up or missing file)",
                     self.unique_id, path)
            return ""
        return chr(number) if number > 0 else ""

    async def wait_for_digit(self, timeout_ms: int) -> str:
        reply = await self._media(
            commands.wait_for_digit(timeout_ms), seconds=timeout_ms / 1000 + 30
        )
        number = reply.number
        if number is None or number < 0:
            raise ChannelHungUp("hang-up while waiting for a digit")
        return chr(number) if number > 0 else ""

    async def get_data(self, path: str, timeout_ms: int, max_digits: int) -> str:
        """Play a prompt and collect up to ``max_digits`` digits (``#`` ends early)."""
        reply = await self._media(
            commands.get_data(path, timeout_ms, max_digits),
            seconds=self.command_timeout + max_digits * timeout_ms / 1000,
        )
        if reply.result == "-1":
            raise ChannelHungUp("hang-up while collecting digits")
        return reply.result

    async def set_variable(self, name: str, value: str) -> None:
        reply = await self.command(commands.set_variable(name, value))
        if reply.code not in (200, 511):
            raise CommandFailed("SET VARIABLE", reply)

    async def get_variable(self, name: str) -> str | None:
        reply = await self.command(commands.get_variable(name))
        if reply.code != 200 or reply.result != "1":
            return None
        return reply.data or ""

    async def hangup(self) -> None:
        if not self.closed and not self.hung_up:
            with contextlib.suppress(ChannelHungUp):
                await self.command(commands.hangup(), seconds=10)
