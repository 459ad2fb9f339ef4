"""A gateway with live transcription in front of a real Asterisk (used by the test and the
benchmark): the FastAGI server with the 96010 flow and the live transcriber share one event
loop in a background thread — the way ``hotline agi`` runs them — Asterisk records each message
(MixMonitor), the flow listens over AudioSocket and real recognizer processes decode."""

from __future__ import annotations

import asyncio
import shutil
import threading
import time
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from hotline.agi import make_agi_server
from hotline.settings import load_settings
from ivr.agi.server import AgiServer
from ivr.capture import Capture
from ivr.prompts.build import build_prompts
from ivr.prompts.catalog import GENERATED
from tests.support.asterisk import Asterisk
from tests.support.services import free_port
from tests.transcription.speech import GRAMMAR, words_pcm, write_wav
from tickets.db import Database
from tickets.migrate import upgrade
from tickets.store import Store
from transcription.live import LiveResult, LiveSession, LiveTranscriber
from transcription.models import package_models
from transcription.recognizers import PoolConfig, RecognizerPool
from transcription.stream import StreamPolicy


class KeepingTranscriber(LiveTranscriber):
    """The live transcriber, keeping every session's result (and when each call's final
    transcript arrived: ``final_at[call]``, time.monotonic()) for the test to inspect."""

    results: list[LiveResult]
    final_at: dict[str, float]

    def expect(self, key: str, *, call: str, topic: str,
               max_seconds: float | None = None) -> LiveSession:
        session = super().expect(key, call=call, topic=topic, max_seconds=max_seconds)
        session.result.add_done_callback(self._keep)
        return session

    def _keep(self, future: asyncio.Future[LiveResult]) -> None:
        if not future.cancelled() and future.exception() is None:
            result = future.result()
            self.results.append(result)
            if result.transcript is not None:
                result.transcript.add_done_callback(
                    lambda _: self.final_at.__setitem__(result.call, time.monotonic()))


@dataclass
class Gateway:
    store: Store
    ast: Asterisk
    transcriber: KeepingTranscriber
    shared: Path
    speech: Path  # the caller's words, without extension (as Playback wants it)
    media: Path  # the gateway's media store

    @property
    def results(self) -> list[LiveResult]:
        return self.transcriber.results

    @property
    def final_at(self) -> dict[str, float]:
        return self.transcriber.final_at


T = TypeVar("T")


class _Loop:
    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 120) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


@contextmanager
def gateway(base: Path, *, grammar: list[str] | None = GRAMMAR,
            policy: StreamPolicy | None = None, processes: int = 1,
            streams_per_process: int = 2) -> Iterator[Gateway]:
    shared = base / "shared"
    prompts = shared / "prompts"
    build_prompts(GENERATED)
    shutil.copytree(GENERATED, prompts)
    caller = shared / "caller"
    caller.mkdir(parents=True)
    write_wav(caller / "words.wav", words_pcm(base / "espeak"))
    db = Database(f"sqlite:///{base / 'hotline.sqlite3'}")
    upgrade(db)
    store = Store(db)
    settings = load_settings(data_dir=base / "data", prompts_dir=prompts,
                             recordings_dir=shared / "recordings", env="development")
    loop = _Loop()
    pool = RecognizerPool(PoolConfig(model=package_models()[0], processes=processes,
                                     streams_per_process=streams_per_process, grammar=grammar))
    transcriber = KeepingTranscriber(pool=pool, port=free_port(), policy=policy)
    transcriber.results = []
    transcriber.final_at = {}
    server: AgiServer | None = None
    ast: Asterisk | None = None

    async def start() -> AgiServer:
        await pool.start()
        await transcriber.start()
        agi, _ = make_agi_server(settings, store, recorder=Capture(transcriber),
                                 port=free_port())
        await agi.start()
        return agi

    try:
        server = loop.run(start())
        ast = Asterisk(base / "ast", agi_port=server.port, audiosocket_port=transcriber.port,
                       shared_dir=shared, prompts_dir=prompts)
        ast.start()
        yield Gateway(store, ast, transcriber, shared, caller / "words", settings.media_path)
    finally:
        if ast is not None:
            ast.stop()
        if server is not None:
            loop.run(server.close(grace=5))
        loop.run(transcriber.stop())
        loop.run(pool.stop())
        loop.close()
        db.dispose()
