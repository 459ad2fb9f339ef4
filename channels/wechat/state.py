"""Per-resident memory of the WeChat channel in ``channel_state`` (channel "wechat", key openid):
the last LOCATION event and the report kind chosen in the menu."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from tickets.db import Database
from tickets.tables import channel_state

CHANNEL = "wechat"


def load(db: Database, openid: str) -> dict[str, Any]:
    with db.read() as conn:
        value = conn.execute(
            select(channel_state.c.value).where(
                channel_state.c.channel == CHANNEL, channel_state.c.key == openid
            )
        ).scalar()
    return dict(value) if isinstance(value, dict) else {}


def merge(db: Database, openid: str, patch: dict[str, Any]) -> dict[str, Any]:
    """Set the keys of ``patch`` (a None value deletes the key); returns the new state.

    Concurrent merges for one openid (a LOCATION event and a menu CLICK) must not lose each
    other's keys. On PostgreSQL a write transaction is not serialized by itself, so the row is
    created if missing (INSERT ... ON CONFLICT DO NOTHING: of two first writers one inserts, the
    other waits for it and does nothing) and then locked with SELECT ... FOR UPDATE for the
    read-modify-write. On SQLite ``BEGIN IMMEDIATE`` already serializes writers.
    """
    key = (channel_state.c.channel == CHANNEL, channel_state.c.key == openid)
    with db.write() as conn:
        insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
        now = datetime.now(UTC)
        conn.execute(
            insert(channel_state)
            .values(channel=CHANNEL, key=openid, value={}, updated_at=now)
            .on_conflict_do_nothing()
        )
        current = conn.execute(
            select(channel_state.c.value).where(*key).with_for_update()
        ).scalar_one()
        merged = dict(current) if isinstance(current, dict) else {}
        merged.update(patch)
        value = {k: v for k, v in merged.items() if v is not None}
        conn.execute(update(channel_state).where(*key).values(value=value, updated_at=now))
    return value
