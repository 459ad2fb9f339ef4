"""Shared fixtures: private Redis and PostgreSQL, a migrated store on SQLite and PostgreSQL."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from hotline.wiring import store_over
from tests.support.services import PostgresServer, RedisServer, SentinelGroup
from tests.support.templates import migrated_database as migrated_database_at
from tests.support.templates import migrated_postgres_url
from tickets.store import Store


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    # Not under pytest's tmp folder: that one is private to root, and postgres runs as postgres.
    root = Path(tempfile.mkdtemp(prefix="hotline-pg-"))
    server = PostgresServer(root)
    server.start()
    yield server
    server.stop()
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path / "redis")
    server.start()
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database on each dialect (the migrations' tests start from nothing). When the
    test also uses ``migrated_database`` (``store`` and the console's ``db`` do), the
    PostgreSQL one is made from the session's migrated template instead; the SQLite path is
    left for ``make_store`` to fill with the migrated template (tests/support/templates.py)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'hotline.sqlite3'}"
    server: PostgresServer = request.getfixturevalue("postgres")
    if "migrated_database" in request.fixturenames:
        return migrated_postgres_url(server)
    return server.create_database()


@pytest.fixture
def migrated_database() -> bool:
    """Asked for by the fixtures that migrate ``database_url``: it is then made migrated."""
    return True


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'hotline.sqlite3'}"


def make_store(url: str) -> Store:
    """A migrated store wired as the gateway's processes wire it (every new ticket gets the
    router's dispatch job: ``hotline.wiring``). A new SQLite file is a copy of the migrated
    template, any other database not made from it is migrated here."""
    return store_over(migrated_database_at(url))


@pytest.fixture
def store(database_url: str, migrated_database: bool) -> Iterator[Store]:
    s = make_store(database_url)
    yield s
    s.db.dispose()


@pytest.fixture
def sqlite_store(sqlite_url: str) -> Iterator[Store]:
    s = make_store(sqlite_url)
    yield s
    s.db.dispose()


def pytest_report_header(config: pytest.Config) -> list[str]:
    """The Asterisk the real-Asterisk tests run against, as the cached root recorded it
    (scripts/asterisk-root.sh refuses to build one that is not 22.x)."""
    from tests.support.asterisk import DEFAULT_ROOT

    stamp = DEFAULT_ROOT / ".hotline-asterisk-version"
    try:
        recorded = " / ".join(stamp.read_text(encoding="utf-8").split("\n")).strip(" /")
    except OSError:
        recorded = "not built yet"
    return [f"asterisk root: {DEFAULT_ROOT} ({recorded})"]


@pytest.fixture
def sentinel_group(tmp_path: Path) -> Iterator[SentinelGroup]:
    """One Redis primary, one replica and three Sentinels, private to the test."""
    group = SentinelGroup(tmp_path / "redis")
    try:
        group.start()
        yield group
    finally:
        group.stop()
