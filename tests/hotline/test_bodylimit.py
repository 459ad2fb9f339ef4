"""The body limit, driven as ASGI directly: a declared size over the limit is refused before
the app runs; a streamed body is counted as it arrives, the app is told the client left and
whatever it still sends is dropped; the photo form has its own, larger limit."""

from __future__ import annotations

import asyncio
import json

from starlette.types import Message, Receive, Scope, Send

from hotline.bodylimit import BodyLimit


class Echo:
    """An app that reads the whole body and answers its size; on a disconnect it still tries
    to answer (a careless app), which the limit must swallow."""

    def __init__(self, *, answer_first: bool = False) -> None:
        self.calls: list[str] = []
        self.answer_first = answer_first

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.calls.append(scope["type"])
        if scope["type"] != "http":
            return
        if self.answer_first:  # e.g. a streaming response that reads as it goes
            await send({"type": "http.response.start", "status": 200, "headers": []})
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                self.calls.append("disconnect")
                if not self.answer_first:
                    await send({"type": "http.response.start", "status": 200, "headers": []})
                await send({"type": "http.response.body", "body": b"late"})
                return
            size += len(message.get("body", b""))
            if not message.get("more_body"):
                break
        if not self.answer_first:
            await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": str(size).encode()})


def post(app: BodyLimit, path: str, chunks: list[bytes],
         declared: int | None = None) -> list[Message]:
    """POST ``chunks`` (streamed, each an ASGI message) to ``path``; the messages sent back."""
    incoming: list[Message] = [
        {"type": "http.request", "body": chunk, "more_body": i < len(chunks) - 1}
        for i, chunk in enumerate(chunks)]
    sent: list[Message] = []

    async def receive() -> Message:
        return incoming.pop(0) if incoming else {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    headers = [] if declared is None else [(b"content-length", str(declared).encode())]
    scope: Scope = {"type": "http", "method": "POST", "path": path, "headers": headers,
                    "query_string": b""}
    asyncio.run(app(scope, receive, send))
    return sent


def status_and_body(sent: list[Message]) -> tuple[int, bytes]:
    starts = [m for m in sent if m["type"] == "http.response.start"]
    assert len(starts) == 1, sent  # one response, never two
    return int(starts[0]["status"]), b"".join(
        m.get("body", b"") for m in sent if m["type"] == "http.response.body")


def test_a_body_within_the_limit_reaches_the_app() -> None:
    echo = Echo()
    sent = post(BodyLimit(echo, max_bytes=10), "/api/v1/intake", [b"12345", b"67890"], 10)
    assert status_and_body(sent) == (200, b"10")
    assert echo.calls == ["http"]


def test_a_declared_size_over_the_limit_is_refused_before_the_app_runs() -> None:
    echo = Echo()
    sent = post(BodyLimit(echo, max_bytes=10), "/api/v1/intake", [b"x" * 11], 11)
    status, body = status_and_body(sent)
    assert status == 413
    error = json.loads(body)["error"]
    assert error["message"] == "the request body is larger than 10 bytes"
    assert echo.calls == []


def test_a_streamed_body_over_the_limit_is_cut_off() -> None:
    echo = Echo()
    sent = post(BodyLimit(echo, max_bytes=10), "/api/v1/intake", [b"123456", b"789012", b"z"])
    status, body = status_and_body(sent)
    assert status == 413 and b"late" not in body  # the app's late answer was dropped
    assert echo.calls == ["http", "disconnect"]


def test_a_body_that_outgrows_the_limit_after_the_answer_began_is_only_cut_off() -> None:
    echo = Echo(answer_first=True)
    sent = post(BodyLimit(echo, max_bytes=10), "/api/v1/intake", [b"123456", b"789012"])
    assert status_and_body(sent) == (200, b"")  # no second response start, nothing late
    assert echo.calls == ["http", "disconnect"]


def test_the_photo_form_has_its_own_limit() -> None:
    limit = BodyLimit(Echo(), max_bytes=10, overrides={"/report": 100})
    assert status_and_body(post(limit, "/report", [b"x" * 60], 60)) == (200, b"60")
    assert status_and_body(post(limit, "/report", [b"x" * 101], 101))[0] == 413
    assert status_and_body(post(limit, "/report/", [b"x" * 60], 60))[0] == 413  # exact path
    assert status_and_body(post(limit, "/api/v1/intake", [b"x" * 60], 60))[0] == 413


def test_other_scopes_pass_through() -> None:
    echo = Echo()

    async def receive() -> Message:
        return {"type": "lifespan.startup"}

    async def send(_: Message) -> None:
        return None

    asyncio.run(BodyLimit(echo, max_bytes=1)({"type": "lifespan"}, receive, send))
    assert echo.calls == ["lifespan"]
