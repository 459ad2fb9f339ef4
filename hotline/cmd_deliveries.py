"""CLI commands: ``hotline deliveries list`` and ``hotline deliveries retry`` — what waits for a
destination, what was set aside after every attempt failed, and sending it again."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import Any

from delivery import records, retry
from delivery.destinations import DestinationError, check_id
from hotline.context import CliContext
from hotline.errors import CliError

STATUS_CHOICES = {
    "pending": (records.PENDING,),
    "dead": (records.DEAD,),
    "delivered": (records.DELIVERED,),
    "waiting": (records.PENDING, records.DEAD),
    "all": records.STATUSES,
}


def _destination(args: argparse.Namespace) -> str | None:
    if args.destination is None:
        return None
    try:
        return check_id(args.destination)
    except DestinationError as exc:
        raise CliError(str(exc)) from None


def _when(value: datetime | None) -> str:
    return f"{value:%Y-%m-%d %H:%M:%S}" if value else "-"


def _list(ctx: CliContext, args: argparse.Namespace) -> int:
    found = retry.listing(ctx.store, statuses=STATUS_CHOICES[args.status],
                               destination=_destination(args), limit=args.limit)
    for d in found:
        when = d.delivered_at if d.status == records.DELIVERED else d.next_attempt_at
        print(f"{d.id:>6}  {d.status:9}  {d.destination:28}  {d.transport or '-':14}  "
              f"ticket {d.ticket_number or d.ticket_id}  attempts {d.attempts:<3}  "
              f"{_when(when)}  {(d.last_error or '')[:120]}")
    print(f"{len(found)} deliver{'y' if len(found) == 1 else 'ies'}")
    return 0


def _retry(ctx: CliContext, args: argparse.Namespace) -> int:
    if args.ids and args.dead:
        raise CliError("name delivery ids or --dead, not both")
    if not args.ids and not args.dead:
        raise CliError("name the delivery ids to retry (see: hotline deliveries list), "
                       "or --dead")
    if args.ids and args.destination:
        raise CliError("--destination goes with --dead")
    try:
        sent = retry.retry(ctx.store, args.ids or None, destination=_destination(args),
                                now=datetime.now(UTC))
    except retry.RetryRefused as exc:
        raise CliError(str(exc)) from None
    for d in sent:
        print(f"{d.id:>6}  {d.destination:28}  ticket {d.ticket_id}  sent again")
    print(f"{len(sent)} deliver{'y' if len(sent) == 1 else 'ies'} sent again "
          "(the worker on the 'deliver' queue takes them)")
    return 0


def register(sub: argparse._SubParsersAction[Any]) -> None:
    cmd = sub.add_parser("deliveries", help="deliveries to destinations: list and retry them")
    cmd_sub = cmd.add_subparsers(dest="deliveries_command", required=True, metavar="ACTION")
    p = cmd_sub.add_parser("list", help="deliveries waiting or set aside (dead)")
    p.add_argument("--status", choices=sorted(STATUS_CHOICES), default="waiting",
                   help="pending, dead, delivered, all (default: waiting = pending and dead)")
    p.add_argument("--destination", metavar="ID", help="only this destination (street:DS …)")
    p.add_argument("--limit", type=int, default=1000, help="at most this many (oldest first)")
    p.set_defaults(handler=_list)
    p = cmd_sub.add_parser("retry", help="send deliveries again (dead ones from attempt 1)")
    p.add_argument("ids", nargs="*", metavar="DELIVERY_ID", help="a delivery id or key")
    p.add_argument("--dead", action="store_true", help="every dead delivery (of --destination)")
    p.add_argument("--destination", metavar="ID", help="with --dead: only this destination")
    p.set_defaults(handler=_retry)
