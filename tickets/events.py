"""Progress reports from back office (``POST /api/v1/tickets/{id}/events``) applied to a ticket."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from tickets.model import Channel, Evaluation, HistoryEntry, Loop, Printable, Status, Ticket
from tickets.status import check_transition

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
        fields = (self.status, self.note, self.category, self.department, self.loop,
                  self.priority)
        if all(v is None for v in fields):
            raise ValueError("an event needs a status, a note or a field to change")
        return self


def digest(event: TicketEvent) -> str:
    """What the event says, apart from its ``event_id``: a reused id with other content is
    told apart from a true repeat."""
    body = event.model_dump_json(exclude={"event_id"}, exclude_none=True)
    return hashlib.sha256(body.encode()).hexdigest()[:32]


def apply_event(ticket: Ticket, event: TicketEvent, seq: int, at: datetime) -> Ticket | None:
    """The ticket after ``event``; None for a repeat of an ``event_id`` already applied.

    Raises :class:`tickets.status.IllegalTransition` for a status change the loop forbids.
    """
    if event.event_id and any(h.event_id == event.event_id for h in ticket.history):
        return None
    update: dict[str, object] = {}
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
    entry = HistoryEntry(
        seq=seq,
        at=at,
        actor=event.actor,
        status=event.status,
        from_status=ticket.status if event.status is not None else None,
        note=event.note,
        event_id=event.event_id,
    )
    update["history"] = [*ticket.history, entry]
    return ticket.model_copy(update=update)
