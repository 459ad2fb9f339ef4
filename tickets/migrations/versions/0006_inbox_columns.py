"""The operators' inbox (tickets/inbox.py): the ticket's kind and the resident's phone as columns
of tickets (filled from each ticket's document), an index for newest-first paging and one for
the search by phone.

Revision ID: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

# the columns' values for tickets written before this revision, from their JSON documents
_BACKFILL = {
    "postgresql": "UPDATE tickets SET kind = doc ->> 'kind', "
                  "phone = doc -> 'citizen' ->> 'phone'",
    "sqlite": "UPDATE tickets SET kind = json_extract(doc, '$.kind'), "
              "phone = json_extract(doc, '$.citizen.phone')",
}


def upgrade() -> None:
    with op.batch_alter_table("tickets") as batch:
        batch.add_column(sa.Column("kind", sa.String(16), nullable=True))
        batch.add_column(sa.Column("phone", sa.String(16), nullable=True))
        batch.create_index("ix_tickets_received", ["received_at", "id"])
        batch.create_index("ix_tickets_phone", ["phone", "received_at"])
    op.execute(_BACKFILL[op.get_bind().dialect.name])


def downgrade() -> None:
    with op.batch_alter_table("tickets") as batch:
        batch.drop_index("ix_tickets_phone")
        batch.drop_index("ix_tickets_received")
        batch.drop_column("phone")
        batch.drop_column("kind")
