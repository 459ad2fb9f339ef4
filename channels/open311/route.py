"""Thin FastAPI glue for Open311 GeoReport v2 at ``/open311/v2/`` (every endpoint in XML and
JSON by its extension, errors as the spec's error document in the same format)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TypeVar

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from channels.deps import Open311Dep
from channels.open311 import parse, present, service
from channels.open311.document import CONTENT_TYPES, Format, Row, errors, render
from channels.open311.errors import Open311Error
from channels.open311.status import FROM_UNIT
from tickets import apikeys
from tickets.apikeys import ApiKey, Scope
from tickets.deps import LimiterDep, StoreDep
from tickets.model import has_controls
from tickets.ratelimit import RateLimiter
from tickets.store import Store

log = logging.getLogger(__name__)
router = APIRouter(prefix="/open311/v2", tags=["open311"])
T = TypeVar("T")


def _format(text: str) -> Format:
    try:
        return Format(text)
    except ValueError:
        raise Open311Error(404, "unknown format: use .xml or .json") from None


def _answer(fmt: Format, status: int, root: str, item: str | None, rows: list[Row]
            ) -> Response:
    return Response(render(fmt, root, item, rows), status_code=status,
                    media_type=CONTENT_TYPES[fmt])


def _error(fmt_text: str, exc: Open311Error) -> Response:
    fmt = Format.json if fmt_text == "json" else Format.xml
    return Response(errors(fmt, exc.status, exc.description), status_code=exc.status,
                    media_type=CONTENT_TYPES[fmt])


def refusal(path: str, message: str) -> Response | None:
    """A 400 in the spec's error shape for a request under this router refused before it
    (a NUL character, by the app's guard); None for other paths."""
    if not path.startswith(router.prefix + "/"):
        return None
    return _error(path.rsplit(".", 1)[-1], Open311Error(400, message))


async def _pairs(request: Request) -> list[tuple[str, str]]:
    if request.method == "GET":
        return list(request.query_params.multi_items())
    try:
        form = await request.form()
    except Exception:  # malformed body of any kind: the client's error
        raise Open311Error(400, "the body is not form-encoded "
                                "(application/x-www-form-urlencoded)") from None
    return [(k, v) for k, v in form.multi_items() if isinstance(v, str)]


async def _key(request: Request, pairs: list[tuple[str, str]], store: Store,
               limiter: RateLimiter, scope: Scope) -> ApiKey:
    token = next((v for k, v in pairs if k == "api_key"), "") or \
        request.headers.get("x-api-key", "")
    token = token.strip()
    usable = 0 < len(token) <= 200 and not has_controls(token)
    key = await run_in_threadpool(apikeys.verify, store.db, token) if usable else None
    if key is None:
        raise Open311Error(403, "invalid api_key: send an API key of this gateway as api_key")
    if scope not in key.scopes:
        raise Open311Error(403, f"this api_key lacks the '{scope.value}' scope")
    if not await limiter.allow("api", key.id):
        raise Open311Error(429, "too many requests with this api_key; slow down")
    return key


async def _thread(fn: Callable[..., T], *args: object) -> T:
    return await run_in_threadpool(fn, *args)


@router.get("/discovery.{fmt}")
async def discovery(fmt: str, config: Open311Dep) -> Response:
    try:
        return _answer(_format(fmt), 200, "discovery", None, [present.discovery(config)])
    except Open311Error as exc:
        return _error(fmt, exc)


@router.get("/services.{fmt}")
async def services(fmt: str, request: Request, config: Open311Dep) -> Response:
    try:
        f = _format(fmt)
        parse.check_jurisdiction(config, list(request.query_params.multi_items()))
        catalog = await _thread(config.catalog.get)
        return _answer(f, 200, "services", "service",
                       [present.service_row(s) for s in catalog.services])
    except Open311Error as exc:
        return _error(fmt, exc)


@router.get("/services/{code}.{fmt}")
async def service_definition(code: str, fmt: str, request: Request,
                             config: Open311Dep) -> Response:
    try:
        f = _format(fmt)
        parse.check_jurisdiction(config, list(request.query_params.multi_items()))
        catalog = await _thread(config.catalog.get)
        found = catalog.service(code)
        if found is None:
            raise Open311Error(404, f"service_code '{code[:64]}' not found")
        return _answer(f, 200, "service_definition", None, [present.definition_row(found)])
    except Open311Error as exc:
        return _error(fmt, exc)


@router.get("/requests.{fmt}")
async def get_requests(fmt: str, request: Request, config: Open311Dep,
                       store: StoreDep) -> Response:
    try:
        f = _format(fmt)
        pairs = await _pairs(request)
        parse.check_jurisdiction(config, pairs)
        query = parse.parse_query(config, pairs, datetime.now(UTC))
        catalog = await _thread(config.catalog.get)
        rows = await _thread(service.find, store, catalog, query)
        return _answer(f, 200, "service_requests", "request", rows)
    except Open311Error as exc:
        return _error(fmt, exc)


@router.post("/requests.{fmt}")
async def post_request(fmt: str, request: Request, config: Open311Dep, store: StoreDep,
                       limiter: LimiterDep) -> Response:
    """Create a service request (form-encoded). Idempotent when the client names its own
    reference (``Idempotency-Key`` header, ``attribute[client_ref]`` or FixMyStreet's
    ``attribute[fixmystreet_id]``) with its ``device_id``/``account_id``: a repeat answers
    200 with the request made first."""
    try:
        f = _format(fmt)
        pairs = await _pairs(request)
        parse.check_jurisdiction(config, pairs)
        key = await _key(request, pairs, store, limiter, Scope.intake)
        catalog = await _thread(config.catalog.get)
        new = parse.parse_new_request(catalog, pairs, request.headers.get("idempotency-key"))
        made = await _thread(service.submit, store, catalog, key, new)
        return _answer(f, 201 if made.created else 200, "service_requests", "request",
                       [present.created_row(made.ticket, made.notice)])
    except Open311Error as exc:
        return _error(fmt, exc)


@router.get("/requests/{number}.{fmt}")
async def get_request(number: str, fmt: str, request: Request, config: Open311Dep,
                      store: StoreDep) -> Response:
    try:
        f = _format(fmt)
        parse.check_jurisdiction(config, list(request.query_params.multi_items()))
        catalog = await _thread(config.catalog.get)
        row = await _thread(service.one, store, catalog, number)
        return _answer(f, 200, "service_requests", "request", [row])
    except Open311Error as exc:
        return _error(fmt, exc)


@router.get("/tokens/{token}.{fmt}")
async def get_token(token: str, fmt: str, request: Request, config: Open311Dep,
                    store: StoreDep) -> Response:
    try:
        f = _format(fmt)
        parse.check_jurisdiction(config, list(request.query_params.multi_items()))
        row = await _thread(service.token, store, token)
        return _answer(f, 200, "service_requests", "request", [row])
    except Open311Error as exc:
        return _error(fmt, exc)


@router.get("/servicerequestupdates.{fmt}")
async def get_updates(fmt: str, request: Request, config: Open311Dep,
                      store: StoreDep) -> Response:
    """FixMyStreet's extension: the public status changes in ``[start_date, end_date]``
    (default the last 24 hours), oldest first; ``update_id`` is stable."""
    try:
        f = _format(fmt)
        pairs = list(request.query_params.multi_items())
        parse.check_jurisdiction(config, pairs)
        start, end = parse.update_window(pairs, datetime.now(UTC))
        rows = await _thread(service.recent_updates, store, start, end)
        return _answer(f, 200, "service_request_updates", "request_update", rows)
    except Open311Error as exc:
        return _error(fmt, exc)


@router.post("/servicerequestupdates.{fmt}")
async def post_update(fmt: str, request: Request, config: Open311Dep, store: StoreDep,
                      limiter: LimiterDep) -> Response:
    """A unit's progress report (``api_key`` with the ``events`` scope), applied like
    ``POST /api/v1/tickets/{id}/events``; a repeated ``update_id`` changes nothing."""
    try:
        f = _format(fmt)
        pairs = await _pairs(request)
        parse.check_jurisdiction(config, pairs)
        key = await _key(request, pairs, store, limiter, Scope.events)
        update = parse.parse_new_update(pairs, frozenset(FROM_UNIT))
        row = await _thread(service.post_update, store, key, update)
        return _answer(f, 200, "service_request_updates", "request_update", [row])
    except Open311Error as exc:
        return _error(fmt, exc)
