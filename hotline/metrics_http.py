"""``GET /metrics`` (Prometheus text format) and the HTTP instrumentation of the app.

``/metrics`` is closed to the public by its own token: ``HOTLINE_METRICS_TOKEN``, sent as
``Authorization: Bearer <token>`` (Prometheus: ``authorization: {credentials: …}``); unset, it
answers 503. The answer sums every process's instruments (multiprocess mode,
:mod:`hotline.metrics_setup`) and adds what is read at scrape time
(:mod:`hotline.metrics_state`), produced in a worker thread so a scrape never holds the event
loop that serves intake.

The HTTP instrumentation labels each request with its route template (``/api/v1/tickets/
{ticket_id}``, never the path a client typed, so no id becomes a label), method and status.
"""

from __future__ import annotations

import hmac
import time

from fastapi import FastAPI, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from starlette.concurrency import run_in_threadpool
from starlette.routing import Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hotline import metrics_setup
from hotline.metrics_state import StateCollector
from tickets import metrics
from tickets.httperrors import error_response

PATH = "/metrics"
UNMATCHED = "unmatched"


def exposition(state: CollectorRegistry) -> bytes:
    """Every process's instruments, then the scrape-time state."""
    if metrics_setup.enabled():
        from prometheus_client import multiprocess

        summed = CollectorRegistry()
        multiprocess.MultiProcessCollector(summed)  # type: ignore[no-untyped-call]
        own = generate_latest(summed)
    else:
        own = generate_latest(REGISTRY)
    return own + generate_latest(state)


def install(app: FastAPI, collector: StateCollector, token: str | None) -> None:
    state = CollectorRegistry(auto_describe=False)
    state.register(collector)
    expected = f"Bearer {token}".encode() if token else None

    @app.get(PATH, tags=["ops"], include_in_schema=False)
    async def scrape(request: Request) -> Response:
        if expected is None:
            return error_response(503, "metrics are off: set HOTLINE_METRICS_TOKEN")
        given = request.headers.get("authorization", "").encode()
        if not hmac.compare_digest(given, expected):
            return error_response(401, "metrics need 'Authorization: Bearer "
                                       "<HOTLINE_METRICS_TOKEN>'",
                                  headers={"WWW-Authenticate": "Bearer"})
        body = await run_in_threadpool(exposition, state)
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    app.add_middleware(HttpMetrics)


class HttpMetrics:
    """Pure ASGI middleware: count and time every HTTP request by route template."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._routes: dict[int, str] | None = None

    def _route(self, scope: Scope) -> str:
        path = getattr(scope.get("route"), "path", None)  # FastAPI's matched route
        if isinstance(path, str):
            return path
        if self._routes is None:  # other routes and mounts (the console): by their endpoint
            found: dict[int, str] = {}
            for route in scope["app"].routes:
                endpoint = route.app if isinstance(route, Mount) else getattr(route, "endpoint",
                                                                              None)
                if endpoint is not None:
                    path = route.path + ("/…" if isinstance(route, Mount) else "")
                    found.setdefault(id(endpoint), path)
            self._routes = found
        endpoint = scope.get("endpoint")
        return self._routes.get(id(endpoint), UNMATCHED) if endpoint is not None else UNMATCHED

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            metrics.http_request(scope["method"] if scope["method"] in _METHODS else "other",
                                 self._route(scope), status, time.perf_counter() - started)


_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
