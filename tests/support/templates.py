"""Databases migrated once a test session and copied for each test that needs a migrated one.

Running every Alembic migration for each test's store cost about a second a test on each
dialect (over 1,000 tests use a store). The migrations themselves are tested from an empty
database (``tests/tickets/test_migrations.py`` and the tests that migrate step by step); a
store's tests need the schema they leave, which a copy of one migrated database is, byte for
byte on SQLite and by ``CREATE DATABASE ... TEMPLATE`` on PostgreSQL.
"""

from __future__ import annotations

import atexit
import os
import shutil
import sqlite3
import tempfile
from pathlib import Path

from sqlalchemy.engine import make_url

from tests.support.services import PostgresServer
from tickets.db import Database, normalize_url
from tickets.migrate import upgrade

_sqlite_template: Path | None = None
# PostgreSQL URLs made from a migrated template this session (``make_store`` does not
# migrate them again)
migrated_urls: set[str] = set()
# the migrated template database of each PostgreSQL server (by port)
_postgres_templates: dict[int, str] = {}


def _sqlite_template_file() -> Path:
    """The migrated SQLite file of this process, made on first use."""
    global _sqlite_template
    if _sqlite_template is None:
        folder = Path(tempfile.mkdtemp(prefix="hotline-template-"))
        atexit.register(shutil.rmtree, folder, True)
        path = folder / "template.sqlite3"
        db = Database(f"sqlite:///{path}")
        upgrade(db)
        db.dispose()
        # everything in the main file (the WAL emptied), so a plain copy is the whole database
        with sqlite3.connect(path) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.close()
        _sqlite_template = path
    return _sqlite_template


def fill_sqlite(url: str) -> bool:
    """Make the SQLite database of ``url`` a copy of the migrated template when nothing is
    there yet (True); False for any other URL or an existing file (left as it is)."""
    if not url.startswith("sqlite"):
        return False
    name = make_url(url).database
    if not name or name == ":memory:":
        return False
    path = Path(name)
    if path.exists() or Path(f"{path}-wal").exists():
        return False
    template = _sqlite_template_file()
    # the modes tickets.db gives a new database: a private folder, a private file
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    shutil.copyfile(template, path)
    return True


def migrated_database(url: str) -> Database:
    """``url``'s database at the newest schema: an empty SQLite path becomes a copy of the
    template, a PostgreSQL database made from the template is used as it is, anything else
    is migrated here."""
    filled = fill_sqlite(url)
    db = Database(url)
    if not filled and db.url not in migrated_urls:
        upgrade(db)
    return db


def migrated_postgres_url(server: PostgresServer) -> str:
    """A new database on ``server`` made from its migrated template (made on first use)."""
    template = _postgres_templates.get(server.port)
    if template is None:
        url = server.create_database()
        db = Database(url)
        upgrade(db)
        db.dispose()  # a template must have no connection when it is copied
        template = make_url(url).database
        assert template is not None
        _postgres_templates[server.port] = template
    url = server.create_database(template=template)
    migrated_urls.add(normalize_url(url))
    return url
