"""The notification job: tells a resident on their own channel what happened to their ticket.

Planned by :func:`tickets.notifications.planner` in the transaction of the change that causes
it (``hotline.wiring`` names :func:`send_notification` as the job), run on the ``notify``
queue. One run: skip what no longer applies (opted out, nothing to ask any more, no sender
configured), wait out quiet hours (priority 1 excepted: a due message waits, it is not
dropped), claim the notification (so a message is never sent twice), send it through the
channel's sender (SMS: :mod:`channels.twilio_sms.notify`, WeChat:
:mod:`channels.wechat.notify`), and record the outcome: the ticket's
history says ``notified`` (and ``asked`` for the question the message put), or after the last
retry ``notification_failed``. The ticket's own status change never waits on any of this.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Protocol

from channels.texts import texts
from tickets import notifications as nt
from tickets.answers import Question
from tickets.db import Database
from tickets.jobcontext import JobContext
from tickets.jobs import Job, job
from tickets.masking import mask_openid, mask_phone
from tickets.model import Channel, HistoryEntry, HistoryKind, Status, Ticket
from tickets.queues import QueueName
from tickets.quiethours import QuietHours
from tickets.store import Store
from tickets.verification import mark_asked, next_question, pending_question

log = logging.getLogger(__name__)
MAX_REPLY_CHARS = 300  # of the unit's reply quoted in a message


class Sender(Protocol):
    def send(self, to: str, body: str, notification_id: int, *, step: str = "",
             number: str = "") -> str:
        """Send ``body`` to ``to``; the provider's message id. Raises
        :class:`channels.twilio_sms.notify.SendFailed` (or a look-alike with ``certain``,
        ``retryable`` and ``code``)."""


class NotifyContext(JobContext, Protocol):
    @property
    def sms_sender(self) -> Sender | None: ...

    @property
    def wechat_sender(self) -> Sender | None: ...

    @property
    def quiet_hours(self) -> QuietHours | None: ...

    @property
    def clock(self) -> Callable[[], datetime]: ...

    @property
    def status_link(self) -> Callable[[Ticket], str | None] | None:
        """The web-form resident's own status page (absolute URL), when one can be made."""


def _reply_of(ticket: Ticket) -> str:
    for entry in reversed(ticket.history):
        if entry.status is Status.resolved:
            reply = (entry.note or "").strip()
            if len(reply) > MAX_REPLY_CHARS:
                reply = reply[:MAX_REPLY_CHARS - 1] + "…"
            return reply or "（无）"
    return "（无）"


def compose(step: nt.Step, ticket: Ticket, store: Store,
            link: str | None = None) -> tuple[str, Question | None] | None:
    """The message of ``step`` about ``ticket`` and the question it puts (None: the step no
    longer applies, e.g. the resident answered on the web page meanwhile). A web-form
    resident's number is not proven, so their text reply could not be matched to the ticket:
    they get their status page's ``link``, where they answer, instead of the question."""
    t = texts().notify
    n = ticket.number
    question: Question | None = None
    if step is nt.Step.resolved:
        parts = [t.resolved.format(number=n, reply=_reply_of(ticket))]
        if ticket.channel is Channel.web:
            if link:
                parts.append(t.web_link.format(url=link))
        elif pending_question(ticket) is Question.solved and ticket.status is Status.resolved:
            parts.append(t.ask_solved.format(number=n))
            question = Question.solved
        body = "\n".join(parts)
    elif step is nt.Step.ask_satisfaction:
        if next_question(ticket) is not Question.satisfaction:
            return None
        body, question = t.ask_satisfaction.format(number=n), Question.satisfaction
    elif step is nt.Step.rejected:
        body = t.rejected.format(number=n, reason=ticket.reject_reason or "—")
    elif step is nt.Step.merged:
        body = t.merged.format(number=n, survivor=store.survivor_of(ticket).number)
    elif step is nt.Step.received:
        body = t.received.format(number=n)
    else:
        body = t.dispatched.format(number=n)
    return f"{body}\n{t.footer}", question


def _record_sent(store: Store, note: nt.Notification, ref: str,
                 question: Question | None) -> None:
    key = f"notified:{note.key}"
    channel = Channel(note.channel.value)

    def mutate(ticket: Ticket, seq: int, at: datetime) -> Ticket | None:
        if any(h.event_id == key for h in ticket.history):
            return None
        entry = HistoryEntry(seq=seq, at=at, actor=f"gateway:{channel.value}",
                             kind=HistoryKind.notified, event_id=key,
                             note=f"{channel.value} message '{note.step.value}' sent ({ref})")
        told = ticket.model_copy(update={"history": [*ticket.history, entry]})
        if question is not None:
            told = mark_asked(told, question, channel=channel, seq=seq, at=at,
                              note=f"asked by {channel.value}: {question.value}") or told
        return told

    store.change(note.ticket_id, mutate)


def _record_failed(store: Store, note: nt.Notification, error: str) -> None:
    if note.ticket_id == nt.NO_TICKET:
        return  # a reply about no ticket: its row says it is dead
    key = f"failed:{note.key}"

    def mutate(ticket: Ticket, seq: int, at: datetime) -> Ticket | None:
        if any(h.event_id == key for h in ticket.history):
            return None
        entry = HistoryEntry(seq=seq, at=at, actor=f"gateway:{note.channel.value}",
                             kind=HistoryKind.notification_failed, event_id=key,
                             note=f"{note.channel.value} message '{note.step.value}' not sent: "
                                  f"{error[:300]}")
        return ticket.model_copy(update={"history": [*ticket.history, entry]})

    store.change(note.ticket_id, mutate)


@job(QueueName.notify)
def send_notification(ctx: NotifyContext, notification_id: int) -> str:
    """Send notification ``notification_id`` (idempotent: a settled one is left alone)."""
    store, db = ctx.store, ctx.store.db
    note = nt.get(db, notification_id)
    if note is None:
        return "no such notification"
    if note.status not in (nt.PENDING, nt.UNKNOWN):
        return note.status
    if note.step is nt.Step.reply:
        return _send_reply(ctx, note)
    ticket = store.get(note.ticket_id)
    now = ctx.clock()
    reach = nt.contact(ticket)
    sender = ctx.sms_sender if note.channel is nt.Via.sms else ctx.wechat_sender
    if reach is None or sender is None:
        why = "no address" if reach is None else f"{note.channel.value} sending not configured"
        nt.settle(db, note.id, nt.SKIPPED, at=now, error=why)
        return f"skipped: {why}"
    via, address = reach
    if nt.opted_out(db, nt.citizen_key_of(via, address)):
        nt.settle(db, note.id, nt.SKIPPED, at=now, error="opted out")
        return "skipped: opted out"
    message = compose(note.step, ticket, store,
                      ctx.status_link(ticket) if ctx.status_link else None)
    if message is None:
        nt.settle(db, note.id, nt.SKIPPED, at=now, error="no longer applies")
        return "skipped: no longer applies"
    quiet = ctx.quiet_hours
    if quiet is not None and ticket.priority != 1 and quiet.contains(now):
        until = quiet.ends_after(now)
        nt.again(db, note, Job.of(send_notification, note.id), at=now, until=until)
        return f"waiting for the end of quiet hours ({until.isoformat()})"
    if not nt.claim(db, note.id, now):
        return "taken by another run"
    body, question = message
    try:
        ref = sender.send(address, body, note.id, step=note.step.value, number=ticket.number)
    except Exception as exc:
        return _failed(ctx, note, exc, now)
    nt.settle(db, note.id, nt.SENT, at=now, provider_ref=ref)
    _record_sent(store, note, ref, question)
    log.info("notified %s about ticket %s (%s, %s)", mask_phone(address), ticket.number,
             note.step.value, ref)
    return f"sent {ref}"


def _send_reply(ctx: NotifyContext, note: nt.Notification) -> str:
    """A reply to a message the spool kept: its own address and text. It answers the
    resident's own message as the channel would have at once, so an opt-out does not stop
    it (it may be the confirmation of that opt-out); quiet hours do."""
    db, now = ctx.store.db, ctx.clock()
    sender = ctx.sms_sender if note.channel is nt.Via.sms else ctx.wechat_sender
    if sender is None or not note.address or not note.body:
        why = "no address or text" if sender else f"{note.channel.value} sending not configured"
        nt.settle(db, note.id, nt.SKIPPED, at=now, error=why)
        return f"skipped: {why}"
    quiet = ctx.quiet_hours
    if quiet is not None and quiet.contains(now):
        until = quiet.ends_after(now)
        nt.again(db, note, Job.of(send_notification, note.id), at=now, until=until)
        return f"waiting for the end of quiet hours ({until.isoformat()})"
    if not nt.claim(db, note.id, now):
        return "taken by another run"
    try:
        ref = sender.send(note.address, note.body, note.id, step=note.step.value)
    except Exception as exc:
        return _failed(ctx, note, exc, now)
    nt.settle(db, note.id, nt.SENT, at=now, provider_ref=ref)
    masked = (mask_openid(note.address) if note.channel is nt.Via.wechat
              else mask_phone(note.address))
    log.info("replied to %s (%s)", masked, ref)
    return f"sent {ref}"


def sweep_stalled(db: Database, now: datetime) -> list[int]:
    """The relay's periodic check: notifications whose worker died mid-send are checked again
    (:func:`tickets.notifications.release_stalled`)."""
    released = nt.release_stalled(db, lambda note_id: Job.of(send_notification, note_id), now)
    if released:
        log.warning("notifications %s were left sending by a stopped worker; checked again",
                    released)
    return released


def _failed(ctx: NotifyContext, note: nt.Notification, exc: Exception, now: datetime) -> str:
    db = ctx.store.db
    error = str(exc) or type(exc).__name__
    certain = bool(getattr(exc, "certain", False))
    retryable = bool(getattr(exc, "retryable", True))
    attempts = note.attempts + 1
    again = nt.retry_at(attempts, now) if retryable else None
    if again is not None and not certain:
        # the message may have left: wait for its delivery report before sending it again
        nt.again(db, note, Job.of(send_notification, note.id), at=now,
                 until=max(again, now + nt.UNKNOWN_WAIT), error=error, status=nt.UNKNOWN)
        log.warning("notification %s: outcome unknown (%s); checked again later", note.id,
                    error)
        return f"unknown: {error}"
    if again is not None:
        nt.again(db, note, Job.of(send_notification, note.id), at=now, until=again,
                 error=error)
        log.warning("notification %s failed (attempt %s): %s", note.id, attempts, error)
        return f"retry at {again.isoformat()}: {error}"
    nt.settle(db, note.id, nt.DEAD, at=now, error=error)
    _record_failed(ctx.store, note, error)
    log.error("notification %s dead after %s attempts: %s", note.id, attempts, error)
    return f"dead: {error}"
