"""Core commands: serve, worker, relay, migrate, apikey, schema."""

from __future__ import annotations

import argparse
import json
import signal
import threading
from pathlib import Path
from typing import Any

from hotline.cli import CliError
from hotline.services import make_redis, make_store
from hotline.settings import load_settings
from router import apikeys
from router.migrate import upgrade
from router.queues import ALL_QUEUES


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from hotline.app import create_app

    settings = load_settings()
    app = create_app(settings, store=make_store(settings))
    uvicorn.run(app, host=args.host or settings.http_host, port=args.port or settings.http_port,
                log_level=settings.log_level.lower(), proxy_headers=False)
    return 0


def _worker(args: argparse.Namespace) -> int:
    from hotline.worker import run_worker

    unknown = sorted(set(args.queues) - set(ALL_QUEUES))
    if unknown:
        raise CliError(f"unknown queue {', '.join(unknown)}; choose from: {', '.join(ALL_QUEUES)}")
    return run_worker(load_settings(), args.queues or list(ALL_QUEUES), burst=args.burst,
                      explicit=bool(args.queues))


def _relay(_: argparse.Namespace) -> int:
    from router.relay import run_relay

    settings = load_settings()
    store = make_store(settings)
    upgrade(store.db)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    run_relay(store.db, make_redis(settings), stop)
    return 0


def _migrate(_: argparse.Namespace) -> int:
    store = make_store(load_settings())
    upgrade(store.db)
    print("database is at the newest schema")
    return 0


def _apikey(args: argparse.Namespace) -> int:
    store = make_store(load_settings())
    upgrade(store.db)
    if args.action == "create":
        try:
            scopes = apikeys.parse_scopes(args.scope)
        except ValueError as exc:
            raise CliError(f"{exc} (e.g. --scope intake,read,events)") from None
        key, token = apikeys.create(store.db, args.name, scopes)
        if args.out:
            out = Path(args.out)
            out.parent.mkdir(parents=True, exist_ok=True)
            out.touch(mode=0o600)
            out.write_text(token + "\n")
            print(f"created key {key.id} ({args.name}); token written to {out}")
        else:
            print(token)
        return 0
    if args.action == "list":
        for key, created, revoked in apikeys.list_keys(store.db):
            state = f"revoked {revoked:%Y-%m-%d}" if revoked else "active"
            names = ",".join(sorted(key.scopes))
            print(f"{key.id}  {key.name:20}  {names:20}  {created:%Y-%m-%d}  {state}")
        return 0
    if not args.id:
        raise CliError("give the key id to revoke: hotline apikey revoke ID")
    if not apikeys.revoke(store.db, args.id):
        raise CliError(f"no active key with id {args.id} (see: hotline apikey list)")
    print(f"revoked {args.id}")
    return 0


def _schema(args: argparse.Namespace) -> int:
    from router.schema import ticket_json_schema

    text = json.dumps(ticket_json_schema(), indent=2, ensure_ascii=False) + "\n"
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
    else:
        print(text, end="")
    return 0


def register(sub: argparse._SubParsersAction[Any]) -> None:
    p = sub.add_parser("serve", help="HTTP API and channel webhooks")
    p.add_argument("--host")
    p.add_argument("--port", type=int)
    p.set_defaults(handler=_serve)

    p = sub.add_parser("worker", help="RQ worker for the given queues (default: all)")
    p.add_argument("queues", nargs="*", metavar="QUEUE", help=f"any of: {', '.join(ALL_QUEUES)}")
    p.add_argument("--burst", action="store_true", help="exit when the queues are empty")
    p.set_defaults(handler=_worker)

    p = sub.add_parser("relay", help="move outbox rows onto RQ (catches up after outages)")
    p.set_defaults(handler=_relay)

    p = sub.add_parser("migrate", help="bring the database to the newest schema")
    p.set_defaults(handler=_migrate)

    p = sub.add_parser("apikey", help="create, list or revoke back-office API keys")
    p.add_argument("action", choices=["create", "list", "revoke"])
    p.add_argument("id", nargs="?", help="key id (revoke)")
    p.add_argument("--name", default="default", help="who uses the key (create)")
    p.add_argument("--scope", default="", help="comma-separated: intake,read,events (create)")
    p.add_argument("--out", help="write the token to this file (mode 600) instead of stdout")
    p.set_defaults(handler=_apikey)

    p = sub.add_parser("schema", help="print the ticket JSON Schema")
    p.add_argument("--out")
    p.set_defaults(handler=_schema)
