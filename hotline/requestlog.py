"""ASGI middleware: a request id for every request and one access-log line per response.

The id comes from a well-formed ``X-Request-ID`` header (a proxy's) or is made here; it is sent
back in ``X-Request-ID`` and attached to every log line written while the request is handled
(:data:`request_id`). The access line names the method, the PATH ONLY (query strings carry
WeChat openids and signatures), the status and the duration — uvicorn's own access log, which
prints the query string, is switched off.
"""

from __future__ import annotations

import contextvars
import logging
import re
import time
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("hotline.access")
request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
_GOOD_ID = re.compile(r"[A-Za-z0-9._-]{8,64}")


class RequestLog:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = dict(scope.get("headers", [])).get(b"x-request-id", b"").decode("latin-1")
        rid = given if _GOOD_ID.fullmatch(given) else uuid.uuid4().hex[:16]
        token = request_id.set(rid)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", rid.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            client = scope.get("client") or ("-", 0)
            log.info("%s %s %d %.1fms", scope.get("method", "-"), scope.get("path", "-"),
                     status, (time.perf_counter() - started) * 1000,
                     extra={"client": client[0], "status": status})
            request_id.reset(token)
