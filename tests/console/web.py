"""Helpers of the console's HTTP tests: the gateway app with the console on, a person logged
in through the real login form, the CSRF token of a page."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from starlette.testclient import TestClient

from console.config import ConsoleConfig
from console.people import People
from console.sessions import Sessions
from console.state import Console
from hotline.app import create_app
from hotline.settings import Settings
from tests.console.conftest import PASSWORD, SECRET, Clock, fast_passwords
from tickets.store import Store

HTML = {"accept": "text/html,application/xhtml+xml"}
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def gateway(tmp_path: Path, store: Store, clock: Clock | None = None,
            **settings: Any) -> FastAPI:
    """``hotline.app.create_app`` with the console on; its people use cheap argon2
    parameters and ``clock``."""
    values: dict[str, Any] = {"console_secret": SECRET,
                              "console_sip_ws": "wss://console.example/ws", **settings}
    app = create_app(Settings(_env_file=None, env="development", data_dir=tmp_path, **values),
                     store=store, redis_url="")
    console: Console = app.state.console
    app.state.console = with_clock(console.config, store, clock or Clock())
    return app


def with_clock(config: ConsoleConfig, store: Store, clock: Clock) -> Console:
    return Console(config, People(store.db, fast_passwords(), clock=clock),
                   Sessions(store.db, config, clock=clock))


def csrf_of(html: str) -> str:
    found = _CSRF.search(html)
    assert found, "no csrf field on the page"
    return found.group(1)


def log_in(client: TestClient, login: str = "alice", password: str = PASSWORD,
           next_path: str = "/console/") -> Any:
    page = client.get("/console/login", headers=HTML)
    return client.post("/console/login", headers=HTML, follow_redirects=False,
                       data={"login": login, "password": password, "csrf": csrf_of(page.text),
                             "next": next_path})
