"""``hotline demo``: the first thing to run after ``make run``."""

from __future__ import annotations

import argparse
import os
import shlex
from pathlib import Path
from typing import Any

import httpx

from hotline.context import CliContext
from hotline.errors import CliError


def _demo(ctx: CliContext, args: argparse.Namespace) -> int:
    from hotline.demo import follow, play_back_office, send_all

    settings = ctx.settings
    url = args.url or f"http://{settings.http_host}:{settings.http_port}"
    key = args.api_key or os.environ.get("HOTLINE_DEMO_API_KEY")
    key_file = settings.data_dir / "dev-api-key"
    if not key and key_file.exists():
        key = key_file.read_text().strip()
    if not key:
        raise CliError(f"no API key: pass --api-key, or run 'hotline dev-setup' to create "
                       f"{key_file}")
    with httpx.Client(base_url=url, timeout=10) as client:
        try:
            client.get("/healthz").raise_for_status()
        except httpx.HTTPError as exc:
            raise CliError(f"no gateway answers at {url} ({exc}); start it with 'make run'") \
                from None
        print(f"Sending sample requests to {url}:")
        sent = send_all(client, key, settings, print)
        numbers = [s.number for s in sent if s.number]
        if not numbers:
            raise CliError("no ticket was acknowledged; see the lines above")
        print("Following the tickets (the router registers each case):")
        tickets = follow(client, key, numbers, print)
        api_numbers = [n for n, t in tickets.items() if t["channel"] == "api"]
        if api_numbers and not args.no_back_office:
            print("Playing the back office for the first one (events API):")
            play_back_office(client, key, api_numbers[0], print)
    print(feed_hint(key_file, url))
    return 0


def feed_hint(key_file: Path, url: str) -> str:
    """A command line to paste into a shell: the key is read by the shell, never printed."""
    key = shlex.quote(str(key_file))
    return (f'Feed: curl -H "Authorization: Bearer $(cat {key})" '
            f"{shlex.quote(url + '/api/v1/tickets?after=0')}")


def register(sub: argparse._SubParsersAction[Any]) -> None:
    p = sub.add_parser("demo", help="send sample intakes to a running gateway and follow them")
    p.add_argument("--url", help="gateway base URL (default: from HOTLINE_HTTP_HOST/PORT)")
    p.add_argument("--api-key", help="API key with intake,read,events (default: var/dev-api-key)")
    p.add_argument("--no-back-office", action="store_true",
                   help="do not move the API ticket through the loop")
    p.set_defaults(handler=_demo)
