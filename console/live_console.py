"""The live console, one per gateway process: the board, the SSE hub with its Redis subscriber,
the AMI link (when ``HOTLINE_AMI_USERNAME``/``SECRET`` are set), the screen-pop and a Redis
client for takeovers. The app factory puts it on ``app.state.console_live`` and its lifespan
starts and closes it; routes reach it through :data:`LiveDep` (``console/board_routes.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Annotated, Any

from fastapi import Depends
from starlette.requests import Request

from console.ami import AmiConfig, AmiDown, AmiLink, AmiRefused
from console.board import Board
from console.errors import ConsoleError
from console.live import Hub
from console.people import People, Person
from console.queue_state import QUEUE
from console.screenpop import ScreenPop, member_interface
from ivr.events import redis_client
from tickets.store import Store

log = logging.getLogger(__name__)

AMI_DOWN = "Asterisk 连接中断，请稍后再试"
LIVE_DOWN = "实时数据服务中断，请稍后再试"


class LiveConsole:
    def __init__(self, *, store: Store, people: People, redis_url: str | None,
                 ami: AmiConfig | None, queue: str = QUEUE) -> None:
        self.store = store
        self.people = people
        self.queue = queue
        self.board = Board(queue)
        self.hub = Hub(self.board, redis_url)
        self.redis = redis_client(redis_url, timeout=2.0) if redis_url else None
        self.ami = AmiLink(ami) if ami is not None else None
        self.screenpop = ScreenPop(self.hub, store, people.by_sip_user, queue)
        self._tasks: set[asyncio.Task[Any]] = set()
        if self.ami is not None:
            self.ami.on_event(self.hub.ami_event)
            self.ami.on_event(self.screenpop.on_event)
            self.ami.on_state(self._ami_state)

    async def start(self) -> None:
        await self.hub.start()
        self._spawn(self.refresh_names())
        if self.ami is not None:
            await self.ami.start()

    async def close(self) -> None:
        if self.ami is not None:
            await self.ami.close()
        for task in list(self._tasks):
            task.cancel()
        await self.screenpop.drain()
        await self.hub.close()
        if self.redis is not None:
            with contextlib.suppress(Exception):
                await self.redis.aclose()

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _ami_state(self, up: bool) -> None:
        self.hub.ami_state(up)
        if up:
            self._spawn(self.refresh_queue())

    async def refresh_queue(self) -> None:
        """The queue as Asterisk has it now (after every (re)connection)."""
        if self.ami is None:
            return
        try:
            replies = await self.ami.action_list({"Action": "QueueStatus", "Queue": self.queue})
        except (AmiDown, AmiRefused) as exc:
            log.warning("console: QueueStatus failed: %s", exc)
            return
        self.hub.queue_status(replies)

    async def refresh_names(self) -> None:
        try:
            people = await asyncio.to_thread(self.people.list)
        except Exception:
            log.exception("console: cannot read the people for the board")
            return
        self.hub.publish(self.board.set_names({p.login: p.display_name for p in people}))

    # -- actions ---------------------------------------------------------------------------
    def _ami(self) -> AmiLink:
        if self.ami is None or not self.ami.connected:
            raise ConsoleError(503, AMI_DOWN, code="ami_down")
        return self.ami

    async def member(self, person: Person, what: str, reason: str | None = None) -> None:
        """Put ``person`` in or out of the queue, or pause them."""
        ami = self._ami()
        interface = member_interface(person)
        base = {"Queue": self.queue, "Interface": interface}
        try:
            if what == "login":
                await ami.action({"Action": "QueueAdd", **base, "MemberName": person.login,
                                  "StateInterface": interface, "Paused": "false"})
            elif what == "logout":
                await ami.action({"Action": "QueueRemove", **base})
            else:
                action = {"Action": "QueuePause", **base,
                          "Paused": "true" if what == "pause" else "false"}
                if what == "pause":
                    action["Reason"] = reason or "break"
                await ami.action(action)
        except AmiDown:
            raise ConsoleError(503, AMI_DOWN, code="ami_down") from None
        except AmiRefused as exc:
            text = exc.message.lower()
            if (what == "login" and "already" in text) or (what == "logout"
                                                             and "not there" in text):
                return  # already as asked
            if "not found" in text or "not there" in text:
                raise ConsoleError(409, "尚未签入队列", code="not_in_queue") from None
            raise ConsoleError(502, f"Asterisk 拒绝了操作：{exc.message}",
                               code="ami_refused") from None
        if what == "login":
            self._spawn(self.refresh_names())


def live_of(request: Request) -> LiveConsole:
    live: LiveConsole | None = getattr(request.app.state, "console_live", None)
    if live is None:
        raise ConsoleError(503, LIVE_DOWN, code="live_disabled")
    return live


LiveDep = Annotated[LiveConsole, Depends(live_of)]
