"""Progress reports from back office (``POST /api/v1/tickets/{id}/events``) applied to a ticket."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Annotated

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from tickets.model import (
    Attachment,
    Channel,
    Evaluation,
    HistoryEntry,
    HistoryKind,
    Loop,
    Printable,
    Routing,
    Status,
    Ticket,
)
from tickets.status import check_transition

# what a unit (desk or its own system) and the district center's supervision report as events
EVENT_KINDS = frozenset({HistoryKind.sent_back, HistoryKind.extension_requested,
                         HistoryKind.extension_granted, HistoryKind.extension_refused,
                         HistoryKind.urged})
_NEEDS_NOTE = frozenset({HistoryKind.sent_back, HistoryKind.extension_requested,
                         HistoryKind.extension_refused})
_NEEDS_DEADLINE = frozenset({HistoryKind.extension_requested, HistoryKind.extension_granted})
# statuses a unit still works on (an extension or an urge is about one of them)
OPEN_WORK = frozenset({Status.registered, Status.dispatched, Status.in_progress})


class StaleEvent(ValueError):
    """The ticket changed after the sender saw it (``expected_seq``): nothing was applied."""

    def __init__(self, current: Ticket, expected: int) -> None:
        last = current.history[-1]
        super().__init__(f"ticket {current.number} changed since seq {expected} (now "
                         f"{current.seq}: {last.actor} at {last.at.isoformat()})")
        self.current = current
        self.expected = expected


class KindRefused(ValueError):
    """An event kind that does not fit the ticket as it is (e.g. an extension for a resolved
    ticket)."""

Name = Annotated[str, StringConstraints(min_length=1, max_length=100), Printable]


class EvaluationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    score: int = Field(ge=1, le=5)
    comment: Annotated[str, StringConstraints(max_length=2000), Printable] | None = None
    channel: Channel


class TicketEvent(BaseModel):
    """One change reported by a back-office system. Send ``event_id`` to make retries safe."""

    model_config = ConfigDict(extra="forbid")

    actor: Name = Field(description="who reports it, e.g. 'street:jdm' or 'dept:housing'")
    event_id: Name | None = Field(
        default=None, description="idempotency key: a repeat with the same id changes nothing"
    )
    status: Status | None = None
    note: Annotated[str, StringConstraints(max_length=5000), Printable] | None = None
    category: Annotated[str, StringConstraints(max_length=100), Printable] | None = None
    department: Annotated[str, StringConstraints(max_length=100), Printable] | None = None
    loop: Loop | None = None
    priority: int | None = Field(default=None, ge=1, le=5)
    reason: Annotated[str, StringConstraints(max_length=1000), Printable] | None = Field(
        default=None, description="required with status 'rejected'"
    )
    merged_into: Annotated[str, StringConstraints(max_length=32), Printable] | None = Field(
        default=None, description="required with status 'merged': the ticket kept"
    )
    evaluation: EvaluationIn | None = Field(
        default=None, description="the resident's rating; required with status 'evaluated'"
    )
    kind: HistoryKind | None = Field(
        default=None, description="what happened, when the status alone does not say it: "
        "sent_back (with status 'registered' and the reason in 'note'), extension_requested "
        "('resolve_by' asked for, reason in 'note'), extension_granted ('resolve_by': the new "
        "deadline), extension_refused (reason in 'note'), urged (督办)")
    resolve_by: AwareDatetime | None = Field(
        default=None, description="with an extension: the deadline asked for / granted")
    attachments: list[Attachment] = Field(
        default_factory=list, max_length=5,
        description="photos of the work (kept files, /api/v1/media/…), added to the ticket")
    expected_seq: int | None = Field(
        default=None, ge=1, description="the ticket's seq the sender saw: the event is "
        "refused (409 stale) when the ticket changed since")

    @model_validator(mode="after")
    def _consistent(self) -> TicketEvent:
        if self.status is Status.rejected and not self.reason:
            raise ValueError("status 'rejected' needs a 'reason'")
        if self.status is Status.merged and not self.merged_into:
            raise ValueError("status 'merged' needs 'merged_into' (the ticket kept)")
        if self.merged_into is not None and self.status is not Status.merged:
            raise ValueError("'merged_into' comes only with status 'merged'")
        if self.status is Status.evaluated and self.evaluation is None:
            raise ValueError("status 'evaluated' needs an 'evaluation'")
        if self.evaluation is not None and self.status is not Status.evaluated:
            raise ValueError("an 'evaluation' comes with status 'evaluated'")
        if self.kind is not None:
            if self.kind not in EVENT_KINDS:
                raise ValueError(f"kind '{self.kind}' is not reported as an event; one of: "
                                 + ", ".join(sorted(EVENT_KINDS)))
            if self.kind in _NEEDS_NOTE and not (self.note and self.note.strip()):
                raise ValueError(f"kind '{self.kind}' needs a 'note' (the reason)")
            if self.kind in _NEEDS_DEADLINE and self.resolve_by is None:
                raise ValueError(f"kind '{self.kind}' needs 'resolve_by'")
            if self.kind is HistoryKind.sent_back and self.status is not Status.registered:
                raise ValueError("sending back is kind 'sent_back' with status 'registered'")
            if self.kind is not HistoryKind.sent_back and self.status is not None:
                raise ValueError(f"kind '{self.kind}' changes no status")
        if self.resolve_by is not None and self.kind not in _NEEDS_DEADLINE:
            raise ValueError("'resolve_by' comes with kind 'extension_requested' or "
                             "'extension_granted'")
        fields = (self.status, self.note, self.category, self.department, self.loop,
                  self.priority, self.kind)
        if all(v is None for v in fields) and not self.attachments:
            raise ValueError("an event needs a status, a note or a field to change")
        return self


def digest(event: TicketEvent) -> str:
    """What the event says, apart from its ``event_id``: a reused id with other content is
    told apart from a true repeat."""
    body = event.model_dump_json(exclude={"event_id"}, exclude_none=True)
    return hashlib.sha256(body.encode()).hexdigest()[:32]


def apply_event(ticket: Ticket, event: TicketEvent, seq: int, at: datetime) -> Ticket | None:
    """The ticket after ``event``; None for a repeat of an ``event_id`` already applied.

    Raises :class:`tickets.status.IllegalTransition` for a status change the loop forbids,
    :class:`StaleEvent` when ``expected_seq`` is not the ticket's seq, :class:`KindRefused`
    for an extension or urge of a ticket no unit works on any more.
    """
    if event.event_id and any(h.event_id == event.event_id for h in ticket.history):
        return None
    if event.expected_seq is not None and event.expected_seq != ticket.seq:
        raise StaleEvent(ticket, event.expected_seq)
    update: dict[str, object] = {}
    if event.kind is not None and event.kind is not HistoryKind.sent_back \
            and ticket.status not in OPEN_WORK:
        raise KindRefused(f"ticket {ticket.number} is {ticket.status.value}: no "
                          f"{event.kind.value} any more")
    if event.kind is HistoryKind.sent_back:
        # back to the district center: no desk has it until the center routes it again
        update["routing"] = (ticket.routing or Routing()).model_copy(
            update={"destinations": []})
    if event.kind is HistoryKind.extension_granted and event.resolve_by is not None:
        update["routing"] = (ticket.routing or Routing()).model_copy(
            update={"resolve_by": event.resolve_by.astimezone(UTC)})
    if event.status is not None:
        check_transition(ticket.status, event.status)
        update["status"] = event.status
    for name in ("category", "department", "loop", "priority"):
        value = getattr(event, name)
        if value is not None:
            update[name] = value
    if event.status is Status.merged:  # only the status machine sets merged_into
        update["merged_into"] = event.merged_into
    if event.reason is not None:
        update["reject_reason"] = event.reason
    if event.evaluation is not None:
        update["evaluation"] = Evaluation(**event.evaluation.model_dump(), at=at)
    if event.attachments:
        known = {a.url for a in ticket.attachments}
        update["attachments"] = [*ticket.attachments,
                                 *(a for a in event.attachments if a.url not in known)]
    entry = HistoryEntry(
        seq=seq,
        at=at,
        actor=event.actor,
        status=event.status,
        from_status=ticket.status if event.status is not None else None,
        note=event.note,
        event_id=event.event_id,
        kind=event.kind,
    )
    update["history"] = [*ticket.history, entry]
    return ticket.model_copy(update=update)
