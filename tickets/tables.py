"""Relational schema of the ticket store (SQLAlchemy Core; Alembic migrations mirror it)."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    UniqueConstraint,
    text,
)

from tickets.timestamps import Timestamp

metadata = MetaData()

tickets = Table(
    "tickets",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("number", String(16), nullable=False, unique=True),
    # seq of the ticket's last change: the back-office feed pages by it.
    Column("seq", BigInteger, nullable=False, unique=True),
    Column("channel", String(16), nullable=False),
    Column("channel_ref", String(200), nullable=False),
    Column("status", String(16), nullable=False),
    Column("citizen_key", String(200), nullable=True),
    Column("received_at", Timestamp(), nullable=False),
    Column("updated_at", Timestamp(), nullable=False),
    Column("doc", JSON, nullable=False),
    # the router's decisions, as columns for its queries (repeats, duplicates, escalation)
    Column("category", String(64), nullable=True),
    Column("street", String(16), nullable=True),
    Column("grid", String(64), nullable=True),
    Column("loop", String(8), nullable=True),
    Column("respond_by", Timestamp(), nullable=True),
    Column("resolve_by", Timestamp(), nullable=True),
    # for the operators' inbox (tickets/inbox.py): filter by kind, search by phone, newest first
    Column("kind", String(16), nullable=True),
    Column("phone", String(16), nullable=True),
    # the desks the ticket is routed to now (tickets/units.py: " street:DS dept:x "), for the
    # street and department desks' worklists
    Column("units", String(300), nullable=True),
    # the street and the department of ``units`` (a routing names at most one of each), so a
    # desk's worklist is an equality on an index
    Column("desk_street", String(16), nullable=True),
    Column("desk_dept", String(64), nullable=True),
    UniqueConstraint("channel", "channel_ref", name="uq_tickets_channel_ref"),
    Index("ix_tickets_citizen_key", "citizen_key", "updated_at"),
    Index("ix_tickets_status", "status", "updated_at"),
    Index("ix_tickets_category_place", "category", "street", "received_at"),
    Index("ix_tickets_loop_status", "loop", "status"),
    Index("ix_tickets_received", "received_at", "id"),
    Index("ix_tickets_phone", "phone", "received_at"),
    Index("ix_tickets_desk_street", "desk_street", "status", "received_at"),
    Index("ix_tickets_desk_dept", "desk_dept", "status", "received_at"),
    Index("ix_tickets_grid_status", "grid", "status", "received_at"),
)

# Named monotonic counters: "seq" and one "number:YYMMDD" per day.
counters = Table(
    "counters",
    metadata,
    Column("name", String(32), primary_key=True),
    Column("value", BigInteger, nullable=False),
)

# Transactional outbox: written with the ticket, moved onto RQ by the relay. ``job_id`` is
# random (not derived from the row id), so a database restored from a backup while Redis kept
# its markers never makes the relay skip a row.
outbox = Table(
    "outbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("job_id", String(32), nullable=False),
    Column("ticket_id", String(32), nullable=False),
    Column("queue", String(64), nullable=False),
    Column("job", String(200), nullable=False),
    Column("args", JSON, nullable=False),
    Column("created_at", Timestamp(), nullable=False),
    Column("run_at", Timestamp(), nullable=False),
    Column("enqueued_at", Timestamp(), nullable=True),
    Index("ix_outbox_pending", "enqueued_at", "run_at", "id"),
    UniqueConstraint("job_id", name="uq_outbox_job_id"),
    Index("ix_outbox_ticket", "ticket_id", "job"),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", String(16), primary_key=True),
    Column("name", String(100), nullable=False),
    Column("hash", String(64), nullable=False),
    Column("scopes", String(200), nullable=False),
    Column("created_at", Timestamp(), nullable=False),
    Column("revoked_at", Timestamp(), nullable=True),
    # one active key per name (a revoked key's name may be used again)
    Index("uq_api_keys_active_name", "name", unique=True,
          sqlite_where=text("revoked_at IS NULL"), postgresql_where=text("revoked_at IS NULL")),
)

# Small per-channel memory (e.g. a WeChat user's last LOCATION event).
channel_state = Table(
    "channel_state",
    metadata,
    Column("channel", String(16), primary_key=True),
    Column("key", String(200), primary_key=True),
    Column("value", JSON, nullable=False),
    Column("updated_at", Timestamp(), nullable=False),
)

# One delivery of a ticket to one destination (delivery/deliveries.py): planned with the routing
# change, drained per destination in ``id`` order, retried with back-off, dead after N attempts.
# ``key`` is the idempotency key a receiver sees on every attempt (X-Hotline-Delivery);
# ``version`` is the ticket's dispatch round, so a ticket handed back and routed again is
# delivered again while a repeated plan of the same round writes nothing.
deliveries = Table(
    "deliveries",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("key", String(32), nullable=False),
    Column("ticket_id", String(32), nullable=False),
    Column("destination", String(100), nullable=False),
    Column("version", Integer, nullable=False),
    # webhook | stream | webhook+stream | feed: how the last attempt went out (None: no attempt)
    Column("transport", String(32), nullable=True),
    Column("status", String(16), nullable=False),  # pending | delivered | dead
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", Timestamp(), nullable=False),
    Column("last_error", String(500), nullable=True),
    Column("created_at", Timestamp(), nullable=False),
    Column("delivered_at", Timestamp(), nullable=True),
    UniqueConstraint("key", name="uq_deliveries_key"),
    UniqueConstraint("ticket_id", "destination", "version", name="uq_deliveries_round"),
    Index("ix_deliveries_queue", "destination", "status", "id"),
    Index("ix_deliveries_status", "status", "id"),
)

# One message to a resident about one step of their ticket (tickets/notifications.py): planned
# in the same transaction as the change that causes it, sent at most once (``key`` =
# ``<ticket id>:<step>:<round>``, unique), retried with back-off, waiting out quiet hours.
# ``provider_ref`` is the provider's id of the sent message (Twilio's MessageSid), which its
# delivery report names.
notifications = Table(
    "notifications",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("key", String(100), nullable=False),
    Column("ticket_id", String(32), nullable=False),
    Column("step", String(32), nullable=False),
    Column("channel", String(16), nullable=False),  # sms | wechat
    # pending | sending | sent | skipped | dead
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", Timestamp(), nullable=False),
    Column("provider_ref", String(64), nullable=True),
    Column("last_error", String(500), nullable=True),
    Column("created_at", Timestamp(), nullable=False),
    Column("sent_at", Timestamp(), nullable=True),
    # a reply (step "reply") names its own address and text; other steps take them from
    # the ticket when they are sent
    Column("address", String(128), nullable=True),
    Column("body", String(2000), nullable=True),
    UniqueConstraint("key", name="uq_notifications_key"),
    Index("ix_notifications_ticket", "ticket_id", "id"),
    Index("ix_notifications_provider", "provider_ref"),
)

# Residents who answered "TD"/"退订": no notification goes to them (per proven sender).
opt_outs = Table(
    "opt_outs",
    metadata,
    Column("citizen_key", String(200), primary_key=True),
    Column("channel", String(16), nullable=False),
    Column("at", Timestamp(), nullable=False),
)
