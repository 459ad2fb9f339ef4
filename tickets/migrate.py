"""Bring a database to the newest schema with Alembic (both SQLite and PostgreSQL)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from tickets.db import Database

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def upgrade(db: Database, revision: str = "head") -> None:
    cfg = alembic_config()
    with db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


class SchemaOutdated(RuntimeError):
    """The database is not at the newest schema (or has none)."""


def check_current(db: Database) -> None:
    """Raise :class:`SchemaOutdated` unless the database is at the newest revision."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    with db.engine.connect() as conn:
        current = MigrationContext.configure(conn).get_current_revision()
    if current != head:
        state = f"at revision {current}" if current else "empty"
        raise SchemaOutdated(f"the database is {state}, the gateway needs {head}")
