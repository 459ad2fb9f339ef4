"""Jinja2 pages and static assets of the web form, with the security headers they are sent with."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.responses import HTMLResponse, Response

HERE = Path(__file__).parent
STATIC_PREFIX = "/report/static/"
STATIC_TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8"}

# No inline script or style anywhere; images only from this site or the photo previews (blob:).
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob:; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Permissions-Policy": "geolocation=(self), camera=(), microphone=()",
}


@dataclass(frozen=True)
class StaticFile:
    body: bytes
    content_type: str
    etag: str


def _load_static() -> dict[str, StaticFile]:
    files = {}
    for path in sorted((HERE / "static").iterdir()):
        content_type = STATIC_TYPES.get(path.suffix)
        if content_type is None:
            continue
        body = path.read_bytes()
        files[path.name] = StaticFile(body, content_type, hashlib.sha256(body).hexdigest()[:16])
    return files


# The page icon lives here rather than in an .svg file (package data ships .css/.js/.html).
ICON_SVG = (
    b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64">'
    b'<rect width="64" height="64" rx="14" fill="#c8161d"/>'
    b'<text x="32" y="43" font-size="30" font-family="sans-serif" font-weight="700" '
    b'text-anchor="middle" fill="#fff">96</text></svg>'
)

STATIC = _load_static()
STATIC["icon.svg"] = StaticFile(ICON_SVG, "image/svg+xml",
                                hashlib.sha256(ICON_SVG).hexdigest()[:16])


def static_url(name: str) -> str:
    return f"{STATIC_PREFIX}{name}?v={STATIC[name].etag}"


_env = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=select_autoescape(default=True),
    trim_blocks=True,
    lstrip_blocks=True,
)
_env.globals["static"] = static_url


def render(template: str, **context: Any) -> str:
    return _env.get_template(template).render(**context)


def page(html: str, status: int = 200, *, cache: str = "no-store") -> HTMLResponse:
    """An HTML page with the security headers. Pages holding what a resident typed are
    ``no-store``; the empty form is ``private, no-cache`` so that the back button brings back
    the very same page (same token, same submission id) instead of a fresh one."""
    headers = {**SECURITY_HEADERS, "Cache-Control": cache}
    return HTMLResponse(html, status_code=status, headers=headers)


def static_response(name: str, if_none_match: str | None) -> Response | None:
    found = STATIC.get(name)
    if found is None:
        return None
    headers = {
        "ETag": f'"{found.etag}"',
        "Cache-Control": "public, max-age=86400",
        "X-Content-Type-Options": "nosniff",
    }
    if if_none_match == headers["ETag"]:
        return Response(status_code=304, headers=headers)
    return Response(found.body, media_type=found.content_type, headers=headers)
