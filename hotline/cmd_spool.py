"""CLI commands: `hotline spool ingest [--watch]`, `hotline spool retry`, `hotline spool list` —
the recovery of calls the gateway could not take at once: the fallback spool (recorded by
Asterisk while the gateway was unreachable, or by the gateway when its store failed) and the
messages left behind in the recordings folder by a gateway that stopped mid-call."""

from __future__ import annotations

import argparse
import logging
import signal
import threading
import time
from typing import Any

from hotline.context import CliContext
from hotline.errors import CliError
from hotline.invocation import runnable

log = logging.getLogger(__name__)
SWEEP_MARGIN = 60  # seconds past the longest message before a recording counts as left behind


def recover_once(ctx: CliContext) -> int:
    """One pass: left-behind recordings, then the spool. How many tickets were made or joined."""
    from ivr.persist import sweep
    from ivr.spool.ingest import DatabaseUnavailable, database_reachable, ingest_once

    settings = ctx.settings
    try:
        store = ctx.store
    except CliError as exc:  # unreachable or not migrated: every entry waits for the next pass
        raise DatabaseUnavailable(str(exc)) from None
    if not database_reachable(store):
        raise DatabaseUnavailable("the database is unreachable")
    swept = sweep(store, settings.recordings_path, settings.media_path, settings.spool_path,
                  idle_after=settings.max_record_seconds + SWEEP_MARGIN)
    from channels.spooled import file_inbound, file_spooled

    return swept + ingest_once(store, settings.spool_path, settings.media_path,
                               file_text=file_spooled, file_inbound=file_inbound)


def _ingest(ctx: CliContext, args: argparse.Namespace) -> int:
    from ivr.spool.ingest import DatabaseUnavailable, run_ingest

    spool = ctx.settings.spool_path
    if not args.watch:
        try:
            count = recover_once(ctx)
        except DatabaseUnavailable as exc:
            raise CliError(f"{exc}; the spooled calls stay in {spool} — run this again when "
                           "the database is back (or use --watch)") from None
        print(f"ingested {count} spooled or left-behind call(s) from {spool}")
        return 0
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    log.info("spool: watching %s and %s", spool, ctx.settings.recordings_path)
    run_ingest(lambda: recover_once(ctx), stop, interval=args.interval)
    return 0


def _retry(ctx: CliContext, _: argparse.Namespace) -> int:
    from ivr.spool.ingest import BAD, retry_bad

    spool = ctx.settings.spool_path
    moved = retry_bad(spool)
    print(f"moved {moved} entr{'y' if moved == 1 else 'ies'} from {spool / BAD} back into the "
          "spool; the ingester takes them on its next pass")
    return 0


def _list(ctx: CliContext, _: argparse.Namespace) -> int:
    from ivr.spool.format import scan
    from ivr.spool.ingest import BAD, read_attempts

    spool = ctx.settings.spool_path
    now = time.time()
    waiting = scan(spool)
    for entry in waiting:
        attempts = read_attempts(spool, entry.stem)
        age = now - entry.newest_mtime()
        state = (f"{attempts.count} failed attempt(s), next in "
                 f"{max(0.0, attempts.next_at - now):.0f} s" if attempts.count else "waiting")
        print(f"{entry.stem}  {age:8.0f} s old  {entry.fields.get('reason', '-'):16}  {state}")
    bad = scan(spool / BAD)
    for entry in bad:
        print(runnable(f"{entry.stem}  in {BAD}/ (hotline spool retry)"))
    print(f"{len(waiting)} waiting, {len(bad)} in {BAD}/")
    return 0


def register(sub: argparse._SubParsersAction[Any]) -> None:
    spool = sub.add_parser("spool", help="calls recorded while the gateway could not take them")
    spool_sub = spool.add_subparsers(dest="spool_command", required=True, metavar="ACTION")
    ingest = spool_sub.add_parser(
        "ingest", help="turn complete spooled and left-behind recordings into voice tickets")
    ingest.add_argument("--watch", action="store_true",
                        help="keep watching until SIGINT/SIGTERM")
    ingest.add_argument("--interval", type=float, default=2.0,
                        help="seconds between passes with --watch (default 2)")
    ingest.set_defaults(handler=_ingest)
    retry = spool_sub.add_parser("retry", help="move the entries in bad/ back for another try")
    retry.set_defaults(handler=_retry)
    listing = spool_sub.add_parser("list", help="what waits in the spool, and why")
    listing.set_defaults(handler=_list)
