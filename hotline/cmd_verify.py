"""CLI commands: ``hotline unanswered list`` and ``hotline unanswered close NUMBER`` — resolved
tickets whose resident did not answer "solved?" within ``HOTLINE_VERIFY_DAYS`` of the question,
and closing one of them as unanswered ("未回复", history kind ``closed_unanswered``)."""

from __future__ import annotations

import argparse
from typing import Any

from hotline.context import CliContext
from hotline.errors import CliError
from tickets.store import TicketNotFound
from tickets.verification import NotClosable, answer_base
from tickets.verify_store import close_unanswered, unanswered


def _days(ctx: CliContext, args: argparse.Namespace) -> int:
    return int(args.days) if args.days is not None else ctx.settings.verify_days


def _list(ctx: CliContext, args: argparse.Namespace) -> int:
    found = unanswered(ctx.store, verify_days=_days(ctx, args), limit=args.limit)
    for t in found:
        asked = answer_base(t)
        print(f"{t.number}  asked {asked:%Y-%m-%d %H:%M} UTC  reopened {t.reopened}  "
              f"{t.department or '-'}" if asked else f"{t.number}")
    print(f"{len(found)} ticket{'' if len(found) == 1 else 's'} waiting longer than "
          f"{_days(ctx, args)} days for the resident's answer")
    return 0


def _close(ctx: CliContext, args: argparse.Namespace) -> int:
    try:
        t = close_unanswered(ctx.store, args.number, actor=args.actor,
                             verify_days=_days(ctx, args))
    except TicketNotFound as exc:
        raise CliError(str(exc)) from None
    except NotClosable as exc:
        raise CliError(str(exc)) from None
    print(f"{t.number} closed: 未回复 (by {args.actor})")
    return 0


def register(sub: argparse._SubParsersAction[Any]) -> None:
    cmd = sub.add_parser("unanswered", help="resolved tickets whose resident did not answer: "
                                            "list them, close one")
    cmd_sub = cmd.add_subparsers(dest="unanswered_command", required=True, metavar="ACTION")
    p = cmd_sub.add_parser("list", help="tickets waiting longer than HOTLINE_VERIFY_DAYS")
    p.add_argument("--days", type=int, metavar="N", help="instead of HOTLINE_VERIFY_DAYS")
    p.add_argument("--limit", type=int, default=200, help="at most this many (oldest first)")
    p.set_defaults(handler=_list)
    p = cmd_sub.add_parser("close", help="close a ticket as unanswered (未回复)")
    p.add_argument("number", help="the ticket number (or id)")
    p.add_argument("--actor", required=True, help="who closes it, e.g. operator:li")
    p.add_argument("--days", type=int, metavar="N", help="instead of HOTLINE_VERIFY_DAYS")
    p.set_defaults(handler=_close)
