"""The console assembled: its routers under ``/console`` and what they need on the app.

:func:`build_console_router` takes each part's router (the board, events, takeover and queue
from ``console/board_routes.py``; the inbox and ticket pages from ``console/ticket_routes.py``)
and adds login/logout and the static files. :func:`mount` puts it on the gateway's app with the
console's state, its error pages and its security headers. Every route answers 503 ("console
disabled: set HOTLINE_CONSOLE_SECRET") while the console has no secret.
"""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import APIRouter, Depends, FastAPI
from starlette.requests import Request
from starlette.responses import FileResponse, Response

from console import errors, login_routes
from console.auth import center_only
from console.errors import ConsoleError
from console.security import ConsoleSecurityHeaders
from console.state import Console, console_of
from console.templating import STATIC

STATIC_TYPES = {
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".woff2": "font/woff2",
    ".txt": "text/plain; charset=utf-8",
}


static_router = APIRouter(include_in_schema=False)


@static_router.get("/console/static/{name:path}")
async def static_file(name: str, request: Request) -> Response:
    root = STATIC.resolve()
    if "\x00" in name:  # the OS refuses such a path (ValueError): nobody's file
        raise ConsoleError(404, "没有这个文件")
    path = (root / name).resolve()
    media_type = STATIC_TYPES.get(path.suffix)
    if (media_type is None or not path.is_relative_to(root) or not path.is_file()
            or any(part.startswith(".") for part in path.relative_to(root).parts)):
        raise ConsoleError(404, "没有这个文件")
    # revalidated every time (ETag); pages name them with a ?v= content hash anyway
    response = FileResponse(path, media_type=media_type, stat_result=path.stat(),
                            headers={"Cache-Control": "no-cache"})
    etag = response.headers["etag"]
    if etag in [t.strip() for t in request.headers.get("if-none-match", "").split(",")]:
        return Response(status_code=304, headers={"ETag": etag, "Cache-Control": "no-cache"})
    return response


def build_console_router(*, board: APIRouter | None = None, tickets: APIRouter | None = None,
                         extra: Sequence[APIRouter] = ()) -> APIRouter:
    """Login/logout and static files, plus the given parts' routers (each with its own
    ``/console/...`` paths): ``board`` and ``tickets`` are the district center's
    (:func:`~console.auth.center_only`); ``extra`` routers guard themselves (the desks, the
    grid page, the media files)."""
    router = APIRouter(dependencies=[Depends(console_of)])
    router.include_router(login_routes.router)
    router.include_router(static_router)
    for part in (board, tickets):
        if part is not None:  # the district center's own pages
            router.include_router(part, dependencies=[Depends(center_only)])
    for part in extra:
        router.include_router(part)
    return router


def mount(app: FastAPI, console: Console | None, router: APIRouter) -> None:
    """Serve the console (``console=None``: disabled, every route answers 503)."""
    app.state.console = console
    errors.install(app)
    app.add_middleware(ConsoleSecurityHeaders,
                       sip_ws=console.config.sip_ws if console is not None else None)
    app.include_router(router)
