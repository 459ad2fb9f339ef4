"""``GET|POST /report``: the FastAPI glue around the web form's pure parts.

Order on POST: parse the multipart body → check the CSRF token (which yields the submission id)
→ validate every field and every photo → only then save photos and submit the intake. A form
sent twice carries the same submission id (the ticket's ``channel_ref``), so it shows the same
ticket number instead of creating a second ticket.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect
from starlette.responses import Response

from channels.deadline import DELAYED, Deadline, Late, spool_late
from channels.deps import PhotosDep, WebformDep
from channels.texts import texts
from channels.webform import csrf, pages, service, statuslink
from channels.webform.config import WebformConfig
from channels.webform.imaging import PhotoWorkers
from channels.webform.photos import Photo, PhotoError, size_label
from channels.webform.validation import (
    ADDRESS_MAX,
    CHECKBOXES,
    DESCRIPTION_MAX,
    MAX_PHOTOS,
    NAME_MAX,
    TEXT_FIELDS,
    Checked,
    kind_choices,
    valid_grid,
    validate,
)
from tickets.deps import get_limiter, get_store
from tickets.httperrors import ApiError
from tickets.masking import mask_phone
from tickets.model import Channel, Intake, Ticket
from tickets.store import Store

log = logging.getLogger(__name__)

TOKEN_MAX_AGE = 24 * 3600  # a form may stay open on a phone for a day
FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")
MAX_FORM_FIELDS = 40
MAX_FIELD_BYTES = 64 * 1024  # text fields; the description is at most 2000 characters
FORM_OVERHEAD = 64 * 1024  # room for the text fields and multipart headers
DISABLED = ("the web form is disabled: set HOTLINE_WEB_SECRET to a long random value "
            "(e.g. `openssl rand -hex 32`)")


def _wants_html(request: Request) -> bool:
    return "text/html" in request.headers.get("accept", "")


def _problem(request: Request, status: int, message_zh: str, message_en: str) -> Response:
    """A 4xx for a request the form cannot use: an HTML page for browsers; for anything else
    the API error (JSON)."""
    if _wants_html(request):
        return pages.page(pages.render("problem.html", message=message_zh), status)
    raise ApiError(status, message_en)


class _Form:
    """Everything the web form's routes share: config, cookie handling and page rendering."""

    def __init__(self, config: WebformConfig, photos: PhotoWorkers) -> None:
        self.config = config
        self.photos = photos
        self.secret = config.csrf_secret or ""
        # The app refuses bodies over HOTLINE_MAX_BODY_BYTES; tell the resident what fits.
        body = config.max_body_bytes
        self.total = body - FORM_OVERHEAD if body and body > FORM_OVERHEAD else None
        self.per_photo = min(config.max_photo_bytes, self.total or config.max_photo_bytes)
        if self.total is not None and self.total >= MAX_PHOTOS * self.per_photo:
            self.total = None  # four full-size photos fit: no separate total to announce

    def _secure_cookie(self, request: Request) -> bool:
        return request.url.scheme == "https" or (self.config.public_url or "").startswith(
            "https://")

    def _form_page(self, request: Request, nonce: str, submission_id: str, checked: Checked,
                   *, status: int = 200, notice: str | None = None,
                   had_photos: bool = False, cache: str = "no-store") -> Response:
        token = csrf.issue(self.secret, nonce, submission_id, int(time.time()))
        html = pages.render(
            "form.html",
            token=token,
            values=checked.values,
            grid_name=self.config.grid_name(checked.values.get("grid") or None),
            errors=checked.errors,
            notice=notice,
            had_photos=had_photos,
            kinds=kind_choices(),
            description_max=DESCRIPTION_MAX,
            name_max=NAME_MAX,
            address_max=ADDRESS_MAX,
            max_photos=MAX_PHOTOS,
            max_photo_bytes=self.per_photo,
            max_photo_size=size_label(self.per_photo),
            max_total_bytes=self.total or "",
            max_total_size=size_label(self.total) if self.total else None,
        )
        response = pages.page(html, status, cache=cache)
        response.set_cookie(csrf.COOKIE_NAME, nonce, max_age=TOKEN_MAX_AGE, path="/report",
                            httponly=True, samesite="strict", secure=self._secure_cookie(request))
        return response

    def _done_page(self, ticket: Ticket, *, repeat: bool) -> Response:
        grid = ticket.location.grid if ticket.location else None
        html = pages.render(
            "done.html",
            number=ticket.number,
            repeat=repeat,
            kind_label=texts().kind(ticket.kind),
            phone=mask_phone(ticket.citizen.phone) if ticket.citizen.consent_to_contact else None,
            again_url=f"/report?grid={grid}" if grid else "/report",
            status_url=statuslink.path(self.secret, ticket.id),
        )
        return pages.page(html)

    # -- GET ------------------------------------------------------------------------------
    async def show(self, request: Request) -> Response:
        if not self.secret:
            raise ApiError(503, DISABLED, "channel_disabled")
        nonce = request.cookies.get(csrf.COOKIE_NAME)
        if not csrf.valid_nonce(nonce):
            nonce = csrf.new_nonce()
        assert nonce is not None
        raw_grid = request.query_params.get("grid")
        grid = valid_grid(raw_grid)
        if not self.config.known_grid(grid):
            grid = None  # a code of no grid cell (an old poster, a typo) is not shown as valid
        notice = None
        if raw_grid is not None and grid is None:
            notice = "二维码中的网格编号无效，请填写发生地点。"
        checked = validate({"grid": grid or ""})
        checked.errors.clear()
        return self._form_page(request, nonce, csrf.new_submission_id(), checked, notice=notice,
                               cache="private, no-cache")

    # -- POST -----------------------------------------------------------------------------
    async def submit(self, request: Request) -> Response:
        if not self.secret:
            raise ApiError(503, DISABLED, "channel_disabled")
        client = request.client.host if request.client else ""
        if not await get_limiter(request).allow("web", client):
            log.warning("web form refused: client over its rate limit")
            return _problem(request, 429, texts().web.rate_limited,
                            "too many reports from this address; try again later")
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type not in FORM_TYPES:
            return _problem(request, 415, "提交的内容格式不正确，请通过网页表单提交。",
                            "send the form as multipart/form-data")
        try:
            async with request.form(max_files=MAX_PHOTOS + 4, max_fields=MAX_FORM_FIELDS,
                                    max_part_size=MAX_FIELD_BYTES) as form:
                return await self._handle(request, form)
        except ClientDisconnect:
            # The client went away, or the body limit refused the body (413 already sent).
            return Response(status_code=400)
        except HTTPException as exc:
            if exc.status_code != 400:
                raise
            return _problem(request, 400, "提交的内容不完整或格式不正确，请返回重新填写。",
                            f"malformed form body: {exc.detail}")

    async def _handle(self, request: Request, form: FormData) -> Response:
        raw = {name: _text(form, name) for name in (*TEXT_FIELDS, *CHECKBOXES)}
        uploads = [u for u in form.getlist("photos") if isinstance(u, UploadFile) and u.filename]
        checked = validate(raw, len(uploads))
        if checked.form is not None and checked.form.grid is not None and (
                not self.config.known_grid(checked.form.grid)):
            checked.errors["grid"] = "网格编号无效，请重新扫描二维码"
            checked.form = None

        nonce = request.cookies.get(csrf.COOKIE_NAME)
        token = csrf.check(self.secret, nonce, _text(form, "csrf"), int(time.time()),
                           TOKEN_MAX_AGE)
        store = get_store(request)
        deadline = Deadline(self.config.deadline)  # a resident waits no longer either
        expired = token.problem is csrf.TokenProblem.expired
        if expired and token.submission_id is not None:
            # A genuine (signed) page, sent again after it expired: if it was filed, say so.
            existing = await self._filed(deadline, store, token.submission_id)
            if existing is not None:
                return self._done_page(existing, repeat=True)
        if not token.ok or token.submission_id is None:
            log.info("web form refused: csrf %s", token.problem.value if token.problem else "-")
            checked.errors.clear()
            notice = ("页面已过期，请检查内容后重新提交。" if expired
                      else "页面校验失败（可能是浏览器禁用了 Cookie），请检查内容后重新提交。")
            fresh = nonce if csrf.valid_nonce(nonce) else csrf.new_nonce()
            assert fresh is not None
            return self._form_page(request, fresh, csrf.new_submission_id(), checked,
                                   status=403, notice=notice, had_photos=bool(uploads))
        submission_id = token.submission_id
        assert nonce is not None
        existing = await self._filed(deadline, store, submission_id)
        if existing is not None:  # this page was filed already (double tap, reload, back)
            return self._done_page(existing, repeat=True)

        photos: list[Photo] = []
        if "photos" not in checked.errors:
            keep = checked.values.get("share_photo_location") == "on"
            problems = []
            for index, upload in enumerate(uploads[:MAX_PHOTOS], start=1):
                data = await upload.read(self.config.max_photo_bytes + 1)
                try:
                    photos.append(await self.photos.check(
                        data, max_bytes=self.config.max_photo_bytes, keep_location=keep))
                except PhotoError as exc:
                    problems.append(f"第 {index} 张照片：{exc.message}")
            if problems:
                checked.errors["photos"] = "；".join(problems)
                checked.form = None
        if checked.form is None:
            return self._form_page(request, nonce, submission_id, checked, status=422,
                                   had_photos=bool(uploads))

        form_ = checked.form
        intake = await run_in_threadpool(
            partial(service.prepare, self.config.media_dir, form_, photos,
                    submission_id=submission_id, received_at=datetime.now(UTC)))
        try:
            result = await deadline.run(partial(service.submit, store, intake, form_))
        except Late:
            await spool_late(self.config.spool_dir, intake, datetime.now(UTC),
                             self.config.deadline)
            return self._delayed_page(intake)
        return self._done_page(result.ticket, repeat=not result.created)

    @staticmethod
    async def _filed(deadline: Deadline, store: Store, submission_id: str) -> Ticket | None:
        """The ticket of this page, if filed; None also when the store is late (the filing
        below then spools it, and the ingester knows a repeat)."""
        try:
            return await deadline.run(partial(store.find_by_ref, Channel.web.value,
                                              submission_id))
        except Late:
            return None

    def _delayed_page(self, intake: Intake) -> Response:
        """Kept in the spool, not yet a ticket: "已收到，工单号稍后发送"."""
        grid = intake.location.grid if intake.location else None
        html = pages.render(
            "done.html", number=None, delayed=DELAYED, repeat=False,
            kind_label=texts().kind(intake.kind),
            phone=mask_phone(intake.citizen.phone) if intake.citizen.consent_to_contact
            else None,
            again_url=f"/report?grid={grid}" if grid else "/report")
        return pages.page(html)


def _text(form: FormData, name: str) -> str:
    value: Any = form.get(name)
    return value if isinstance(value, str) else ""


def _form(config: WebformDep, photos: PhotosDep) -> _Form:
    return _Form(config, photos)


FormDep = Annotated[_Form, Depends(_form)]
router = APIRouter(tags=["web form"], include_in_schema=False)


@router.get("/report")
async def show(request: Request, form: FormDep) -> Response:
    return await form.show(request)


@router.post("/report")
async def submit(request: Request, form: FormDep) -> Response:
    return await form.submit(request)


@router.get("/report/static/{name}")
async def static(name: str, request: Request) -> Response:
    found = pages.static_response(name, request.headers.get("if-none-match"))
    if found is None:
        raise ApiError(404, f"no static file '{name[:80]}'")
    return found
