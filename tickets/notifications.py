"""Notifications to residents: which change tells the resident what, planned in the change's own
transaction, sent at most once, retried with back-off, waiting out quiet hours, never to a
resident who opted out.

Invariants:

* a notification exists once per ticket, step and round (``key`` =
  ``<ticket id>:<step>:<round>``, unique): it is planned by :func:`planner`, the store's
  change hook, inside the transaction of the change that causes it, with its send job in the
  same outbox — a status change that rolls back tells nobody, one that commits is told;
* a notification is sent at most once: the send job :func:`claim`\\ s it (``pending`` →
  ``sending``) before calling the provider and only a definite failure (the provider answered
  with an error, or could not be reached at all) makes it ``pending`` again; after
  :data:`RETRY_SECONDS` it is ``dead`` and the ticket's history says so;
* the ticket's status change never waits on a send: sending is the job's business.

Steps: ``resolved`` (the unit's reply and the first question), ``rejected`` (the reason),
``merged`` (the surviving number), ``dispatched`` (only for the categories the composition room
names), ``ask_satisfaction`` (the second question, once the resident said "solved"),
``received`` (the number of a message acknowledged without it), and ``reply``
(:func:`plan_reply`: the answer to a message the spool kept that was no new request — an
opt-out, an answer to the closing questions, a status query — with its own address and text,
once per message: it answers the resident's own message, so it goes out even after an opt-out).
Who is told (:func:`contact`): an SMS or a voice caller from a mobile number, a web-form resident
who left a phone number and consented — by SMS; a WeChat follower — by WeChat.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, select, update
from sqlalchemy.dialects import postgresql, sqlite

from tickets import metrics, outbox
from tickets.db import Database
from tickets.jobs import Job
from tickets.model import Channel, Status, Ticket
from tickets.phone import is_mobile
from tickets.tables import notifications, opt_outs
from tickets.verification import next_question, resolution_round

# seconds before each retry of a failed send; then the notification is dead
RETRY_SECONDS: tuple[int, ...] = (30, 120, 600, 1800, 3600, 7200)
PENDING, SENDING, SENT, SKIPPED, DEAD = "pending", "sending", "sent", "skipped", "dead"
# the provider's answer was lost (a timeout): sent again only if its delivery report does not
# turn up within UNKNOWN_WAIT
UNKNOWN = "unknown"
UNKNOWN_WAIT = timedelta(minutes=10)


class Step(StrEnum):
    dispatched = "dispatched"
    resolved = "resolved"  # the unit's reply + "问题解决了吗？"
    rejected = "rejected"
    merged = "merged"
    ask_satisfaction = "ask_satisfaction"  # "您对办理结果满意吗？"
    received = "received"  # the number of a message acknowledged without it (the spool filed it)
    reply = "reply"  # the answer to a message the spool kept that was no new request


NO_TICKET = ""  # the ticket_id of a reply that concerns no ticket (an opt-out, an unknown number)


class Via(StrEnum):
    sms = "sms"
    wechat = "wechat"


@dataclass(frozen=True)
class Notification:
    id: int
    key: str
    ticket_id: str
    step: Step
    channel: Via
    status: str
    attempts: int
    next_attempt_at: datetime
    provider_ref: str | None
    last_error: str | None
    address: str | None = None  # a reply's own address and text
    body: str | None = None


def contact(ticket: Ticket) -> tuple[Via, str] | None:
    """How the resident of ``ticket`` is told, and at which address (None: they cannot be)."""
    citizen = ticket.citizen
    if ticket.channel is Channel.wechat and citizen.wechat_openid:
        return Via.wechat, citizen.wechat_openid
    if not citizen.phone:
        return None
    if ticket.channel is Channel.sms:
        return Via.sms, citizen.phone
    if ticket.channel is Channel.voice and is_mobile(citizen.phone):
        return Via.sms, citizen.phone
    if ticket.channel is Channel.web and citizen.consent_to_contact and is_mobile(citizen.phone):
        return Via.sms, citizen.phone
    return None


def citizen_key_of(via: Via, address: str) -> str:
    """The opt-out key of an address (the same key the store threads a sender's tickets by)."""
    return f"wechat:{address}" if via is Via.wechat else f"phone:{address}"


def steps_for(before: Ticket, after: Ticket,
              dispatched_categories: Collection[str] = ()) -> list[Step]:
    """What the change ``before`` → ``after`` tells the resident."""
    steps: list[Step] = []
    if after.status is not before.status:
        if after.status is Status.resolved:
            steps.append(Step.resolved)
        elif after.status is Status.rejected:
            steps.append(Step.rejected)
        elif after.status is Status.merged:
            steps.append(Step.merged)
        elif (after.status is Status.dispatched and after.category
              and after.category in dispatched_categories):
            steps.append(Step.dispatched)
    if next_question(after) is not None and after.status is Status.closed and (
            next_question(before) != next_question(after) or before.status is not Status.closed):
        steps.append(Step.ask_satisfaction)
    return steps


def key_of(ticket: Ticket, step: Step) -> str:
    return f"{ticket.id}:{step.value}:{resolution_round(ticket)}"


ChangeHook = Callable[[Connection, Ticket, Ticket, datetime], Sequence[Job]]
SendJob = Callable[[int], Job]  # notification id → the job that sends it


def plan(conn: Connection, ticket: Ticket, steps: Sequence[Step], at: datetime,
         send_job: SendJob) -> list[Job]:
    """Write one pending notification per step not planned before; the jobs that send them."""
    reach = contact(ticket)
    if reach is None or not steps:
        return []
    via, _address = reach
    jobs: list[Job] = []
    for step in steps:
        key = key_of(ticket, step)
        if conn.execute(select(notifications.c.id).where(notifications.c.key == key)).first():
            continue
        inserted = conn.execute(notifications.insert().values(
            key=key, ticket_id=ticket.id, step=step.value, channel=via.value, status=PENDING,
            attempts=0, next_attempt_at=at, provider_ref=None, last_error=None,
            created_at=at, sent_at=None)).inserted_primary_key
        if inserted is None:
            raise RuntimeError("the notification insert returned no id")
        jobs.append(send_job(int(inserted[0])))
    return jobs


def reply_key(message_key: str) -> str:
    return f"reply:{message_key}"


def plan_reply(conn: Connection, message_key: str, via: Via, address: str, body: str,
               at: datetime, send_job: SendJob) -> list[Job]:
    """Write the pending reply to message ``message_key`` (once: a repeat plans nothing)
    and the job that sends it, to be written to the outbox in the same transaction. A reply
    answers a message, not a ticket: its ``ticket_id`` is :data:`NO_TICKET`."""
    key = reply_key(message_key)
    if conn.execute(select(notifications.c.id).where(notifications.c.key == key)).first():
        return []
    inserted = conn.execute(notifications.insert().values(
        key=key, ticket_id=NO_TICKET, step=Step.reply.value, channel=via.value, status=PENDING,
        attempts=0, next_attempt_at=at, provider_ref=None, last_error=None, created_at=at,
        sent_at=None, address=address, body=body)).inserted_primary_key
    if inserted is None:
        raise RuntimeError("the notification insert returned no id")
    return [send_job(int(inserted[0]))]


def by_key(db: Database, key: str) -> Notification | None:
    with db.read() as conn:
        row = conn.execute(select(notifications).where(notifications.c.key == key)).first()
    return None if row is None else _row(row)


def planner(send_job: SendJob, dispatched_categories: Collection[str] = ()) -> ChangeHook:
    """The store's change hook (``Store(change_jobs=...)``, given by ``hotline.wiring``)."""
    categories = frozenset(dispatched_categories)

    def hook(conn: Connection, before: Ticket, after: Ticket, at: datetime) -> Sequence[Job]:
        return plan(conn, after, steps_for(before, after, categories), at, send_job)

    return hook


# -- the send job's records ----------------------------------------------------------------
def _row(row: Any) -> Notification:
    return Notification(row.id, row.key, row.ticket_id, Step(row.step), Via(row.channel),
                        row.status, row.attempts, row.next_attempt_at, row.provider_ref,
                        row.last_error, row.address, row.body)


def get(db: Database, notification_id: int) -> Notification | None:
    with db.read() as conn:
        row = conn.execute(select(notifications).where(
            notifications.c.id == notification_id)).first()
    return None if row is None else _row(row)


def for_ticket(db: Database, ticket_id: str) -> list[Notification]:
    with db.read() as conn:
        rows = conn.execute(select(notifications).where(notifications.c.ticket_id == ticket_id)
                            .order_by(notifications.c.id)).all()
    return [_row(r) for r in rows]


def by_provider_ref(db: Database, provider_ref: str) -> Notification | None:
    with db.read() as conn:
        row = conn.execute(select(notifications).where(
            notifications.c.provider_ref == provider_ref)).first()
    return None if row is None else _row(row)


def claim(db: Database, notification_id: int, at: datetime) -> bool:
    """``pending``/``unknown`` → ``sending`` (one attempt more); False when another run has it
    or it is settled. A notification left ``sending`` by a crash is released by
    :func:`release_stalled` (the relay's periodic check), never sent again at once."""
    with db.write() as conn:
        done = conn.execute(update(notifications).where(
            notifications.c.id == notification_id,
            notifications.c.status.in_((PENDING, UNKNOWN)),
        ).values(status=SENDING, attempts=notifications.c.attempts + 1, next_attempt_at=at))
    return done.rowcount == 1


def settle(db: Database, notification_id: int, status: str, *, at: datetime,
           provider_ref: str | None = None, error: str | None = None) -> None:
    values: dict[str, object] = {"status": status, "last_error": error[:500] if error else None}
    if provider_ref is not None:
        values["provider_ref"] = provider_ref[:64]
    if status == SENT:
        values["sent_at"] = at
    with db.write() as conn:
        conn.execute(update(notifications).where(notifications.c.id == notification_id)
                     .values(**values))
    metrics.notification(status)


def again(db: Database, note: Notification, job: Job, *, at: datetime, until: datetime,
          error: str | None = None, status: str = PENDING) -> None:
    """Back to ``pending`` (or ``unknown``) with the send job written again to run at
    ``until`` (a retry after a failure, or the end of quiet hours)."""
    delayed = Job(job.queue, job.path, job.args, delay=max(0.0, (until - at).total_seconds()))
    with db.write() as conn:
        conn.execute(update(notifications).where(notifications.c.id == note.id).values(
            status=status, next_attempt_at=until,
            last_error=error[:500] if error else note.last_error))
        outbox.write(conn, note.ticket_id, [delayed], at)
    metrics.notification("retry" if status == PENDING else status)


def release_stalled(db: Database, job_for: SendJob, at: datetime) -> list[int]:
    """Notifications left ``sending`` for longer than :data:`UNKNOWN_WAIT` — their worker died
    between the claim and the provider's answer — are treated like a lost answer: ``unknown``,
    with ``job_for(id)`` written to run now. The send job then sends them only if no delivery
    report settled them meanwhile, so a resident is told, and told at most once more than a
    delivery report shows. The ids released."""
    released: list[int] = []
    with db.write() as conn:
        rows = conn.execute(select(notifications.c.id, notifications.c.ticket_id).where(
            notifications.c.status == SENDING,
            notifications.c.next_attempt_at < at - UNKNOWN_WAIT)).all()
        for note_id, ticket_id in rows:
            done = conn.execute(update(notifications).where(
                notifications.c.id == note_id, notifications.c.status == SENDING,
            ).values(status=UNKNOWN, next_attempt_at=at,
                     last_error="the sending worker stopped before the provider answered"))
            if done.rowcount == 1:
                outbox.write(conn, ticket_id, [job_for(note_id)], at)
                released.append(note_id)
    for _ in released:
        metrics.notification(UNKNOWN)
    return released


def retry_at(attempts: int, at: datetime) -> datetime | None:
    """When attempt ``attempts + 1`` may run after ``attempts`` failed; None: no more."""
    if attempts > len(RETRY_SECONDS):
        return None
    return at + timedelta(seconds=RETRY_SECONDS[attempts - 1])


# -- opt-out ---------------------------------------------------------------------------------
def opt_out(db: Database, citizen_key: str, channel: Channel, at: datetime) -> None:
    """Record that ``citizen_key`` wants no more notifications (idempotent)."""
    values = {"citizen_key": citizen_key, "channel": channel.value, "at": at}
    with db.write() as conn:
        insert = (postgresql.insert(opt_outs) if conn.dialect.name == "postgresql"
                  else sqlite.insert(opt_outs))
        conn.execute(insert.values(**values).on_conflict_do_nothing())


def opt_in(db: Database, citizen_key: str) -> None:
    with db.write() as conn:
        conn.execute(opt_outs.delete().where(opt_outs.c.citizen_key == citizen_key))


def opted_out(db: Database, citizen_key: str) -> bool:
    with db.read() as conn:
        return conn.execute(select(opt_outs.c.citizen_key).where(
            opt_outs.c.citizen_key == citizen_key)).first() is not None
