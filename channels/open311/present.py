"""Tickets as Open311 shows them to anyone (pure).

A public answer never carries the reporter's phone, WeChat openid, name or e-mail: the
citizen block is never read here, and phone numbers and e-mail addresses inside the
resident's own words are masked. A report of wrongdoing (举报) shows no description at all.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime

from channels.open311.config import ATTRIBUTES, UNCLASSIFIED, Catalog, Open311Config, Service
from channels.open311.document import Row
from channels.open311.status import NOTES, UPDATE_STATES, open_closed
from tickets.model import HistoryEntry, Kind, Status, Ticket

SPEC_URL = "http://wiki.open311.org/GeoReport_v2"
CHANGESET = "2026-12-07T00:00:00Z"  # when this endpoint's behaviour last changed
OPEN311_REF = "open311:"  # channel_ref prefix of tickets this channel made
DESCRIPTION_LIMIT = 4000

_PHONE = re.compile(r"(?<!\d)(?:\+?86[- ]?)?(?:1[3-9]\d[- ]?\d{4}[- ]?\d{4}|0\d{2,3}-?\d{7,8})"
                    r"(?!\d)")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# a unit's reply is meant for the resident: shown with these steps
_REPLY_STEPS = frozenset({Status.in_progress, Status.resolved})


def masked(text: str) -> str:
    """``text`` with phone numbers and e-mail addresses replaced by ``***``."""
    return _EMAIL.sub("***", _PHONE.sub("***", text))


def w3c(at: datetime | None) -> str | None:
    if at is None:
        return None
    return at.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def discovery(config: Open311Config) -> Row:
    base = (config.public_url or "").rstrip("/") + "/open311/v2"
    return {
        "changeset": CHANGESET,
        "contact": config.contact,
        "key_service": "API keys with the 'intake' scope: hotline api-key create",
        "endpoints": [{
            "specification": SPEC_URL,
            "url": base,
            "changeset": CHANGESET,
            "type": "production",
            "formats": ["text/xml", "application/json"],
        }],
    }


def service_row(service: Service) -> Row:
    return {
        "service_code": service.code,
        "service_name": service.name,
        "description": service.description,
        "metadata": bool(ATTRIBUTES),
        "type": "realtime",
        "keywords": ",".join(service.keywords) or None,
        "group": service.group,
    }


def definition_row(service: Service) -> Row:
    return {
        "service_code": service.code,
        "attributes": [
            {
                "variable": True,
                "code": a.code,
                "datatype": a.datatype,
                "required": a.required,
                "datatype_description": a.datatype_description,
                "order": i,
                "description": a.description,
                **({"values": [{"key": k, "name": n} for k, n in a.values]} if a.values else {}),
            }
            for i, a in enumerate(ATTRIBUTES, start=1)
        ],
    }


def _description(ticket: Ticket) -> str | None:
    if ticket.kind is Kind.report:
        return None
    text = ticket.text or (ticket.transcript.text if ticket.transcript else "")
    return masked(text)[:DESCRIPTION_LIMIT] or None


def _media_url(ticket: Ticket) -> str | None:
    if not ticket.channel_ref.startswith(OPEN311_REF):
        return None  # photos and recordings of other channels stay inside the gateway
    return next((a.url for a in ticket.attachments if a.url.startswith(("http://", "https://"))),
                None)


def request_row(catalog: Catalog, ticket: Ticket) -> Row:
    loc = ticket.location
    routing = ticket.routing
    return {
        "service_request_id": ticket.number,
        "status": open_closed(ticket.status).value,
        "status_notes": NOTES[ticket.status],
        "service_name": catalog.name_of(ticket.category),
        "service_code": ticket.category or UNCLASSIFIED,
        "description": _description(ticket),
        "agency_responsible": ticket.department,
        "service_notice": None,
        "requested_datetime": w3c(ticket.received_at),
        "updated_datetime": w3c(ticket.updated_at),
        "expected_datetime": w3c(routing.resolve_by) if routing else None,
        "address": loc.address if loc else None,
        "address_id": loc.grid if loc else None,
        "zipcode": None,
        "lat": loc.lat if loc else None,
        "long": loc.lon if loc else None,
        "media_url": _media_url(ticket),
    }


def created_row(ticket: Ticket, notice: str) -> Row:
    """The answer to POST requests: the request's id (created synchronously, so the token is
    the id itself), the notice and no account id."""
    return {"service_request_id": ticket.number, "token": ticket.number,
            "service_notice": notice, "account_id": None}


def token_row(ticket: Ticket) -> Row:
    return {"service_request_id": ticket.number, "token": ticket.number}


def update_id(ticket: Ticket, entry: HistoryEntry) -> str:
    """Stable id of one history entry: the ticket number and the change's seq."""
    return f"{ticket.number}-{entry.seq}"


def public_entries(ticket: Ticket) -> Iterator[HistoryEntry]:
    """The status changes after the ticket's creation, one per change (a change of two steps
    shows where it ended)."""
    last: dict[int, HistoryEntry] = {}
    for entry in ticket.history:
        if entry.status is not None and entry.from_status is not None:
            last[entry.seq] = entry
    yield from last.values()


def update_row(ticket: Ticket, entry: HistoryEntry) -> Row:
    assert entry.status is not None
    description = NOTES[entry.status]
    if entry.note and entry.status in _REPLY_STEPS:
        description = f"{description}：{masked(entry.note)}"
    return {
        "update_id": update_id(ticket, entry),
        "service_request_id": ticket.number,
        "status": UPDATE_STATES[entry.status],
        "updated_datetime": w3c(entry.at),
        "description": description[:DESCRIPTION_LIMIT],
        "media_url": None,
    }


def updates(tickets: Sequence[Ticket], start: datetime, end: datetime, limit: int
            ) -> list[Row]:
    """The public updates of ``tickets`` in ``[start, end]``, oldest first, at most
    ``limit``."""
    found = [(entry.at, entry.seq, ticket, entry) for ticket in tickets
             for entry in public_entries(ticket) if start <= entry.at <= end]
    found.sort(key=lambda f: (f[0], f[1]))
    return [update_row(t, e) for _, _, t, e in found[:limit]]
