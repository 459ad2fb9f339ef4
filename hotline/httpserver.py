"""The uvicorn settings of ``hotline serve``, in one place: the bench's bare-ASGI baseline runs
under exactly these (same loop, HTTP parser, worker count), so its req/s is the web stack's
limit for the gateway."""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any

import uvicorn

# an ASGI application (uvicorn.Config's own type for it)
ASGIApp = Callable[..., Any]


def config(app: ASGIApp, host: str, port: int,
           forwarded: str | None = None) -> uvicorn.Config:
    """One process, uvicorn's default loop and HTTP implementation (uvloop and httptools when
    installed), no access log (``hotline.requestlog`` writes its own)."""
    return uvicorn.Config(app, host=host, port=port, log_config=None, access_log=False,
                          proxy_headers=bool(forwarded), forwarded_allow_ips=forwarded,
                          timeout_graceful_shutdown=10)


def serve(app: ASGIApp, sock: socket.socket, host: str, port: int,
          forwarded: str | None = None) -> bool:
    """Run ``app`` on the listening ``sock`` until SIGTERM/SIGINT; whether it started."""
    server = uvicorn.Server(config(app, host, port, forwarded))
    server.run(sockets=[sock])
    return bool(server.started)
