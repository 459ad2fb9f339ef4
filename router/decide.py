"""The routing decision for one ticket (pure: the ticket and what the database said in, the
decision out): where it is, what it is about, how urgent, which loop, which desks, and what a
person still has to decide.

* **Place**: a grid cell from a QR code (``?grid=``) wins; then a point (WeChat positions are
  GCJ-02 and converted first); then the place names in the text — address, message and
  transcript — through the gazetteer. An unknown place stays unknown: ``needs: place``.
* **Category**: rules, then the model (:mod:`router.classify`); below the threshold ``needs:
  category``. An operator's category is never replaced.
* **Kind**: the resident's own choice is never overridden; only an ``unknown`` kind is guessed
  from phrases.
* **Priority**: urgency phrases (燃气泄漏、电梯困人 …) raise it; deadlines follow from it.
* **Loop**: the category's default; the big loop (district center + department) for city-level
  departments, media or leader attention, cross-street matters, and repeated complaints about
  one place; the small loop goes to the street's sub-center.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from router.catalogue import Category, Urgency
from router.classify import Model, classify
from router.geo import gcj02_to_wgs84, in_china
from router.routerconfig import RouterConfig
from tickets.model import Channel, Decided, Kind, Location, Loop, Routing, Ticket

DEFAULT_PRIORITY = 3


@dataclass(frozen=True)
class Context:
    """What the database says about the ticket's neighbourhood."""

    repeats: int = 0  # earlier tickets of this category at this place in the repeat window


def ticket_text(ticket: Ticket) -> str:
    """Everything the resident said: address, message and transcript."""
    parts = [ticket.location.address if ticket.location else None, ticket.text,
             ticket.transcript.text if ticket.transcript else None]
    return "\n".join(p for p in parts if p)


def urgency_of(priority: int) -> Urgency:
    return "urgent" if priority <= 2 else "normal" if priority == 3 else "low"


@dataclass(frozen=True)
class Decision:
    ticket: Ticket  # with location, category, kind, priority, loop and routing decided
    destinations: list[str]  # where it goes (empty while a person must decide something)


@dataclass(frozen=True)
class Placed:
    location: Location | None
    decided: Decided | None


def place(config: RouterConfig, ticket: Ticket, text: str) -> Placed:
    loc = ticket.location
    decided_by_person = ticket.routing is not None and ticket.routing.place is not None and \
        ticket.routing.place.source == "operator"
    if decided_by_person and loc is not None:
        return Placed(loc, ticket.routing.place if ticket.routing else None)
    if loc is not None and loc.grid:
        cell = config.places.cells.get(loc.grid)
        if cell is not None:
            return Placed(loc.model_copy(update={"community": cell.community,
                                                 "street": cell.street}),
                          Decided(source="grid_qr", confidence=1.0, detail=cell.grid))
        # a code that is no cell of ours (an old poster, a typo): it must not stand for a
        # place later (repeats are counted by grid)
        loc = loc.model_copy(update={"grid": None})
    if loc is not None and loc.lat is not None and loc.lon is not None:
        lon, lat = loc.lon, loc.lat
        if ticket.channel is Channel.wechat and in_china(lon, lat):
            lon, lat = gcj02_to_wgs84(lon, lat)  # WeChat positions are GCJ-02
        cell = config.places.cell_at(lon, lat)
        if cell is not None:
            return Placed(loc.model_copy(update={"grid": cell.grid,
                                                 "community": cell.community,
                                                 "street": cell.street}),
                          Decided(source="point", confidence=1.0,
                                  detail=f"{lat:.5f},{lon:.5f}"))
    guess = config.gazetteer.street_of(text, config.rules.thresholds.place)
    if guess.street is None:
        return Placed(loc, None)
    names = "、".join(dict.fromkeys(m.name for m in guess.matches if m.streets))
    found = (loc or Location()).model_copy(update={"street": guess.street,
                                                   "community": guess.community})
    return Placed(found, Decided(source="gazetteer", confidence=guess.confidence,
                                 detail=names))


def decide(config: RouterConfig, model: Model | None, ticket: Ticket, context: Context,
           now: datetime) -> Decision:
    """The routing of ``ticket`` (fields a person set are kept)."""
    text = ticket_text(ticket)
    rules = config.rules
    previous = ticket.routing or Routing()
    update: dict[str, object] = {}

    placed = place(config, ticket, text)
    update["location"] = placed.location

    category: Category | None = None
    category_note = previous.category
    if ticket.category and (previous.category is None or previous.category.source == "operator"):
        category = config.catalogue.category(ticket.category)
        category_note = previous.category or Decided(source="operator", confidence=1.0)
    if category is None:
        decision = classify(config.catalogue, model, text, rules.thresholds.category)
        category = config.catalogue.category(decision.category) if decision.category else None
        category_note = Decided(source=decision.source, confidence=decision.confidence,
                                detail=decision.detail)
    kind_note = previous.kind
    if ticket.kind is Kind.unknown:
        guessed = rules.kind_of(text)
        if guessed is not None:
            update["kind"] = guessed[0]
            kind_note = Decided(source="phrase", confidence=1.0, detail=guessed[1])

    priority, priority_note = ticket.priority, previous.priority
    urgent = rules.priority_of(text)
    if urgent is not None and urgent[0] < priority:
        priority = urgent[0]
        priority_note = Decided(source="phrase", confidence=1.0, detail=urgent[1])
    update["priority"] = priority

    loop: Loop | None = None
    loop_note: Decided | None = None
    street = placed.location.street if placed.location else None
    if category is not None:
        department = config.catalogue.department(category.department)
        update["category"] = category.code
        update["department"] = department.name if department else category.department
        loop, loop_note = category.loop, Decided(source="catalogue", detail=category.code)
        if department is not None and department.level == "city" and loop is Loop.small:
            loop, loop_note = Loop.big, Decided(source="department", detail=department.name)
        attention = rules.big_loop_reason(text)
        if attention is not None:
            loop, loop_note = Loop.big, Decided(source=attention[0], detail=attention[1])
        elif context.repeats + 1 >= rules.repeat.count:
            loop, loop_note = Loop.big, Decided(
                source="repeat", detail=f"{context.repeats + 1} tickets here in "
                                        f"{rules.repeat.days} days")
        update["loop"] = loop
    needs: list[str] = []
    if placed.decided is None:
        needs.append("place")
    if category is None:
        needs.append("category")
    deadline = category.deadlines[urgency_of(priority)] if category else None
    destinations: list[str] = []
    if not needs and category is not None:
        if loop is Loop.small and street is not None:
            destinations = [f"street:{street}"]
        else:
            destinations = ["district", f"dept:{category.department}"]
    routing = previous.model_copy(update={
        "place": placed.decided,
        "category": category_note,
        "kind": kind_note,
        "loop": loop_note,
        "priority": priority_note,
        "needs": needs,
        "respond_by": now + timedelta(hours=deadline.respond) if deadline else None,
        "resolve_by": now + timedelta(hours=deadline.resolve) if deadline else None,
        "destinations": [d for d in previous.destinations if d.id in destinations],
    })
    update["routing"] = routing
    return Decision(ticket.model_copy(update=update), destinations)
