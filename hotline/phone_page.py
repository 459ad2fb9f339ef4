"""``GET /phone`` (on with ``HOTLINE_PHONE_PAGE``): a resident's phone in the browser, for demos
and for testing a deployment. JsSIP (the console's bundle and softphone.js) over the SIP
WebSocket ``HOTLINE_CONSOLE_SIP_WS`` calls 96010 as the PJSIP endpoint ``resident-web`` (no
registration, no password, 96010 only: ``hotline/pbx_config.py``); the keypad sends RFC 4733
tones. The page states WebRTC's limits on one machine (docs/softphone.md). Its settings are JSON
data in the page; scripts are files, under a Content-Security-Policy without inline script."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.responses import FileResponse, HTMLResponse, Response

from hotline.settings import Settings
from tickets.httperrors import error_response

HERE = Path(__file__).resolve().parent / "phone_static"
CONSOLE_STATIC = Path(__file__).resolve().parents[1] / "console" / "static"
USER = "resident-web"
FILES = {
    "jssip.min.js": CONSOLE_STATIC / "vendor" / "jssip.min.js",
    "softphone.js": CONSOLE_STATIC / "softphone.js",
    "phone.js": HERE / "phone.js",
    "phone.css": HERE / "phone.css",
}
_env = Environment(loader=FileSystemLoader(HERE), autoescape=select_autoescape(default=True),
                   trim_blocks=True, lstrip_blocks=True)


def page_config(settings: Settings) -> dict[str, object]:
    return {"server": settings.console_sip_ws, "user": USER, "password": "",
            "domain": settings.console_sip_domain, "displayName": "网页电话",
            "audioElement": "phone-audio", "autoAnswer": False, "iceServers": [],
            "register": False, "target": "96010"}


def headers(sip_ws: str | None) -> dict[str, str]:
    connect = "'self'" + (f" {sip_ws}" if sip_ws else "")
    return {
        "Content-Security-Policy": (
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
            f"connect-src {connect}; media-src 'self' blob:; base-uri 'none'; "
            "form-action 'none'; frame-ancestors 'none'"),
        "Permissions-Policy": "microphone=(self), camera=(), geolocation=()",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-cache",
    }


def install(app: FastAPI, settings: Settings) -> None:
    """Add ``/phone`` and its files when the setting is on; nothing otherwise (404)."""
    if not settings.phone_page:
        return
    html = _env.get_template("phone.html").render(config=page_config(settings))
    fixed = headers(settings.console_sip_ws)

    @app.get("/phone", include_in_schema=False)
    async def phone() -> Response:
        return HTMLResponse(html, headers=fixed)

    @app.get("/phone/static/{name}", include_in_schema=False)
    async def phone_file(name: str) -> Response:
        path = FILES.get(name)
        if path is None or not path.is_file():
            return error_response(404, "not found")
        kind = "text/css" if name.endswith(".css") else "text/javascript"
        return FileResponse(path, media_type=kind, headers=fixed)
