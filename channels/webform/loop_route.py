"""``GET|POST /status/<ticket id>/<mac>``: the resident's own page for a ticket (the link shown
after submitting the form, :mod:`channels.webform.statuslink`): status, step, the unit's last
note, and — when the ticket waits for them — the two questions, one at a time, answered with
buttons (CSRF: the form's signed double-submit token, its own cookie on ``/status/``; the
token's one-time id is the answer's idempotency key, so a form sent twice answers once).
Answers go through :func:`channels.webform.answers.apply` (``record_answer``, like every
channel's) under the form's deadline (``HOTLINE_WEB_DEADLINE``): past it the answer is
spooled (:func:`channels.deadline.spool_inbound_late`), the page says "已收到" (202), and the
spool's ingester applies it later by the same rule, once per form."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from functools import partial

from fastapi import APIRouter, Request
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from channels.deadline import Deadline, Late, spool_inbound_late
from channels.deps import WebformDep
from channels.inbound import WebAnswer
from channels.lookup import STEPS, last_public_note
from channels.texts import texts
from channels.webform import answers, csrf, pages, statuslink
from channels.webform.status_route import STATUS_TEXT
from tickets.answers import Question
from tickets.deps import StoreDep
from tickets.httperrors import ApiError
from tickets.model import Channel, Status, Ticket
from tickets.store import TicketNotFound
from tickets.verification import Result
from tickets.verify_store import waiting_question

log = logging.getLogger(__name__)
router = APIRouter(tags=["web form"], include_in_schema=False)
COOKIE = "hotline_csrf_status"
TOKEN_MAX_AGE = 24 * 3600
CHOICES: dict[Question, list[tuple[str, str]]] = {
    Question.solved: [("1", "已解决"), ("2", "未解决")],
    Question.satisfaction: [("1", "满意"), ("2", "基本满意"), ("3", "不满意")],
}
MESSAGES: dict[Result, str] = {
    Result.recorded: "已收到您的答复，谢谢。",
    Result.repeat: "已收到您的答复，无需重复提交。",
    Result.reopened_meanwhile: "工单已重新交承办单位办理，办结后会再次征求您的意见。",
    Result.finished: "工单已办结并完成评价，感谢您的参与。",
    Result.too_late: "核实期已过。如问题仍未解决，请重新反映或拨打96010。",
}
# the answer was kept by the spool (the store did not answer within HOTLINE_WEB_DEADLINE)
ANSWER_KEPT = "已收到您的答复，系统稍后处理，谢谢。刷新本页即可查看结果。"


def _secret(config: WebformDep) -> str:
    if not config.csrf_secret:
        raise ApiError(503, "the web form is not configured: set HOTLINE_WEB_SECRET",
                       "channel_disabled")
    return config.csrf_secret


async def _ticket(store: StoreDep, secret: str, ticket_id: str, mac: str) -> Ticket:
    if not statuslink.valid(secret, ticket_id, mac):
        raise ApiError(404, "no such page")
    try:
        return await run_in_threadpool(store.get, ticket_id)
    except TicketNotFound:
        raise ApiError(404, "no such page") from None


def _render(request: Request, store: StoreDep, secret: str, ticket: Ticket, *,
            message: str | None = None, status: int = 200) -> Response:
    question = waiting_question(store, ticket.id)
    nonce = request.cookies.get(COOKIE)
    if not csrf.valid_nonce(nonce):
        nonce = csrf.new_nonce()
    assert nonce is not None
    survivor = store.survivor_of(ticket)
    joined = None
    if survivor.id != ticket.id and survivor.status is not Status.merged:
        joined = (survivor.number, STATUS_TEXT[survivor.status])
    notify = texts().notify
    asked = None
    if question is not None:
        template = notify.ask_solved if question is Question.solved else notify.ask_satisfaction
        asked = template.format(number=ticket.number).split("：", 1)[-1].split("回复")[0]
    html = pages.render(
        "loop.html", number=ticket.number, status=STATUS_TEXT[ticket.status],
        step=STEPS[ticket.status], note=last_public_note(ticket), joined=joined,
        message=message, question=question.value if question else None, question_text=asked,
        choices=CHOICES[question] if question else [],
        csrf=csrf.issue(secret, nonce, csrf.new_submission_id(), int(time.time())),
        action=statuslink.path(secret, ticket.id))
    response = pages.page(html, status)
    response.set_cookie(COOKIE, nonce, max_age=TOKEN_MAX_AGE, path=statuslink.PREFIX,
                        httponly=True, samesite="strict",
                        secure=request.url.scheme == "https")
    return response


@router.get("/status/{ticket_id}/{mac}")
async def show(ticket_id: str, mac: str, request: Request, store: StoreDep,
               config: WebformDep) -> Response:
    secret = _secret(config)
    ticket = await _ticket(store, secret, ticket_id, mac)
    done = request.query_params.get("done") or ""
    message = MESSAGES.get(Result(done)) if done in Result.__members__ else None
    return await run_in_threadpool(
        lambda: _render(request, store, secret, ticket, message=message))


@router.post("/status/{ticket_id}/{mac}")
async def answer(ticket_id: str, mac: str, request: Request, store: StoreDep,
                 config: WebformDep) -> Response:
    secret = _secret(config)
    if not statuslink.valid(secret, ticket_id, mac):
        raise ApiError(404, "no such page")
    form = await request.form()
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    token = csrf.check(secret, request.cookies.get(COOKIE), fields.get("csrf"),
                       int(time.time()), TOKEN_MAX_AGE)
    if not token.ok or token.submission_id is None:
        raise ApiError(403, "the page expired or the form was not sent from it; reload it",
                       "csrf")
    words = " ".join(fields.get("words", "").split())[:500]
    try:
        given = WebAnswer(ticket_id=ticket_id, question=fields.get("question", ""),
                          choice=fields.get("answer", ""), words=words,
                          key=f"web:{token.submission_id}", at=datetime.now(UTC))
    except ValidationError as exc:
        raise ApiError(400, "'question' and 'answer' (one of the page's buttons) are "
                            f"required: {exc.errors()[0].get('msg')}") from None
    deadline = Deadline(config.deadline)  # a resident waits no longer than at the form
    try:
        outcome = await deadline.run(partial(answers.apply, store, given))
    except TicketNotFound:
        raise ApiError(404, "no such page") from None
    except Late:  # kept: the ingester applies it by the same rule (answers.apply)
        await spool_inbound_late(config.spool_dir, given.key, Channel.web, given,
                                 config.deadline)
        return _kept_page()
    log.info("web answer for ticket %s: %s", outcome.ticket.number if outcome.ticket else "?",
             outcome.result.value)
    target = f"{statuslink.path(secret, ticket_id)}?done={outcome.result.value}"
    return RedirectResponse(target, status_code=303)


def _kept_page() -> Response:
    """The answer is in the spool, not yet on the ticket (the store is slow): "已收到"."""
    html = pages.render("loop.html", number=None, status=None, step=None, note=None,
                        joined=None, message=ANSWER_KEPT, question=None, question_text=None,
                        choices=[], csrf="", action="")
    return pages.page(html, 202)
