"""What the inbox and ticket pages show, worked out from a ticket and the router's configuration
(pure; the templates only print these values, escaped).

* :class:`Choices` — the places and categories an operator picks from (router config), with
  their names for display;
* :func:`media_of` — an attachment as the page plays or shows it: only files the gateway keeps
  (``/api/v1/media/<sha256>.<ext>``) get a console URL (``/console/media/…``, session-checked);
  anything else is listed, never fetched by the browser;
* :func:`routing_rows`, :func:`history_rows` — the routing decision with its reasons, and the
  history with who and when, in the store's timezone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal
from zoneinfo import ZoneInfo

from console import history_text, labels
from tickets import media
from tickets.model import Attachment, Decided, Kind, Ticket

if TYPE_CHECKING:
    from router.routerconfig import RouterConfig

MEDIA_PREFIX = "/console/media/"


@dataclass(frozen=True)
class Option:
    value: str
    label: str


@dataclass(frozen=True)
class Group:
    label: str
    options: list[Option]


@dataclass(frozen=True)
class Choices:
    """Streets, communities (by street), grid cells (by community) and categories (by group)."""

    streets: list[Option]
    communities: list[Group]
    grids: list[Group]
    categories: list[Group]
    names: dict[str, str] = field(default_factory=dict)  # any code → its name

    @classmethod
    def of(cls, config: RouterConfig) -> Choices:
        names: dict[str, str] = {}
        streets, communities, grids = [], [], []
        for street in config.places.tree.streets:
            names[street.code] = street.name
            streets.append(Option(street.code, street.name))
            in_street = []
            for community in street.communities:
                names[community.code] = community.name
                in_street.append(Option(community.code, community.name))
                cells = []
                for grid in community.grids:
                    names[grid.code] = grid.name
                    cells.append(Option(grid.code, f"{grid.code} {grid.name}"))
                grids.append(Group(f"{street.name} · {community.name}", cells))
            communities.append(Group(street.name, in_street))
        categories = []
        for group in config.catalogue.groups:
            options = [Option(c.code, c.name) for c in config.catalogue.categories
                       if c.group == group]
            if options:
                categories.append(Group(group, options))
        for category in config.catalogue.categories:
            names[category.code] = category.name
        return cls(streets, communities, grids, categories, names)

    def name(self, code: str | None) -> str:
        """``DS`` → ``东四街道``; an unknown code as it is; None → ``—``."""
        if not code:
            return "—"
        return self.names.get(code, code)


def local_time(value: datetime | None, tz: ZoneInfo) -> str:
    return value.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S") if value else "—"


@dataclass(frozen=True)
class MediaView:
    kind: Literal["audio", "image", "video", "other"]
    url: str | None  # the console's URL of a kept file; None for anything else
    content_type: str
    size: int | None
    name: str


def media_of(attachment: Attachment) -> MediaView:
    name = attachment.url.rsplit("/", 1)[-1]
    kept = attachment.url.startswith(media.URL_PREFIX) and media.NAME.fullmatch(name)
    major = attachment.content_type.split("/", 1)[0].lower()
    kind: Literal["audio", "image", "video", "other"] = (
        major if major in ("audio", "image", "video") else "other")  # type: ignore[assignment]
    return MediaView(kind, MEDIA_PREFIX + name if kept else None, attachment.content_type,
                     attachment.size, name if kept else attachment.url[:80])


@dataclass(frozen=True)
class RoutingRow:
    label: str
    value: str
    how: str  # how it was decided, e.g. "地名识别 · 0.82 · 东四三条"


def _how(decided: Decided | None) -> str:
    if decided is None:
        return ""
    parts = [labels.SOURCES.get(decided.source, decided.source)]
    if decided.confidence is not None and decided.confidence < 1:
        parts.append(f"{decided.confidence:.2f}")
    if decided.detail:
        parts.append(decided.detail)
    return " · ".join(parts)


def place_text(ticket: Ticket, choices: Choices) -> str:
    loc = ticket.location
    if loc is None:
        return "—"
    parts = [choices.name(code) for code in (loc.street, loc.community, loc.grid) if code]
    return " / ".join(parts) or "—"


def routing_rows(ticket: Ticket, choices: Choices) -> list[RoutingRow]:
    routing = ticket.routing
    if routing is None:
        return []
    category = (f"{choices.name(ticket.category)}（{ticket.category}）" if ticket.category
                else "—")
    loop = labels.LOOPS.get(ticket.loop.value, ticket.loop.value) if ticket.loop else "—"
    return [
        RoutingRow("地点", place_text(ticket, choices), _how(routing.place)),
        RoutingRow("类别", category, _how(routing.category)),
        RoutingRow("承办部门", ticket.department or "—", ""),
        RoutingRow("诉求类型", labels.KINDS[ticket.kind], _how(routing.kind)),
        RoutingRow("循环", loop, _how(routing.loop)),
        RoutingRow("优先级", str(ticket.priority), _how(routing.priority)),
    ]


@dataclass(frozen=True)
class HistoryRow:
    seq: int
    at: str
    actor: str
    change: str  # "采集受理 → 案卷建立" or ""
    note: str


def history_rows(ticket: Ticket, tz: ZoneInfo,
                 name: Callable[[str], str] = lambda code: code) -> list[HistoryRow]:
    """The history in Chinese: actors and the router's notes (``name``: code → its name)."""
    rows = []
    for entry in ticket.history:
        change = ""
        if entry.status is not None:
            to = labels.STATUSES.get(entry.status, entry.status.value)
            change = (f"{labels.STATUSES.get(entry.from_status, entry.from_status.value)} → {to}"
                      if entry.from_status is not None else to)
        rows.append(HistoryRow(entry.seq, local_time(entry.at, tz),
                               history_text.actor(entry.actor, name), change,
                               history_text.note(entry.note, name) if entry.note else ""))
    return rows


def form_values(ticket: Ticket) -> dict[str, Any]:
    """The edit form as the ticket is now."""
    loc = ticket.location
    return {
        "seq": ticket.seq, "text": ticket.text, "kind": ticket.kind.value,
        "address": (loc.address if loc else None) or "",
        "street": (loc.street if loc else None) or "",
        "community": (loc.community if loc else None) or "",
        "grid": (loc.grid if loc else None) or "",
        "category": ticket.category or "", "note": "",
    }


KIND_OPTIONS = [Option(k.value, labels.KINDS[k]) for k in Kind]
