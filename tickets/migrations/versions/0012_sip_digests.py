"""SIP secrets as digests only (console/sip_digest.py): ``people.sip_secret`` (the plain SIP
password) becomes ``sip_ha1`` = md5(op-<login>:realm:secret) and, for a person with a desk
phone beside the browser (phone_kind ``both``), ``sip_desk_ha1`` = the same for
op-<login>-desk; the plain column is dropped. Every phone and softphone registered with the
old secret keeps working: Asterisk checks it against its digest.

The way back cannot bring the plain secrets back: the downgrade gives every person a new
random SIP secret (logged as a warning). After it, ``hotline operator sync`` writes them for
Asterisk — browser softphones take theirs from the console at once — and each desk phone needs
its person's new secret (``people.sip_secret``). Tickets and everything else are kept.

Revision ID: 0012
"""

from __future__ import annotations

import hashlib
import logging
import secrets

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

# console.sip_digest.REALM as of this revision (a migration must not follow later code)
REALM = "hotline-96010"
log = logging.getLogger(__name__)
DESK_SUFFIX = "-desk"


def _ha1(username: str, secret: str) -> str:
    text = f"{username}:{REALM}:{secret}"
    return hashlib.md5(text.encode("utf-8"), usedforsecurity=False).hexdigest()


def upgrade() -> None:
    with op.batch_alter_table("people") as batch:
        batch.add_column(sa.Column("sip_ha1", sa.String(32), nullable=True))
        batch.add_column(sa.Column("sip_desk_ha1", sa.String(32), nullable=True))
    bind = op.get_bind()
    table = sa.table("people", sa.column("id", sa.Integer), sa.column("sip_user", sa.String),
                     sa.column("sip_secret", sa.String), sa.column("phone_kind", sa.String),
                     sa.column("sip_ha1", sa.String), sa.column("sip_desk_ha1", sa.String))
    rows = bind.execute(sa.select(table.c.id, table.c.sip_user, table.c.sip_secret,
                                  table.c.phone_kind)).all()
    for person_id, user, secret, kind in rows:
        desk = _ha1(user + DESK_SUFFIX, secret) if kind == "both" else None
        bind.execute(table.update().where(table.c.id == person_id)
                     .values(sip_ha1=_ha1(user, secret), sip_desk_ha1=desk))
    with op.batch_alter_table("people") as batch:
        batch.alter_column("sip_ha1", existing_type=sa.String(32), nullable=False)
        batch.drop_column("sip_secret")


def downgrade() -> None:
    with op.batch_alter_table("people") as batch:
        batch.add_column(sa.Column("sip_secret", sa.String(64), nullable=True))
    bind = op.get_bind()
    table = sa.table("people", sa.column("id", sa.Integer), sa.column("sip_secret", sa.String))
    ids = bind.execute(sa.select(table.c.id)).scalars().all()
    for person_id in ids:
        bind.execute(table.update().where(table.c.id == person_id)
                     .values(sip_secret=secrets.token_hex(24)))
    with op.batch_alter_table("people") as batch:
        batch.alter_column("sip_secret", existing_type=sa.String(64), nullable=False)
        batch.drop_column("sip_desk_ha1")
        batch.drop_column("sip_ha1")
    if ids:
        log.warning("0012 downgraded: %d people got new SIP secrets (the old ones were kept "
                    "only as digests); run 'hotline operator sync' and give every desk phone "
                    "its new secret", len(ids))
