"""Database engine and transactions: SQLite (WAL) embedded, PostgreSQL in production.

Every write transaction takes the ``seq`` counter row first (:func:`tickets.counters.next_seq`),
so writers are serialized for the few statements of a ticket change and commit in ``seq``
order: the feed can page by ``seq > after`` without ever skipping a late commit. SQLite writes
start with ``BEGIN IMMEDIATE`` for the same reason (and to avoid lock-upgrade deadlocks).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool


def _sqlite_engine(url: str, echo: bool) -> Engine:
    parsed = make_url(url)
    if parsed.database and parsed.database != ":memory:":
        path = Path(parsed.database)
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        # private from its first byte: SQLite gives its -wal and -shm files the database
        # file's mode, and the file holds residents' phones and words
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    engine = create_engine(
        url, echo=echo, poolclass=NullPool, connect_args={"timeout": 30, "check_same_thread": False}
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        # FULL: every commit is fsynced before it returns, so a ticket acknowledged to its
        # sender survives a power loss (NORMAL could lose the last commits in WAL mode)
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get("hotline_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def normalize_url(url: str) -> str:
    """Use psycopg 3 for plain ``postgresql://`` URLs."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


class Database:
    """An engine plus the two kinds of transaction the store uses."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = normalize_url(url)
        # SQLite has one writer at a time; its busy handler makes waiting writers sleep and
        # poll with growing pauses, which gives long tails under load. Writers of this process
        # queue on a lock instead (other processes still meet SQLite's own busy timeout).
        self._write_lock: threading.Lock | None = None
        if self.url.startswith("sqlite"):
            self._write_lock = threading.Lock()
            self.engine = _sqlite_engine(self.url, echo)
        else:
            self.engine = create_engine(
                self.url, echo=echo, pool_pre_ping=True, pool_size=10, max_overflow=20
            )
        # PostgreSQL reads without BEGIN and COMMIT (the pool's connections, autocommit while
        # they read): at READ COMMITTED, the isolation used, every statement sees its own
        # snapshot inside a transaction or not, so the two cost round trips and changed
        # nothing (a notification job made five reads: bench/results/worker_throughput.md).
        self._reader = self.engine if self._write_lock is not None else \
            self.engine.execution_options(isolation_level="AUTOCOMMIT")

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A write transaction; commits on success, rolls back on any error.

        The connection is had (on SQLite a new one, with its pragmas) before this process's
        write lock is taken, and closed after it is released: writers queue for the
        transaction itself, not for each other's connection set-up (bench/results/summary.md).
        """
        with self.engine.connect() as conn, self._write_lock or nullcontext():
            conn = conn.execution_options(hotline_write=True)
            with conn.begin():
                yield conn

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A connection to read with (on PostgreSQL in autocommit: no transaction of its own,
        nothing written through it is rolled back)."""
        with self._reader.connect() as conn, conn.begin():
            yield conn

    def dispose(self) -> None:
        self.engine.dispose()
