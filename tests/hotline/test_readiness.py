"""``/readyz`` names each part and which one is down: the database decides ready (200) or
unavailable (503); Redis away is ``degraded`` — with real servers, alive and stopped."""

from __future__ import annotations

from pathlib import Path

from starlette.testclient import TestClient

from hotline.app import create_app
from hotline.settings import Settings
from tests.support.services import RedisServer, free_port
from tickets.db import Database
from tickets.store import Store


def settings(tmp_path: Path) -> Settings:
    return Settings(_env_file=None, env="development", data_dir=tmp_path)


def test_ready_names_each_part(sqlite_store: Store, tmp_path: Path,
                               redis_server: RedisServer) -> None:
    app = create_app(settings(tmp_path), store=sqlite_store, redis_url=redis_server.url)
    with TestClient(app) as client:
        answer = client.get("/readyz")
    assert answer.status_code == 200
    assert answer.json() == {"status": "ready", "database": "ok", "redis": "ok"}


def test_redis_away_is_named_and_degraded(sqlite_store: Store, tmp_path: Path,
                                          redis_server: RedisServer) -> None:
    app = create_app(settings(tmp_path), store=sqlite_store, redis_url=redis_server.url)
    with TestClient(app) as client:
        redis_server.stop()
        answer = client.get("/readyz")
    assert answer.status_code == 200
    assert answer.json() == {"status": "degraded", "database": "ok", "redis": "not reachable",
                             "down": ["redis"]}


def test_database_and_redis_away_are_both_named(tmp_path: Path) -> None:
    store = Store(Database(f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/hotline"))
    try:
        app = create_app(settings(tmp_path), store=store,
                         redis_url=f"redis://127.0.0.1:{free_port()}/0")
        with TestClient(app) as client:
            answer = client.get("/readyz")
    finally:
        store.db.dispose()
    assert answer.status_code == 503
    assert answer.json() == {"status": "unavailable", "database": "not reachable",
                             "redis": "not reachable", "down": ["database", "redis"]}


def test_asterisk_is_named_when_the_console_has_an_ami_link(sqlite_store: Store,
                                                            tmp_path: Path) -> None:
    configured = Settings(_env_file=None, env="development", data_dir=tmp_path,
                          console_secret="c" * 40, ami_username="hotline",
                          ami_secret="a" * 32, ami_port=free_port())
    with TestClient(create_app(configured, store=sqlite_store, redis_url="")) as client:
        answer = client.get("/readyz")
    assert answer.status_code == 200
    assert answer.json() == {"status": "degraded", "database": "ok", "asterisk": "not reachable",
                             "down": ["asterisk"]}
