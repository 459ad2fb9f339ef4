"""What a person at the console does to tickets: correct one (text, kind, place, category, a
note) and open one for a call answered directly.

Invariants:

* an edit is one store change with one history entry naming the person who made it
  (``operator:<login>`` / ``supervisor:<login>``) and when; a save that changes nothing writes
  nothing;
* an edit is made against the version the person saw: the form carries the ticket's ``seq``
  and a save after anybody else's change (another operator, the router, back office) is
  refused with :class:`StaleEdit` and writes nothing — it never overwrites what it did not see;
* merged, closed, evaluated and rejected tickets are not edited (:class:`Uneditable`);
* a place and a category a person chose are marked ``source: operator`` in the routing, which
  the router keeps (:mod:`router.decide`); an edit of a ticket still before dispatch
  (received, or registered and waiting for a person) writes the dispatch job with it, so the
  ticket moves on through the normal router path;
* places and categories are codes of the router's reviewed configuration; anything else is an
  :class:`InvalidEdit` naming the field.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints

from router.dispatch import dispatch
from tickets.jobs import Job, no_jobs
from tickets.masking import mask_phone
from tickets.model import (
    Channel,
    Citizen,
    Decided,
    HistoryEntry,
    Intake,
    Kind,
    Location,
    LongText,
    Printable,
    Routing,
    ShortText,
    Status,
    Ticket,
)
from tickets.phone import to_e164
from tickets.store import Store, SubmitResult

if TYPE_CHECKING:
    from router.catalogue import Catalogue
    from router.places import Places

log = logging.getLogger(__name__)

# statuses whose ticket is finished with, or lives on in another ticket
LOCKED = frozenset({Status.merged, Status.closed, Status.evaluated, Status.rejected})
# statuses in which the dispatch job still routes a ticket (router/routing.py)
BEFORE_DISPATCH = frozenset({Status.received, Status.registered})
OPERATOR = "operator"  # the routing source of a person's decision
PREVIOUS_TEXT = 1000  # characters of a corrected text kept in the history note
CHANNEL_REF_PREFIX = "console:"

EditField = Literal["text", "kind", "address", "place", "street", "community", "grid",
                    "category", "note", "phone"]


class EditError(ValueError):
    """An edit that cannot be made; nothing was written."""


class Uneditable(EditError):
    def __init__(self, ticket: Ticket) -> None:
        super().__init__(f"ticket {ticket.number} is {ticket.status.value}; it is not edited "
                         "any more")
        self.ticket = ticket


class StaleEdit(EditError):
    """The ticket changed after the person loaded it (``current`` is how it is now)."""

    def __init__(self, current: Ticket, seen: int) -> None:
        super().__init__(f"ticket {current.number} changed since it was loaded (version "
                         f"{seen}, now {current.seq}); reload it and edit again")
        self.current = current
        self.seen = seen


class InvalidEdit(EditError):
    """A field names something the configuration does not know, or two fields disagree."""

    def __init__(self, field: EditField, problem: Literal["unknown", "conflict", "invalid",
                                                       "empty"], value: str | None) -> None:
        super().__init__(f"{field}: {problem} value {value!r}")
        self.field = field
        self.problem = problem
        self.value = value


def _newlines(value: object) -> object:
    """Browsers send a textarea's line breaks as CRLF; a ticket keeps LF."""
    if isinstance(value, str):
        return value.replace("\r\n", "\n").replace("\r", "\n")
    return value


def _optional(value: object) -> object:
    value = _newlines(value)
    if isinstance(value, str):
        return value.strip() or None
    return value


Code = Annotated[str, StringConstraints(max_length=64), Printable]
Blank = BeforeValidator(_optional)  # "" → None
Note = Annotated[Annotated[str, StringConstraints(max_length=2000), Printable] | None, Blank]


class Edit(BaseModel):
    """The console's ticket form, parsed: the desired state of the editable fields (empty
    strings mean "none") and the version of the ticket the person saw."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    seq: int = Field(ge=0)
    text: Annotated[LongText, BeforeValidator(_newlines)] = ""
    kind: Kind = Kind.unknown
    address: Annotated[Annotated[str, StringConstraints(max_length=500), Printable] | None,
                       Blank] = None
    street: Annotated[Code | None, Blank] = None
    community: Annotated[Code | None, Blank] = None
    grid: Annotated[Code | None, Blank] = None
    category: Annotated[Code | None, Blank] = None
    note: Note = None


@dataclass(frozen=True)
class Place:
    """A place in the hierarchy: street > community > grid cell (codes)."""

    street: str | None = None
    community: str | None = None
    grid: str | None = None

    @classmethod
    def of(cls, location: Location | None) -> Place:
        if location is None:
            return cls()
        return cls(location.street, location.community, location.grid)

    def describe(self) -> str:
        return " / ".join(v for v in (self.street, self.community, self.grid) if v) or "none"


_FINE_TO_COARSE: tuple[Literal["grid", "community", "street"], ...] = (
    "grid", "community", "street")


def _parent(places: Places, level: str, code: str, coarse: str) -> str | None:
    if level == "grid":
        cell = places.cells[code]
        return cell.community if coarse == "community" else cell.street
    return places.community_street(code)  # community → street


def _known(places: Places, level: str, code: str) -> bool:
    if level == "grid":
        return code in places.cells
    if level == "community":
        return places.community_street(code) is not None
    return places.street(code) is not None


def resolve_place(places: Places, wanted: Place, current: Place) -> Place:
    """The place a form asks for, made whole and consistent (pure).

    The finest level given decides the coarser ones (a grid cell names its community and
    street). A coarser level the person *changed* wins over finer levels they left as they
    were (moving a ticket to another street drops its old grid cell); two levels both changed
    that disagree are an :class:`InvalidEdit` (``conflict``); unknown codes are ``unknown``.
    """
    values = {"street": wanted.street, "community": wanted.community, "grid": wanted.grid}
    changed = {level: values[level] != getattr(current, level) for level in values}
    for level in _FINE_TO_COARSE:
        code = values[level]
        if code is not None and not _known(places, level, code):
            raise InvalidEdit(level, "unknown", code)
    for i, fine in enumerate(_FINE_TO_COARSE[:-1]):
        code = values[fine]
        if code is None or changed[fine]:
            continue
        for coarse in _FINE_TO_COARSE[i + 1:]:
            other = values[coarse]
            if other is not None and changed[coarse] and \
                    _parent(places, fine, code, coarse) != other:
                values[fine] = None
                break
    anchor = next((level for level in _FINE_TO_COARSE if values[level] is not None), None)
    if anchor is None:
        return Place()
    code = values[anchor]
    assert code is not None
    for coarse in _FINE_TO_COARSE[_FINE_TO_COARSE.index(anchor) + 1:]:
        derived = _parent(places, anchor, code, coarse)
        if values[coarse] is not None and values[coarse] != derived and changed[coarse]:
            raise InvalidEdit(coarse, "conflict", values[coarse])
        values[coarse] = derived
    return Place(values["street"], values["community"], values["grid"])


def _decided(detail: str | None) -> Decided | None:
    return Decided(source=OPERATOR, confidence=1.0, detail=detail) if detail else None


@dataclass(frozen=True)
class Edited:
    """An edit worked out against a ticket (pure): the ticket after it, what changed (for the
    history note) and whether the router should look at the ticket again."""

    ticket: Ticket
    changes: list[tuple[EditField, str]]  # (field, what happened to it)
    reroute: bool

    @property
    def note(self) -> str:
        return "; ".join(text for _, text in self.changes)


def plan_edit(current: Ticket, edit: Edit, places: Places, catalogue: Catalogue) -> Edited:
    """``current`` with ``edit`` applied, without a history entry (pure; raises
    :class:`Uneditable`, :class:`StaleEdit`, :class:`InvalidEdit`)."""
    if current.status in LOCKED:
        raise Uneditable(current)
    if current.seq != edit.seq:
        raise StaleEdit(current, edit.seq)
    update: dict[str, object] = {}
    decided: dict[str, object] = {}
    changes: list[tuple[EditField, str]] = []
    reroute = False
    previous_text = str(_newlines(current.text))
    if edit.text != previous_text:
        update["text"] = edit.text
        kept = previous_text.strip()
        changes.append(("text", "text corrected" + (
            f" (was: {kept[:PREVIOUS_TEXT]}{'…' if len(kept) > PREVIOUS_TEXT else ''})"
            if kept else "")))
        reroute = True
    if edit.kind is not current.kind:
        update["kind"] = edit.kind
        decided["kind"] = _decided(edit.kind.value if edit.kind is not Kind.unknown else None)
        changes.append(("kind", f"kind: {current.kind.value} → {edit.kind.value}"))
        reroute = True
    location = current.location
    was = Place.of(location)
    place = resolve_place(places, Place(edit.street, edit.community, edit.grid), was)
    address = _optional(location.address) if location else None
    if place != was or edit.address != address:
        moved = (location or Location()).model_copy(update={
            "address": edit.address, "street": place.street, "community": place.community,
            "grid": place.grid})
        update["location"] = None if moved == Location() else moved
        if edit.address != address:
            changes.append(("address", f"address: {edit.address or 'none'}"))
        if place != was:
            decided["place"] = _decided(place.grid or place.community or place.street)
            changes.append(("place", f"place: {was.describe()} → {place.describe()}"))
        reroute = True
    if edit.category != current.category:
        department: str | None = None
        if edit.category is not None:
            category = catalogue.category(edit.category)
            if category is None:
                raise InvalidEdit("category", "unknown", edit.category)
            known = catalogue.department(category.department)
            department = known.name if known else category.department
        update.update(category=edit.category, department=department)
        decided["category"] = _decided(edit.category)
        changes.append(("category",
                        f"category: {current.category or 'none'} → {edit.category or 'none'}"))
        reroute = True
    if decided:
        update["routing"] = (current.routing or Routing()).model_copy(update=decided)
    if edit.note:
        changes.append(("note", f"note: {edit.note}"))
    return Edited(current.model_copy(update=update), changes, reroute)


def edit_ticket(store: Store, places: Places, catalogue: Catalogue, ticket_ref: str,
                edit: Edit, actor: str) -> Ticket:
    """Apply ``edit`` by ``actor`` as one change (see the module's invariants); the ticket
    afterwards (unchanged when the form changed nothing)."""
    outcome: list[Edited] = []

    def mutate(current: Ticket, seq: int, at: datetime) -> Ticket | None:
        edited = plan_edit(current, edit, places, catalogue)
        outcome.append(edited)
        if not edited.changes:
            return None
        entry = HistoryEntry(seq=seq, at=at, actor=actor, note=edited.note)
        return edited.ticket.model_copy(update={"history": [*current.history, entry]})

    def jobs(ticket_id: str) -> Sequence[Job]:
        edited = outcome[-1]
        if edited.reroute and edited.ticket.status in BEFORE_DISPATCH:
            return [Job.of(dispatch, ticket_id)]
        return no_jobs(ticket_id)

    ticket = store.change(ticket_ref, mutate, jobs=jobs)
    if outcome and outcome[-1].changes:
        # field names only: the text and notes are the resident's words
        log.info("ticket %s edited by %s: %s", ticket.number, actor,
                 ", ".join(field for field, _ in outcome[-1].changes))
    return ticket


class NewTicket(BaseModel):
    """The console's form for a call an operator answered directly (no IVR before it)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    ref: uuid.UUID = Field(description="made when the form was shown: sending the form twice "
                                       "makes one ticket")
    phone: Annotated[Annotated[str, StringConstraints(max_length=40), Printable] | None,
                     Blank] = None
    name: Annotated[ShortText | None, Blank] = None
    kind: Kind = Kind.unknown
    text: Annotated[LongText, BeforeValidator(_newlines)]
    address: Annotated[Annotated[str, StringConstraints(max_length=500), Printable] | None,
                       Blank] = None
    note: Note = None


def new_ticket(store: Store, new: NewTicket, actor: str, *,
               now: datetime | None = None) -> SubmitResult:
    """A voice ticket (``channel_ref`` ``console:<ref>``) for a call ``actor`` answered, with
    the caller's number as typed (normalised to E.164 like every channel's), and a history
    entry naming ``actor``. It takes the normal road: the store writes its dispatch job. A
    repeat of the same form returns the ticket it made."""
    if not new.text.strip():
        raise InvalidEdit("text", "empty", None)
    phone = None
    if new.phone is not None:
        phone = to_e164(new.phone)
        if phone is None:
            raise InvalidEdit("phone", "invalid", new.phone)
    location = Location(address=new.address) if new.address else None
    intake = Intake(channel=Channel.voice, channel_ref=f"{CHANNEL_REF_PREFIX}{new.ref}",
                    received_at=now or datetime.now(UTC),
                    citizen=Citizen(phone=phone, name=new.name), kind=new.kind, text=new.text,
                    location=location)
    result = store.submit(intake)
    if not result.created:
        return result
    note = f"opened at the console by {actor} for a call answered directly" + (
        f"; note: {new.note}" if new.note else "")

    def attribute(current: Ticket, seq: int, at: datetime) -> Ticket | None:
        entry = HistoryEntry(seq=seq, at=at, actor=actor, note=note)
        return current.model_copy(update={"history": [*current.history, entry]})

    ticket = store.change(result.ticket.id, attribute)
    log.info("ticket %s opened by %s for a call from %s", ticket.number, actor,
             mask_phone(phone))
    return SubmitResult(ticket, created=True)
