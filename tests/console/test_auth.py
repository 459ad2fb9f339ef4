"""The guards other console routes use (page_person, api_person, supervisor, csrf_checked) and
templating.render, on a probe router assembled by build_console_router and mounted like the
gateway mounts the console."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

import pytest
from fastapi import APIRouter, Depends, FastAPI, Form
from starlette.requests import Request
from starlette.responses import Response
from starlette.testclient import TestClient

from console.auth import ApiPerson, PagePerson, Supervisor, csrf_checked
from console.config import ConsoleConfig
from console.people import Role
from console.routes import build_console_router, mount
from console.state import Console
from console.templating import render
from tests.console.conftest import PASSWORD, SECRET, Clock
from tests.console.web import HTML, csrf_of, log_in, with_clock
from tickets import httperrors
from tickets.store import Store

probe = APIRouter()


@probe.get("/console/probe/page")
async def a_page(request: Request, person: PagePerson) -> Response:
    return render(request, "error.html", status=200, message=f"你好 {person.display_name}")


@probe.get("/console/probe/api")
async def an_api(person: ApiPerson) -> dict[str, str]:
    return {"login": person.login}


@probe.get("/console/probe/supervision")
async def supervision(request: Request, person: Supervisor) -> Response:
    return render(request, "error.html", status=200, message="班长页面")


@probe.post("/console/probe/save", dependencies=[Depends(csrf_checked)])
async def save(person: ApiPerson, text: Annotated[str, Form()] = "") -> dict[str, str]:
    return {"saved": text, "by": person.login}


@probe.post("/console/probe/json", dependencies=[Depends(csrf_checked)])
async def save_json(person: ApiPerson, body: dict[str, str]) -> dict[str, str]:
    return body


@pytest.fixture
def client(sqlite_store: Store) -> Iterator[TestClient]:
    app = FastAPI()
    httperrors.install(app)
    console: Console = with_clock(ConsoleConfig(secret=SECRET), sqlite_store, Clock())
    mount(app, console, build_console_router(extra=[probe]))
    console.people.add("alice", "张三", Role.operator, PASSWORD)
    console.people.add("boss", "李班长", Role.supervisor, PASSWORD)
    with TestClient(app) as c:
        yield c


def test_a_page_redirects_to_login_and_back(client: TestClient) -> None:
    away = client.get("/console/probe/page?x=1&y=2", headers=HTML, follow_redirects=False)
    assert away.status_code == 303
    assert away.headers["location"] == "/console/login?next=/console/probe/page%3Fx%3D1%26y%3D2"
    form = client.get(away.headers["location"], headers=HTML)
    assert 'name="next" value="/console/probe/page?x=1&amp;y=2"' in form.text
    done = client.post("/console/login", headers=HTML, follow_redirects=False,
                       data={"login": "alice", "password": PASSWORD, "csrf": csrf_of(form.text),
                             "next": "/console/probe/page?x=1&y=2"})
    assert done.headers["location"] == "/console/probe/page?x=1&y=2"
    page = client.get("/console/probe/page", headers=HTML)
    assert page.status_code == 200 and "你好 张三" in page.text


def test_a_script_gets_401_json(client: TestClient) -> None:
    answer = client.get("/console/probe/api")
    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "login_required"
    assert "default-src 'none'" in answer.headers["content-security-policy"]
    log_in(client)
    assert client.get("/console/probe/api").json() == {"login": "alice"}


def test_the_layout_shows_the_person_and_their_navigation(client: TestClient) -> None:
    log_in(client)
    page = client.get("/console/probe/page", headers=HTML).text
    for label, href in (("看板", "/console/"), ("收件箱", "/console/inbox"),
                        ("新建工单", "/console/tickets/new")):
        assert f'<a href="{href}">{label}</a>' in page
    assert "/console/supervision" not in page
    assert "话务员" in page and 'action="/console/logout"' in page
    assert '<meta name="csrf-token"' in page
    assert '<link rel="stylesheet" href="/console/static/console.css?v=' in page


def test_only_supervisors_pass_the_supervisor_guard(client: TestClient) -> None:
    assert client.get("/console/probe/supervision", headers=HTML,
                      follow_redirects=False).status_code == 303
    assert client.get("/console/probe/supervision").status_code == 401
    log_in(client)
    refused = client.get("/console/probe/supervision", headers=HTML)
    assert refused.status_code == 403 and "只有班长" in refused.text
    assert client.get("/console/probe/supervision").json()["error"]["code"] == "forbidden"
    client.cookies.clear()
    log_in(client, "boss")
    page = client.get("/console/probe/supervision", headers=HTML)
    assert page.status_code == 200
    assert '<a href="/console/supervision">班长</a>' in page.text


def test_posts_need_the_sessions_csrf_token(client: TestClient) -> None:
    log_in(client)
    page = client.get("/console/probe/page", headers=HTML)
    token = csrf_of(page.text)
    assert client.post("/console/probe/save", data={"text": "x"}).status_code == 403
    altered = token[:-1] + ("B" if token.endswith("A") else "A")  # never the token itself
    wrong = client.post("/console/probe/save", data={"text": "x", "csrf": altered})
    assert wrong.status_code == 403 and wrong.json()["error"]["code"] == "csrf"
    # the form field, and the route still reads its own fields after the check read the form
    saved = client.post("/console/probe/save", data={"text": "路灯", "csrf": token})
    assert saved.json() == {"saved": "路灯", "by": "alice"}
    by_header = client.post("/console/probe/save", data={"text": "y"},
                            headers={"X-CSRF-Token": token})
    assert by_header.status_code == 200
    as_json = client.post("/console/probe/json", json={"a": "b"},
                          headers={"X-CSRF-Token": token})
    assert as_json.json() == {"a": "b"}
    assert client.post("/console/probe/json", json={"csrf": token}).status_code == 403


def test_another_sessions_token_is_refused(client: TestClient) -> None:
    log_in(client)
    mine = csrf_of(client.get("/console/probe/page", headers=HTML).text)
    client.cookies.clear()
    log_in(client, "boss")
    assert client.post("/console/probe/save", data={"csrf": mine}).status_code == 403


def test_a_post_without_a_session_is_401_or_a_redirect(client: TestClient) -> None:
    assert client.post("/console/probe/save", data={"csrf": "x"}).status_code == 401
    away = client.post("/console/probe/save", data={"csrf": "x"}, headers=HTML,
                       follow_redirects=False)
    assert away.status_code == 303


def test_a_disabled_console_refuses_the_parts_routes_too(sqlite_store: Store) -> None:
    app = FastAPI()
    httperrors.install(app)
    mount(app, None, build_console_router(extra=[probe]))
    with TestClient(app) as client:
        assert client.get("/console/probe/api").status_code == 503
        assert client.get("/console/probe/page", headers=HTML).status_code == 503
