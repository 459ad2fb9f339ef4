"""What a street's or a department's desk (and the district center's supervision) does to a
ticket, as events of the back-office events path (tickets/events.py): one history, one feed,
one status machine — a unit may switch between its desk and its own system at any time.

* 签收 acknowledge: ``dispatched`` → ``in_progress`` (a second unit of a big-loop ticket
  that is already in progress records its acknowledgement as a note);
* 进展 a progress note; 退回 send back (``registered``, kind ``sent_back``, the reason);
* 申请延期 an extension request (the deadline asked for, the reason), which a supervisor
  grants (``resolve_by`` moves) or refuses; 督办 a supervisor's urge;
* 办结 the reply to the resident (required) → ``resolved``.

Every action carries the ticket's ``seq`` the person saw: if anybody changed the ticket since,
it is refused (:class:`~tickets.events.StaleEvent`) and the page says who did what. Each form
also carries a random reference (the event id), so sending the same form twice acts once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal
from zoneinfo import ZoneInfo

from console.people import Person
from tickets import units
from tickets.events import TicketEvent, apply_event
from tickets.model import HistoryKind, Status, Ticket
from tickets.store import Store

Action = Literal["acknowledge", "note", "send_back", "extension", "resolve", "grant",
                 "refuse", "urge"]
DESK_ACTIONS: frozenset[str] = frozenset({"acknowledge", "note", "send_back", "extension",
                                          "resolve"})
SUPERVISOR_ACTIONS: frozenset[str] = frozenset({"grant", "refuse", "urge"})
TEXT_LIMIT = 5000


class ActionRefused(ValueError):
    """The form cannot become an event; the message is for the person (zh-CN)."""


@dataclass(frozen=True)
class Form:
    action: Action
    seq: int
    ref: str  # the form's random reference: the event id
    text: str = ""
    deadline: datetime | None = None  # an extension's new resolve-by


def actor_of(person: Person) -> str:
    """``street:DS/wang``: the unit speaks, and who at it (tickets.units.actor_unit)."""
    unit = person.units[0] if person.units else person.role.value
    return f"{unit}/{person.login}"[:100]


def parse_deadline(text: str, tz: ZoneInfo) -> datetime:
    """A ``datetime-local`` field (``2026-12-08T18:00``) in the store's timezone."""
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ActionRefused("新的办结期限格式不正确") from None
    return value.replace(tzinfo=tz) if value.tzinfo is None else value


def acknowledged_by(ticket: Ticket, unit: str) -> bool:
    return any(units.actor_unit(h.actor) == unit and (
        h.status is Status.in_progress or h.note == ACK_NOTE) for h in ticket.history)


ACK_NOTE = "签收"


def event_of(form: Form, ticket: Ticket, actor: str, unit: str | None, now: datetime
             ) -> TicketEvent:
    """The event a desk or supervisor form asks for (ActionRefused when it cannot be)."""
    text = form.text.strip()
    if len(text) > TEXT_LIMIT:
        raise ActionRefused(f"内容太长（最多 {TEXT_LIMIT} 字）")
    base = {"actor": actor, "event_id": f"console:{form.ref}"[:100],
            "expected_seq": form.seq}
    match form.action:
        case "acknowledge":
            if ticket.status is Status.in_progress and unit is not None:
                if acknowledged_by(ticket, unit):
                    raise ActionRefused("本单位已签收此工单")
                return TicketEvent(**base, note=ACK_NOTE)
            return TicketEvent(**base, status=Status.in_progress, note=ACK_NOTE)
        case "note":
            if not text:
                raise ActionRefused("请填写处理进展")
            return TicketEvent(**base, note=text)
        case "send_back":
            if not text:
                raise ActionRefused("退回需要说明原因")
            return TicketEvent(**base, status=Status.registered, kind=HistoryKind.sent_back,
                               note=text)
        case "extension" | "grant":
            if form.deadline is None:
                raise ActionRefused("请填写新的办结期限")
            if form.deadline <= now:
                raise ActionRefused("新的办结期限必须晚于现在")
            if form.action == "extension" and not text:
                raise ActionRefused("申请延期需要说明原因")
            kind = (HistoryKind.extension_requested if form.action == "extension"
                    else HistoryKind.extension_granted)
            return TicketEvent(**base, kind=kind, resolve_by=form.deadline, note=text or None)
        case "refuse":
            if not text:
                raise ActionRefused("不同意延期需要说明原因")
            return TicketEvent(**base, kind=HistoryKind.extension_refused, note=text)
        case "urge":
            return TicketEvent(**base, kind=HistoryKind.urged, note=text or "请尽快办理")
        case "resolve":
            if not text:
                raise ActionRefused("办结需要填写答复内容（将告知市民）")
            return TicketEvent(**base, status=Status.resolved, note=text)
    raise ActionRefused("未知的操作")


def act(store: Store, ticket_ref: str, form: Form, actor: str, unit: str | None,
        now: datetime) -> Ticket:
    """Apply the form to the ticket as one event under the store's write lock. Raises what
    the events path raises (StaleEvent, IllegalTransition, KindRefused, HistoryFull,
    TicketNotFound) and ActionRefused."""

    def mutate(current: Ticket, seq: int, at: datetime) -> Ticket | None:
        event = event_of(form, current, actor, unit, now)
        return apply_event(current, event, seq, at)

    return store.change(ticket_ref, mutate)
