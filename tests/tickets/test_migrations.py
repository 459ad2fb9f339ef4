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


def test_sip_secrets_become_digests_and_the_plain_column_goes(database_url: str) -> None:
    """0012: a person's plain SIP secret becomes md5(endpoint:realm:secret) for op-<login> and,
    with a desk phone beside the browser, op-<login>-desk; the phones keep their secret."""
    from datetime import UTC, datetime
    from hashlib import md5

    import sqlalchemy as sa

    from console.people import People

    db = Database(database_url)
    upgrade(db, "0010")
    at = datetime.now(UTC)
    old = sa.table("people", *(sa.column(c) for c in (
        "login", "display_name", "role", "active", "password_hash", "sip_user", "sip_secret",
        "phone_kind", "units", "created_at", "updated_at")))
    secrets = {"alice": "a" * 48, "bob": "0123456789abcdef" * 3, "dora": "d" * 48}
    kinds = {"alice": "webrtc", "bob": "both", "dora": "deskphone"}
    with db.write() as conn:
        for login, secret in secrets.items():
            conn.execute(old.insert().values(
                login=login, display_name=login, role="operator", active=True,
                password_hash="$argon2id$x", sip_user=f"op-{login}", sip_secret=secret,
                phone_kind=kinds[login], units="", created_at=at, updated_at=at))
    upgrade(db)
    with db.engine.connect() as conn:
        columns = {c["name"] for c in inspect(conn).get_columns("people")}
    everyone = {p.login: p for p in People(db).list()}
    db.dispose()
    assert "sip_secret" not in columns and {"sip_ha1", "sip_desk_ha1"} <= columns
    # printf '%s' 'op-alice:hotline-96010:aaa…a' | md5sum, as tests/console/test_pjsip.py
    assert everyone["alice"].sip_ha1 == "26fe527f1df1ff3f56edd17901c48cce"
    assert everyone["bob"].sip_ha1 == "87ccd6c0a6dabe241669a49687af5c64"
    assert everyone["bob"].sip_desk_ha1 == "646111712018ffb5d71faa3a3675d1ec"
    assert everyone["dora"].sip_ha1 == md5(
        f"op-dora:hotline-96010:{'d' * 48}".encode()).hexdigest()
    assert everyone["alice"].sip_desk_ha1 is None and everyone["dora"].sip_desk_ha1 is None


def test_the_sip_digests_downgrade_with_new_secrets(database_url: str) -> None:
    """Back below 0012: every person is kept and gets a new random plain secret (the old ones
    exist only as digests); the digest columns go."""
    from hashlib import md5

    import sqlalchemy as sa
    from alembic import command

    from console.people import People, Role
    from tickets.migrate import alembic_config

    db = Database(database_url)
    upgrade(db)
    People(db).add("alice", "王小丽", Role.operator, "correct horse battery staple")
    cfg = alembic_config()
    with db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0011")
    with db.engine.connect() as conn:
        columns = {c["name"] for c in inspect(conn).get_columns("people")}
        rows = conn.execute(sa.text("SELECT login, sip_secret FROM people")).all()
    upgrade(db)
    again = {p.login: p for p in People(db).list()}
    db.dispose()
    assert "sip_secret" in columns and not {"sip_ha1", "sip_desk_ha1"} & columns
    assert [r[0] for r in rows] == ["alice"] and len(rows[0][1]) == 48
    assert again["alice"].sip_ha1 == md5(
        f"op-alice:hotline-96010:{rows[0][1]}".encode()).hexdigest()
