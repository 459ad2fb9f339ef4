"""``GET /``: the product's front page (zh-CN) — the web form, the status lookup, and for staff
the console, the API documentation and readiness. Rendered with the web form's templates and
security headers (no script at all on this page)."""

from __future__ import annotations

from fastapi import FastAPI
from starlette.responses import Response

from channels.webform import pages


def install(app: FastAPI, *, console: bool) -> None:
    html = pages.render("home.html", console=console)

    @app.get("/", include_in_schema=False)
    async def home() -> Response:
        return pages.page(html, cache="no-cache")
