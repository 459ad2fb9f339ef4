"""Core commands: serve, worker, relay, migrate, apikey, schema."""

from __future__ import annotations

import argparse
import json
import signal
import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

from hotline import metrics_setup
from hotline.context import CliContext
from hotline.errors import CliError
from hotline.ports import bind
from tickets import apikeys
from tickets.queues import ALL_QUEUES, QueueName


def _serve(ctx: CliContext, args: argparse.Namespace) -> int:
    metrics_setup.prepare(ctx.settings.metrics_path)
    from hotline import httpserver
    from hotline.app import create_app

    settings = ctx.settings
    host = args.host or settings.http_host
    port = args.port or settings.http_port
    # the port first: a taken one is one line, before the app (and its console links) exists
    sock = bind(host, port, "--port" if args.port else "HOTLINE_HTTP_PORT")
    with sock:
        app = create_app(settings, store=ctx.store)
        started = httpserver.serve(app, sock, host, port, settings.forwarded_allow_ips)
    if not started:
        raise CliError(f"the HTTP server on {host}:{port} did not start (see the log above)")
    return 0


def _worker(ctx: CliContext, args: argparse.Namespace) -> int:
    metrics_setup.prepare(ctx.settings.metrics_path)
    from hotline.worker import run_worker

    names = {q.value for q in ALL_QUEUES}
    unknown = sorted(set(args.queues) - names)
    if unknown:
        raise CliError(f"unknown queue {', '.join(unknown)}; choose from: {', '.join(names)}")
    queues = [QueueName(q) for q in args.queues] or list(ALL_QUEUES)
    return run_worker(ctx, queues, burst=args.burst, explicit=bool(args.queues))


def _relay(ctx: CliContext, _: argparse.Namespace) -> int:
    metrics_setup.prepare(ctx.settings.metrics_path)
    from channels import notify
    from delivery import retry
    from ivr import callback_sweep
    from router import escalation, sweep
    from tickets.jobrecovery import Recovery
    from tickets.relay import run_relay

    store = ctx.store
    after_text = timedelta(seconds=ctx.settings.callback_after_text)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    run_relay(store.db, ctx.redis, stop, periodic=[
        lambda now: sweep.sweep_stuck(store.db, now),
        lambda now: escalation.schedule(store.db, now),
        lambda now: retry.sweep(store, now),
        lambda now: notify.sweep_stalled(store.db, now),
        *([lambda now: callback_sweep.plan_after_unanswered_texts(store, now, after_text)]
          if after_text else []),
    ], frequent=[Recovery(ctx.redis, ALL_QUEUES)])
    return 0


def _migrate(ctx: CliContext, _: argparse.Namespace) -> int:
    ctx.migrate()
    print("database is at the newest schema")
    return 0


def _apikey(ctx: CliContext, args: argparse.Namespace) -> int:
    store = ctx.store
    if args.action == "create":
        try:
            scopes = apikeys.parse_scopes(*args.scope)
        except ValueError as exc:
            raise CliError(f"{exc} (e.g. --scope intake,read,events)") from None
        try:
            key, token = apikeys.create(store.db, args.name, scopes)
        except apikeys.DuplicateName as exc:
            raise CliError(str(exc)) from None
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
    if not apikeys.revoke(store.db, args.id):
        raise CliError(f"no active key with id {args.id} (see: hotline apikey list)")
    print(f"revoked {args.id}")
    return 0


def _schema(_: CliContext, args: argparse.Namespace) -> int:
    from tickets.schema import ticket_json_schema

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
    p.add_argument("queues", nargs="*", metavar="QUEUE",
                   help=f"any of: {', '.join(q.value for q in ALL_QUEUES)}")
    p.add_argument("--burst", action="store_true", help="exit when the queues are empty")
    p.set_defaults(handler=_worker)

    p = sub.add_parser("relay", help="move outbox rows onto RQ (catches up after outages) and "
                                     "sweep for stuck tickets")
    p.set_defaults(handler=_relay)

    p = sub.add_parser("migrate", help="bring the database to the newest schema")
    p.set_defaults(handler=_migrate)

    p = sub.add_parser("apikey", help="create, list or revoke back-office API keys")
    keys = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    a = keys.add_parser("create", help="create a key and print its token (shown only once)")
    a.add_argument("--name", default="default", help="who uses the key; unique among active "
                                                      "keys (default: default)")
    a.add_argument("--scope", action="append", default=[],
                   help="intake, read, events; comma-separated or repeated")
    a.add_argument("--out", help="write the token to this file (mode 600) instead of stdout")
    a.set_defaults(handler=_apikey)
    a = keys.add_parser("list", help="every key: id, name, scopes, created, active or revoked")
    a.set_defaults(handler=_apikey)
    a = keys.add_parser("revoke", help="revoke a key at once (its token stops working)")
    a.add_argument("id", help="the key id, as 'apikey list' shows it")
    a.set_defaults(handler=_apikey)

    p = sub.add_parser("schema", help="print the ticket JSON Schema")
    p.add_argument("--out")
    p.set_defaults(handler=_schema)
