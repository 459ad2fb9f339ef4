"""``hotline agi``: the FastAGI server with the 96010 flow, the live transcriber and its
recognizer processes in one asyncio process, stopped by draining its calls. The recognizer
processes also serve the batch transcription jobs (on ``<data dir>/recognizer.sock``): the
one copy of the speech model on the machine."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
from functools import partial

from hotline.context import CliContext
from hotline.errors import CliError
from hotline.settings import Settings
from hotline.warmup import warmup_speech
from ivr.agi.server import AgiServer
from ivr.callback import SCRIPT as CALLBACK_SCRIPT
from ivr.callback import CallbackConfig, CallbackFlow
from ivr.capture import Capture
from ivr.events import CallEvents
from ivr.flow import CallFlow, FlowConfig, unavailable
from ivr.persist import sweep
from ivr.prompts import Prompts, default_prompts_dir
from ivr.recorder import Recorder
from tickets.store import Store
from transcription.batchservice import BatchService
from transcription.live import LiveTranscriber
from transcription.models import ModelNotFound, language_warning, locate
from transcription.publish import RedisPublisher
from transcription.recognizers import PoolConfig, RecognizerPool
from transcription.stream import StreamPolicy

log = logging.getLogger(__name__)
# how long the start-up sweep watches a recording for writes before taking it as left behind
STARTUP_QUIET_SECONDS = 2.0
SCRIPT = "96010"


def prompts_for(settings: Settings) -> Prompts:
    return Prompts(default_prompts_dir(settings.prompts_dir, settings.data_dir))


def ready_prompts(settings: Settings) -> Prompts:
    """The prompts folder, with placeholders generated for any prompt missing in it."""
    prompts = prompts_for(settings)
    missing = prompts.missing()
    if missing:
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
    return prompts


def make_agi_server(settings: Settings, store: Store, *, recorder: Recorder | None = None,
                    host: str | None = None, port: int | None = None,
                    prompts: Prompts | None = None,
                    events: CallEvents | None = None) -> tuple[AgiServer, CallFlow]:
    """The FastAGI server with the 96010 flow and the callback flow, as ``hotline agi`` and the
    tests use it."""
    prompts = prompts or ready_prompts(settings)
    settings.recordings_path.mkdir(parents=True, exist_ok=True)
    # a message the store cannot take goes to the spool that `hotline spool ingest` reads
    config = FlowConfig(prompts=prompts, recordings_dir=settings.recordings_path,
                        media_dir=settings.media_path, spool_dir=settings.spool_path,
                        max_record_seconds=settings.max_record_seconds)
    flow = CallFlow(config, store, recorder=recorder or Capture(), events=events)
    # the outbound callback call (回访): the unit's reply is spoken into the recordings folder,
    # which Asterisk sees at the same path
    callback = CallbackFlow(CallbackConfig(prompts=prompts,
                                           speech_dir=settings.recordings_path / "speech"), store)
    server = AgiServer({SCRIPT: flow, CALLBACK_SCRIPT: callback}, host=host or settings.agi_host,
                       port=port if port is not None else settings.agi_port,
                       unknown=partial(unavailable, prompts),
                       secret=settings.agi_secret.get_secret_value()
                       if settings.agi_secret else None)
    return server, flow


def recognizer_pool(settings: Settings, prompts: Prompts, *,
                    live: bool = True) -> RecognizerPool | None:
    """The recognizer processes: ``HOTLINE_LIVE_PROCESSES`` for live calls (none unless
    ``live``), at least one for the batch jobs. No model: an error when calls are transcribed
    live, else None (logged: the batch jobs wait and retry until there is one)."""
    try:
        model = locate(settings.vosk_model, settings.data_dir)
    except ModelNotFound as exc:
        if live:
            raise CliError(str(exc)) from None
        log.error("no recognizer for the batch transcription jobs: %s", exc)
        return None
    warning = language_warning(model)
    if warning:
        log.warning("%s", warning)
    return RecognizerPool(PoolConfig(
        model=model, processes=settings.live_processes if live else 0,
        streams_per_process=settings.live_streams_per_process,
        warmup=warmup_speech(settings), batch=True))


async def serve(ctx: CliContext, args: argparse.Namespace) -> None:
    settings = ctx.settings
    store = ctx.store
    prompts = ready_prompts(settings)
    # messages a previous run left behind (it stopped or crashed mid-call) become tickets now;
    # a recording still growing is another gateway's call in progress (a shared folder: the
    # backup FastAGI server took the calls while this one was down) and is left to it
    swept = await asyncio.to_thread(sweep, store, settings.recordings_path, settings.media_path,
                                    settings.spool_path, idle_after=0,
                                    quiet_for=STARTUP_QUIET_SECONDS)
    if swept:
        log.warning("made tickets of %d message(s) left behind by the previous run", swept)
    host = args.host or settings.agi_host
    live = (args.transcribe or settings.transcribe) == "live"
    pool = recognizer_pool(settings, prompts, live=live)
    publisher = RedisPublisher(settings.resolved_redis_url) if live else None
    transcriber = None
    batch = None
    if pool is not None:
        # the recognizers start in the background: until they are ready calls go to batch
        # and batch jobs are retried
        pool_start = asyncio.get_running_loop().create_task(pool.start())
        batch = BatchService(pool, settings.recognizer_socket)
        await batch.start()
    if pool is not None and live:
        transcriber = LiveTranscriber(
            pool=pool, host=host, port=settings.audiosocket_port, publisher=publisher,
            policy=StreamPolicy(max_seconds=settings.max_record_seconds))
        await transcriber.start()
    recorder = Capture(transcriber, audiosocket_host=settings.audiosocket_connect_host(host))
    # each call's lifecycle for the operators' console (dropped while Redis is away)
    events = CallEvents.from_url(settings.resolved_redis_url)
    server, flow = make_agi_server(settings, store, recorder=recorder, host=args.host,
                                   port=args.port, prompts=prompts, events=events)
    await server.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    log.info("stopping: no new calls; %d call(s) may take up to %d s to finish",
             server.active_calls, settings.agi_drain_seconds)
    await server.close(grace=settings.agi_drain_seconds,
                       before_handover=transcriber.end_all if transcriber else None)
    await flow.drain()
    await events.close()
    if transcriber is not None:
        await transcriber.stop()
    if pool is not None:  # a batch job mid-file is answered FAILED (and retried)
        pool_start.cancel()
        await pool.stop()
    if batch is not None:
        await batch.stop()
    if publisher is not None:
        await publisher.close()
