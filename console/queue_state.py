"""The operator queue as AMI tells it (pure: events in, state out).

:func:`from_status` builds the state from the answer to ``QueueStatus`` (``QueueParams``,
``QueueMember``, ``QueueEntry``) — taken after every (re)connection; :func:`apply` moves it on
with each event: callers joining and leaving (``QueueCallerJoin``/``Leave``/``Abandon``),
members added, removed, paused and changing device state (``QueueMemberAdded``/``Removed``/
``Pause``/``Status``), and a call ringing, answered and finished at a member
(``AgentCalled``, ``AgentRingNoAnswer``, ``AgentConnect``, ``AgentComplete``). Events of other
queues, or of nothing the board shows, leave the state as it is (the same object).

Times are epoch seconds passed in by the caller (``now``), so the functions stay pure.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from enum import IntEnum

from tickets.masking import mask_phone

QUEUE = "operators-96010"
Event = Mapping[str, str]


class Device(IntEnum):
    """A member's device state (``Status`` in queue events; Asterisk's ast_device_state)."""

    unknown = 0
    not_inuse = 1
    inuse = 2
    busy = 3
    invalid = 4
    unavailable = 5
    ringing = 6
    ringinuse = 7
    onhold = 8


@dataclass(frozen=True)
class Member:
    interface: str  # what the queue dials, e.g. PJSIP/op-alice
    name: str  # MemberName (the console sets the person's login)
    device: Device = Device.unknown
    paused: bool = False
    paused_reason: str = ""
    in_call: bool = False
    calls_taken: int = 0
    ringing: str | None = None  # the caller's channel while this member's phone rings
    talking_to: str | None = None  # the caller's channel once connected

    @property
    def state(self) -> str:
        """What the board shows: talking, ringing, paused, available or unavailable."""
        if self.talking_to is not None or self.in_call or self.device in (
                Device.inuse, Device.busy, Device.onhold):
            return "talking"
        if self.ringing is not None or self.device in (Device.ringing, Device.ringinuse):
            return "ringing"
        if self.paused:
            return "paused"
        if self.device is Device.not_inuse:
            return "available"
        return "unavailable"


@dataclass(frozen=True)
class Waiting:
    channel: str
    unique_id: str
    caller: str  # masked
    position: int
    since: float  # epoch seconds the caller joined the queue
    ticket_id: str | None = None


@dataclass(frozen=True)
class QueueState:
    name: str = QUEUE
    members: Mapping[str, Member] = field(default_factory=dict)
    waiting: tuple[Waiting, ...] = ()


def _int(value: str | None, default: int = 0) -> int:
    try:
        return int(value) if value not in (None, "") else default
    except ValueError:
        return default


def _device(value: str | None) -> Device:
    try:
        return Device(_int(value))
    except ValueError:
        return Device.unknown


def _caller(event: Event) -> str:
    number = event.get("CallerIDNum", "")
    return "" if number in ("", "<unknown>", "anonymous") else mask_phone(number)


def _ticket(event: Event) -> str | None:
    for line in event.get("ChanVariable", "").split("\n"):
        key, sep, value = line.partition("=")
        if sep and key == "TICKET_ID":
            return value or None
    return None


def _member(event: Event, old: Member | None, *, interface_key: str = "Interface",
            name_key: str = "MemberName") -> Member:
    interface = event.get(interface_key, "")
    base = old or Member(interface=interface, name=event.get(name_key) or interface)
    return replace(base, name=event.get(name_key) or base.name,
                   device=_device(event.get("Status")),
                   paused=event.get("Paused", "0") == "1",
                   paused_reason=event.get("PausedReason", "") or "",
                   in_call=event.get("InCall", "0") == "1",
                   calls_taken=_int(event.get("CallsTaken"), base.calls_taken))


def _with_members(state: QueueState, members: dict[str, Member]) -> QueueState:
    return replace(state, members=members)


def _renumber(waiting: Iterable[Waiting]) -> tuple[Waiting, ...]:
    ordered = sorted(waiting, key=lambda w: (w.position, w.since))
    return tuple(replace(w, position=i + 1) for i, w in enumerate(ordered))


def from_status(replies: Iterable[Event], now: float, queue: str = QUEUE) -> QueueState:
    """The state from ``QueueStatus``'s answer (the response and its list events)."""
    members: dict[str, Member] = {}
    waiting: list[Waiting] = []
    for event in replies:
        if event.get("Queue") != queue:
            continue
        kind = event.get("Event")
        if kind == "QueueMember":
            member = _member(event, None, interface_key="Location", name_key="Name")
            members[member.interface] = member
        elif kind == "QueueEntry":
            waiting.append(Waiting(
                channel=event.get("Channel", ""), unique_id=event.get("Uniqueid", ""),
                caller=_caller(event), position=_int(event.get("Position"), 999),
                since=now - _int(event.get("Wait")), ticket_id=_ticket(event)))
    return QueueState(queue, members, _renumber(waiting))


def apply(state: QueueState, event: Event, now: float) -> QueueState:
    """The state after one AMI event (the same object when it changes nothing)."""
    if event.get("Queue") != state.name:
        return state
    kind = event.get("Event", "")
    members = state.members
    interface = event.get("Interface", "")
    if kind in ("QueueMemberAdded", "QueueMemberStatus", "QueueMemberPause"):
        return _with_members(state, {**members,
                                     interface: _member(event, members.get(interface))})
    if kind == "QueueMemberRemoved":
        if interface not in members:
            return state
        return _with_members(state, {k: v for k, v in members.items() if k != interface})
    if kind == "QueueCallerJoin":
        channel = event.get("Channel", "")
        others = [w for w in state.waiting if w.channel != channel]
        joined = Waiting(channel=channel, unique_id=event.get("Uniqueid", ""),
                         caller=_caller(event), position=_int(event.get("Position"), 999),
                         since=now, ticket_id=_ticket(event))
        return replace(state, waiting=_renumber([*others, joined]))
    if kind in ("QueueCallerLeave", "QueueCallerAbandon"):
        channel = event.get("Channel", "")
        rung = {k: replace(m, ringing=None) for k, m in members.items() if m.ringing == channel}
        if not rung and not any(w.channel == channel for w in state.waiting):
            return state
        # a caller who hangs up while members ring gets no AgentRingNoAnswer
        return replace(state, members={**members, **rung} if kind == "QueueCallerAbandon"
                       else members,
                       waiting=_renumber(w for w in state.waiting if w.channel != channel))
    member = members.get(interface)
    if member is None:
        return state
    caller = event.get("Channel", "")
    if kind == "AgentCalled":
        changed = replace(member, ringing=caller)
    elif kind == "AgentRingNoAnswer":
        changed = replace(member, ringing=None)
    elif kind == "AgentConnect":
        changed = replace(member, ringing=None, talking_to=caller)
    elif kind == "AgentComplete":
        changed = replace(member, ringing=None, talking_to=None)
    else:
        return state
    return _with_members(state, {**members, interface: changed})
