"""The ``hotline`` command. Each room's commands live in a ``cmd_*`` module with a
``register(subparsers)`` function; every handler is ``handler(ctx, args) -> exit status`` with
the one :class:`~hotline.context.CliContext` built here."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from sqlalchemy.exc import OperationalError

from hotline import (
    cli_help,
    cmd_callback,
    cmd_core,
    cmd_deliveries,
    cmd_demo,
    cmd_ivr,
    cmd_jobs,
    cmd_operator,
    cmd_pbx,
    cmd_router,
    cmd_run,
    cmd_spool,
    cmd_transcription,
    cmd_verify,
    datadir,
    invocation,
    logs,
)
from hotline.context import CliContext, database_error, settings_or_error
from hotline.errors import CliError

COMMANDS = (cmd_core, cmd_run, cmd_ivr, cmd_spool, cmd_transcription, cmd_jobs, cmd_deliveries,
            cmd_router, cmd_operator, cmd_demo, cmd_callback, cmd_pbx, cmd_verify)

Handler = Callable[[CliContext, argparse.Namespace], int]


def build_parser() -> argparse.ArgumentParser:
    start = invocation.prefix()
    parser = argparse.ArgumentParser(
        prog=start, description="96010 intake gateway. Every command: "
        f"{start} COMMAND --help (description and examples).")
    parser.add_argument("--log-level", default=None,
                        help="DEBUG, INFO, WARNING (default HOTLINE_LOG_LEVEL or INFO)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMANDS:
        module.register(sub)
    invocation.know(sub.choices)
    cli_help.describe(parser, start)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handler: Handler = args.handler
    ctx: CliContext | None = None
    try:
        ctx = CliContext(settings_or_error())
        logs.setup(args.log_level or ctx.settings.log_level, ctx.settings.log_format)
        datadir.make_private(ctx.settings.data_dir)
        return handler(ctx, args)
    except CliError as exc:
        print(f"hotline: {invocation.runnable(str(exc))}", file=sys.stderr)
        return 2
    except OperationalError as exc:
        print(f"hotline: {invocation.runnable(str(database_error(exc)))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    finally:
        if ctx is not None:
            ctx.close()
