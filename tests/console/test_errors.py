"""Where the console sends people after login, and how it refuses."""

from __future__ import annotations

import pytest
from starlette.requests import Request

from console.errors import ConsoleDisabled, login_url, safe_next, wants_html


@pytest.mark.parametrize(("given", "expected"), [
    ("/console/inbox?page=2", "/console/inbox?page=2"),
    ("/console", "/console"),
    (None, "/console/"),
    ("", "/console/"),
    ("https://evil.example/console", "/console/"),
    ("//evil.example", "/console/"),
    ("/report", "/console/"),
    ("/console\\..\\x", "/console/"),
    ("/console/\r\nSet-Cookie: x", "/console/"),
])
def test_safe_next(given: str | None, expected: str) -> None:
    assert safe_next(given) == expected


def test_login_url_quotes_the_way_back() -> None:
    assert login_url("/console/inbox?q=a b&x=1") == \
        "/console/login?next=/console/inbox%3Fq%3Da%20b%26x%3D1"
    assert login_url("https://evil.example") == "/console/login?next=/console/"


def test_wants_html() -> None:
    def request(accept: str) -> Request:
        return Request({"type": "http", "headers": [(b"accept", accept.encode())]})

    assert wants_html(request("text/html,application/xhtml+xml,*/*;q=0.8"))
    assert not wants_html(request("application/json"))
    assert not wants_html(request("text/event-stream"))
    assert not wants_html(request("*/*"))


def test_disabled_names_the_setting() -> None:
    refusal = ConsoleDisabled()
    assert refusal.status == 503 and "HOTLINE_CONSOLE_SECRET" in refusal.message
