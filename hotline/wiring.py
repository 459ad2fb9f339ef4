"""How the rooms meet: the jobs a new ticket gets, and the store every process opens.

The ticket store does not know the router: it is told here that every new ticket (and every
ticket a resident adds to before it is dispatched) gets the router's dispatch job, and that a
ticket handed to more destinations outside the router (the resident's second "not solved")
is planned by the delivery room; every change may tell the resident something (the
notification job of the channels room), and a landline caller's resolved ticket gets the
callback call (the callback job of the ivr room).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy import Connection

from channels.notify import send_notification
from delivery.plan import handover
from hotline.settings import Settings
from ivr.callback_job import callback_planner
from router.dispatch import dispatch
from tickets.answers import Question
from tickets.db import Database
from tickets.jobs import Job
from tickets.model import Ticket
from tickets.notifications import ChangeHook, Step, plan, planner
from tickets.store import Store
from tickets.verification import pending_question


def intake_jobs(ticket_id: str) -> Sequence[Job]:
    """What every new ticket gets with its first commit: steps 2–3 of the loop."""
    return (Job.of(dispatch, ticket_id),)


def notification_job(notification_id: int) -> Job:
    """The job that sends a notification the store planned with a change."""
    return Job.of(send_notification, notification_id)


def sms_fallback(conn: Connection, ticket: Ticket, at: datetime) -> Sequence[Job]:
    """After the last unanswered callback call: the pending question by SMS, planned like any
    notification (at most once per ticket, step and round: nothing when it went out already)."""
    step = Step.resolved if pending_question(ticket) is Question.solved else \
        Step.ask_satisfaction
    return plan(conn, ticket, [step], at, notification_job)


def change_jobs(notify: ChangeHook) -> ChangeHook:
    """Every change's own jobs: the notifications, then the callback call."""
    def hook(conn: Connection, before: Ticket, after: Ticket, at: datetime) -> Sequence[Job]:
        return [*notify(conn, before, after, at), *callback_planner(conn, before, after, at)]

    return hook


def store_over(db: Database, timezone: str = "Asia/Shanghai",
               dispatched_categories: Collection[str] = ()) -> Store:
    """The store as the gateway's processes use it, over ``db``: every change tells the
    resident what it means for them (``tickets.notifications``) or calls them back
    (``ivr.callback_job``)."""
    return Store(db, timezone=timezone, intake_jobs=intake_jobs, handover=handover,
                 change_jobs=change_jobs(planner(notification_job, dispatched_categories)))


def open_store(settings: Settings) -> Store:
    """The store of ``settings``' database."""
    return store_over(Database(settings.resolved_database_url), settings.timezone,
                      settings.dispatched_categories)
