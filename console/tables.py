"""Relational schema of the console: people, their server-side sessions, failed logins.

The tables live on the router's :data:`tickets.tables.metadata` (one database, one Alembic
history: ``tickets/migrations/versions/0005_people.py`` mirrors them). Nothing here holds a
secret in a form that logs a person in: passwords are argon2 hashes, sessions are stored as
sha256 of their random token. SIP secrets are stored as their digest HA1 only
(console/sip_digest.py): Asterisk registers with it (``password_digest`` in
``pjsip-operators.conf``), the browser softphone too (JsSIP's ``ha1``); a desk phone's password
is shown once when it is made and kept nowhere.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
)

from tickets.tables import metadata
from tickets.timestamps import Timestamp

people = Table(
    "people",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    # lower-case ASCII [a-z0-9_-], 1-32 characters (console/people.py: LOGIN)
    Column("login", String(32), nullable=False, unique=True),
    Column("display_name", String(100), nullable=False),
    # operator | supervisor | street | department | grid (console/people.py: Role)
    Column("role", String(16), nullable=False),
    Column("active", Boolean, nullable=False),
    Column("password_hash", String(200), nullable=False),
    Column("sip_user", String(40), nullable=False, unique=True),  # op-<login>
    # md5(op-<login>:realm:password) of the endpoint op-<login> (the browser's, or the desk
    # phone's for phone_kind deskphone)
    Column("sip_ha1", String(32), nullable=False),
    # the same of op-<login>-desk, the desk phone beside the browser (phone_kind both)
    Column("sip_desk_ha1", String(32), nullable=True),
    Column("phone_kind", String(16), nullable=False),  # webrtc | deskphone | both
    # a desk's or grid worker's units, space-separated destination ids ("street:DS",
    # "dept:dept.health", "grid:DC-DHM-0101 grid:DC-DHM-0102"); "" for the center's people
    Column("units", String(1400), nullable=False, server_default=""),
    Column("created_at", Timestamp(), nullable=False),
    Column("updated_at", Timestamp(), nullable=False),
)

# One row per logged-in browser. ``token_hash`` is sha256(token); the token itself is only in
# the person's (signed) cookie. A row ends at logout, when its person is disabled or changes
# password, after ``idle`` without a request, or at ``expires_at`` (absolute limit).
console_sessions = Table(
    "console_sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("person_id", Integer, ForeignKey("people.id", ondelete="CASCADE"), nullable=False),
    Column("created_at", Timestamp(), nullable=False),
    Column("last_seen_at", Timestamp(), nullable=False),
    Column("expires_at", Timestamp(), nullable=False),
    Column("client", String(64), nullable=False),
    Index("ix_console_sessions_person", "person_id"),
)

# Failed (and in-flight) login attempts, for the lockout (console/lockout.py). ``login`` is
# what was typed (normalised), whether or not such a person exists.
login_failures = Table(
    "login_failures",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("login", String(64), nullable=False),
    Column("client", String(64), nullable=False),
    Column("at", Timestamp(), nullable=False),
    Index("ix_login_failures_login", "login", "at"),
    Index("ix_login_failures_client", "client", "at"),
    Index("ix_login_failures_at", "at"),
)
