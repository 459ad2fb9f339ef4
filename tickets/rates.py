"""The three rates (三率) and the figures beside them, per unit (street or department), per
category and for the district, over a period — computed here, from the tickets' history,
and nowhere else (never stored: the supervision page, its CSV export and ``/metrics`` read
these numbers).

The population of a period is the tickets *received* in it (local days of the store's
timezone, Asia/Shanghai: a day is midnight to midnight, a week starts on Monday, a month on
its 1st), without the merged ones (they live on in the ticket they were merged into) and the
rejected ones. A ticket counts for a unit when the unit has it now (its routing names it) or
when the unit sent it back (退回); every such (ticket, unit) pair is an *assignment*.

Each figure, for a group of assignments (a unit's, a category's, everyone's):

* **响应率 response** — acknowledged (the first ``in_progress``) no later than ``respond_by``,
  out of the assignments the unit kept; one not acknowledged yet whose ``respond_by`` is still
  ahead of ``now`` is pending and left out.
* **解决率 solved** — ``evaluation.solved`` true, out of the tickets whose resident answered
  the solved question (the last answer stands, so a ticket reopened and then confirmed counts
  as solved). Tickets **closed without an answer** are counted apart (``unanswered``), never
  in the rate.
* **满意率 satisfied** — 满意 + 基本满意, out of the answers to the satisfaction question.
* **on time** — the last ``resolved`` no later than ``resolve_by`` (an extension granted moves
  it), out of the resolved ones and the unresolved ones already past ``resolve_by``.
* **reopened** — tickets the resident sent back to handling (``reopened`` > 0), out of the
  resolved ones; **sent back** — assignments the unit sent back, out of all its assignments.
* **median hours** to register (received → registered), dispatch (registered → dispatched),
  acknowledge (dispatched → in progress) and resolve (in progress → resolved), each from the
  first time the ticket reached the step.

``score`` ranks units: :data:`WEIGHTS` of the three rates (a rate with no denominator is left
out and the weights of the others scaled up).
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from sqlalchemy import select

from tickets import units
from tickets.model import HistoryKind, Satisfaction, Status, Ticket
from tickets.store import Store
from tickets.tables import tickets as tickets_table

PeriodKind = Literal["day", "week", "month"]
PERIOD_KINDS: tuple[PeriodKind, ...] = ("day", "week", "month")
WEIGHTS = {"response": 0.1, "solved": 0.45, "satisfied": 0.45}
ALL = "all"
GOOD = frozenset({Satisfaction.satisfied, Satisfaction.basically_satisfied})
LEFT_OUT = frozenset({Status.merged, Status.rejected})


@dataclass(frozen=True)
class Period:
    kind: PeriodKind
    first: date  # the first local day
    start: datetime  # aware, the local midnight of ``first``
    end: datetime  # aware, exclusive

    def label(self) -> str:
        if self.kind == "day":
            return self.first.isoformat()
        if self.kind == "week":
            return f"{self.first.isoformat()} 起一周"
        return f"{self.first.year}-{self.first.month:02d}"


def period_of(kind: PeriodKind, day: date, tz: ZoneInfo) -> Period:
    """The day, week (Monday to Sunday) or month that holds the local day ``day``."""
    if kind == "day":
        first, after = day, day + timedelta(days=1)
    elif kind == "week":
        first = day - timedelta(days=day.weekday())
        after = first + timedelta(days=7)
    else:
        first = day.replace(day=1)
        after = (first + timedelta(days=32)).replace(day=1)
    return Period(kind, first, datetime.combine(first, time(), tz),
                  datetime.combine(after, time(), tz))


@dataclass
class Rate:
    num: int = 0
    den: int = 0

    @property
    def value(self) -> float | None:
        return self.num / self.den if self.den else None

    def add(self, hit: bool) -> None:
        self.den += 1
        self.num += int(hit)


@dataclass
class Figures:
    key: str
    assignments: int = 0
    response: Rate = field(default_factory=Rate)
    solved: Rate = field(default_factory=Rate)
    unanswered: int = 0
    satisfied: Rate = field(default_factory=Rate)
    on_time: Rate = field(default_factory=Rate)
    reopened: Rate = field(default_factory=Rate)
    sent_back: Rate = field(default_factory=Rate)
    hours: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))

    def median(self, step: str) -> float | None:
        found = self.hours.get(step)
        return statistics.median(found) if found else None

    @property
    def score(self) -> float | None:
        parts = [(WEIGHTS[n], r.value) for n, r in (("response", self.response),
                                                     ("solved", self.solved),
                                                     ("satisfied", self.satisfied))
                 if r.value is not None]
        total = sum(w for w, _ in parts)
        return sum(w * v for w, v in parts) / total if total else None


STEPS = ("register", "dispatch", "acknowledge", "resolve")


@dataclass(frozen=True)
class Facts:
    """What one ticket's history says, worked out once for every group it counts in."""

    received: datetime
    registered: datetime | None
    dispatched: datetime | None
    handed: datetime | None  # the dispatch the acknowledgement answered (the last before it)
    acknowledged: datetime | None
    resolved_first: datetime | None
    resolved_last: datetime | None
    respond_by: datetime | None
    resolve_by: datetime | None
    solved: bool | None
    satisfaction: Satisfaction | None
    unanswered: bool
    reopened: bool
    sent_back_by: frozenset[str]
    current: tuple[str, ...]


def _first(ticket: Ticket, status: Status) -> datetime | None:
    return next((h.at for h in ticket.history if h.status is status), None)


def facts_of(ticket: Ticket) -> Facts:
    routing = ticket.routing
    evaluation = ticket.evaluation
    resolved = [h.at for h in ticket.history if h.status is Status.resolved]
    acknowledged = _first(ticket, Status.in_progress)
    handed = [h.at for h in ticket.history if h.status is Status.dispatched
              and (acknowledged is None or h.at <= acknowledged)]
    return Facts(
        received=ticket.received_at,
        registered=_first(ticket, Status.registered),
        dispatched=_first(ticket, Status.dispatched),
        handed=handed[-1] if handed else None,
        acknowledged=acknowledged,
        resolved_first=resolved[0] if resolved else None,
        resolved_last=resolved[-1] if resolved else None,
        respond_by=routing.respond_by if routing else None,
        resolve_by=routing.resolve_by if routing else None,
        solved=evaluation.solved if evaluation else None,
        satisfaction=evaluation.satisfaction if evaluation else None,
        unanswered=any(h.kind is HistoryKind.closed_unanswered for h in ticket.history)
        and (evaluation is None or evaluation.solved is None),
        reopened=ticket.reopened > 0 or any(h.kind is HistoryKind.reopened
                                             for h in ticket.history),
        sent_back_by=frozenset(u for h in ticket.history if h.kind is HistoryKind.sent_back
                               if (u := units.actor_unit(h.actor)) is not None),
        current=tuple(units.units_of(ticket)))


def _hours(a: datetime | None, b: datetime | None) -> float | None:
    return (b - a).total_seconds() / 3600 if a is not None and b is not None and b >= a \
        else None


def _count(fig: Figures, f: Facts, now: datetime, *, sent_back: bool, kept: bool) -> None:
    """Add one assignment (or, for the district and a category, one ticket) to ``fig``:
    ``sent_back`` for the send-back rate; the other figures only when the ticket is ``kept``
    (a unit has it now)."""
    fig.assignments += 1
    fig.sent_back.add(sent_back)
    if not kept:
        return
    if f.respond_by is not None and (f.acknowledged is not None or f.respond_by <= now):
        fig.response.add(f.acknowledged is not None and f.acknowledged <= f.respond_by)
    if f.solved is not None:
        fig.solved.add(f.solved)
    fig.unanswered += int(f.unanswered)
    if f.satisfaction is not None:
        fig.satisfied.add(f.satisfaction in GOOD)
    if f.resolve_by is not None and (f.resolved_last is not None or f.resolve_by <= now):
        fig.on_time.add(f.resolved_last is not None and f.resolved_last <= f.resolve_by)
    if f.resolved_first is not None:
        fig.reopened.add(f.reopened)
    for step, (a, b) in zip(STEPS, ((f.received, f.registered), (f.registered, f.dispatched),
                                    (f.handed, f.acknowledged),
                                    (f.acknowledged, f.resolved_first)), strict=True):
        hours = _hours(a, b)
        if hours is not None:
            fig.hours[step].append(hours)


Grouping = Literal["unit", "category", "all"]


def compute(found: Iterable[Ticket], now: datetime, by: Grouping,
            keep: Callable[[str], bool] = lambda _key: True) -> dict[str, Figures]:
    """The figures of ``found`` (a period's tickets) per unit, per category or for all of
    them (key :data:`ALL`); ``keep`` picks the keys (e.g. streets only)."""
    table: dict[str, Figures] = {}

    def fig(key: str) -> Figures:
        return table.setdefault(key, Figures(key))

    for ticket in found:
        if ticket.status in LEFT_OUT:
            continue
        f = facts_of(ticket)
        if not f.current and not f.sent_back_by:
            continue  # never reached a unit
        if by == "unit":
            for unit in dict.fromkeys((*f.current, *sorted(f.sent_back_by))):
                if keep(unit):
                    _count(fig(unit), f, now, sent_back=unit in f.sent_back_by,
                           kept=unit in f.current)
        else:
            key = (ticket.category or "—") if by == "category" else ALL
            if keep(key):
                _count(fig(key), f, now, sent_back=bool(f.sent_back_by),
                       kept=bool(f.current))
    return table


def ranking(table: dict[str, Figures]) -> list[Figures]:
    """Best score first; units without a score last, by key."""
    return sorted(table.values(), key=lambda g: (g.score is None, -(g.score or 0), g.key))


def received_in(store: Store, period: Period) -> list[Ticket]:
    """The period's tickets (received in it)."""
    with store.db.read() as conn:
        docs = conn.execute(select(tickets_table.c.doc).where(
            tickets_table.c.received_at >= period.start,
            tickets_table.c.received_at < period.end)).scalars().all()
    return [Ticket.model_validate(d) for d in docs]
