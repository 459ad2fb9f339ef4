"""The console's security headers: the CSP (known answer), on every /console response and
nowhere else, caching, HSTS over HTTPS."""

from __future__ import annotations

from fastapi import FastAPI
from starlette.responses import PlainTextResponse
from starlette.testclient import TestClient

from console.security import ConsoleSecurityHeaders, content_security_policy, is_console


def test_csp_known_answer() -> None:
    assert content_security_policy() == (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob:; "
        "media-src 'self' blob:; font-src 'self'; connect-src 'self'; form-action 'self'; "
        "base-uri 'none'; frame-ancestors 'none'")
    assert "connect-src 'self' wss://pbx.example/ws;" in content_security_policy(
        "wss://pbx.example/ws")
    assert "unsafe" not in content_security_policy("wss://pbx.example/ws")


def test_is_console() -> None:
    assert is_console("/console") and is_console("/console/") and is_console("/console/x")
    assert not is_console("/consoles") and not is_console("/report") and not is_console("/")


def app() -> FastAPI:
    application = FastAPI()

    @application.get("/console/page")
    async def page() -> PlainTextResponse:
        return PlainTextResponse("ok")

    @application.get("/console/static/x.css")
    async def static() -> PlainTextResponse:
        return PlainTextResponse("body{}", headers={"Cache-Control": "no-cache"})

    @application.get("/console/cached")
    async def cached() -> PlainTextResponse:
        return PlainTextResponse("ok", headers={"Cache-Control": "private, max-age=5"})

    @application.get("/elsewhere")
    async def elsewhere() -> PlainTextResponse:
        return PlainTextResponse("ok")

    application.add_middleware(ConsoleSecurityHeaders, sip_ws="wss://pbx.example/ws")
    return application


def test_headers_on_console_responses_only() -> None:
    with TestClient(app()) as client:
        page = client.get("/console/page")
        missing = client.get("/console/nothing")
        elsewhere = client.get("/elsewhere")
        static = client.get("/console/static/x.css")
        cached = client.get("/console/cached")
    for response in (page, missing, static, cached):
        assert response.headers["content-security-policy"] == content_security_policy(
            "wss://pbx.example/ws")
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["referrer-policy"] == "no-referrer"
        assert "microphone=(self)" in response.headers["permissions-policy"]
        assert "strict-transport-security" not in response.headers
    assert missing.status_code == 404
    assert page.headers["cache-control"] == "no-store"
    assert missing.headers["cache-control"] == "no-store"
    assert static.headers["cache-control"] == "no-cache"
    assert cached.headers["cache-control"] == "private, max-age=5"
    assert "content-security-policy" not in elsewhere.headers


def test_hsts_over_https() -> None:
    with TestClient(app(), base_url="https://testserver") as client:
        assert client.get("/console/page").headers["strict-transport-security"] == \
            "max-age=31536000"
        assert "strict-transport-security" not in client.get("/elsewhere").headers
