"""Security headers of every ``/console`` response (pages, JSON, event streams, static files,
errors), as a small ASGI middleware.

The Content-Security-Policy allows scripts, styles, images and media from this origin only
(no inline script or style, no eval), connections to this origin (fetch, SSE) and to the
softphone's SIP WebSocket (``HOTLINE_CONSOLE_SIP_WS``), forms posting to this origin only, and
no framing. Console responses other than static files are never cached (pages carry the
operator's SIP password and residents' data).
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tickets.httperrors import error_response

PREFIX = "/console"
STATIC_PREFIX = "/console/static/"
HSTS = "max-age=31536000"
GRID_PREFIX = "/console/grid"
PERMISSIONS = "microphone=(self), camera=(), geolocation=(), payment=(), usb=()"
# the camera is the phone's own app behind <input capture>: no camera permission needed
PERMISSIONS_GRID = "microphone=(), camera=(), geolocation=(self), payment=(), usb=()"


def content_security_policy(sip_ws: str | None = None) -> str:
    connect = "'self'" + (f" {sip_ws}" if sip_ws else "")
    return (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob:; "
        f"media-src 'self' blob:; font-src 'self'; connect-src {connect}; "
        "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    )


def security_headers(sip_ws: str | None = None) -> dict[str, str]:
    return {
        "Content-Security-Policy": content_security_policy(sip_ws),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "X-Frame-Options": "DENY",
        "Cross-Origin-Opener-Policy": "same-origin",
        "Cross-Origin-Resource-Policy": "same-origin",
        # the softphone needs the microphone; nothing needs the rest
        "Permissions-Policy": PERMISSIONS,
    }


def is_console(path: str) -> bool:
    return path == PREFIX or path.startswith(PREFIX + "/")


class ConsoleSecurityHeaders:
    """Adds :func:`security_headers` to responses under ``/console``; ``Cache-Control:
    no-store`` unless static or already set; HSTS over HTTPS."""

    def __init__(self, app: ASGIApp, sip_ws: str | None = None) -> None:
        self.app = app
        self.headers = security_headers(sip_ws)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not is_console(scope.get("path", "")):
            await self.app(scope, receive, send)
            return
        static = scope["path"].startswith(STATIC_PREFIX)
        grid = scope["path"].startswith(GRID_PREFIX)
        https = scope.get("scheme") == "https"
        started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = MutableHeaders(scope=message)
                for name, value in self.headers.items():
                    headers[name] = value
                if grid:  # the grid worker's page asks for the phone's location
                    headers["Permissions-Policy"] = PERMISSIONS_GRID
                if not static and "cache-control" not in headers:
                    headers["Cache-Control"] = "no-store"
                if https:
                    headers["Strict-Transport-Security"] = HSTS
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except Exception:
            # Starlette's ServerErrorMiddleware (outside every other middleware) would answer
            # this 500 without the headers: answer it here, then let the error go on to be
            # logged (it sends nothing more once a response has started).
            if not started:
                await error_response(500, "internal error; it has been logged")(
                    scope, receive, send_with_headers)
            raise
