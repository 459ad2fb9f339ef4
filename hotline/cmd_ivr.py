"""CLI commands of the `ivr` room: `hotline agi` (the FastAGI server, in hotline.agi) and
`hotline prompts`. Heavy modules are imported by the command that runs them."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
from typing import Any

from hotline import metrics_setup
from hotline.context import CliContext
from hotline.errors import CliError
from hotline.ports import ensure_free


def _agi(ctx: CliContext, args: argparse.Namespace) -> int:
    metrics_setup.prepare(ctx.settings.metrics_path)
    from hotline.agi import serve

    settings = ctx.settings
    host = args.host or settings.agi_host
    ensure_free(host, args.port if args.port is not None else settings.agi_port,
                "--port" if args.port is not None else "HOTLINE_AGI_PORT")
    if (args.transcribe or settings.transcribe) == "live":
        ensure_free(host, settings.audiosocket_port, "HOTLINE_AUDIOSOCKET_PORT")
    asyncio.run(serve(ctx, args))
    return 0


def _prompts(ctx: CliContext, args: argparse.Namespace) -> int:
    from ivr.prompts.build import BuildError, build_prompts
    from ivr.prompts.catalog import GENERATED

    settings = ctx.settings
    out = Path(args.out) if args.out else (
        settings.prompts_dir.resolve() if settings.prompts_dir else GENERATED
    )
    try:
        report = build_prompts(out, force=args.force)
    except BuildError as exc:
        raise CliError(str(exc)) from None
    print(f"prompts in {out}: {len(report.built)} built, {len(report.unchanged)} unchanged, "
          f"{len(report.kept_human)} replaced by recordings (kept)")
    return 0


def register(sub: argparse._SubParsersAction[Any]) -> None:
    p = sub.add_parser("agi", help="FastAGI server with the 96010 call flow")
    p.add_argument("--host", help="default HOTLINE_AGI_HOST (127.0.0.1)")
    p.add_argument("--port", type=int, help="default HOTLINE_AGI_PORT (4573)")
    p.add_argument(
        "--transcribe", choices=["batch", "live"], default=None,
        help="live (default, HOTLINE_TRANSCRIBE): stream the caller over AudioSocket "
             "(HOTLINE_AUDIOSOCKET_PORT) to recognizer processes as they speak; batch: only the "
             "transcription job after the call",
    )
    p.set_defaults(handler=_agi)

    p = sub.add_parser("prompts", help="IVR prompt files")
    p.add_argument("action", choices=["build"])
    p.add_argument("--out", help="folder (default HOTLINE_PROMPTS_DIR or ivr/prompts/generated)")
    p.add_argument("--force", action="store_true", help="rebuild every generated prompt")
    p.set_defaults(handler=_prompts)
