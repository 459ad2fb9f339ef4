"""Replies sent later: the answer to a message the spool kept (an opt-out, an answer to the
closing questions, a status query) goes out as a notification of step ``reply`` that names its
own address and text (it may concern no ticket at all).

Revision ID: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("notifications") as batch:
        batch.add_column(sa.Column("address", sa.String(128), nullable=True))
        batch.add_column(sa.Column("body", sa.String(2000), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("notifications") as batch:
        batch.drop_column("body")
        batch.drop_column("address")
