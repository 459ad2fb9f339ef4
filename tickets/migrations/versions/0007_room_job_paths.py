"""The delivery room moved out of the router: outbox rows written before this revision name the
drain job by its old dotted path (``router.deliveries.drain``); they name it by its new one
(``delivery.drain.drain``) after, so a row still waiting for the relay runs the job that
exists. No table changes. (A drain already on RQ under the old name fails once and is written
again by the delivery sweep, which catches every destination whose drain was lost.)

Revision ID: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

OLD = "router.deliveries.drain"
NEW = "delivery.drain.drain"


def _rename(old: str, new: str) -> None:
    outbox = sa.table("outbox", sa.column("job", sa.String))
    op.execute(outbox.update().where(outbox.c.job == old).values(job=new))


def upgrade() -> None:
    _rename(OLD, NEW)


def downgrade() -> None:
    _rename(NEW, OLD)
