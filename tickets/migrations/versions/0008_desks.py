"""Street and department desks, grid workers (console/people.py): a person's units; and the
units a ticket is routed to now (tickets/units.py), filled from each ticket's document.

Revision ID: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def _units(doc: object) -> str | None:
    if isinstance(doc, str):
        import json

        doc = json.loads(doc)
    routing = doc.get("routing") if isinstance(doc, dict) else None
    destinations = routing.get("destinations") if isinstance(routing, dict) else None
    found = [str(d.get("id")) for d in destinations or []
             if isinstance(d, dict) and d.get("id") and d.get("id") != "district"]
    return f" {' '.join(found)} " if found else None


def upgrade() -> None:
    with op.batch_alter_table("people") as batch:
        batch.add_column(sa.Column("units", sa.String(1400), nullable=False, server_default=""))
    with op.batch_alter_table("tickets") as batch:
        batch.add_column(sa.Column("units", sa.String(300), nullable=True))
    bind = op.get_bind()
    table = sa.table("tickets", sa.column("id", sa.String), sa.column("doc", sa.JSON),
                     sa.column("units", sa.String))
    rows = bind.execute(sa.select(table.c.id, table.c.doc)).all()
    for ticket_id, doc in rows:
        value = _units(doc)
        if value is not None:
            bind.execute(table.update().where(table.c.id == ticket_id).values(units=value))


def downgrade() -> None:
    with op.batch_alter_table("tickets") as batch:
        batch.drop_column("units")
    with op.batch_alter_table("people") as batch:
        batch.drop_column("units")
