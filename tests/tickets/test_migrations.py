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


def test_outbox_rows_of_the_moved_drain_job_name_its_new_path(database_url: str) -> None:
    """0007: a drain written before the delivery room left the router runs after the upgrade."""
    from datetime import UTC, datetime

    from delivery.drain import drain
    from tickets.jobs import path_of
    from tickets.tables import outbox

    db = Database(database_url)
    upgrade(db, "0006")
    at = datetime.now(UTC)
    with db.write() as conn:
        for job in ("router.deliveries.drain", "router.dispatch.dispatch"):
            conn.execute(outbox.insert().values(job_id=job[-8:], ticket_id="t" * 32,
                                                queue="deliver", job=job, args=["street:DS"],
                                                created_at=at, run_at=at))
    upgrade(db)
    with db.read() as conn:
        jobs = sorted(conn.execute(outbox.select().with_only_columns(outbox.c.job)).scalars())
    db.dispose()
    assert jobs == sorted([path_of(drain), "router.dispatch.dispatch"])
