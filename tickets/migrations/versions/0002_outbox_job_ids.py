"""Outbox rows get a random job id and a run-at time (attempts dropped); ticket numbers may be
longer than 10 digits; one active API key per name; tickets indexed by status; typed phone
numbers no longer key a resident's tickets.

Revision ID: 0002
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    conn = op.get_bind()
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("job_id", sa.String(32), nullable=True))
        batch.add_column(sa.Column("run_at", sa.DateTime(timezone=True), nullable=True))
        batch.drop_column("attempts")
    outbox = sa.table("outbox", sa.column("id", sa.Integer), sa.column("job_id", sa.String),
                      sa.column("run_at", sa.DateTime(timezone=True)),
                      sa.column("created_at", sa.DateTime(timezone=True)))
    for (row_id,) in conn.execute(sa.select(outbox.c.id)).all():
        conn.execute(outbox.update().where(outbox.c.id == row_id)
                     .values(job_id=uuid.uuid4().hex))
    conn.execute(outbox.update().values(run_at=sa.func.coalesce(outbox.c.created_at,
                                                                 datetime.now(UTC))))
    with op.batch_alter_table("outbox") as batch:
        batch.alter_column("job_id", existing_type=sa.String(32), nullable=False)
        batch.alter_column("run_at", existing_type=sa.DateTime(timezone=True), nullable=False)
        batch.create_unique_constraint("uq_outbox_job_id", ["job_id"])
        batch.drop_index("ix_outbox_pending")
        batch.create_index("ix_outbox_pending", ["enqueued_at", "run_at", "id"])
        batch.create_index("ix_outbox_ticket", ["ticket_id", "job"])
    with op.batch_alter_table("tickets") as batch:
        batch.alter_column("number", existing_type=sa.String(10), type_=sa.String(16),
                           existing_nullable=False)
        batch.create_index("ix_tickets_status", ["status", "updated_at"])
    op.create_index("uq_api_keys_active_name", "api_keys", ["name"], unique=True,
                    sqlite_where=sa.text("revoked_at IS NULL"),
                    postgresql_where=sa.text("revoked_at IS NULL"))
    # only numbers a channel proved thread a resident's messages (SMS sender, caller id,
    # WeChat openid): a phone typed into the web form or sent by another system no longer does
    tickets = sa.table("tickets", sa.column("channel", sa.String),
                       sa.column("citizen_key", sa.String))
    conn.execute(tickets.update()
                 .where(tickets.c.channel.notin_(["sms", "voice", "wechat"]))
                 .values(citizen_key=None))


def downgrade() -> None:
    op.drop_index("uq_api_keys_active_name", "api_keys")
    with op.batch_alter_table("tickets") as batch:
        batch.drop_index("ix_tickets_status")
        batch.alter_column("number", existing_type=sa.String(16), type_=sa.String(10),
                           existing_nullable=False)
    with op.batch_alter_table("outbox") as batch:
        batch.drop_index("ix_outbox_ticket")
        batch.drop_index("ix_outbox_pending")
        batch.create_index("ix_outbox_pending", ["enqueued_at", "id"])
        batch.drop_constraint("uq_outbox_job_id", type_="unique")
        batch.drop_column("run_at")
        batch.drop_column("job_id")
        batch.add_column(sa.Column("attempts", sa.Integer, nullable=False,
                                   server_default="0"))
