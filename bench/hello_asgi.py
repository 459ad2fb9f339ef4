"""The web stack's limit: a bare ASGI hello-world under ``hotline serve``'s uvicorn settings.

    python -m bench.hello_asgi --port 8123

Same process model, loop and HTTP parser as the gateway (:mod:`hotline.httpserver`), same
listening socket setup (:func:`hotline.ports.bind`); the app answers every request with 200
and ``hello`` without reading a body — what any gateway request costs before the gateway's
own code runs. Not a benchmark by itself: :mod:`bench.baselines` drives it with wrk.
"""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from hotline import httpserver
from hotline.ports import bind

Message = MutableMapping[str, Any]
BODY = b"hello"


async def app(scope: MutableMapping[str, Any], receive: Callable[[], Awaitable[Message]],
              send: Callable[[Message], Awaitable[None]]) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/plain"),
                            (b"content-length", str(len(BODY)).encode())]})
    await send({"type": "http.response.body", "body": BODY})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    with bind(args.host, args.port, "--port") as sock:
        started = httpserver.serve(app, sock, args.host, args.port)
    return 0 if started else 1


if __name__ == "__main__":
    raise SystemExit(main())
