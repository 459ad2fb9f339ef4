"""The gateway's one link to Asterisk's manager interface (AMI), over panoramisk.

One :class:`AmiLink` per gateway process (started in the ``serve`` app's lifespan when
``HOTLINE_AMI_USERNAME``/``HOTLINE_AMI_SECRET`` are set). It

* connects and logs in, and when the connection fails or drops reconnects with exponential
  back-off (``backoff`` doubling up to ``backoff_max``, reset after a successful login) —
  panoramisk's own fixed-delay reconnection is switched off;
* pings Asterisk every ``ping_interval`` seconds and drops a connection that does not answer
  (a half-open TCP connection never reports itself);
* tells whoever listens when it goes up or down (:meth:`on_state`) and hands every event on as
  a plain ``dict[str, str]`` (:meth:`on_event`; a repeated header, e.g. several
  ``ChanVariable`` lines, is joined with newlines);
* runs actions with a timeout: while the link is down, or when it drops mid-action, the
  action raises :class:`AmiDown` at once (the console answers 503) — nothing is queued to be
  replayed minutes later, when a takeover would redirect a call nobody clicked on any more.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from panoramisk import Manager
from panoramisk.ami_protocol import AMIProtocol

log = logging.getLogger(__name__)

AmiEvent = dict[str, str]
ActionValue = str | Sequence[str]
# the event classes the console reads: queue members and callers (agent), channels (call)
EVENTS = "call,agent"


class AmiDown(Exception):
    """The AMI link is down (or dropped during the action)."""


class AmiRefused(Exception):
    """Asterisk answered the action with an error."""

    def __init__(self, action: str, message: str) -> None:
        super().__init__(f"{action}: {message}")
        self.action = action
        self.message = message


@dataclass(frozen=True)
class AmiConfig:
    host: str
    port: int
    username: str
    secret: str = field(repr=False)
    events: str = EVENTS
    connect_timeout: float = 5.0
    action_timeout: float = 5.0
    ping_interval: float = 10.0
    backoff: float = 0.5
    backoff_max: float = 30.0


def flatten(message: Mapping[str, Any]) -> AmiEvent:
    """A panoramisk message as a plain dict (without panoramisk's ``content`` key)."""
    out: AmiEvent = {}
    for key, value in message.items():
        if key == "content" and not value:
            continue
        out[key] = "\n".join(map(str, value)) if isinstance(value, list) else str(value)
    return out


def channel_variable(event: Mapping[str, str], name: str, prefix: str = "") -> str | None:
    """A channel variable named in ``manager.conf``'s ``channelvars`` as it appears in an event:
    ``ChanVariable: NAME=value`` (``prefix`` "Dest" for the other channel of the event)."""
    for line in event.get(f"{prefix}ChanVariable", "").split("\n"):
        key, sep, value = line.partition("=")
        if sep and key == name:
            return value
    return None


def check_action(action: Mapping[str, ActionValue]) -> None:
    """Refuse header values that would end the line (a second header or action)."""
    for key, value in action.items():
        for item in ([value] if isinstance(value, str) else value):
            if any(c in item or c in key for c in "\r\n"):
                raise ValueError(f"line break in AMI header {key!r}")


class _Manager(Manager):  # type: ignore[misc]
    """panoramisk's manager with its own reconnection switched off: the link decides."""

    def __init__(self, link: AmiLink, **config: Any) -> None:
        super().__init__(**config)
        self._link = link

    def connection_lost(self, exc: Exception | None) -> None:
        self._connected = False
        self.authenticated = False
        pinger: asyncio.TimerHandle | None = getattr(self, "pinger", None)
        if pinger is not None:
            pinger.cancel()
            self.pinger = None
        self._link._lost(exc)


class AmiLink:
    def __init__(self, config: AmiConfig) -> None:
        self.config = config
        self._manager: _Manager | None = None
        self._task: asyncio.Task[None] | None = None
        self._down = asyncio.Event()
        self._connected = False
        self._up = asyncio.Event()
        self._closing = False
        self._event_listeners: list[Callable[[AmiEvent], None]] = []
        self._state_listeners: list[Callable[[bool], None]] = []
        self._inflight: set[asyncio.Future[Any]] = set()
        self.reconnects = 0

    # -- listeners -------------------------------------------------------------------------
    def on_event(self, callback: Callable[[AmiEvent], None]) -> None:
        self._event_listeners.append(callback)

    def on_state(self, callback: Callable[[bool], None]) -> None:
        self._state_listeners.append(callback)

    @property
    def connected(self) -> bool:
        return self._connected

    # -- life ------------------------------------------------------------------------------
    async def start(self) -> None:
        if self._task is None:
            self._closing = False
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def close(self) -> None:
        self._closing = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self._drop()

    async def wait_connected(self, seconds: float) -> bool:
        """True once the link is up (within ``seconds``)."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._up.wait(), seconds)
        return self._connected

    async def _run(self) -> None:
        delay = self.config.backoff
        while not self._closing:
            try:
                await self._connect()
            except Exception as exc:  # refused, timed out, login refused: try again later
                self._drop()
                log.warning("AMI %s:%d: cannot connect (%s); next try in %.1f s",
                            self.config.host, self.config.port, exc or type(exc).__name__,
                            delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.config.backoff_max)
                continue
            delay = self.config.backoff
            self._set_state(True)
            log.info("AMI %s:%d: connected", self.config.host, self.config.port)
            pinging = asyncio.get_running_loop().create_task(self._keep_alive())
            try:
                await self._down.wait()
            finally:
                pinging.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await pinging
            self._drop()
            self._set_state(False)
            self.reconnects += 1
            log.warning("AMI %s:%d: connection lost; reconnecting", self.config.host,
                        self.config.port)

    async def _connect(self) -> None:
        cfg = self.config
        loop = asyncio.get_running_loop()
        self._down = asyncio.Event()
        manager = _Manager(self, host=cfg.host, port=cfg.port, username=cfg.username,
                           secret=cfg.secret, events=cfg.events, loop=loop, log=log,
                           ping_delay=3600, ping_interval=3600, reconnect_timeout=3600)
        manager.register_event("*", self._dispatch)
        async with asyncio.timeout(cfg.connect_timeout):
            transport, protocol = await loop.create_connection(AMIProtocol, cfg.host, cfg.port)
            done: asyncio.Future[tuple[Any, Any]] = loop.create_future()
            done.set_result((transport, protocol))
            self._manager = manager
            manager.connection_made(done)  # sends Login
            reply = await manager.authenticated_future
        if not reply.success:
            raise ConnectionRefusedError(f"login refused: {reply.get('Message')}")

    async def _keep_alive(self) -> None:
        while True:
            await asyncio.sleep(self.config.ping_interval)
            try:
                await self.action({"Action": "Ping"})
            except (AmiDown, AmiRefused) as exc:
                log.warning("AMI: no answer to Ping (%s); dropping the connection", exc)
                self._lost(exc)
                return

    def _lost(self, exc: Exception | None) -> None:
        self._connected = False
        self._up.clear()
        self._fail_inflight()
        self._down.set()

    def _drop(self) -> None:
        """Close the current connection (if any) and fail what waits on it."""
        manager, self._manager = self._manager, None
        if manager is not None:
            with contextlib.suppress(Exception):
                manager.close()
            manager.awaiting_actions.clear()
        self._connected = False
        self._fail_inflight()

    def _fail_inflight(self) -> None:
        for future in list(self._inflight):
            if not future.done():
                future.set_exception(AmiDown("the AMI connection dropped"))
        self._inflight.clear()

    def _set_state(self, up: bool) -> None:
        self._connected = up
        if up:
            self._up.set()
        else:
            self._up.clear()
        for callback in list(self._state_listeners):
            try:
                callback(up)
            except Exception:
                log.exception("AMI state listener failed")

    def _dispatch(self, _: Any, message: Any) -> None:
        event = flatten(message)
        for callback in list(self._event_listeners):
            try:
                callback(event)
            except Exception:
                log.exception("AMI event listener failed on %s", event.get("Event"))

    # -- actions ---------------------------------------------------------------------------
    async def action(self, action: Mapping[str, ActionValue], *,
                     seconds: float | None = None) -> AmiEvent:
        """Send one action and return its response; :class:`AmiRefused` on ``Response:
        Error``, :class:`AmiDown` when the link is down or does not answer in time."""
        replies = await self._send(action, seconds, as_list=False)
        reply = replies[0]
        if reply.get("Response") not in ("Success", "Follows", "Goodbye"):
            raise AmiRefused(str(action.get("Action")), reply.get("Message", "error"))
        return reply

    async def action_list(self, action: Mapping[str, ActionValue], *,
                          seconds: float | None = None) -> list[AmiEvent]:
        """An action answered by an event list (``QueueStatus``): the response, then its
        events up to the ``...Complete`` one."""
        replies = await self._send(action, seconds, as_list=True)
        if replies and replies[0].get("Response") == "Error":
            raise AmiRefused(str(action.get("Action")), replies[0].get("Message", "error"))
        return replies

    async def _send(self, action: Mapping[str, ActionValue], seconds: float | None, *,
                    as_list: bool) -> list[AmiEvent]:
        check_action(action)
        manager = self._manager
        if manager is None or not self._connected or manager.protocol is None:
            raise AmiDown("Asterisk is not connected")
        payload = {k: (v if isinstance(v, str) else list(v)) for k, v in action.items()}
        future: asyncio.Future[Any] = manager.send_action(payload, as_list=as_list)
        self._inflight.add(future)
        try:
            result = await asyncio.wait_for(future, seconds or self.config.action_timeout)
        except TimeoutError:
            raise AmiDown(f"no answer to {action.get('Action')} in time") from None
        finally:
            self._inflight.discard(future)
        messages = result if isinstance(result, list) else [result]
        return [flatten(m) for m in messages]
