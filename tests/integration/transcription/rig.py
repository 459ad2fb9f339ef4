"""A gateway with live transcription in front of a real Asterisk (used by the test and the
benchmark): the FastAGI server with the 96010 flow and the live transcriber share one event
loop in a background thread — the way ``hotline agi`` runs them — and the flow records with
:class:`ivr.live_recorder.LiveRecorder` (``EXEC AudioSocket``)."""

from __future__ import annotations

import asyncio
import shutil
import threading
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from hotline.cmd_ivr import make_agi_server
from hotline.settings import load_settings
from ivr.agi.server import AgiServer
from ivr.live_recorder import LiveRecorder
from ivr.prompts.build import build_prompts
from ivr.prompts.catalog import GENERATED
from ivr.record_file import FileRecorder
from router.db import Database
from router.migrate import upgrade
from router.store import Store
from tests.support.asterisk import Asterisk
from tests.support.services import free_port
from tests.transcription.speech import GRAMMAR, words_pcm, write_wav
from transcription.engine import Engine
from transcription.live import LivePolicy, LiveResult, LiveSession, LiveTranscriber


class KeepingTranscriber(LiveTranscriber):
    """The live transcriber, keeping every session's result for the test to inspect."""

    results: list[LiveResult]

    def expect(self, call_uuid: str, path: Path, max_seconds: float,
               call: str | None = None, topic: str | None = None) -> LiveSession:
        session = super().expect(call_uuid, path, max_seconds, call, topic)
        session.result.add_done_callback(self._keep)
        return session

    def _keep(self, future: asyncio.Future[LiveResult]) -> None:
        if not future.cancelled() and future.exception() is None:
            self.results.append(future.result())


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
def gateway(base: Path, engine: Engine, *, grammar: list[str] | None = GRAMMAR,
            policy: LivePolicy | None = None) -> Iterator[Gateway]:
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
    transcriber = KeepingTranscriber(engine, port=free_port(), grammar=grammar, policy=policy)
    transcriber.results = []
    server: AgiServer | None = None
    ast: Asterisk | None = None

    async def start() -> AgiServer:
        await transcriber.start()
        recorder = LiveRecorder(transcriber, fallback=FileRecorder())
        agi = make_agi_server(settings, store, recorder=recorder, port=free_port())
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
        loop.close()
        db.dispose()
