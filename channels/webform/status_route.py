"""``GET /status?number=…``: a resident looks up a ticket's progress on the web, as key 9 of
96010 does on the phone — only the status, never what the ticket says or who sent it. A
merged ticket also shows the status of the one it joined. Rate-limited per client address
like the form (``HOTLINE_RATE_LIMIT_WEB``)."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from channels.texts import texts
from channels.webform import pages
from tickets.deps import LimiterDep, StoreDep
from tickets.model import Status, is_ticket_number
from tickets.store import TicketNotFound

log = logging.getLogger(__name__)
router = APIRouter(tags=["web form"], include_in_schema=False)

# what the resident reads, step by step of the loop (the IVR says the same: ivr/prompts)
STATUS_TEXT: dict[Status, str] = {
    Status.received: "已受理，正在登记。",
    Status.registered: "已立案，正在派遣。",
    Status.dispatched: "已派遣到承办单位。",
    Status.in_progress: "正在办理中。",
    Status.resolved: "已办理完毕，正在核实。",
    Status.closed: "已办结。",
    Status.evaluated: "已办结，并已完成评价。",
    Status.merged: "已与相同事项合并办理。",
    Status.rejected: "不属于受理范围，未予受理。",
}
NUMBER_FIELD_MAX = 40


def _page(status: int = 200, **context: object) -> Response:
    return pages.page(pages.render("status.html", **context), status)


@router.get("/status")
async def status(request: Request, store: StoreDep, limiter: LimiterDep) -> Response:
    raw = request.query_params.get("number")
    if raw is None:
        return _page(number="")
    number = "".join(raw.split())[:NUMBER_FIELD_MAX]
    if not is_ticket_number(number):
        return _page(400, number=number, error="工单号是 10 到 16 位数字，请核对后重新输入。")
    client = request.client.host if request.client else ""
    if not await limiter.allow("web", client):
        log.warning("status lookup refused: client over its rate limit")
        return _page(429, number=number, error=texts().web.rate_limited)
    try:
        ticket = await run_in_threadpool(store.get, number)
    except TicketNotFound:
        return _page(404, number=number, error="没有找到这个工单号，请核对后重新输入。")
    survivor = await run_in_threadpool(store.survivor_of, ticket)
    joined = None
    if survivor.id != ticket.id and survivor.status is not Status.merged:
        joined = (survivor.number, STATUS_TEXT[survivor.status])
    return _page(number=number, found=STATUS_TEXT[ticket.status], joined=joined)
