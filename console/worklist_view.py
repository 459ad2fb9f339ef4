"""What the desk and grid pages show of a ticket, worked out from the ticket, the unit
directory and the clock (pure; the templates print these values, escaped): a worklist row,
the deadlines counting down, the units of a big-loop ticket and which of them answered, and
which actions the ticket's status allows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from console import labels
from console.ticket_view import Choices, local_time
from console.units import Directory
from tickets import units, worklist
from tickets.model import HistoryEntry, Status, Ticket

if TYPE_CHECKING:
    from router.routerconfig import RouterConfig

EXCERPT = 80


_DIRECTORIES: dict[int, tuple[RouterConfig, Directory]] = {}


def directory(config: RouterConfig) -> Directory:
    """The unit directory of a loaded configuration (made once per configuration object)."""
    kept = _DIRECTORIES.get(id(config))
    if kept is None or kept[0] is not config:
        kept = (config, Directory.of(config))
        _DIRECTORIES.clear()
        _DIRECTORIES[id(config)] = kept
    return kept[1]


def remaining(deadline: datetime | None, now: datetime) -> str:
    """``剩 3小时20分`` / ``超期 1天2小时`` / ``—``."""
    if deadline is None:
        return "—"
    seconds = int((deadline - now).total_seconds())
    late = seconds < 0
    minutes = abs(seconds) // 60
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    text = (f"{days}天{hours}小时" if days else f"{hours}小时{mins}分" if hours
            else f"{mins}分")
    return f"超期 {text}" if late else f"剩 {text}"


@dataclass(frozen=True)
class Deadline:
    label: str
    at: str
    left: str
    late: bool


def deadlines(ticket: Ticket, tz: ZoneInfo, now: datetime) -> list[Deadline]:
    routing = ticket.routing
    if routing is None:
        return []
    found = []
    started = ticket.status not in worklist.NOT_STARTED
    if routing.respond_by is not None:
        found.append(Deadline("响应期限", local_time(routing.respond_by, tz),
                              "已签收" if started else remaining(routing.respond_by, now),
                              not started and routing.respond_by < now))
    if routing.resolve_by is not None:
        done = ticket.status not in worklist.OPEN
        found.append(Deadline("办结期限", local_time(routing.resolve_by, tz),
                              "已办结" if done else remaining(routing.resolve_by, now),
                              not done and routing.resolve_by < now))
    return found


@dataclass(frozen=True)
class Row:
    number: str
    status: str
    received: str
    category: str
    place: str
    excerpt: str
    deadlines: list[Deadline]
    overdue: bool
    urged: int
    extension_pending: bool


def row_of(item: worklist.Item, choices: Choices, tz: ZoneInfo, now: datetime) -> Row:
    t = item.ticket
    text = " ".join(t.text.split())
    loc = t.location
    place = " / ".join(choices.name(c) for c in ((loc.street, loc.grid) if loc else ())
                       if c) or "—"
    return Row(t.number, labels.STATUSES[t.status], local_time(t.received_at, tz),
               choices.name(t.category) if t.category else "—", place,
               text[:EXCERPT] + ("…" if len(text) > EXCERPT else ""),
               deadlines(t, tz, now), item.overdue, item.urged, item.extension_pending)


@dataclass(frozen=True)
class Involved:
    unit: str
    name: str
    acknowledged: bool
    answered: bool  # replied (办结) or at least reported progress


def involved(ticket: Ticket, units_dir: Directory) -> list[Involved]:
    """Every unit a (big-loop) ticket is routed to and what each has done."""
    found = []
    for unit in units.units_of(ticket):
        mine = [h for h in ticket.history if units.actor_unit(h.actor) == unit]
        found.append(Involved(unit, units_dir.name(unit),
                              any(h.status is Status.in_progress or h.note == "签收"
                                  for h in mine),
                              any(h.status is Status.resolved for h in mine)))
    return found


@dataclass(frozen=True)
class Allowed:
    acknowledge: bool
    note: bool
    send_back: bool
    extension: bool
    resolve: bool


def can_do(ticket: Ticket, unit: str) -> Allowed:
    s = ticket.status
    return Allowed(acknowledge=s is Status.dispatched or (
                       s is Status.in_progress and not any(
                           i.acknowledged for i in involved(ticket, Directory())
                           if i.unit == unit)),
                   note=s in worklist.OPEN,
                   send_back=s is Status.dispatched,
                   extension=s in worklist.OPEN and not worklist.extension_pending(ticket),
                   resolve=s is Status.in_progress)


def what_happened(entry: HistoryEntry) -> str:
    if entry.kind is not None:
        return labels.HISTORY_KINDS.get(entry.kind.value, entry.kind.value)
    if entry.status is not None:
        return f"改为「{labels.STATUSES[entry.status]}」"
    return "添加了记录"
