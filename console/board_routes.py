"""The live board's routes, over the process's :class:`~console.live_console.LiveConsole`
(reached through :data:`~console.live_console.LiveDep`). Routes (zh-CN for people, JSON for
scripts):

* ``GET /console/`` — the board; ``GET /console/supervision`` — the supervisors' queue page;
* ``GET /console/events`` — the SSE stream (board deltas, screen-pops for this person);
* ``GET /console/board.json`` — the board now (what the stream starts with);
* ``POST /console/calls/{id}/takeover`` — take a call over from the IVR;
* ``POST /console/queue/{login|logout|pause|unpause}`` — the operator's own queue state;
  ``POST /console/supervision/members/{login}/{logout|pause|unpause}`` — a supervisor's;
* ``GET /console/softphone.json`` — the browser softphone's settings for this person (the SIP
  digest, HA1 and realm, reaches the page only here, never in its HTML).

Every action answers 503 with ``{"error": "ami_down", ...}`` while Asterisk is not connected.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header
from pydantic import BaseModel
from redis.exceptions import RedisError
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response, StreamingResponse

from console.ami import AmiDown
from console.auth import ApiPerson, ConsoleDep, LiveSession, PagePerson, csrf_checked, supervisor
from console.errors import ConsoleError
from console.live_console import AMI_DOWN, LIVE_DOWN, LiveDep
from console.people import Person
from console.screenpop import member_interface
from console.takeover import take_over
from console.templating import render, softphone_settings
from tickets.speechmodel import not_chinese_note

log = logging.getLogger(__name__)

TOPIC = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
PAUSE_REASONS = {"break": "小休", "meal": "用餐", "training": "培训", "meeting": "会议",
                 "other": "其他"}
router = APIRouter(include_in_schema=False)


def _page_data(person: Person, request: Request) -> dict[str, Any]:
    config = request.app.state.console.config
    model = config.speech_model
    return {"login": person.login, "interface": member_interface(person),
            "supervisor": person.is_supervisor, "reasons": PAUSE_REASONS,
            # beside every live transcript when the model is not a Chinese one
            "model_note": not_chinese_note(model) if model else None, "model": model}


@router.get("/console/", response_class=HTMLResponse)
async def board_page(request: Request, person: PagePerson, live: LiveDep) -> Response:
    # the link alerts as the server knows them now: a board opened while Asterisk is away
    # says so at once, before its event stream's first snapshot
    return render(request, "board.html", page=_page_data(person, request),
                  link=live.board.link_view())


@router.get("/console/supervision", response_class=HTMLResponse)
async def supervision_page(request: Request, person: PagePerson, live: LiveDep) -> Response:
    if not person.is_supervisor:
        raise ConsoleError(403, "只有班长可以使用此功能")
    people = await asyncio.to_thread(live.people.list)
    operators = [{"login": p.login, "name": p.display_name, "role": p.role.value,
                  "active": p.active} for p in people]
    return render(request, "supervision.html", page=_page_data(person, request),
                  operators=operators)


@router.get("/console/board.json")
async def board_json(person: ApiPerson, live: LiveDep) -> dict[str, Any]:
    return live.board.snapshot(time.time())


@router.get("/console/events")
async def events(session: LiveSession, console: ConsoleDep, live: LiveDep,
                 last_event_id: Annotated[str | None, Header()] = None) -> StreamingResponse:
    async def alive() -> bool:
        """The stream ends with its session (logout, disabled, the absolute limit). An open
        board counts as activity: an operator waiting for calls for hours in front of it (and
        its softphone) is not logged out for being idle."""
        try:
            found = await asyncio.to_thread(console.sessions.find, session.token)
        except Exception:  # the database did not answer: end; the page reconnects and asks
            log.exception("console: cannot check a board stream's session")
            return False
        return found is not None

    page, first = live.hub.attach(session.person.id, last_event_id)
    return StreamingResponse(live.hub.stream(page, first, alive),
                             media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


@router.post("/console/calls/{topic}/takeover", dependencies=[Depends(csrf_checked)])
async def takeover(topic: str, person: ApiPerson, live: LiveDep) -> JSONResponse:
    if not TOPIC.fullmatch(topic):
        raise ConsoleError(404, "没有这个通话", code="unknown_call")
    if live.redis is None:
        raise ConsoleError(503, LIVE_DOWN, code="live_down")
    if live.ami is None or not live.ami.connected:
        raise ConsoleError(503, AMI_DOWN, code="ami_down")
    from console.people import actor_of

    try:
        done = await take_over(topic, redis=live.redis, ami=live.ami, store=live.store,
                               actor=actor_of(person))
    except AmiDown:
        raise ConsoleError(503, AMI_DOWN, code="ami_down") from None
    except RedisError:
        raise ConsoleError(503, LIVE_DOWN, code="live_down") from None
    return JSONResponse({"ticket": {"id": done.ticket_id, "number": done.number},
                         "redirected": done.redirected,
                         "url": f"/console/tickets/{done.number}"})


class PauseBody(BaseModel):
    reason: Literal["break", "meal", "training", "meeting", "other"] = "break"


@router.post("/console/queue/{what}", dependencies=[Depends(csrf_checked)])
async def queue_member(what: Literal["login", "logout", "pause", "unpause"],
                       person: ApiPerson, live: LiveDep,
                       body: PauseBody | None = None) -> dict[str, Any]:
    await live.member(person, what, body.reason if body else None)
    return {"ok": True, "interface": member_interface(person), "state": what}


@router.post("/console/supervision/members/{login}/{what}",
             dependencies=[Depends(csrf_checked)])
async def supervise_member(login: str, what: Literal["logout", "pause", "unpause"],
                           boss: Annotated[Person, Depends(supervisor)],
                           live: LiveDep, body: PauseBody | None = None) -> dict[str, Any]:
    target = await asyncio.to_thread(live.people.by_login, login)
    if target is None:
        raise ConsoleError(404, "没有这个话务员", code="unknown_person")
    await live.member(target, what, body.reason if body else None)
    log.info("supervisor %s: %s %s", boss.login, what, target.login)
    return {"ok": True, "interface": member_interface(target), "state": what}


def _no_softphone(request: Request, person: Person) -> str:
    """Why this person has no browser softphone (shown on the board, zh-CN)."""
    if person.phone_kind == "deskphone":
        return "您使用桌面话机：队列来电会振铃您的话机，本页不显示软电话"
    return ("浏览器软电话未启用：管理员尚未设置 HOTLINE_CONSOLE_SIP_WS（Asterisk 的 SIP WebSocket "
            "地址，如 wss://console.example/ws），因此本页无法接听来电")


@router.get("/console/softphone.json")
async def softphone(request: Request, person: ApiPerson) -> dict[str, Any]:
    settings = softphone_settings(request, person)
    if settings is None:
        raise ConsoleError(404, _no_softphone(request, person), code="no_softphone")
    return settings
