"""CLI commands: `hotline spool ingest [--watch]` — the fallback spool Asterisk records into
while the gateway is unreachable (see ivr/spool.py)."""

from __future__ import annotations

import argparse
import logging
import signal
import threading
from typing import Any

from hotline.cli import CliError
from hotline.services import make_store
from hotline.settings import load_settings
from ivr.spool import DatabaseUnavailable, ingest_once, run_ingest
from router.migrate import upgrade

log = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction[Any]) -> None:
    spool = sub.add_parser("spool", help="the fallback spool of calls recorded by Asterisk")
    spool_sub = spool.add_subparsers(dest="spool_command", required=True, metavar="ACTION")
    ingest = spool_sub.add_parser(
        "ingest", help="turn complete spooled recordings into voice tickets"
    )
    ingest.add_argument("--watch", action="store_true",
                        help="keep watching the spool until SIGINT/SIGTERM")
    ingest.add_argument("--interval", type=float, default=2.0,
                        help="seconds between scans with --watch (default 2)")
    ingest.set_defaults(handler=_ingest)


def _ingest(args: argparse.Namespace) -> int:
    settings = load_settings()
    store = make_store(settings)
    upgrade(store.db)
    spool, media = settings.spool_path, settings.media_path
    if not args.watch:
        try:
            count = ingest_once(store, spool, media)
        except DatabaseUnavailable as exc:
            raise CliError(f"{exc}; the spooled calls stay in {spool} — run this again when "
                           "the database is back (or use --watch)") from None
        print(f"ingested {count} spooled call(s) from {spool}")
        return 0
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    run_ingest(store, spool, media, stop, interval=args.interval)
    return 0
