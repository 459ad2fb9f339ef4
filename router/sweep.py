"""The periodic sweep for stuck tickets: a ticket still ``received`` long after it arrived had
its dispatch job lost or failed for good (Redis lost it, every retry failed, a bug); the sweep
writes a fresh dispatch job for it. Jobs are idempotent, so a sweep that races a slow job is
harmless; at most one fresh job per ticket is written per :data:`STUCK_AFTER`.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import and_, exists, select

from router.dispatch import dispatch
from tickets import outbox
from tickets.db import Database
from tickets.jobs import Job, path_of
from tickets.model import Status
from tickets.tables import outbox as outbox_table
from tickets.tables import tickets

log = logging.getLogger(__name__)

STUCK_AFTER = timedelta(minutes=10)
BATCH = 500


def sweep_stuck(db: Database, now: datetime, stuck_after: timedelta = STUCK_AFTER) -> list[str]:
    """Write a dispatch job for every ticket stuck in ``received``; return their ids."""
    since = now - stuck_after
    recent_job = exists().where(and_(
        outbox_table.c.ticket_id == tickets.c.id,
        outbox_table.c.job == path_of(dispatch),
        outbox_table.c.created_at > since,
    ))
    with db.write() as conn:
        stuck = conn.execute(
            select(tickets.c.id, tickets.c.number)
            .where(tickets.c.status == Status.received.value, tickets.c.updated_at < since,
                   ~recent_job)
            .order_by(tickets.c.updated_at)
            .limit(BATCH)
        ).all()
        for row in stuck:
            outbox.write(conn, row.id, [Job.of(dispatch, row.id)], now)
    if stuck:
        log.error("%d ticket(s) stuck in 'received' for more than %s; dispatch written again: %s",
                  len(stuck), stuck_after, ", ".join(r.number for r in stuck[:20]))
    return [r.id for r in stuck]
