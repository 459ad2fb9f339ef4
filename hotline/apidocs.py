"""``/docs`` (Swagger UI) and ``/redoc`` (ReDoc) served from the project: their scripts come
from ``hotline/static/apidocs/`` (``make apidocs`` copies them from the npm packages pinned in
``hotline/docs-ui/package-lock.json``), never from a CDN, so the API documentation works on a
machine without internet.

The pages are FastAPI's own (``get_swagger_ui_html``, ``get_redoc_html``) pointed at the local
files, sent with a Content-Security-Policy: scripts from this origin plus the one inline script
Swagger UI's page carries, allowed by its hash (it holds FastAPI's fixed configuration, nothing
from a request). Both viewers style themselves with inline styles, which the policy allows.
"""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from tickets.httperrors import ApiError

ASSETS = Path(__file__).parent / "static" / "apidocs"
PREFIX = "/docs/static/"
OAUTH2_REDIRECT = "/docs/oauth2-redirect"
TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
         ".png": "image/png", ".txt": "text/plain; charset=utf-8"}
NEEDED = ("swagger-ui-bundle.js", "swagger-ui.css", "redoc.standalone.js", "favicon-32x32.png")
MISSING = ("the API documentation's scripts are not built: run 'make apidocs' (npm ci in "
           "hotline/docs-ui); the OpenAPI description itself is at /openapi.json")
_INLINE = re.compile(r"<script>(.*?)</script>", re.S)


def csp(inline_scripts: list[str]) -> str:
    hashes = "".join(
        f" 'sha256-{base64.b64encode(hashlib.sha256(s.encode()).digest()).decode()}'"
        for s in inline_scripts)
    return (
        f"default-src 'none'; script-src 'self'{hashes}; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; "
        "worker-src 'self' blob:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    )


def _page(html: HTMLResponse) -> HTMLResponse:
    body = bytes(html.body).decode()
    return HTMLResponse(body, headers={
        "Content-Security-Policy": csp(_INLINE.findall(body)),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "X-Frame-Options": "DENY",
    })


@dataclass(frozen=True)
class Asset:
    body: bytes
    content_type: str
    etag: str


def load_assets(folder: Path = ASSETS) -> dict[str, Asset]:
    """The built files (none when ``make apidocs`` has not run)."""
    found: dict[str, Asset] = {}
    if not folder.is_dir():
        return found
    for path in sorted(folder.iterdir()):
        kind = TYPES.get(path.suffix)
        if kind is not None and path.is_file():
            body = path.read_bytes()
            found[path.name] = Asset(body, kind, hashlib.sha256(body).hexdigest()[:16])
    return found


def install(app: FastAPI, folder: Path = ASSETS) -> None:
    """Add ``/docs``, ``/redoc`` and their files under ``/docs/static/`` to ``app`` (created
    with ``docs_url=None, redoc_url=None``)."""
    assets = load_assets(folder)
    ready = all(name in assets for name in NEEDED)
    title = app.title
    openapi_url = app.openapi_url or "/openapi.json"

    def url(name: str) -> str:
        return f"{PREFIX}{name}?v={assets[name].etag}"

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui() -> Response:
        if not ready:
            raise ApiError(503, MISSING, "docs_not_built")
        return _page(get_swagger_ui_html(
            openapi_url=openapi_url, title=f"{title} — Swagger UI",
            swagger_js_url=url("swagger-ui-bundle.js"), swagger_css_url=url("swagger-ui.css"),
            swagger_favicon_url=url("favicon-32x32.png"), oauth2_redirect_url=OAUTH2_REDIRECT))

    @app.get(OAUTH2_REDIRECT, include_in_schema=False)
    async def swagger_ui_redirect() -> Response:
        return _page(get_swagger_ui_oauth2_redirect_html())

    @app.get("/redoc", include_in_schema=False)
    async def redoc() -> Response:
        if not ready:
            raise ApiError(503, MISSING, "docs_not_built")
        return _page(get_redoc_html(
            openapi_url=openapi_url, title=f"{title} — ReDoc",
            redoc_js_url=url("redoc.standalone.js"), redoc_favicon_url=url("favicon-32x32.png"),
            with_google_fonts=False))

    @app.get(PREFIX + "{name}", include_in_schema=False)
    async def asset(name: str, request: Request) -> Response:
        found = assets.get(name)
        if found is None:
            raise ApiError(404, f"no API documentation file '{name[:80]}'")
        headers = {"ETag": f'"{found.etag}"', "Cache-Control": "public, max-age=86400",
                   "X-Content-Type-Options": "nosniff"}
        if request.headers.get("if-none-match") == headers["ETag"]:
            return Response(status_code=304, headers=headers)
        return Response(found.body, media_type=found.content_type, headers=headers)
