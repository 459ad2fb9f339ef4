"""The ``hotline`` command. Each room contributes its subcommands through a ``register``
function in one of :data:`COMMAND_MODULES` (so rooms never edit each other's CLI code)."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Callable, Sequence

from sqlalchemy.exc import OperationalError

COMMAND_MODULES = (
    "hotline.cmd_core",
    "hotline.cmd_channels",
    "hotline.cmd_ivr",
    "hotline.cmd_spool",
    "hotline.cmd_transcription",
    "hotline.cmd_run",
    "hotline.cmd_demo",
)

Handler = Callable[[argparse.Namespace], int]


class CliError(Exception):
    """A user-facing error: printed without a traceback, exit status 2."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hotline", description="96010 intake gateway")
    parser.add_argument("--log-level", default=None, help="DEBUG, INFO, WARNING (default INFO)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=(args.log_level or "INFO").upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if (args.log_level or "INFO").upper() != "DEBUG":
        logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request is noise
    handler: Handler = args.handler
    try:
        return handler(args)
    except CliError as exc:
        print(f"hotline: {exc}", file=sys.stderr)
        return 2
    except OperationalError as exc:
        reason = str(exc.orig or exc).strip().splitlines()[0]
        print(f"hotline: the database does not answer ({reason}); check HOTLINE_DATABASE_URL "
              "and that the server is running", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130

