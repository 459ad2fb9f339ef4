"""Screen-pop: when the queue connects a call to an operator, that operator's console opens the
call's ticket draft.

Asterisk says so with ``AgentConnect`` (queue ``operators-96010``): ``Interface`` is the member
that answered (``PJSIP/op-<login>``, or ``PJSIP/op-<login>-desk`` for a desk phone beside the
browser) and, because ``manager.conf`` names ``channelvars = TICKET_ID``, ``ChanVariable:
TICKET_ID=…`` is the caller's ticket (set by the IVR for a resident who pressed 0, or by the
console's takeover). :func:`pop_of` reads that (pure); :class:`ScreenPop` finds the person and
the ticket and pushes ``{"type": "screenpop", ...}`` to that person's pages only.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from console.ami import channel_variable
from console.live import Hub
from console.people import DESK_SUFFIX, Person
from console.queue_state import QUEUE
from ivr.events import call_topic
from tickets.model import Channel, Ticket
from tickets.store import Store, TicketNotFound

log = logging.getLogger(__name__)

PJSIP = "PJSIP/"


@dataclass(frozen=True)
class Pop:
    sip_user: str  # the operator's endpoint (op-<login>)
    ticket_id: str | None
    caller_channel: str
    unique_id: str


def sip_user_of(interface: str) -> str | None:
    """``PJSIP/op-alice`` and ``PJSIP/op-alice-desk`` → ``op-alice``; others → None."""
    if not interface.startswith(PJSIP):
        return None
    name = interface[len(PJSIP):]
    return name.removesuffix(DESK_SUFFIX) if name.startswith("op-") else None


def member_interface(person: Person) -> str:
    """What the queue dials for ``person`` (their browser softphone, or their desk phone when
    that is all they have: both are the endpoint ``op-<login>``)."""
    return PJSIP + person.sip_user


def pop_of(event: Mapping[str, str], queue: str = QUEUE) -> Pop | None:
    """The screen-pop an AMI event asks for, if any."""
    if event.get("Event") != "AgentConnect" or event.get("Queue") != queue:
        return None
    sip_user = sip_user_of(event.get("Interface", ""))
    if sip_user is None:
        return None
    return Pop(sip_user=sip_user, ticket_id=channel_variable(event, "TICKET_ID") or None,
               caller_channel=event.get("Channel", ""), unique_id=event.get("Uniqueid", ""))


def payload(ticket: Ticket | None, pop: Pop) -> dict[str, Any]:
    """What the operator's page gets (it opens ``url``; ``call`` is the id of the call's live
    transcript on the board stream, for voice tickets)."""
    if ticket is None:
        return {"type": "screenpop", "ticket": None, "url": "/console/tickets/new",
                "call": None}
    call = call_topic(ticket.channel_ref) if ticket.channel is Channel.voice else None
    return {"type": "screenpop", "ticket": {"id": ticket.id, "number": ticket.number},
            "url": f"/console/tickets/{ticket.number}", "call": call}


class ScreenPop:
    """Listens to AMI events; looks the person and the ticket up off the event loop."""

    def __init__(self, hub: Hub, store: Store,
                 person_of: Callable[[str], Person | None], queue: str = QUEUE) -> None:
        self.hub = hub
        self.store = store
        self.person_of = person_of  # sip user -> person (People.by_sip_user)
        self.queue = queue
        self._tasks: set[asyncio.Task[None]] = set()
        self.sent = 0

    def on_event(self, event: Mapping[str, str]) -> None:
        pop = pop_of(event, self.queue)
        if pop is None:
            return
        task = asyncio.get_running_loop().create_task(self._send(pop))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _send(self, pop: Pop) -> None:
        try:
            person = await asyncio.to_thread(self.person_of, pop.sip_user)
            if person is None or not person.active:
                log.info("screen-pop: %s answered a queue call but is nobody in the console",
                         pop.sip_user)
                return
            ticket = await asyncio.to_thread(self._ticket, pop.ticket_id)
        except Exception:  # a database hiccup loses one pop, never the AMI link
            log.exception("screen-pop for %s failed", pop.sip_user)
            return
        self.hub.send_to(person.id, payload(ticket, pop))
        self.sent += 1
        log.info("screen-pop: ticket %s to %s", ticket.number if ticket else "-", person.login)

    def _ticket(self, ticket_id: str | None) -> Ticket | None:
        if not ticket_id:
            return None
        try:
            return self.store.get(ticket_id)
        except TicketNotFound:
            return None

    async def drain(self) -> None:
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=5)
