"""The app factory: it assembles every room over the store it is given, migrates nothing, and
keeps rate limits in memory (``redis_url=""``) or in Redis, where several gateway processes
share them."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from hotline.app import create_app
from hotline.settings import Settings
from tests.support.services import RedisServer, free_port
from tickets import apikeys
from tickets.db import Database
from tickets.store import Store


def settings(tmp_path: Path, **over: Any) -> Settings:
    return Settings(_env_file=None, env="development", data_dir=tmp_path,
                    **over)


def token(store: Store, name: str) -> dict[str, str]:
    _, secret = apikeys.create(store.db, name, frozenset({apikeys.Scope.intake}))
    return {"Authorization": f"Bearer {secret}"}


def intake(client: TestClient, headers: dict[str, str], ref: str) -> int:
    response = client.post("/api/v1/intake", headers=headers,
                           json={"channel_ref": ref, "text": "路灯不亮", "kind": "help"})
    return response.status_code


def test_the_app_migrates_nothing(tmp_path: Path) -> None:
    with TestClient(create_app(settings(tmp_path), redis_url="")) as client:
        assert client.get("/healthz").json() == {"status": "ok"}
    path = tmp_path / "hotline.sqlite3"
    if path.exists():
        with sqlite3.connect(path) as conn:
            assert conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'"
                                ).fetchall() == []


def test_rate_limits_in_memory_without_redis(sqlite_store: Store, tmp_path: Path) -> None:
    app = create_app(settings(tmp_path, rate_limit_api="2/minute"), store=sqlite_store,
                     redis_url="")
    busy, other = token(sqlite_store, "busy"), token(sqlite_store, "other")
    with TestClient(app) as client:
        assert [intake(client, busy, f"b{i}") for i in range(3)] == [201, 201, 429]
        assert intake(client, other, "o1") == 201  # others are unaffected
        refused = client.post("/api/v1/intake", headers=busy,
                              json={"channel_ref": "b9", "text": "x", "kind": "help"})
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == "60"
    assert refused.json()["error"]["code"]


def release_limiter(client: TestClient) -> None:
    """Close the rate limiter's Redis connections in the app's event loop.

    Stand-in for what the app's shutdown does not do: ``RateLimiter`` (tickets/ratelimit.py)
    has no ``close()``, so its connections are left to the garbage collector (ResourceWarning)."""
    assert client.portal is not None
    app: Any = client.app
    storage = app.state.limiter._strategy.storage
    client.portal.call(storage.bridge.get_connection().aclose)


def test_gateway_processes_share_rate_limits_through_redis(
    sqlite_store: Store, tmp_path: Path, redis_server: RedisServer
) -> None:
    busy, other = token(sqlite_store, "busy"), token(sqlite_store, "other")
    with ExitStack() as stack:
        first, second = (
            stack.enter_context(TestClient(create_app(
                settings(tmp_path, rate_limit_api="2/minute"), store=sqlite_store,
                redis_url=redis_server.url)))
            for _ in range(2))
        assert intake(first, busy, "b1") == 201
        assert intake(second, busy, "b2") == 201
        assert intake(first, busy, "b3") == 429  # the other process's request counted
        assert intake(second, busy, "b4") == 429
        assert intake(second, other, "o1") == 201
        release_limiter(first)
        release_limiter(second)


def test_rate_limits_can_be_switched_off(sqlite_store: Store, tmp_path: Path) -> None:
    app = create_app(settings(tmp_path, rate_limit_api="1/minute", rate_limits=False),
                     store=sqlite_store, redis_url="")
    headers = token(sqlite_store, "k")
    with TestClient(app) as client:
        assert [intake(client, headers, f"r{i}") for i in range(3)] == [201, 201, 201]


@pytest.fixture
def unreachable_store() -> Iterator[Store]:
    store = Store(Database(f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/hotline"))
    yield store
    store.db.dispose()


def test_readyz_says_the_database_is_away_in_json(unreachable_store: Store,
                                                  tmp_path: Path) -> None:
    app = create_app(settings(tmp_path), store=unreachable_store, redis_url="")
    with TestClient(app) as client:
        assert client.get("/healthz").status_code == 200  # the process itself is fine
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "database": "not reachable",
                               "down": ["database"]}


def test_readyz_when_ready(sqlite_store: Store, tmp_path: Path) -> None:
    with TestClient(create_app(settings(tmp_path), store=sqlite_store, redis_url="")) as c:
        assert c.get("/readyz").json() == {"status": "ready", "database": "ok"}
