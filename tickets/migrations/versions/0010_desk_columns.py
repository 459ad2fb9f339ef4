"""The desks' worklists by equality on an index: the street and the department a ticket is
routed to now (tickets/units.py), filled from the ``units`` column; the grid workers' tasks
by cell and status.

Revision ID: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def _first(units: str | None, prefix: str) -> str | None:
    return next((u.removeprefix(prefix) for u in (units or "").split()
                 if u.startswith(prefix)), None)


def upgrade() -> None:
    with op.batch_alter_table("tickets") as batch:
        batch.add_column(sa.Column("desk_street", sa.String(16), nullable=True))
        batch.add_column(sa.Column("desk_dept", sa.String(64), nullable=True))
        batch.create_index("ix_tickets_desk_street", ["desk_street", "status", "received_at"])
        batch.create_index("ix_tickets_desk_dept", ["desk_dept", "status", "received_at"])
        batch.create_index("ix_tickets_grid_status", ["grid", "status", "received_at"])
    bind = op.get_bind()
    table = sa.table("tickets", sa.column("id", sa.String), sa.column("units", sa.String),
                     sa.column("desk_street", sa.String), sa.column("desk_dept", sa.String))
    rows = bind.execute(sa.select(table.c.id, table.c.units)
                        .where(table.c.units.is_not(None))).all()
    for ticket_id, units in rows:
        bind.execute(table.update().where(table.c.id == ticket_id).values(
            desk_street=_first(units, "street:"), desk_dept=_first(units, "dept:")))


def downgrade() -> None:
    with op.batch_alter_table("tickets") as batch:
        batch.drop_index("ix_tickets_grid_status")
        batch.drop_index("ix_tickets_desk_dept")
        batch.drop_index("ix_tickets_desk_street")
        batch.drop_column("desk_dept")
        batch.drop_column("desk_street")
