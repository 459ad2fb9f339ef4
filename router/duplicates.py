"""Duplicates: a new ticket about a matter an open ticket already carries.

Candidates are open tickets of the same category received within the window (``routing.yaml``
``duplicates``) at the same place: the same grid cell, within ``radius_m`` metres when both have
a point, or the same street when neither has anything finer. Among them the most similar text
(character-bigram Jaccard, explainable and cheap) decides: at ``merge`` the new ticket is merged
into the open one (status ``merged``, ``merged_into`` the survivor); at ``related`` the two are
linked. Pure functions; :func:`open_tickets_nearby` is the one query.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, select

from router.rules import Duplicates
from tickets.model import Status, Ticket
from tickets.tables import tickets

CANDIDATES = 200  # open tickets nearby a ticket is compared with, at most
OPEN = (Status.received, Status.registered, Status.dispatched, Status.in_progress)
_NOISE = re.compile(r"[\s\W_]+", re.UNICODE)
EARTH_RADIUS_M = 6_371_000.0


def bigrams(text: str) -> set[str]:
    clean = _NOISE.sub("", text)
    return {clean[i:i + 2] for i in range(len(clean) - 1)} or ({clean} if clean else set())


def similarity(a: str, b: str) -> float:
    """Jaccard similarity of the character bigrams of two texts (0 … 1)."""
    x, y = bigrams(a), bigrams(b)
    return len(x & y) / len(x | y) if x and y else 0.0


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(h))


def same_place(a: Ticket, b: Ticket, radius_m: float) -> bool:
    la, lb = a.location, b.location
    if la is None or lb is None:
        return False
    if la.grid and lb.grid:
        return la.grid == lb.grid
    if None not in (la.lat, la.lon, lb.lat, lb.lon):
        return distance_m(la.lat, la.lon, lb.lat, lb.lon) <= radius_m  # type: ignore[arg-type]
    return la.street is not None and la.street == lb.street


@dataclass(frozen=True)
class Verdict:
    action: str  # "merge" | "related" | "none"
    other: Ticket | None = None
    score: float = 0.0


def judge(ticket: Ticket, candidates: Sequence[Ticket], rules: Duplicates) -> Verdict:
    """What to do with ``ticket`` given open tickets of its category nearby in time."""
    best: tuple[float, Ticket] | None = None
    for other in candidates:
        if other.id == ticket.id or other.merged_into or not same_place(ticket, other,
                                                                          rules.radius_m):
            continue
        score = similarity(_text(ticket), _text(other))
        if best is None or score > best[0]:
            best = (score, other)
    if best is None or best[0] < rules.related:
        return Verdict("none")
    score, other = best
    return Verdict("merge" if score >= rules.merge else "related", other, round(score, 3))


def _text(ticket: Ticket) -> str:
    spoken = ticket.transcript.text if ticket.transcript else ""
    return f"{ticket.text}\n{spoken}"


def open_tickets_nearby(conn: Connection, ticket: Ticket, rules: Duplicates,
                        now: datetime) -> list[Ticket]:
    """Open tickets of ``ticket``'s category received in the window, in its street."""
    street = ticket.location.street if ticket.location else None
    if not ticket.category or street is None:
        return []
    docs = conn.execute(
        select(tickets.c.doc).where(
            tickets.c.category == ticket.category, tickets.c.street == street,
            tickets.c.status.in_([s.value for s in OPEN]), tickets.c.id != ticket.id,
            tickets.c.received_at >= now - timedelta(hours=rules.hours))
        .order_by(tickets.c.received_at).limit(CANDIDATES)
    ).scalars()
    return [Ticket.model_validate(d) for d in docs]


def repeats(conn: Connection, ticket: Ticket, days: int, now: datetime) -> int:
    """Earlier tickets of the category at the same grid cell (or street) within ``days``."""
    loc = ticket.location
    if not ticket.category or loc is None or not (loc.grid or loc.street):
        return 0
    where = tickets.c.grid == loc.grid if loc.grid else tickets.c.street == loc.street
    rows = conn.execute(
        select(tickets.c.id).where(
            tickets.c.category == ticket.category, where, tickets.c.id != ticket.id,
            tickets.c.status != Status.merged.value,
            tickets.c.received_at >= now - timedelta(days=days))
    ).all()
    return len(rows)
