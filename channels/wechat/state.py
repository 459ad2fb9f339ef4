"""Per-resident memory of the WeChat channel in ``channel_state`` (channel "wechat", key openid):
the last LOCATION event and the report kind chosen in the menu."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from router.db import Database
from router.tables import channel_state

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
    """Set the keys of ``patch`` (a None value deletes the key); returns the new state."""
    for attempt in range(2):
        try:
            with db.write() as conn:
                row = conn.execute(
                    select(channel_state.c.value).where(
                        channel_state.c.channel == CHANNEL, channel_state.c.key == openid
                    )
                ).first()
                current = dict(row.value) if row is not None else {}
                current.update(patch)
                value = {k: v for k, v in current.items() if v is not None}
                now = datetime.now(UTC)
                if row is None:
                    conn.execute(channel_state.insert().values(
                        channel=CHANNEL, key=openid, value=value, updated_at=now))
                else:
                    conn.execute(update(channel_state).where(
                        channel_state.c.channel == CHANNEL, channel_state.c.key == openid
                    ).values(value=value, updated_at=now))
            return value
        except IntegrityError:
            if attempt:
                raise
    raise AssertionError("unreachable")
