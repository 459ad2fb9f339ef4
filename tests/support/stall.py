"""A stalled store: another connection holds what every store call needs, so each waits until
:meth:`Stall.release` — SQLite's write lock (``BEGIN IMMEDIATE``), or on PostgreSQL an
``ACCESS EXCLUSIVE`` lock on every table of the schema (reads wait too)."""

from __future__ import annotations

import sqlite3

from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from tickets.store import Store
from tickets.tables import metadata


class Stall:
    def __init__(self, store: Store) -> None:
        url = store.db.url
        self.sqlite: sqlite3.Connection | None = None
        if url.startswith("sqlite"):
            self.sqlite = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None,
                                          check_same_thread=False)
            self.sqlite.execute("BEGIN IMMEDIATE")
            return
        self.engine = create_engine(url, poolclass=NullPool)
        self.conn = self.engine.connect()
        names = ", ".join(t.name for t in metadata.sorted_tables)
        self.conn.execute(text(f"LOCK TABLE {names} IN ACCESS EXCLUSIVE MODE"))

    def release(self) -> None:
        if self.sqlite is not None:
            self.sqlite.execute("ROLLBACK")
            self.sqlite.close()
            return
        self.conn.rollback()
        self.conn.close()
        self.engine.dispose()
