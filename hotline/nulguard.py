"""ASGI middleware refusing NUL characters at the request boundary with a JSON 400.

No field of the gateway may hold a NUL, and PostgreSQL refuses it in text: a NUL that reached
a query was a 500 there (and nothing on SQLite), so every route would need its own check. This
one looks once, before any route: the path (decoded), the query string (raw or ``%00``) and a
urlencoded form body (read whole — the body limit outside it bounds it — then handed on
unchanged). JSON bodies are the models' (``Printable`` refuses control characters with a
422); a multipart body carries binary photos and is the form's own to check.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tickets.httperrors import error_response

_ENCODED_NUL = re.compile(rb"%00")
_FORM = b"application/x-www-form-urlencoded"


def _has_nul(data: bytes) -> bool:
    return b"\x00" in data or _ENCODED_NUL.search(data) is not None


# (path, message) → the refusal for a path whose protocol has its own error shape, or None
Refusal = Callable[[str, str], Response | None]


class NulGuard:
    def __init__(self, app: ASGIApp, refusal: Refusal | None = None,
                 no_query: frozenset[str] = frozenset()) -> None:
        """``no_query``: paths that read no query parameter (health checks, the API's
        documentation): whatever their query holds, they answer as always."""
        self.app = app
        self.refusal = refusal
        self.no_query = no_query

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        where = None
        if "\x00" in scope.get("path", "") or _has_nul(scope.get("raw_path") or b""):
            where = "path"
        elif scope.get("path", "") not in self.no_query and _has_nul(
                scope.get("query_string", b"")):
            where = "query"
        if where is None and _is_form(scope):
            body, more = await _read(receive)
            if _has_nul(body):
                where = "form"
            else:
                receive = _replay(body, more, receive)
        if where is not None:
            message = f"the request has a NUL character in its {where}; no field may hold one"
            own = self.refusal(scope.get("path", ""), message) if self.refusal else None
            answer = own or error_response(400, message, "nul_character")
            await answer(scope, receive, send)
            return
        await self.app(scope, receive, send)


def _is_form(scope: Scope) -> bool:
    for name, value in scope.get("headers", []):
        if name == b"content-type":
            return bytes(value).split(b";", 1)[0].strip().lower() == _FORM
    return False


async def _read(receive: Receive) -> tuple[bytes, Message | None]:
    """The whole body, and a message that ended it early (a disconnect) to hand on."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks), message
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks), None


def _replay(body: bytes, ended: Message | None, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            if ended is not None:
                return ended
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
