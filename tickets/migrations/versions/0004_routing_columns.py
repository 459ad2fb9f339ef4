"""The router's decisions as columns of tickets (category, street, grid, loop, deadlines) for
its queries: repeated complaints, duplicates, escalation of overdue tickets.

Revision ID: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

COLUMNS = (
    ("category", sa.String(64)),
    ("street", sa.String(16)),
    ("grid", sa.String(64)),
    ("loop", sa.String(8)),
    ("respond_by", sa.DateTime(timezone=True)),
    ("resolve_by", sa.DateTime(timezone=True)),
)


def upgrade() -> None:
    with op.batch_alter_table("tickets") as batch:
        for name, kind in COLUMNS:
            batch.add_column(sa.Column(name, kind, nullable=True))
        batch.create_index("ix_tickets_category_place", ["category", "street", "received_at"])
        batch.create_index("ix_tickets_loop_status", ["loop", "status"])


def downgrade() -> None:
    with op.batch_alter_table("tickets") as batch:
        batch.drop_index("ix_tickets_loop_status")
        batch.drop_index("ix_tickets_category_place")
        for name, _ in reversed(COLUMNS):
            batch.drop_column(name)
