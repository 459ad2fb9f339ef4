"""The console attacked (regressions of a hostile review): names the OS or PostgreSQL refuse,
an unexpected error's headers, the session cookie behind a TLS proxy, board streams that
outlive their session or come in bulk."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import APIRouter, FastAPI
from sqlalchemy import func, select
from starlette.testclient import TestClient

from console.board import Board
from console.live import Hub
from console.lockout import utc
from console.people import Person, Role
from console.sessions import COOKIE
from console.tables import console_sessions
from tests.console.conftest import PASSWORD, Clock
from tests.console.web import HTML, csrf_of, gateway, log_in
from tests.support.services import free_port, wait_until
from tickets.store import Store

STRICT_CSP = "default-src 'none'"


def set_cookies(response: httpx.Response) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for header in response.headers.get_list("set-cookie"):
        cookie: SimpleCookie = SimpleCookie()
        cookie.load(header)
        out.update({name: cookie[name] for name in cookie})
    return out


def with_alice(app: FastAPI) -> Person:
    person: Person = app.state.console.people.add("alice", "张三", Role.operator, PASSWORD)
    return person


# -- hostile names ---------------------------------------------------------------------------

def test_a_nul_in_a_static_name_is_refused(tmp_path: Path, sqlite_store: Store) -> None:
    """Anonymous: ``/console/static/%00.js`` was a 500 ("embedded null byte"); the request
    boundary now refuses any NUL (400 ``nul_character``), with the console's headers."""
    with TestClient(gateway(tmp_path, sqlite_store), raise_server_exceptions=False) as client:
        for path in ("/console/static/%00.js", "/console/static/board.js%00",
                     "/console/static/vendor/%00/x.css"):
            answer = client.get(path)
            assert answer.status_code == 400, path
            assert answer.json()["error"]["code"] == "nul_character"
            assert answer.headers["content-security-policy"].startswith(STRICT_CSP)


def test_a_nul_in_the_login_name_is_refused(tmp_path: Path, store: Store) -> None:
    """Anonymous: a NUL in the typed name reached the lockout table, which PostgreSQL refuses
    (a 500); now the request boundary refuses it (400 ``nul_character``) before any lookup,
    and the real login still works afterwards."""
    app = gateway(tmp_path, store)
    with_alice(app)
    with TestClient(app, raise_server_exceptions=False) as client:
        for name in ("alice\x00", "\x00", "a\x00" * 40):
            answer = log_in(client, login=name)
            assert answer.status_code == 400, (name, answer.text[:200])
            assert answer.json()["error"]["code"] == "nul_character"
        assert log_in(client).status_code == 303


def test_an_unexpected_error_still_carries_the_security_headers(tmp_path: Path,
                                                                sqlite_store: Store) -> None:
    """A console route that fails unexpectedly is answered by Starlette's outermost error
    middleware, which the console's headers did not reach."""
    app = gateway(tmp_path, sqlite_store)
    broken = APIRouter()

    @broken.get("/console/broken")
    async def fails() -> None:
        raise RuntimeError("boom")

    app.include_router(broken)
    with TestClient(app, raise_server_exceptions=False) as client:
        answer = client.get("/console/broken")
    assert answer.status_code == 500
    assert answer.json()["error"]["code"] == "internal_error"
    assert "boom" not in answer.text
    assert answer.headers["content-security-policy"].startswith(STRICT_CSP)
    assert answer.headers["x-frame-options"] == "DENY"
    assert answer.headers["cache-control"] == "no-store"


# -- the cookie behind a TLS proxy -----------------------------------------------------------

def test_cookies_are_secure_when_the_public_url_is_https(tmp_path: Path,
                                                        sqlite_store: Store) -> None:
    """A TLS proxy that talks plain HTTP to the gateway and is not in
    HOTLINE_FORWARDED_ALLOW_IPS: the request looks like http, the console is https."""
    app = gateway(tmp_path, sqlite_store, public_url="https://hotline.example.gov.cn")
    with_alice(app)
    with TestClient(app) as client:
        page = client.get("/console/login", headers=HTML)
        nonce = set_cookies(page)["hotline_console_login"]
        assert nonce["secure"]
        client.cookies.clear()  # plain-HTTP client: it would not send a Secure cookie back
        done = client.post("/console/login", follow_redirects=False,
                           headers={**HTML, "cookie": f"hotline_console_login={nonce.value}"},
                           data={"login": "alice", "password": PASSWORD,
                                 "csrf": csrf_of(page.text)})
        assert done.status_code == 303
        cookies = set_cookies(done)
        assert cookies[COOKIE]["secure"] and cookies[COOKIE]["httponly"]
        assert cookies["hotline_console_login"]["secure"]  # the nonce's deletion


def test_cookies_stay_plain_for_a_plain_http_console(tmp_path: Path,
                                                    sqlite_store: Store) -> None:
    app = gateway(tmp_path, sqlite_store, public_url="http://127.0.0.1:8096")
    with_alice(app)
    with TestClient(app) as client:
        assert not set_cookies(log_in(client))[COOKIE]["secure"]


# -- board streams ---------------------------------------------------------------------------

@pytest.fixture
def served(tmp_path: Path, sqlite_store: Store) -> Iterator[tuple[str, FastAPI]]:
    """The gateway on uvicorn (a stream never ends by itself: the test client would wait)."""
    app = gateway(tmp_path, sqlite_store, Clock())
    with_alice(app)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                           log_level="warning", ws="none", lifespan="on"))
    thread = threading.Thread(target=server.run, name="uvicorn-console", daemon=True)
    thread.start()
    wait_until(lambda: server.started)
    app.state.console_live.hub.heartbeat = 0.2  # streams ask about their session this often
    yield f"http://127.0.0.1:{port}", app
    server.should_exit = True
    thread.join(10)


@contextmanager
def logged_in(base: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base, timeout=10) as client:
        page = client.get("/console/login", headers=HTML)
        done = client.post("/console/login", headers=HTML, data={
            "login": "alice", "password": PASSWORD, "csrf": csrf_of(page.text)})
        assert done.status_code == 303, done.text[:300]
        yield client


def stream_ends(client: httpx.Client, end: Any, within: float = 5.0) -> bool:
    """Open the board stream, call ``end()``, and tell whether the stream ends by itself."""
    with client.stream("GET", "/console/events",
                       timeout=httpx.Timeout(10, read=within)) as response:
        assert response.status_code == 200
        lines = response.iter_lines()
        assert next(lines).startswith("retry:")
        end()
        deadline = time.monotonic() + within
        try:
            for _ in lines:
                if time.monotonic() > deadline:
                    return False
        except httpx.ReadTimeout:
            return False
        return True


def test_a_board_stream_ends_at_logout(served: tuple[str, FastAPI]) -> None:
    base, _ = served
    with logged_in(base) as client:
        token = csrf_of(client.get("/console/tickets/new", headers=HTML).text)

        def log_out() -> None:
            assert client.post("/console/logout", data={"csrf": token}).status_code == 303

        assert stream_ends(client, log_out)
        assert client.get("/console/events").status_code == 401


def test_a_board_stream_ends_when_its_person_is_disabled(served: tuple[str, FastAPI]) -> None:
    base, app = served
    with logged_in(base) as client:
        assert stream_ends(client, lambda: app.state.console.people.disable("alice"))


def test_an_open_board_keeps_its_session_until_the_absolute_limit(
        served: tuple[str, FastAPI]) -> None:
    base, app = served
    clock: Clock = app.state.console.sessions.clock

    def last_seen() -> datetime:
        sessions = app.state.console.sessions
        with sessions.db.read() as conn:
            return utc(conn.execute(select(func.max(console_sessions.c.last_seen_at)))
                       .scalar_one())

    def waiting_for_calls() -> None:
        for _ in range(3):  # 300 minutes, past the 120-minute idle limit, the board open
            clock.advance(minutes=100)
            # the stream asks about its session every 0.2 s here, which touches it
            wait_until(lambda: last_seen() == clock.now, timeout=10)

    with logged_in(base) as client:
        assert not stream_ends(client, waiting_for_calls, within=1.0)
        assert stream_ends(client, lambda: clock.advance(hours=13))  # past the 12 hours


def test_a_person_has_a_bounded_number_of_streams() -> None:
    async def scenario() -> None:
        hub = Hub(Board(), None, pages_per_person=3)
        pages = [hub.attach(1, None)[0] for _ in range(5)]
        other, _ = hub.attach(2, None)
        assert [p.dropped for p in pages] == [True, True, False, False, False]
        assert pages[0].queue.get_nowait() is None  # the oldest streams end
        assert not other.dropped and len(hub.pages) == 4

    asyncio.run(scenario())
