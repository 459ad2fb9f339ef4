"""``hotline callback NUMBER``: call the resident of a ticket back now (回访), the way the
``callback`` queue does — one attempt through AMI, recorded in the ticket's history, the next
attempt planned when nobody answers."""

from __future__ import annotations

import argparse
from typing import Any

from hotline.context import CliContext
from hotline.errors import CliError
from tickets.store import Mutation

EPILOG = """\
The resident's ticket must wait for their answer (status resolved, or closed without a
satisfaction answer). Asterisk calls them through HOTLINE_CALLBACK_CHANNEL into the
callback-96010 context; once they answer, `hotline agi` reads the ticket number and the
unit's reply and asks "solved?" and "satisfied?" by keys. An unanswered call is tried again
HOTLINE_CALLBACK_INTERVAL seconds later (HOTLINE_CALLBACK_ATTEMPTS in all), never in
HOTLINE_QUIET_HOURS; after the last one a mobile number gets the question by SMS.
Needs HOTLINE_AMI_USERNAME and HOTLINE_AMI_SECRET.
"""


def _callback(ctx: CliContext, args: argparse.Namespace) -> int:
    from hotline.callback_dialer import dialer_for, policy_for
    from hotline.wiring import sms_fallback
    from hotline.worker import WorkerContext
    from ivr.callback_history import callback_entries
    from ivr.callback_job import call_resident, callback_job, next_attempt
    from tickets.model import is_ticket_number
    from tickets.store import TicketNotFound
    from tickets.verification import pending_question

    number = args.number.strip()
    if not is_ticket_number(number):
        raise CliError(f"'{number[:20]}' is not a ticket number (10–16 digits)")
    store = ctx.store
    try:
        ticket = store.get(number)
    except TicketNotFound:
        raise CliError(f"no ticket {number}") from None
    if pending_question(ticket) is None:
        raise CliError(f"ticket {number} is '{ticket.status.value}' and waits for no answer "
                       "from the resident")
    if ticket.citizen.phone is None:
        raise CliError(f"ticket {number} has no phone number to call")
    settings = ctx.settings
    attempt = next_attempt(ticket)
    if args.queue:
        job = callback_job(ticket.id, attempt)
        after = store.change(ticket.id, _noted(f"callback attempt {attempt} queued by hand",
                                               ticket.id, attempt), jobs=lambda _id: (job,))
        if after.seq == ticket.seq:
            raise CliError(f"ticket {number}: callback attempt {attempt} is already queued")
        print(f"ticket {number}: callback attempt {attempt} queued")
        return 0
    dialer = dialer_for(settings)
    if dialer is None:
        raise CliError("set HOTLINE_AMI_USERNAME and HOTLINE_AMI_SECRET (the callback call is "
                       "placed through Asterisk's manager interface)")
    context = WorkerContext(store=store, media_dir=settings.media_path, dialer=dialer,
                            callback_policy=policy_for(settings), sms_fallback=sms_fallback)
    said = call_resident(context, ticket.id, attempt)
    last = callback_entries(store.get(ticket.id))
    print(f"ticket {number}: {said}")
    if last:
        print(f"  {last[-1].note}")
    return 0 if said == "answered" else 1


def _noted(note: str, ticket_id: str, attempt: int) -> Mutation:
    from ivr.callback_history import event_id, with_entry

    event = event_id("queued", f"{ticket_id}:{attempt}")
    return lambda t, seq, at: with_entry(t, seq=seq, at=at, note=note, event=event)


def register(sub: argparse._SubParsersAction[Any]) -> None:
    p = sub.add_parser("callback", help="call a resident back about their ticket (回访)",
                       description="Call the resident of ticket NUMBER back now: the ticket "
                                   "and the unit's reply are read to them and they answer "
                                   "'solved?' and 'satisfied?' by keys.",
                       epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("number", metavar="NUMBER", help="the ticket number, e.g. 2612070001")
    p.add_argument("--queue", action="store_true",
                   help="put the call on the callback queue instead of placing it now")
    p.set_defaults(handler=_callback)
