"""Relational schema of the ticket store (SQLAlchemy Core; Alembic migrations mirror it)."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    UniqueConstraint,
)

metadata = MetaData()

tickets = Table(
    "tickets",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("number", String(10), nullable=False, unique=True),
    # seq of the ticket's last change: the back-office feed pages by it.
    Column("seq", BigInteger, nullable=False, unique=True),
    Column("channel", String(16), nullable=False),
    Column("channel_ref", String(200), nullable=False),
    Column("status", String(16), nullable=False),
    Column("citizen_key", String(200), nullable=True),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("doc", JSON, nullable=False),
    UniqueConstraint("channel", "channel_ref", name="uq_tickets_channel_ref"),
    Index("ix_tickets_citizen_key", "citizen_key", "updated_at"),
)

# Named monotonic counters: "seq" and one "number:YYMMDD" per day.
counters = Table(
    "counters",
    metadata,
    Column("name", String(32), primary_key=True),
    Column("value", BigInteger, nullable=False),
)

# Transactional outbox: written with the ticket, moved onto RQ by the relay.
outbox = Table(
    "outbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("ticket_id", String(32), nullable=False),
    Column("queue", String(64), nullable=False),
    Column("job", String(200), nullable=False),
    Column("args", JSON, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("enqueued_at", DateTime(timezone=True), nullable=True),
    Column("attempts", Integer, nullable=False, default=0),
    Index("ix_outbox_pending", "enqueued_at", "id"),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", String(16), primary_key=True),
    Column("name", String(100), nullable=False),
    Column("hash", String(64), nullable=False),
    Column("scopes", String(200), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True), nullable=True),
)

# Small per-channel memory (e.g. a WeChat user's last LOCATION event).
channel_state = Table(
    "channel_state",
    metadata,
    Column("channel", String(16), primary_key=True),
    Column("key", String(200), primary_key=True),
    Column("value", JSON, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)
