"""The console's tables come and go with migration 0005 on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic import command
from sqlalchemy import inspect

from console.tables import console_sessions, login_failures, people
from tickets.db import Database
from tickets.migrate import alembic_config, upgrade

CONSOLE_TABLES = {"people", "console_sessions", "login_failures"}


def tables(db: Database) -> set[str]:
    with db.engine.connect() as conn:
        return set(inspect(conn).get_table_names())


def test_0005_creates_and_drops_the_console_tables(database_url: str) -> None:
    db = Database(database_url)
    try:
        upgrade(db, "0004")
        assert not CONSOLE_TABLES & tables(db)
        upgrade(db)
        assert tables(db) >= CONSOLE_TABLES
        cfg = alembic_config()
        with db.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0004")
        assert not CONSOLE_TABLES & tables(db)
        assert "tickets" in tables(db)
        upgrade(db)
        assert tables(db) >= CONSOLE_TABLES
    finally:
        db.dispose()


def test_the_tables_are_on_routers_metadata() -> None:
    from tickets.tables import metadata

    for table in (people, console_sessions, login_failures):
        assert metadata.tables[table.name] is table
