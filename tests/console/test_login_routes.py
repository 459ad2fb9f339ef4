"""Logging in and out of the console through the gateway app: the form, its CSRF token, the
session cookie's flags (also behind an HTTPS reverse proxy), wrong passwords, the lockout,
session expiry, disabled people, and the console switched off."""

from __future__ import annotations

from datetime import timedelta
from http.cookies import SimpleCookie
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select, update
from starlette.testclient import TestClient
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from console.people import People, Person, Role
from console.sessions import COOKIE
from console.tables import console_sessions, login_failures
from hotline.app import create_app
from hotline.settings import Settings
from tests.console.conftest import PASSWORD, Clock
from tests.console.web import HTML, csrf_of, gateway, log_in
from tickets.store import Store


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def app_store(sqlite_store: Store) -> Store:
    return sqlite_store


@pytest.fixture
def client(tmp_path: Path, app_store: Store, clock: Clock) -> TestClient:
    app = gateway(tmp_path, app_store, clock)
    with TestClient(app) as c:
        yield c  # type: ignore[misc]


@pytest.fixture
def people(client: TestClient) -> People:
    store: People = client.app.state.console.people  # type: ignore[attr-defined]
    return store


@pytest.fixture
def alice(people: People) -> Person:
    return people.add("alice", "张三", Role.operator, PASSWORD)


def set_cookies(response: httpx.Response) -> dict[str, SimpleCookie]:
    out = {}
    for header in response.headers.get_list("set-cookie"):
        cookie: SimpleCookie = SimpleCookie()
        cookie.load(header)
        for name in cookie:
            out[name] = cookie
    return out


def failures(store: Store) -> int:
    with store.db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(login_failures)).scalar_one())


def test_the_login_page(client: TestClient) -> None:
    page = client.get("/console/login", headers=HTML)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "坐席台登录" in page.text and 'autocomplete="current-password"' in page.text
    assert "connect-src 'self' wss://console.example/ws" in page.headers["content-security-policy"]
    assert page.headers["cache-control"] == "no-store"
    assert csrf_of(page.text)
    nonce = set_cookies(page)["hotline_console_login"]["hotline_console_login"]
    assert nonce["httponly"] and nonce["samesite"].lower() == "strict"
    assert nonce["path"] == "/console/login" and not nonce["secure"]
    assert "<script" not in page.text


def test_logging_in_sets_a_strict_session_cookie_and_goes_on(client: TestClient,
                                                             alice: Person) -> None:
    done = log_in(client, next_path="/console/inbox?page=2")
    assert done.status_code == 303
    assert done.headers["location"] == "/console/inbox?page=2"
    morsel = set_cookies(done)[COOKIE][COOKIE]
    assert morsel["httponly"] and morsel["samesite"].lower() == "strict"
    assert morsel["path"] == "/console" and not morsel["secure"]
    assert not morsel["expires"] and not morsel["max-age"]  # dies with the browser
    again = client.get("/console/login", headers=HTML, follow_redirects=False)
    assert again.status_code == 303 and again.headers["location"] == "/console/"


def test_the_cookie_is_secure_over_https(tmp_path: Path, sqlite_store: Store) -> None:
    app = gateway(tmp_path, sqlite_store)
    app.state.console.people.add("alice", "张三", Role.operator, PASSWORD)
    with TestClient(app, base_url="https://testserver") as client:
        done = log_in(client)
    assert set_cookies(done)[COOKIE][COOKIE]["secure"]
    assert done.headers["strict-transport-security"] == "max-age=31536000"


def test_the_cookie_is_secure_behind_a_trusted_https_proxy(tmp_path: Path,
                                                           sqlite_store: Store) -> None:
    """`hotline serve` runs uvicorn with proxy_headers and HOTLINE_FORWARDED_ALLOW_IPS: the
    same middleware here, the test client as the trusted proxy."""
    app = gateway(tmp_path, sqlite_store)
    app.state.console.people.add("alice", "张三", Role.operator, PASSWORD)
    proxied = ProxyHeadersMiddleware(app, trusted_hosts="testclient")
    forwarded = {**HTML, "x-forwarded-proto": "https", "x-forwarded-for": "203.0.113.7"}
    with TestClient(proxied) as client:
        page = client.get("/console/login", headers=forwarded)
        nonce = set_cookies(page)["hotline_console_login"]["hotline_console_login"]
        assert nonce["secure"]
        # the client talks plain HTTP to the "proxy", so it would not send a Secure cookie
        client.cookies.clear()
        done = client.post("/console/login", follow_redirects=False,
                           headers={**forwarded, "cookie": f"hotline_console_login={nonce.value}"},
                           data={"login": "alice", "password": PASSWORD,
                                 "csrf": csrf_of(page.text)})
    assert done.status_code == 303
    assert set_cookies(done)[COOKIE][COOKIE]["secure"]
    with sqlite_store.db.read() as conn:
        assert conn.execute(select(console_sessions.c.client)).scalar_one() == "203.0.113.7"


def test_an_untrusted_forwarded_proto_is_ignored(tmp_path: Path, sqlite_store: Store) -> None:
    app = gateway(tmp_path, sqlite_store)
    app.state.console.people.add("alice", "张三", Role.operator, PASSWORD)
    proxied = ProxyHeadersMiddleware(app, trusted_hosts="192.0.2.1")
    with TestClient(proxied) as client:
        page = client.get("/console/login", headers={**HTML, "x-forwarded-proto": "https"})
    assert not set_cookies(page)["hotline_console_login"]["hotline_console_login"]["secure"]


def test_wrong_and_unknown_get_the_same_page(client: TestClient, alice: Person) -> None:
    wrong = log_in(client, password="not the password")
    unknown = log_in(client, login="ghost", password=PASSWORD)
    for answer in (wrong, unknown):
        assert answer.status_code == 401
        assert "登录名或密码不正确" in answer.text
        assert COOKIE not in set_cookies(answer)
    assert wrong.text.replace("alice", "ghost").count("登录名或密码不正确") == \
        unknown.text.count("登录名或密码不正确")


def test_the_typed_name_is_kept_escaped(client: TestClient) -> None:
    answer = log_in(client, login='"><script>alert(1)</script>', password="x" * 12)
    assert answer.status_code == 401
    assert "<script>alert(1)" not in answer.text
    assert "&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in answer.text


def test_repeated_failures_lock_the_login(client: TestClient, alice: Person,
                                          clock: Clock) -> None:
    for _ in range(5):
        assert log_in(client, password="not the password").status_code == 401
    locked = log_in(client)
    assert locked.status_code == 429
    assert "已暂时锁定" in locked.text and "15 分钟" in locked.text
    clock.advance(minutes=15)
    assert log_in(client).status_code == 303


def test_a_login_form_without_its_token_is_refused(client: TestClient, alice: Person,
                                                   app_store: Store) -> None:
    client.get("/console/login", headers=HTML)
    for token in ("", "forged-token"):
        refused = client.post("/console/login", headers=HTML, follow_redirects=False,
                              data={"login": "alice", "password": PASSWORD, "csrf": token})
        assert refused.status_code == 403
        assert "登录页面已过期" in refused.text
    client.cookies.clear()
    page = client.get("/console/login", headers=HTML)
    client.cookies.clear()  # the token without its cookie: another site's form
    refused = client.post("/console/login", headers=HTML, follow_redirects=False,
                          data={"login": "alice", "password": PASSWORD,
                                "csrf": csrf_of(page.text)})
    assert refused.status_code == 403
    assert failures(app_store) == 0  # never counted as password guesses


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/console",
                                    "/report", "/console\\@evil", "javascript:alert(1)"])
def test_next_never_leaves_the_console(client: TestClient, alice: Person, target: str) -> None:
    done = log_in(client, next_path=target)
    assert done.headers["location"] == "/console/"


def test_logout_ends_the_session_on_the_server(client: TestClient, alice: Person,
                                               app_store: Store) -> None:
    log_in(client)
    cookie = client.cookies.get(COOKIE)
    live = client.get("/console/login", headers=HTML, follow_redirects=False)
    assert live.status_code == 303  # logged in: the login page sends the browser on
    refused = client.post("/console/logout", headers=HTML, data={"csrf": "wrong"},
                          follow_redirects=False)
    assert refused.status_code == 403
    with app_store.db.read() as conn:
        token = conn.execute(select(console_sessions.c.token_hash)).scalar_one()
    assert token
    csrf = client.app.state.console.sessions.find(  # type: ignore[attr-defined]
        client.app.state.console.sessions.token_of(cookie)).csrf_token  # type: ignore[attr-defined]
    out = client.post("/console/logout", headers=HTML, data={"csrf": csrf},
                      follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/console/login"
    assert set_cookies(out)[COOKIE][COOKIE]["max-age"] == "0"
    with app_store.db.read() as conn:
        assert conn.execute(select(func.count()).select_from(console_sessions)).scalar_one() == 0
    client.cookies.set(COOKIE, cookie, path="/console")  # the old cookie, replayed
    assert client.get("/console/login", headers=HTML,
                      follow_redirects=False).status_code == 200


def test_logging_in_again_replaces_the_session(client: TestClient, alice: Person,
                                               app_store: Store) -> None:
    log_in(client)
    first = client.cookies.get(COOKIE)
    client.cookies.delete(COOKIE)
    client.cookies.set(COOKIE, first, path="/console")
    page = client.get("/console/login", headers=HTML, follow_redirects=False)
    assert page.status_code == 303  # still logged in
    with app_store.db.read() as conn:
        assert conn.execute(select(func.count()).select_from(console_sessions)).scalar_one() == 1


def test_an_idle_session_sends_the_browser_back_to_login(client: TestClient, alice: Person,
                                                         app_store: Store) -> None:
    log_in(client)
    with app_store.db.write() as conn:
        seen = conn.execute(select(console_sessions.c.last_seen_at)).scalar_one()
        conn.execute(update(console_sessions).values(last_seen_at=seen - timedelta(hours=3)))
    page = client.get("/console/login", headers=HTML, follow_redirects=False)
    assert page.status_code == 200  # the session is over: the form again
    with app_store.db.read() as conn:
        assert conn.execute(select(func.count()).select_from(console_sessions)).scalar_one() == 0


def test_a_disabled_person_is_logged_out(client: TestClient, alice: Person,
                                         people: People) -> None:
    log_in(client)
    assert client.get("/console/login", headers=HTML,
                      follow_redirects=False).status_code == 303
    people.disable("alice")
    assert client.get("/console/login", headers=HTML,
                      follow_redirects=False).status_code == 200
    assert log_in(client).status_code == 401


def test_the_real_settings_path(tmp_path: Path, sqlite_store: Store) -> None:
    """create_app from settings alone (default argon2 parameters, real clock)."""
    app = create_app(Settings(_env_file=None, data_dir=tmp_path,
                              console_secret="9f2c41d87be35a0e6c14f7d29a58b30e"),
                     store=sqlite_store, redis_url="")
    app.state.console.people.add("alice", "张三", Role.operator, PASSWORD)
    with TestClient(app) as client:
        assert log_in(client).status_code == 303
        assert client.get("/console/login", headers=HTML,
                          follow_redirects=False).status_code == 303  # logged in


def test_without_a_secret_the_console_is_off(tmp_path: Path, sqlite_store: Store) -> None:
    app = create_app(Settings(_env_file=None, env="development", data_dir=tmp_path),
                     store=sqlite_store, redis_url="")
    with TestClient(app) as client:
        api = client.get("/console/login")
        page = client.get("/console/login", headers=HTML)
        static = client.get("/console/static/console.css")
        assert client.get("/healthz").status_code == 200
    assert api.status_code == 503
    assert api.json()["error"] == {"code": "console_disabled",
                                   "message": "console disabled: set HOTLINE_CONSOLE_SECRET"}
    assert page.status_code == 503 and "HOTLINE_CONSOLE_SECRET" in page.text
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert static.status_code == 503
