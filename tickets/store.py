"""The ticket store: submit, read, change. One transaction per operation, seq on every change.

Invariants:

* a ticket exists exactly once per ``(channel, channel_ref)`` (unique constraint): a repeated
  submit returns the ticket that exists and writes nothing;
* every committed change has a ``seq`` greater than every earlier commit (the seq counter row
  is locked until commit), so the back-office feed can page by ``seq > after``;
* the outbox rows a change asks for commit with it, or not at all;
* a ticket's history holds at most :data:`MAX_HISTORY` entries, so no sender can grow a
  ticket without bound.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Connection, select, tuple_, update
from sqlalchemy.exc import DBAPIError, IntegrityError

from tickets import metrics, outbox, receipts, units
from tickets.counters import current_seq, next_numbers, next_seq, next_seqs
from tickets.db import Database
from tickets.groupcommit import GroupCommitter, Pending
from tickets.jobs import Job, JobsFor, no_jobs
from tickets.model import Channel, HistoryEntry, Intake, Status, Ticket, is_ticket_number
from tickets.receipts import Receipt
from tickets.tables import tickets

MAX_HISTORY = 1000
_ID = re.compile(r"[0-9a-f]{32}")

# mutate(current, seq, at) -> the changed ticket, or None when there is nothing to change
Mutation = Callable[[Ticket, int, datetime], "Ticket | None"]
# also(conn, changed ticket, at): more rows written in the same transaction as the change
Also = Callable[[Connection, Ticket, datetime], None]
# destinations → (rows written with the change that hands the ticket to them, the jobs that
# send them): the delivery room's hand-over, which the composition room gives the store
Handover = Callable[[Sequence[str]], tuple[Also, JobsFor]]
# (conn, before, after, at) -> the jobs every change asks for by itself (the notifications to
# residents, tickets.notifications.planner), written with the change
ChangeJobs = Callable[[Connection, Ticket, Ticket, datetime], Sequence[Job]]


def no_change_jobs(_conn: Connection, _before: Ticket, _after: Ticket,
                   _at: datetime) -> Sequence[Job]:
    return ()


def _no_rows(_conn: Connection, _ticket: Ticket, _at: datetime) -> None:
    return None


def no_handover(_destinations: Sequence[str]) -> tuple[Also, JobsFor]:
    """A store without a delivery room: destinations are recorded on the ticket only."""
    return _no_rows, no_jobs


@dataclass(frozen=True)
class SubmitResult:
    ticket: Ticket
    created: bool


@dataclass(frozen=True)
class _Submission:
    intake: Intake
    jobs: JobsFor


def _key(intake: Intake) -> tuple[str, str]:
    return intake.channel.value, intake.channel_ref


def _existing(conn: Connection, keys: set[tuple[str, str]]) -> dict[tuple[str, str], Ticket]:
    """The tickets that exist for these ``(channel, channel_ref)`` pairs, in one SELECT."""
    rows = conn.execute(
        select(tickets.c.channel, tickets.c.channel_ref, tickets.c.doc)
        .where(tuple_(tickets.c.channel, tickets.c.channel_ref).in_(sorted(keys)))
    )
    return {(channel, ref): Ticket.model_validate(doc) for channel, ref, doc in rows}


class _NoChange(Exception):
    """Raised inside a write transaction to roll it back when nothing changed."""

    def __init__(self, ticket: Ticket) -> None:
        self.ticket = ticket


class TicketNotFound(LookupError):
    def __init__(self, ticket_ref: str) -> None:
        super().__init__(f"no ticket with id or number '{ticket_ref[:40]}'")
        self.ticket_ref = ticket_ref


class MergeRefused(ValueError):
    """A merge the store will not record. ``conflict``: the survivor is merged itself (maybe
    by a merge that committed a moment earlier) — a 409; otherwise the target is unusable (422)."""

    def __init__(self, message: str, *, conflict: bool) -> None:
        super().__init__(message)
        self.conflict = conflict


class HistoryFull(ValueError):
    def __init__(self, ticket: Ticket) -> None:
        super().__init__(f"ticket {ticket.number} has {MAX_HISTORY} history entries; "
                         "no more changes are recorded on it")


def _by_ref(ticket_ref: str) -> ColumnElement[bool]:
    """The WHERE clause for a ticket id (32 hex) or number (10–16 digits); TicketNotFound
    for anything else, without asking the database."""
    if is_ticket_number(ticket_ref):
        return tickets.c.number == ticket_ref
    if _ID.fullmatch(ticket_ref):
        return tickets.c.id == ticket_ref
    raise TicketNotFound(ticket_ref)


# Channels whose sender identity the provider proved: the SMS sender and the caller id are
# what the network says, a WeChat openid is what WeChat signed. A phone number typed into the
# web form or sent by another system is kept on the ticket but never threads messages.
_PROVEN_PHONE = frozenset({Channel.sms, Channel.voice})


def citizen_key(intake: Intake) -> str | None:
    """Who wrote, as proven by the channel: the key of a resident's recent tickets."""
    if intake.channel in _PROVEN_PHONE and intake.citizen.phone:
        return f"phone:{intake.citizen.phone}"
    if intake.channel is Channel.wechat and intake.citizen.wechat_openid:
        return f"wechat:{intake.citizen.wechat_openid}"
    return None


def now_utc() -> datetime:
    return datetime.now(UTC)


def _row_values(ticket: Ticket) -> dict[str, Any]:
    location, routing = ticket.location, ticket.routing
    return {
        "seq": ticket.seq,
        "status": ticket.status.value,
        "updated_at": ticket.updated_at,
        "doc": ticket.model_dump(mode="json"),
        "category": ticket.category,
        "street": location.street if location else None,
        "grid": location.grid if location else None,
        "loop": ticket.loop.value if ticket.loop else None,
        "respond_by": routing.respond_by if routing else None,
        "resolve_by": routing.resolve_by if routing else None,
        "kind": ticket.kind.value,
        "phone": ticket.citizen.phone,
        "units": units.column_of(ticket),
        "desk_street": units.first_code(ticket, units.STREET),
        "desk_dept": units.first_code(ticket, units.DEPARTMENT),
    }


class Store:
    """Ticket persistence over a :class:`~tickets.db.Database`."""

    def __init__(self, db: Database, *, timezone: str = "Asia/Shanghai",
                 intake_jobs: JobsFor = no_jobs, handover: Handover = no_handover,
                 change_jobs: ChangeJobs = no_change_jobs) -> None:
        """``intake_jobs(ticket_id)``: the jobs every new ticket gets with its first commit
        (and a ticket a resident adds to before it is dispatched) — the composition room
        (``hotline.wiring``) names the router's dispatch job; the store does not know it.
        ``handover(destinations)``: how a change outside the router hands a ticket to more
        destinations (a ticket the resident says is not solved twice goes to the district
        center) — ``hotline.wiring`` gives the delivery room's planning.
        ``change_jobs(conn, before, after, at)``: rows and jobs every change writes by itself
        (``hotline.wiring`` gives the notifications to residents)."""
        self.db = db
        self.tz = ZoneInfo(timezone)
        self.intake_jobs = intake_jobs
        self.handover = handover
        self.change_jobs = change_jobs
        self._listeners: list[Callable[[int], None]] = []
        self._submits: GroupCommitter[_Submission, SubmitResult] = GroupCommitter(
            self._commit_submissions)

    def on_change(self, listener: Callable[[int], None]) -> None:
        """Call ``listener(seq)`` after every commit of this process (wakes long-polls)."""
        self._listeners.append(listener)

    def _changed(self, seq: int) -> None:
        for listener in self._listeners:
            listener(seq)

    # -- intake ---------------------------------------------------------------------------
    def submit(self, intake: Intake, *, jobs: JobsFor = no_jobs) -> SubmitResult:
        """Persist an intake as a ``received`` ticket, its :attr:`intake_jobs` and
        ``jobs(id)``, exactly once.

        Idempotent on ``(channel, channel_ref)`` by the unique constraint: a repeat (a webhook
        retry, a duplicate POST) returns the ticket that exists and writes nothing.

        Submits that arrive while another commits are gathered into one transaction (group
        commit, :mod:`tickets.groupcommit`): one seq and one day-number UPDATE for the whole
        batch, one COMMIT. Each caller still gets its own ticket or its own error.
        """
        result = self._submits.run(_Submission(intake, jobs))
        if result.created:
            metrics.ticket_accepted(result.ticket.channel.value)
        return result

    def _commit_submissions(self, batch: Sequence[Pending[_Submission, SubmitResult]]) -> None:
        """The group committer's batch: one transaction for all of it. A row the in-transaction
        look-up could not see yet (another process inserted the same reference meanwhile:
        IntegrityError), or any error of the batch's own Python, sends every item through a
        transaction of its own, so that each caller gets exactly its own answer. An error of
        the database itself (connection lost, commit refused) fails every caller of the batch;
        nothing of it was written."""
        try:
            with self.db.write() as conn:
                results = self._insert_batch(conn, [p.item for p in batch])
        except IntegrityError:
            self._one_by_one(batch)
            return
        except DBAPIError as exc:
            for pending in batch:
                pending.fail(exc)
            return
        except Exception:
            if len(batch) == 1:
                raise
            self._one_by_one(batch)
            return
        for pending, result in zip(batch, results, strict=True):
            pending.succeed(result)
        created = [r.ticket.seq for r in results if r.created]
        if created:
            self._changed(max(created))

    def _one_by_one(self, batch: Sequence[Pending[_Submission, SubmitResult]]) -> None:
        for pending in batch:
            try:
                pending.succeed(self._submit_alone(pending.item))
            except Exception as exc:
                pending.fail(exc)

    def _submit_alone(self, submission: _Submission) -> SubmitResult:
        intake = submission.intake
        try:
            with self.db.write() as conn:
                [result] = self._insert_batch(conn, [submission])
        except IntegrityError:
            existing = self.find_by_ref(intake.channel.value, intake.channel_ref)
            if existing is None:
                raise
            return SubmitResult(existing, created=False)
        if result.created:
            self._changed(result.ticket.seq)
        return result

    def _insert_batch(self, conn: Connection,
                      batch: Sequence[_Submission]) -> list[SubmitResult]:
        """Inside one write transaction: the tickets that exist already are answered from the
        database, a reference repeated within the batch gets the batch's first ticket for it,
        and every other intake a new ticket — seqs and day numbers taken in one UPDATE each."""
        keys = {_key(s.intake) for s in batch}
        existing = _existing(conn, keys)
        first: dict[tuple[str, str], int] = {}
        fresh: list[_Submission] = []
        for sub in batch:
            key = _key(sub.intake)
            if key not in existing and key not in first:
                first[key] = len(fresh)
                fresh.append(sub)
        made: list[Ticket] = []
        if fresh:
            seqs = next_seqs(conn, len(fresh))
            at = now_utc()
            numbers = next_numbers(conn, at.astimezone(self.tz), len(fresh))
            made = [self._new_ticket(sub.intake, seq, number, at)
                    for sub, seq, number in zip(fresh, seqs, numbers, strict=True)]
            conn.execute(tickets.insert(), [
                {"id": t.id, "number": t.number, "channel": t.channel.value,
                 "channel_ref": t.channel_ref, "citizen_key": citizen_key(sub.intake),
                 "received_at": t.received_at, **_row_values(t)}
                for sub, t in zip(fresh, made, strict=True)
            ])
            outbox.write_many(conn, [
                (t.id, [*self.intake_jobs(t.id), *sub.jobs(t.id)])
                for sub, t in zip(fresh, made, strict=True)
            ], at)
        results: list[SubmitResult] = []
        claimed: set[tuple[str, str]] = set()
        for sub in batch:
            key = _key(sub.intake)
            if key in existing:
                results.append(SubmitResult(existing[key], created=False))
            else:
                results.append(SubmitResult(made[first[key]], created=key not in claimed))
                claimed.add(key)
        return results

    @staticmethod
    def _new_ticket(intake: Intake, seq: int, number: str, at: datetime) -> Ticket:
        return Ticket(
            id=uuid.uuid4().hex,
            number=number,
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
            category=intake.category,
            status=Status.received,
            history=[
                HistoryEntry(seq=seq, at=at, actor=f"channel:{intake.channel.value}",
                             status=Status.received)
            ],
        )

    # -- reads ----------------------------------------------------------------------------
    def find_by_ref(self, channel: str, channel_ref: str) -> Ticket | None:
        with self.db.read() as conn:
            doc = conn.execute(
                select(tickets.c.doc).where(
                    tickets.c.channel == channel, tickets.c.channel_ref == channel_ref
                )
            ).scalar()
        return None if doc is None else Ticket.model_validate(doc)

    def get(self, ticket_ref: str) -> Ticket:
        """A ticket by id (32 hex) or by its number."""
        where = _by_ref(ticket_ref)
        with self.db.read() as conn:
            doc = conn.execute(select(tickets.c.doc).where(where)).scalar()
        if doc is None:
            raise TicketNotFound(ticket_ref)
        return Ticket.model_validate(doc)

    def survivor_of(self, ticket: Ticket, hops: int = 5) -> Ticket:
        """The ticket a merged ``ticket`` now lives on (itself when not merged): residents
        of a merged ticket are told about the survivor."""
        current = ticket
        for _ in range(hops):
            if current.status is not Status.merged or not current.merged_into:
                break
            try:
                current = self.get(current.merged_into)
            except TicketNotFound:
                break
        return current

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

    def current_seq(self) -> int:
        """The seq of the newest committed change (0 for an empty store)."""
        with self.db.read() as conn:
            return current_seq(conn)

    # -- changes --------------------------------------------------------------------------
    def change(self, ticket_ref: str, mutate: Mutation, *, jobs: JobsFor = no_jobs,
               also: Also | None = None, receipt: Receipt | None = None) -> Ticket:
        """Apply ``mutate(ticket, seq, at) -> Ticket | None`` under the write lock.

        ``mutate`` returning None means "nothing to change" (an idempotent repeat): no seq is
        used, no job is written and the current ticket is returned. ``also`` writes more rows
        with the change (deliveries). Any exception rolls everything back; :class:`HistoryFull`
        when the change would pass :data:`MAX_HISTORY`. A change that merges the ticket has
        its survivor checked here, under the write lock (:class:`MergeRefused`), so two merges
        racing each other can never close a chain on itself. With ``receipt``, a repeat of the
        same receipt changes nothing and a reuse for other content is :class:`EventIdReused`.
        """
        where = _by_ref(ticket_ref)
        try:
            with self.db.write() as conn:
                seq = next_seq(conn)
                doc = conn.execute(select(tickets.c.doc).where(where)).scalar()
                if doc is None:
                    raise TicketNotFound(ticket_ref)
                current = Ticket.model_validate(doc)
                if receipt is not None and receipts.seen(conn, current, receipt):
                    raise _NoChange(current)
                at = now_utc()
                changed = mutate(current, seq, at)
                if changed is None:
                    raise _NoChange(current)
                if len(changed.history) > MAX_HISTORY:
                    raise HistoryFull(current)
                if changed.status is Status.merged and current.status is not Status.merged:
                    _check_survivor(conn, current, changed.merged_into)
                ticket = Ticket.model_validate(
                    {**changed.model_dump(), "seq": seq, "updated_at": at})
                conn.execute(
                    update(tickets).where(tickets.c.id == current.id).values(**_row_values(ticket))
                )
                if also is not None:
                    also(conn, ticket, at)
                if receipt is not None:
                    receipts.keep(conn, current, receipt, seq=seq, at=at)
                outbox.write(conn, current.id,
                             [*jobs(current.id), *self.change_jobs(conn, current, ticket, at)],
                             at)
        except _NoChange as unchanged:
            return unchanged.ticket
        self._changed(ticket.seq)
        metrics.steps_reached(current, ticket)
        return ticket


def _check_survivor(conn: Connection, current: Ticket, target_ref: str | None) -> None:
    """Inside the write transaction (writers are serialized by the seq row): the ticket a
    merge keeps exists, is another ticket and is not merged itself. A ticket merges only into
    one that is not merged, and a merged ticket never changes again, so no chain of merges
    can ever lead back to where it started (A→B→C→A is refused at C→A)."""
    if not target_ref:
        raise MergeRefused("status 'merged' needs 'merged_into' (the ticket kept)",
                           conflict=False)
    try:
        doc = conn.execute(select(tickets.c.doc).where(_by_ref(target_ref))).scalar()
    except TicketNotFound as exc:
        raise MergeRefused(f"merged_into: {exc}", conflict=False) from None
    if doc is None:
        raise MergeRefused(f"merged_into: {TicketNotFound(target_ref)}", conflict=False)
    target = Ticket.model_validate(doc)
    if target.id == current.id:
        raise MergeRefused("a ticket cannot be merged into itself", conflict=False)
    if target.status is Status.merged or target.merged_into is not None:
        raise MergeRefused(f"ticket {target.number} is merged into another ticket itself; "
                           "merge into the surviving ticket", conflict=True)
