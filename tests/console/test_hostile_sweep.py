"""Every ``/console`` route with hostile values (hypothesis), anonymous and logged in, on
SQLite and PostgreSQL (which refuses NUL in text): never a 5xx, and every answer carries the
console's Content-Security-Policy. ``tests/hotline/test_hostile_sweep.py`` sweeps the API and
the channels; the console's routes are not in the OpenAPI document, so they are swept here.
The board stream (``GET /console/events``) is swept anonymously only (logged in it never
ends)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from console.people import Role
from tests.console.conftest import PASSWORD
from tests.console.web import HTML, csrf_of, gateway, log_in
from tickets.store import Store

pytestmark = pytest.mark.slow

GETS = ["/console/", "/console/login", "/console/inbox", "/console/tickets/new",
        "/console/tickets/{x}", "/console/media/{x}", "/console/static/{x}",
        "/console/supervision", "/console/board.json", "/console/softphone.json",
        "/console/{x}"]
POSTS = ["/console/login", "/console/logout", "/console/tickets/new", "/console/tickets/{x}",
         "/console/calls/{x}/takeover", "/console/queue/{x}",
         "/console/supervision/members/{x}/pause", "/console/supervision/members/alice/{x}"]
QUERY_KEYS = ["q", "after", "channel", "kind", "status", "street", "received_from",
              "received_to", "next", "done"]
FORM_KEYS = ["csrf", "login", "password", "next", "ref", "phone", "name", "kind", "text",
             "address", "note", "seq", "street", "community", "grid", "category", "reason"]

NASTY_VALUES = ["\x00", "a\x00b", "%00", "../../etc/passwd", "//evil.example", "\\evil",
                "<script>alert(1)</script>", "9" * 400, "-1", "0", "é" * 70, "\u202e",
                "2026-13-45", "{}", "\x7f" * 3, " " * 300]
NASTY_PATHS = ["%00", "..%2F..%2Fetc%2Fpasswd", "%2E%2E", "%2F%2Fevil.example", "%5C%5Cevil",
               "a%00.js", "board.js%00", "9" * 400, "-1", "%FF%FE", "console.css",
               "vendor%2Fjssip.min.js", "0" * 64 + ".wav", "0" * 64 + ".wav%00"]
hostile = st.one_of(st.text(max_size=40), st.sampled_from(NASTY_VALUES))
path_value = st.one_of(st.text(min_size=1, max_size=40).map(lambda v: quote(v, safe="")),
                       st.sampled_from(NASTY_PATHS))


@pytest.fixture
def clients(tmp_path: Path, store: Store) -> Iterator[tuple[TestClient, TestClient, str]]:
    app = gateway(tmp_path, store)
    app.state.console.people.add("alice", "张三", Role.operator, PASSWORD)
    with TestClient(app, raise_server_exceptions=False) as anonymous, \
            TestClient(app, raise_server_exceptions=False) as alice:
        assert log_in(alice).status_code == 303
        token = csrf_of(alice.get("/console/tickets/new", headers=HTML).text)
        yield anonymous, alice, token


def check(answer: object, what: str) -> None:
    status = answer.status_code  # type: ignore[attr-defined]
    headers = answer.headers  # type: ignore[attr-defined]
    assert status < 500, f"{what}: {status} {answer.text[:300]}"  # type: ignore[attr-defined]
    assert headers.get("content-security-policy", "").startswith("default-src 'none'"), what


SWEEP = settings(max_examples=60, deadline=None, derandomize=True,
                 suppress_health_check=[HealthCheck.function_scoped_fixture,
                                        HealthCheck.too_slow])


@SWEEP
@given(route=st.sampled_from(GETS), x=path_value,
       query=st.dictionaries(st.sampled_from(QUERY_KEYS), hostile, max_size=4),
       logged_in=st.booleans(), html=st.booleans(), last_id=st.none() | hostile)
def test_gets(clients: tuple[TestClient, TestClient, str], route: str, x: str,
              query: dict[str, str], logged_in: bool, html: bool, last_id: str | None) -> None:
    anonymous, alice, _ = clients
    client = alice if logged_in else anonymous
    headers = {**(HTML if html else {})}
    if last_id is not None:
        headers["last-event-id"] = quote(last_id, safe="-")
    path = route.replace("{x}", x)
    answer = client.get(path, params=query, headers=headers, follow_redirects=False)
    check(answer, f"GET {path} {query} logged_in={logged_in}")


@SWEEP
@given(route=st.sampled_from(POSTS), x=path_value,
       form=st.dictionaries(st.sampled_from(FORM_KEYS), hostile, max_size=8),
       logged_in=st.booleans(), good_token=st.booleans(), as_json=st.booleans())
def test_posts(clients: tuple[TestClient, TestClient, str], route: str, x: str,
               form: dict[str, str], logged_in: bool, good_token: bool, as_json: bool) -> None:
    anonymous, alice, token = clients
    client = alice if logged_in else anonymous
    path = route.replace("{x}", x)
    if path == "/console/logout" and logged_in and good_token:
        return  # it would end the sweep's session
    if path == "/console/login" and good_token:  # the login form's own (pre-session) token
        client = anonymous
        token = csrf_of(client.get("/console/login", headers=HTML).text)
    if good_token:
        form = {**form, "csrf": token}
    headers = {"x-csrf-token": token} if good_token and as_json else {}
    if as_json:
        answer = client.post(path, json=form, headers=headers, follow_redirects=False)
    else:
        answer = client.post(path, data=form, headers=HTML, follow_redirects=False)
    check(answer, f"POST {path} {form} logged_in={logged_in} json={as_json}")


def test_every_route_with_every_nasty_name(clients: tuple[TestClient, TestClient, str]
                                           ) -> None:
    """The sweep's fixed part: each route, each nasty path segment, each client."""
    anonymous, alice, token = clients
    for client in (anonymous, alice):
        for value in NASTY_PATHS:
            for route in GETS:
                path = route.replace("{x}", value)
                for headers in ({}, HTML):
                    check(client.get(path, headers=headers, follow_redirects=False),
                          f"GET {path}")
            for route in POSTS:
                path = route.replace("{x}", value)
                if path != "/console/logout":
                    check(client.post(path, headers={"x-csrf-token": token}, json={}),
                          f"POST {path}")


def test_the_login_form_with_nasty_values(clients: tuple[TestClient, TestClient, str]) -> None:
    anonymous, _, _ = clients
    for value in NASTY_VALUES:
        token = csrf_of(anonymous.get("/console/login", headers=HTML).text)
        for form in ({"login": value, "password": "x"}, {"login": "alice", "password": value},
                     {"login": value, "password": value, "next": value}):
            check(anonymous.post("/console/login", headers=HTML, follow_redirects=False,
                                 data={**form, "csrf": token}), f"POST /console/login {form}")


def test_the_board_stream_refuses_strangers(clients: tuple[TestClient, TestClient, str]
                                            ) -> None:
    anonymous, _, _ = clients
    for headers in ({}, HTML, {"last-event-id": "\x7f" * 300}):
        answer = anonymous.get("/console/events", headers=headers, follow_redirects=False)
        assert answer.status_code in (303, 401)
        check(answer, f"GET /console/events {headers}")


def test_every_route_as_a_supervisor_with_every_nasty_name_and_value(
        tmp_path: Path, store: Store) -> None:
    """A supervisor reaches the supervision actions (an operator is refused before the
    database is asked): NUL in a login of ``/console/supervision/members/{login}/pause`` was a
    500 on PostgreSQL. Every route, each nasty path segment, each nasty form value."""
    app = gateway(tmp_path, store)
    app.state.console.people.add("boss", "李四", Role.supervisor, PASSWORD)
    with TestClient(app, raise_server_exceptions=False) as boss:
        assert log_in(boss, "boss").status_code == 303
        token = csrf_of(boss.get("/console/tickets/new", headers=HTML).text)
        for value in NASTY_PATHS:
            for route in GETS:
                path = route.replace("{x}", value)
                check(boss.get(path, headers=HTML, follow_redirects=False), f"GET {path}")
            for route in POSTS:
                path = route.replace("{x}", value)
                if path in ("/console/logout", "/console/login"):
                    continue
                check(boss.post(path, headers=HTML, data={"csrf": token},
                                follow_redirects=False), f"POST {path}")
        for value in NASTY_VALUES:
            form = {key: value for key in FORM_KEYS if key != "csrf"}
            for route in POSTS:
                path = route.replace("{x}", "alice")
                if path in ("/console/logout", "/console/login"):
                    continue
                answer = boss.post(path, headers=HTML, data={**form, "csrf": token},
                                   follow_redirects=False)
                check(answer, f"POST {path} {value!r}")
            for route in GETS:
                path = route.replace("{x}", quote(value, safe=""))
                check(boss.get(path, params={k: value for k in QUERY_KEYS}, headers=HTML,
                               follow_redirects=False), f"GET {path} {value!r}")
