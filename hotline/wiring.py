"""How the rooms meet: the jobs a new ticket gets, and the store every process opens.

The ticket store does not know the router: it is told here that every new ticket (and every
ticket a resident adds to before it is dispatched) gets the router's dispatch job, and that a
ticket handed to more destinations outside the router (the resident's second "not solved")
is planned by the delivery room.
"""

from __future__ import annotations

from collections.abc import Sequence

from delivery.plan import handover
from hotline.settings import Settings
from router.dispatch import dispatch
from tickets.db import Database
from tickets.jobs import Job
from tickets.store import Store


def intake_jobs(ticket_id: str) -> Sequence[Job]:
    """What every new ticket gets with its first commit: steps 2–3 of the loop."""
    return (Job.of(dispatch, ticket_id),)


def store_over(db: Database, timezone: str = "Asia/Shanghai") -> Store:
    """The store as the gateway's processes use it, over ``db``."""
    return Store(db, timezone=timezone, intake_jobs=intake_jobs, handover=handover)


def open_store(settings: Settings) -> Store:
    """The store of ``settings``' database."""
    return store_over(Database(settings.resolved_database_url), settings.timezone)
