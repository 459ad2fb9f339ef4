"""The assembled console: static files (types, traversal), parts' routers wired in, the
console's state on the app."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import APIRouter, FastAPI
from starlette.testclient import TestClient

from console.config import ConsoleConfig
from console.routes import build_console_router, mount
from console.state import Console
from tests.console.conftest import SECRET
from tickets import httperrors
from tickets.store import Store

part = APIRouter()


@part.get("/console/part")
async def a_part() -> dict[str, str]:
    return {"part": "here"}


@pytest.fixture
def client(sqlite_store: Store) -> Iterator[TestClient]:
    app = FastAPI()
    httperrors.install(app)
    mount(app, Console.over(sqlite_store.db, ConsoleConfig(secret=SECRET)),
          build_console_router(board=part))
    with TestClient(app) as c:
        yield c


def test_static_files(client: TestClient) -> None:
    css = client.get("/console/static/console.css?v=abc")
    assert css.status_code == 200
    assert css.headers["content-type"] == "text/css; charset=utf-8"
    assert css.headers["cache-control"] == "no-cache"
    assert "etag" in css.headers
    js = client.get("/console/static/softphone.js")
    assert js.headers["content-type"] == "text/javascript; charset=utf-8"
    assert "hotlineSoftphone" in js.text
    assert "default-src 'none'" in js.headers["content-security-policy"]
    again = client.get("/console/static/console.css",
                       headers={"if-none-match": css.headers["etag"]})
    assert again.status_code == 304


@pytest.mark.parametrize("path", ["../templating.py", "..%2Ftemplating.py", "%2e%2e/routes.py",
                                  "nothing.css", "vendor", "../templates/base.html",
                                  "/etc/passwd"])
def test_nothing_else_is_served(client: TestClient, path: str) -> None:
    answer = client.get(f"/console/static/{path}")
    assert answer.status_code == 404


def test_hidden_files_are_not_served(client: TestClient) -> None:
    from console.templating import STATIC

    hidden = STATIC / ".secret.css"
    hidden.write_text("x")
    try:
        assert client.get("/console/static/.secret.css").status_code == 404
    finally:
        hidden.unlink()


def test_parts_are_wired_in(client: TestClient) -> None:
    assert client.get("/console/part").json() == {"part": "here"}
    assert client.app.state.console is not None  # type: ignore[attr-defined]


def test_the_gateway_serves_the_console(tmp_path: Path, sqlite_store: Store) -> None:
    from hotline.app import create_app
    from hotline.settings import Settings

    app = create_app(Settings(_env_file=None, env="development", data_dir=tmp_path,
                              console_secret=SECRET), store=sqlite_store, redis_url="")
    with TestClient(app) as client:
        assert client.get("/console/login").status_code == 200
        assert client.get("/console/static/console.css").status_code == 200
        assert "/console/login" not in client.get("/openapi.json").text
