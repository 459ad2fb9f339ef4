"""CLI commands of the `ivr` room: `hotline agi` (the FastAGI server) and `hotline prompts`."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
from functools import partial
from pathlib import Path
from typing import Any

from hotline.cli import CliError
from hotline.settings import Settings, load_settings
from ivr.agi.server import AgiServer
from ivr.flow import CallFlow, FlowConfig, unavailable
from ivr.prompts import Prompts, default_prompts_dir
from ivr.prompts.catalog import GENERATED
from ivr.recorder import Recorder
from router.store import Store

log = logging.getLogger(__name__)
SCRIPT = "96010"


def prompts_for(settings: Settings) -> Prompts:
    return Prompts(default_prompts_dir(settings.prompts_dir, settings.data_dir))


def make_agi_server(
    settings: Settings, store: Store, *, recorder: Recorder | None = None,
    host: str | None = None, port: int | None = None,
) -> AgiServer:
    """The FastAGI server with the 96010 flow, as ``hotline agi`` and ``hotline run`` use it."""
    prompts = prompts_for(settings)
    missing = prompts.missing()
    if missing:
        # placeholders for what is missing (recorded prompts already there are kept)
        from ivr.prompts.build import BuildError, build_prompts

        try:
            report = build_prompts(prompts.root)
        except (BuildError, OSError) as exc:
            raise CliError(
                f"{len(missing)} prompt files are missing in {prompts.root} (e.g. "
                f"{missing[0]}) and cannot be generated: {exc}; run 'make prompts' or set "
                "HOTLINE_PROMPTS_DIR"
            ) from None
        log.info("generated %d missing prompts in %s", len(report.built), prompts.root)
    settings.recordings_path.mkdir(parents=True, exist_ok=True)
    # a recording the store cannot take goes to the spool that `hotline spool ingest` reads
    config = FlowConfig(prompts=prompts, recordings_dir=settings.recordings_path,
                        media_dir=settings.media_path, spool_dir=settings.spool_path)
    flow = CallFlow(config, store, recorder=recorder)
    return AgiServer({SCRIPT: flow}, host=host or settings.agi_host,
                     port=port if port is not None else settings.agi_port,
                     unknown=partial(unavailable, prompts))


async def _serve(settings: Settings, store: Store, args: argparse.Namespace) -> None:
    live = None
    publisher = None
    recorder: Recorder | None = None
    if (args.transcribe or settings.transcribe) == "live":
        # the live transcriber (AudioSocket server + Vosk) shares this event loop
        from ivr.live_recorder import LiveRecorder
        from ivr.record_file import FileRecorder
        from transcription.engine import shared_engine
        from transcription.live import LiveTranscriber
        from transcription.models import ModelNotFound, locate

        try:
            engine = shared_engine(locate(settings.vosk_model, settings.data_dir))
        except ModelNotFound as exc:
            raise CliError(str(exc)) from None
        from transcription.publish import RedisPublisher

        host = args.host or settings.agi_host  # listen where FastAGI listens
        # partial results for the operators' console (hotline:transcript:<call uuid>)
        publisher = RedisPublisher(settings.resolved_redis_url)
        live = LiveTranscriber(engine, host=host, port=settings.audiosocket_port,
                               publisher=publisher)
        await live.start()
        # what Asterisk is told to connect to: never a wildcard like 0.0.0.0
        recorder = LiveRecorder(live, host=settings.audiosocket_connect_host(host),
                                fallback=FileRecorder())
    server = make_agi_server(settings, store, recorder=recorder, host=args.host, port=args.port)
    await server.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    log.info("stopping: %d calls still running", server.active_calls)
    await server.close(grace=30)
    if live is not None:
        await live.stop()
    if publisher is not None:
        await publisher.close()


def _agi(args: argparse.Namespace) -> int:
    from hotline.services import make_store
    from router.migrate import upgrade

    settings = load_settings()
    store = make_store(settings)
    upgrade(store.db)
    asyncio.run(_serve(settings, store, args))
    return 0


def _prompts(args: argparse.Namespace) -> int:
    from ivr.prompts.build import BuildError, build_prompts

    settings = load_settings()
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
             "(HOTLINE_AUDIOSOCKET_PORT) to Vosk in this process; batch: RECORD FILE, then "
             "the transcription job",
    )
    p.set_defaults(handler=_agi)

    p = sub.add_parser("prompts", help="IVR prompt files")
    p.add_argument("action", choices=["build"])
    p.add_argument("--out", help="folder (default HOTLINE_PROMPTS_DIR or ivr/prompts/generated)")
    p.add_argument("--force", action="store_true", help="rebuild every generated prompt")
    p.set_defaults(handler=_prompts)
