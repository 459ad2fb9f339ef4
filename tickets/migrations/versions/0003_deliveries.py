"""Deliveries of tickets to their destinations (webhooks, Redis streams, the feed).

Revision ID: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "deliveries",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("key", sa.String(32), nullable=False),
        sa.Column("ticket_id", sa.String(32), nullable=False),
        sa.Column("destination", sa.String(100), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("transport", sa.String(32), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.String(500), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("key", name="uq_deliveries_key"),
        sa.UniqueConstraint("ticket_id", "destination", "version", name="uq_deliveries_round"),
    )
    op.create_index("ix_deliveries_queue", "deliveries", ["destination", "status", "id"])
    op.create_index("ix_deliveries_status", "deliveries", ["status", "id"])


def downgrade() -> None:
    op.drop_index("ix_deliveries_status", "deliveries")
    op.drop_index("ix_deliveries_queue", "deliveries")
    op.drop_table("deliveries")
