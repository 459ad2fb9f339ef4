"""How the rooms meet: the jobs a new ticket gets, and the store every process opens.

The ticket store does not know the router: it is told here that every new ticket (and every
ticket a resident adds to before it is dispatched) gets the router's dispatch job, and that a
ticket handed to more destinations outside the router (the resident's second "not solved")
is planned by the delivery room; every change may tell the resident something (the
notification job of the channels room).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from channels.notify import send_notification
from delivery.plan import handover
from hotline.settings import Settings
from router.dispatch import dispatch
from tickets.db import Database
from tickets.jobs import Job
from tickets.notifications import planner
from tickets.store import Store


def intake_jobs(ticket_id: str) -> Sequence[Job]:
    """What every new ticket gets with its first commit: steps 2–3 of the loop."""
    return (Job.of(dispatch, ticket_id),)


def notification_job(notification_id: int) -> Job:
    """The job that sends a notification the store planned with a change."""
    return Job.of(send_notification, notification_id)


def store_over(db: Database, timezone: str = "Asia/Shanghai",
               dispatched_categories: Collection[str] = ()) -> Store:
    """The store as the gateway's processes use it, over ``db``: every change tells the
    resident what it means for them (``tickets.notifications``)."""
    return Store(db, timezone=timezone, intake_jobs=intake_jobs, handover=handover,
                 change_jobs=planner(notification_job, dispatched_categories))


def open_store(settings: Settings) -> Store:
    """The store of ``settings``' database."""
    return store_over(Database(settings.resolved_database_url), settings.timezone,
                      settings.dispatched_categories)
