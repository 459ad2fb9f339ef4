"""The Open311 channel's work against the store (synchronous; routes run it in a thread).

* POST requests → an :class:`~tickets.model.Intake` on the ``api`` channel, submitted like
  every other channel's (the router places, classifies and dispatches it). Idempotent: the
  ticket's ``channel_ref`` is ``open311:<key id>:<device_id or account_id>:<client reference>``
  when the client sends a reference, so a retried POST answers the ticket it already made.
* POST servicerequestupdates → :func:`tickets.events.apply_event`, the events API's own path.
"""

from __future__ import annotations

import hashlib
import json
import mimetypes
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from channels.open311 import present
from channels.open311.config import UNCLASSIFIED, Catalog
from channels.open311.document import Row
from channels.open311.errors import Open311Error
from channels.open311.parse import NewRequest, NewUpdate, Query
from channels.open311.status import FROM_UNIT, statuses_of
from tickets import listing
from tickets.apikeys import ApiKey
from tickets.events import TicketEvent, apply_event
from tickets.model import (
    Attachment,
    Channel,
    Citizen,
    HistoryKind,
    Intake,
    Location,
    Status,
    Ticket,
)
from tickets.phone import to_e164
from tickets.receipts import EventIdReused, Receipt
from tickets.status import IllegalTransition
from tickets.store import HistoryFull, Store, TicketNotFound

# attributes that steer the intake rather than describe the matter
_STEERING = frozenset({"kind", "grid", "client_ref", "fixmystreet_id"})
MAX_UPDATES = 1000


@dataclass(frozen=True)
class Created:
    ticket: Ticket
    created: bool
    notice: str


def _text(catalog: Catalog, new: NewRequest) -> str:
    lines = [new.description or f"【{catalog.name_of(new.category)}】"]
    lines += [f"{code}: {value}" for code, value in new.attributes
              if code not in _STEERING and value]
    return "\n".join(lines)


def intake_of(catalog: Catalog, key: ApiKey, new: NewRequest, now: datetime) -> Intake:
    ref = new.idempotency or uuid.uuid4().hex
    attachments = []
    if new.media_url is not None:
        guessed = mimetypes.guess_type(new.media_url.split("?", 1)[0])[0]
        attachments.append(Attachment(url=new.media_url,
                                      content_type=guessed or "application/octet-stream"))
    return Intake(
        channel=Channel.api,
        channel_ref=f"{present.OPEN311_REF}{key.id}:{ref}"[:200],
        received_at=now,
        citizen=Citizen(name=new.name, phone=to_e164(new.phone) if new.phone else None),
        kind=new.kind,
        text=_text(catalog, new),
        attachments=attachments,
        location=Location(address=new.address, lat=new.lat, lon=new.lon, grid=new.grid),
        category=new.category,
    )


def notice_of(catalog: Catalog, new: NewRequest, ticket: Ticket, created: bool) -> str:
    if not created:
        return f"该诉求此前已提交，工单号 {ticket.number}，无需重复提交。"
    parts = [f"已受理，工单号 {ticket.number}。"]
    if new.lat is not None and new.lon is not None and not catalog.in_district(new.lon, new.lat):
        parts.append("所报位置不在本区网格范围内，已转区网格化服务管理中心人工核实派遣。")
    elif new.category is None:
        parts.append("将由中心分类后派遣至责任单位。")
    else:
        parts.append("将按时限派遣至责任单位处理。")
    return "".join(parts)


def submit(store: Store, catalog: Catalog, key: ApiKey, new: NewRequest) -> Created:
    result = store.submit(intake_of(catalog, key, new, datetime.now(UTC)))
    return Created(result.ticket, result.created,
                   notice_of(catalog, new, result.ticket, result.created))


def find(store: Store, catalog: Catalog, query: Query) -> list[Row]:
    """GET requests: one page of public request rows."""
    offset = (query.page - 1) * query.page_size
    if query.numbers or (query.start is None or query.end is None):
        found = listing.by_numbers(store.db, query.numbers)[offset:offset + query.page_size]
    else:
        categories = ({"" if c == UNCLASSIFIED else c for c in query.service_codes}
                      if query.service_codes else None)
        window = listing.Window(query.start, query.end, categories,
                                statuses_of(query.statuses) if query.statuses else frozenset())
        found = listing.page(store.db, window, offset, query.page_size)
    return [present.request_row(catalog, t) for t in found]


def one(store: Store, catalog: Catalog, number: str) -> Row:
    try:
        ticket = store.get(number)
    except TicketNotFound:
        raise Open311Error(404, f"service_request_id '{number[:40]}' not found") from None
    return present.request_row(catalog, ticket)


def token(store: Store, value: str) -> Row:
    try:
        ticket = store.get(value)
    except TicketNotFound:
        raise Open311Error(404, f"token '{value[:40]}' not found") from None
    if ticket.id == value:  # ids are not tokens: only numbers are ever handed out
        raise Open311Error(404, f"token '{value[:40]}' not found")
    return present.token_row(ticket)


def recent_updates(store: Store, start: datetime, end: datetime) -> list[Row]:
    tickets = listing.changed_between(store.db, start, end, MAX_UPDATES)
    return present.updates(tickets, start, end, MAX_UPDATES)


def _event_id(key: ApiKey, update: NewUpdate) -> str | None:
    """The history's event_id of a unit's update: the key's id and the client's update_id,
    as the events API writes them (``<key id>:<event_id>``)."""
    if not update.client_update_id:
        return None
    return f"{key.id}:open311:{update.client_update_id}"


def _events(current: Ticket, key: ApiKey, update: NewUpdate) -> list[TicketEvent]:
    """The events API's events a unit's update means: a note, and the status its state asks
    for when the ticket is not there yet (a unit that reports FIXED on a dispatched ticket
    starts and resolves it: two legal steps of the one status machine)."""
    actor = f"open311:{key.name}"[:100]
    event_id = _event_id(key, update)
    note = update.description or f"Open311 状态：{update.state}"
    if update.media_url:
        note = f"{note}\n{update.media_url}"
    target = FROM_UNIT[update.state]
    if target is None or target == current.status:
        return [TicketEvent(actor=actor, event_id=event_id, note=note)]
    steps: list[TicketEvent] = []
    if target is Status.resolved and current.status is Status.dispatched:
        steps.append(TicketEvent(actor=actor, status=Status.in_progress,
                                 event_id=f"{event_id}/start" if event_id else None))
    # handing the matter back is the events API's "sent back" (退回), the reason in the note
    kind = HistoryKind.sent_back if target is Status.registered else None
    steps.append(TicketEvent(actor=actor, event_id=event_id, status=target, note=note,
                             kind=kind))
    return steps


def _receipt(key: ApiKey, update: NewUpdate) -> Receipt | None:
    """The events API's idempotency receipt: a repeat of ``update_id`` changes nothing, the
    same ``update_id`` with other content is refused (409)."""
    if not update.client_update_id:
        return None
    said = json.dumps([update.state, update.description, update.media_url], ensure_ascii=False)
    return Receipt(key.id, f"open311:{update.client_update_id}",
                   hashlib.sha256(said.encode()).hexdigest()[:32])


def post_update(store: Store, key: ApiKey, update: NewUpdate) -> Row:
    """Apply a unit's update through the events path (:func:`tickets.events.apply_event`, the
    store's receipts); the answer names the history entry it made (or made before, for a
    repeat of the same ``update_id``)."""
    event_id = _event_id(key, update)

    def mutate(ticket: Ticket, seq: int, at: datetime) -> Ticket | None:
        changed = ticket
        for event in _events(ticket, key, update):
            step = apply_event(changed, event, seq, at)
            if step is not None:
                changed = step
        return changed

    try:
        ticket = store.change(update.number, mutate, receipt=_receipt(key, update))
    except TicketNotFound:
        raise Open311Error(404, f"service_request_id '{update.number}' not found") from None
    except EventIdReused:
        raise Open311Error(409, f"update_id '{update.client_update_id}' was already used by "
                                "this api_key for a different update; send a new update_id"
                           ) from None
    except (IllegalTransition, HistoryFull) as exc:
        raise Open311Error(409, str(exc)) from None
    entry = next((h for h in ticket.history if event_id and h.event_id == event_id),
                 ticket.history[-1])
    return {"update_id": present.update_id(ticket, entry)}
