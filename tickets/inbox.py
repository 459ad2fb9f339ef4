"""The operators' inbox: tickets of every channel, filtered, searched and paged, newest first.

Invariants:

* a page is ordered by ``(received_at, id)`` descending and the next page starts strictly
  after the last row of this one (keyset paging), so tickets inserted while an operator pages
  never make a row repeat or vanish between pages;
* every filter is a column of ``tickets`` (``channel``, ``kind``, ``status``, ``street``,
  ``received_at``, ``number``, ``phone``, ``citizen_key``) with an index behind the orderings
  the inbox asks for, so a page costs the same on a large table as on a small one;
* a search term is a ticket number, or a phone number normalised to E.164 the way every
  channel stores it (:func:`tickets.phone.to_e164`); anything else finds nothing;
* rows are summaries read from a few JSON fields, never whole tickets (whose history can be
  long).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import AwareDatetime, BaseModel, ConfigDict
from sqlalchemy import ColumnElement, Row, Select, and_, false, func, or_, select, tuple_

from tickets.model import Channel, Kind, Status, Ticket, is_ticket_number
from tickets.phone import to_e164
from tickets.store import Store
from tickets.tables import tickets

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
HISTORY_LIMIT = 20
EXCERPT = 120  # characters of a ticket's text shown in a row
_SEPARATORS = re.compile(r"[\s\-()（）]")
_CURSOR = re.compile(r"[0-9a-f]{32}")


class BadCursor(ValueError):
    """A paging cursor that this module did not write."""

    def __init__(self) -> None:
        super().__init__("the paging cursor is not valid; start again from the first page")


@dataclass(frozen=True)
class Search:
    """What a typed search term can mean: a ticket number, a phone number, or both."""

    number: str | None
    phone: str | None

    @property
    def useful(self) -> bool:
        return self.number is not None or self.phone is not None


def search_terms(text: str) -> Search:
    """``2611260001`` → a ticket number; ``138 0013 8000`` → ``+8613800138000``."""
    compact = _SEPARATORS.sub("", text.strip())
    number = compact if is_ticket_number(compact) else None
    return Search(number=number, phone=to_e164(compact) if compact else None)


@dataclass(frozen=True)
class Filters:
    """The inbox's filters; None means "any". Dates are local days in the store's timezone,
    both ends inclusive."""

    channel: Channel | None = None
    kind: Kind | None = None
    status: Status | None = None
    street: str | None = None
    received_from: date | None = None
    received_to: date | None = None
    query: str | None = None
    needs_person: bool = False  # only tickets the router left to a person (routing.needs)


class Summary(BaseModel):
    """One row of the inbox (also the caller's earlier tickets on a ticket page)."""

    model_config = ConfigDict(frozen=True)

    id: str
    number: str
    channel: Channel
    kind: Kind
    status: Status
    received_at: AwareDatetime
    phone: str | None
    category: str | None
    street: str | None
    grid: str | None
    needs: list[str] = []  # what the router left to a person: place, category
    excerpt: str


@dataclass(frozen=True)
class Page:
    rows: list[Summary]
    next: str | None  # the cursor of the following page; None on the last page


@dataclass(frozen=True)
class Cursor:
    """Where a page ended: the ``received_at`` column value and id of its last row."""

    received_at: datetime
    id: str

    def encode(self) -> str:
        raw = f"{self.received_at.isoformat()}|{self.id}".encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str) -> Cursor:
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
            stamp, ticket_id = raw.split("|")
            at = datetime.fromisoformat(stamp)
        except (ValueError, binascii.Error, UnicodeDecodeError):
            raise BadCursor from None
        if not _CURSOR.fullmatch(ticket_id):
            raise BadCursor
        return cls(at if at.tzinfo else at.replace(tzinfo=UTC), ticket_id)


def _utc(value: datetime) -> datetime:
    """A column value as an aware datetime (SQLite hands back the UTC wall time, naive)."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _day_start(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time.min, tzinfo=tz).astimezone(UTC)


def _conditions(filters: Filters, tz: ZoneInfo, *,
                with_status: bool = True) -> list[ColumnElement[bool]]:
    c = tickets.c
    where: list[ColumnElement[bool]] = []
    if filters.channel is not None:
        where.append(c.channel == filters.channel.value)
    if filters.kind is not None:
        where.append(c.kind == filters.kind.value)
    if with_status and filters.status is not None:
        where.append(c.status == filters.status.value)
    if filters.street:
        where.append(c.street == filters.street)
    if filters.received_from is not None:
        where.append(c.received_at >= _day_start(filters.received_from, tz))
    if filters.received_to is not None:
        where.append(c.received_at < _day_start(filters.received_to + timedelta(days=1), tz))
    if filters.query is not None and filters.query.strip():
        terms = search_terms(filters.query)
        found: list[ColumnElement[bool]] = []
        if terms.number is not None:
            found.append(c.number == terms.number)
        if terms.phone is not None:
            found.append(c.phone == terms.phone)
        where.append(or_(*found) if found else false())
    if filters.needs_person:
        needs = _needs()
        where.append(and_(needs.is_not(None), needs != "[]"))
    return where


def _summary_select() -> Select[Any]:
    c, doc = tickets.c, tickets.c.doc
    return select(
        c.id, c.number, c.channel, c.kind, c.status, c.received_at, c.phone, c.category,
        c.street, c.grid,
        doc["received_at"].as_string().label("received"),
        func.substr(doc["text"].as_string(), 1, EXCERPT + 1).label("text"),
        func.substr(doc[("transcript", "text")].as_string(), 1, EXCERPT + 1).label("heard"),
        _needs().label("needs"),
    )


def _needs() -> ColumnElement[Any]:
    """``routing.needs`` of the document as JSON text ('["place"]', '[]' or NULL): the same
    text on SQLite (json_extract) and PostgreSQL (#>>)."""
    needs: ColumnElement[Any] = tickets.c.doc[("routing", "needs")].as_string()
    return needs


def _excerpt(text: str | None, heard: str | None) -> str:
    words = " ".join((text or heard or "").split())
    return words if len(words) <= EXCERPT else words[:EXCERPT - 1] + "…"


def _summary(row: Row[Any]) -> Summary:
    return Summary(
        id=row.id, number=row.number, channel=Channel(row.channel),
        kind=Kind(row.kind) if row.kind else Kind.unknown, status=Status(row.status),
        received_at=datetime.fromisoformat(row.received) if row.received
        else _utc(row.received_at),
        phone=row.phone, category=row.category, street=row.street, grid=row.grid,
        excerpt=_excerpt(row.text, row.heard), needs=_needs_of(row.needs))


def _needs_of(text: str | None) -> list[str]:
    try:
        found = json.loads(text) if text else []
    except ValueError:
        return []
    return [str(n) for n in found] if isinstance(found, list) else []


def page(store: Store, filters: Filters, *, after: str | None = None,
         limit: int = DEFAULT_LIMIT) -> Page:
    """One page of the inbox, newest first; ``after`` is the ``next`` of the page before
    (:class:`BadCursor` when it is not one)."""
    limit = max(1, min(limit, MAX_LIMIT))
    c = tickets.c
    where = _conditions(filters, store.tz)
    if after:
        cursor = Cursor.decode(after)
        where.append(tuple_(c.received_at, c.id) < tuple_(cursor.received_at, cursor.id))
    query = (_summary_select().where(*where)
             .order_by(c.received_at.desc(), c.id.desc()).limit(limit + 1))
    with store.db.read() as conn:
        rows = conn.execute(query).all()
    more = len(rows) > limit
    rows = rows[:limit]
    last = rows[-1] if rows else None
    nxt = Cursor(_utc(last.received_at), last.id).encode() if more and last else None
    return Page([_summary(r) for r in rows], nxt)


def counts(store: Store, filters: Filters) -> dict[Status, int]:
    """How many tickets match ``filters`` in each status (the status filter itself ignored,
    so the page can show every status with its count); statuses without tickets are absent."""
    where = _conditions(filters, store.tz, with_status=False)
    query = (select(tickets.c.status, func.count()).where(*where)
             .group_by(tickets.c.status))
    with store.db.read() as conn:
        return {Status(status): int(n) for status, n in conn.execute(query).all()}


def caller_history(store: Store, ticket: Ticket, limit: int = HISTORY_LIMIT) -> list[Summary]:
    """The other tickets of ``ticket``'s resident — the same citizen key (the phone number the
    network proved, or the WeChat openid) — newest first; empty when the channel proved nobody
    (a web form, another system)."""
    c = tickets.c
    key = select(c.citizen_key).where(c.id == ticket.id).scalar_subquery()
    query = (_summary_select()
             .where(c.citizen_key == key, c.citizen_key.is_not(None), c.id != ticket.id)
             .order_by(c.received_at.desc(), c.id.desc()).limit(max(1, limit)))
    with store.db.read() as conn:
        return [_summary(r) for r in conn.execute(query).all()]
