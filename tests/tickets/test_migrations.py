"""Alembic migrations produce exactly the schema of ``tickets/tables.py`` and the tables other
rooms put on its metadata (``console/tables.py``), on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

import console.tables  # noqa: F401 - puts the console's tables on router's metadata
from tickets.db import Database
from tickets.migrate import upgrade
from tickets.tables import metadata


def test_migrations_match_the_tables(database_url: str) -> None:
    db = Database(database_url)
    upgrade(db)
    upgrade(db)  # a second run is a no-op
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
        tables = set(inspect(conn).get_table_names())
    db.dispose()
    assert diff == []
    assert {"tickets", "counters", "outbox", "api_keys", "channel_state", "deliveries",
            "people", "console_sessions", "login_failures"} <= tables
