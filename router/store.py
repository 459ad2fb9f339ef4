"""The ticket store: submit, read, change. One transaction per operation, seq on every change."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, select, update
from sqlalchemy.exc import IntegrityError

from router.counters import next_number, next_seq
from router.db import Database
from router.model import HistoryEntry, Intake, Status, Ticket
from router.tables import outbox, tickets

DISPATCH_JOB = "router.jobs.dispatch"

# mutate(current, seq, at) -> the changed ticket, or None when there is nothing to change
Mutation = Callable[["Ticket", int, datetime], "Ticket | None"]


@dataclass(frozen=True)
class Job:
    """A job to put on RQ once the transaction that wrote it commits (outbox row)."""

    queue: str
    func: str
    args: tuple[Any, ...]


@dataclass(frozen=True)
class SubmitResult:
    ticket: Ticket
    created: bool


class _NoChange(Exception):
    """Raised inside a write transaction to roll it back when nothing changed."""

    def __init__(self, ticket: Ticket) -> None:
        self.ticket = ticket


class TicketNotFound(LookupError):
    def __init__(self, ticket_id: str) -> None:
        super().__init__(f"no ticket with id or number '{ticket_id}'")
        self.ticket_id = ticket_id


def citizen_key(intake: Intake) -> str | None:
    """Who wrote: the key used to find a resident's recent tickets (phone, else openid)."""
    if intake.citizen.phone:
        return f"phone:{intake.citizen.phone}"
    if intake.citizen.wechat_openid:
        return f"wechat:{intake.citizen.wechat_openid}"
    return None


def now_utc() -> datetime:
    return datetime.now(UTC)


def _enqueue(conn: Connection, ticket_id: str, jobs: list[Job], at: datetime) -> None:
    for job in jobs:
        conn.execute(
            outbox.insert().values(
                ticket_id=ticket_id,
                queue=job.queue,
                job=job.func,
                args=list(job.args),
                created_at=at,
                attempts=0,
            )
        )


def _row_values(ticket: Ticket) -> dict[str, Any]:
    return {
        "seq": ticket.seq,
        "status": ticket.status.value,
        "updated_at": ticket.updated_at,
        "doc": ticket.model_dump(mode="json"),
    }


class Store:
    """Ticket persistence over a :class:`~router.db.Database`."""

    def __init__(self, db: Database, *, timezone: str = "Asia/Shanghai") -> None:
        self.db = db
        self.tz = ZoneInfo(timezone)
        self._listeners: list[Callable[[], None]] = []

    def on_change(self, listener: Callable[[], None]) -> None:
        """Call ``listener()`` after every commit of this process (wakes long-polls)."""
        self._listeners.append(listener)

    def _changed(self) -> None:
        for listener in self._listeners:
            listener()

    # -- intake ---------------------------------------------------------------------------
    def submit(self, intake: Intake, *, extra_jobs: tuple[Job, ...] = ()) -> SubmitResult:
        """Persist an intake as a ``received`` ticket plus its outbox jobs, exactly once.

        Idempotent on ``(channel, channel_ref)`` by the unique constraint: a repeat (a webhook
        retry, a duplicate POST) returns the ticket that exists and writes nothing.
        """
        existing = self.find_by_ref(intake.channel.value, intake.channel_ref)
        if existing is not None:
            return SubmitResult(existing, created=False)
        try:
            with self.db.write() as conn:
                ticket = self._insert(conn, intake, extra_jobs)
        except IntegrityError:
            existing = self.find_by_ref(intake.channel.value, intake.channel_ref)
            if existing is None:
                raise
            return SubmitResult(existing, created=False)
        self._changed()
        return SubmitResult(ticket, created=True)

    def _insert(self, conn: Connection, intake: Intake, extra_jobs: tuple[Job, ...]) -> Ticket:
        seq = next_seq(conn)
        at = now_utc()
        ticket_id = uuid.uuid4().hex
        ticket = Ticket(
            id=ticket_id,
            number=next_number(conn, at.astimezone(self.tz)),
            seq=seq,
            channel=intake.channel,
            channel_ref=intake.channel_ref,
            received_at=intake.received_at,
            updated_at=at,
            citizen=intake.citizen,
            kind=intake.kind,
            text=intake.text,
            transcript=intake.transcript,
            attachments=intake.attachments,
            location=intake.location,
            status=Status.received,
            history=[
                HistoryEntry(seq=seq, at=at, actor=f"channel:{intake.channel.value}",
                             status=Status.received)
            ],
        )
        conn.execute(
            tickets.insert().values(
                id=ticket_id,
                number=ticket.number,
                channel=intake.channel.value,
                channel_ref=intake.channel_ref,
                citizen_key=citizen_key(intake),
                received_at=intake.received_at,
                **_row_values(ticket),
            )
        )
        jobs = [Job("dispatch", DISPATCH_JOB, (ticket_id,)), *extra_jobs]
        _enqueue(conn, ticket_id, jobs, at)
        return ticket

    # -- reads ----------------------------------------------------------------------------
    def find_by_ref(self, channel: str, channel_ref: str) -> Ticket | None:
        with self.db.read() as conn:
            doc = conn.execute(
                select(tickets.c.doc).where(
                    tickets.c.channel == channel, tickets.c.channel_ref == channel_ref
                )
            ).scalar()
        return None if doc is None else Ticket.model_validate(doc)

    def get(self, ticket_id: str) -> Ticket:
        """A ticket by id (32 hex) or by its 10-digit number."""
        column = tickets.c.number if len(ticket_id) == 10 else tickets.c.id
        with self.db.read() as conn:
            doc = conn.execute(select(tickets.c.doc).where(column == ticket_id)).scalar()
        if doc is None:
            raise TicketNotFound(ticket_id)
        return Ticket.model_validate(doc)

    def latest_for_citizen(self, key: str) -> Ticket | None:
        with self.db.read() as conn:
            doc = conn.execute(
                select(tickets.c.doc)
                .where(tickets.c.citizen_key == key)
                .order_by(tickets.c.updated_at.desc())
                .limit(1)
            ).scalar()
        return None if doc is None else Ticket.model_validate(doc)

    def feed(self, after: int, limit: int) -> list[Ticket]:
        """Tickets whose last change has ``seq > after``, in ``seq`` order."""
        with self.db.read() as conn:
            docs = conn.execute(
                select(tickets.c.doc)
                .where(tickets.c.seq > after)
                .order_by(tickets.c.seq)
                .limit(limit)
            ).scalars()
            return [Ticket.model_validate(d) for d in docs]

    # -- changes --------------------------------------------------------------------------
    def change(self, ticket_id: str, mutate: Mutation, *, jobs: tuple[Job, ...] = ()) -> Ticket:
        """Apply ``mutate(ticket, seq, at) -> Ticket | None`` under the write lock.

        ``mutate`` returning None means "nothing to change" (an idempotent repeat): no seq is
        used and the current ticket is returned. Any exception rolls everything back.
        """
        try:
            with self.db.write() as conn:
                seq = next_seq(conn)
                column = tickets.c.number if len(ticket_id) == 10 else tickets.c.id
                doc = conn.execute(select(tickets.c.doc).where(column == ticket_id)).scalar()
                if doc is None:
                    raise TicketNotFound(ticket_id)
                current = Ticket.model_validate(doc)
                at = now_utc()
                changed = mutate(current, seq, at)
                if changed is None:
                    raise _NoChange(current)
                ticket = Ticket.model_validate(changed.model_dump())
                ticket = ticket.model_copy(update={"seq": seq, "updated_at": at})
                conn.execute(
                    update(tickets).where(tickets.c.id == current.id).values(**_row_values(ticket))
                )
                _enqueue(conn, current.id, list(jobs), at)
        except _NoChange as unchanged:
            return unchanged.ticket
        self._changed()
        return ticket
