"""The transactional outbox: jobs written in the same transaction as the ticket change that
asks for them, so a job exists exactly when its change committed (the relay moves them on)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from tickets.jobs import Job
from tickets.tables import outbox


def _row(ticket_id: str, job: Job, at: datetime) -> dict[str, Any]:
    return {
        "job_id": uuid.uuid4().hex,
        "ticket_id": ticket_id,
        "queue": job.queue.value,
        "job": job.path,
        "args": list(job.args),
        "created_at": at,
        "run_at": at + timedelta(seconds=job.delay),
    }


def write(conn: Connection, ticket_id: str, jobs: Iterable[Job], at: datetime) -> None:
    """Add one outbox row per job (inside the caller's write transaction)."""
    for job in jobs:
        conn.execute(outbox.insert().values(**_row(ticket_id, job, at)))


def write_many(conn: Connection, jobs_by_ticket: Iterable[tuple[str, Iterable[Job]]],
               at: datetime) -> None:
    """Every ticket's outbox rows in one statement (a group commit's batch)."""
    rows = [_row(ticket_id, job, at) for ticket_id, jobs in jobs_by_ticket for job in jobs]
    if rows:
        conn.execute(outbox.insert(), rows)
