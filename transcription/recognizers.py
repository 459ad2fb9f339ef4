"""Live recognition capacity: a few recognizer processes, and admission control in front.

The call path never waits on speech recognition: audio is handed to a recognizer process
(:mod:`transcription.recognizer_process`, lower CPU priority, one core each) over a pipe,
without blocking the event loop. Each process takes at most ``streams_per_process`` streams —
the number one core decodes in real time (measured: see README). A call beyond that capacity
is not admitted: it is still recorded in full by Asterisk and transcribed by the batch job, and
the refusal is counted and logged. A stream whose process falls too far behind, or dies, is
dropped the same way (its batch job does the work).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tickets.model import Transcript
from transcription.audiosocket import BYTES_PER_SECOND
from transcription.models import ModelLocation
from transcription.recproto import Decoder, Kind, Message, ProtocolError, encode, encode_json

log = logging.getLogger(__name__)

READY_TIMEOUT = 300.0  # model load + warm-up on a busy machine
MAX_BACKLOG_SECONDS = 20.0  # audio queued for one process before its streams are dropped
RESTART_DELAY = 5.0
# a batch stream is fed while its process has less than this much audio queued, so a file
# decoded as fast as the core allows never holds a live call's audio back for long
BATCH_BACKLOG_SECONDS = 2.0

# kind ("partial" or "segment"), text
OnText = Callable[[str, str], None]


@dataclass(frozen=True)
class PoolConfig:
    model: ModelLocation
    processes: int = 1
    streams_per_process: int = 4
    nice: int = 10
    warmup: Path | None = None
    grammar: list[str] | None = None
    # batch jobs decode through the pool too (transcription.batchservice): at least one
    # process runs even when ``processes`` (the live ones) is 0
    batch: bool = False

    @property
    def total_processes(self) -> int:
        return max(self.processes, 1 if self.batch else 0)


@dataclass
class LiveRecognition:
    """One admitted stream. :meth:`feed` audio, :meth:`close`, then await :attr:`result`
    (None when the stream was dropped or failed: the batch job transcribes it)."""

    sid: int
    worker: _Worker
    on_text: OnText
    result: asyncio.Future[Transcript | None] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future())
    closed: bool = False
    batch: bool = False  # a batch job's file, not a live call
    # the process's whole answer (``Recognition.as_json()`` and the model) once it is final;
    # why the stream was dropped otherwise
    final: dict[str, Any] | None = None
    dropped: str | None = None

    def feed(self, pcm: bytes) -> None:
        if not self.closed and not self.result.done():
            self.worker.send(self, encode(Kind.AUDIO, self.sid, pcm))

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            if not self.result.done():
                self.worker.send(self, encode(Kind.CLOSE, self.sid))

    def drop(self, why: str) -> None:
        if not self.result.done():
            self.dropped = why
            if self.batch:
                log.warning("batch recognition of stream %d dropped (%s): the job is retried",
                            self.sid, why)
            else:
                log.warning("live recognition of stream %d dropped (%s): the batch job will "
                            "transcribe the call", self.sid, why)
            self.result.set_result(None)
        if self.worker.streams.pop(self.sid, None) is not None and not self.closed:
            self.closed = True
            self.worker.release(self.sid)  # the process frees its recognizer


class _Worker:
    """One recognizer process and the streams it decodes."""

    def __init__(self, index: int, config: PoolConfig) -> None:
        self.index = index
        self.config = config
        self.proc: asyncio.subprocess.Process | None = None
        self.streams: dict[int, LiveRecognition] = {}
        self.ready = False
        self.info: dict[str, Any] = {}
        self._reader: asyncio.Task[None] | None = None

    def argv(self) -> list[str]:
        c = self.config
        args = [sys.executable, "-m", "transcription.recognizer_process",
                "--model", str(c.model.path), "--name", c.model.name,
                "--streams", str(c.streams_per_process), "--nice", str(c.nice)]
        if c.warmup is not None:
            args += ["--warmup", str(c.warmup)]
        return args

    async def start(self) -> None:
        self.proc = await asyncio.create_subprocess_exec(
            *self.argv(), stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
        assert self.proc.stdout is not None and self.proc.stdin is not None
        # drain() (the batch streams' pace) waits while this much audio is queued
        self.proc.stdin.transport.set_write_buffer_limits(
            high=int(BATCH_BACKLOG_SECONDS * BYTES_PER_SECOND))
        decoder = Decoder()
        ready = await asyncio.wait_for(self._first(self.proc.stdout, decoder), READY_TIMEOUT)
        self.info = ready.data()
        self.ready = True
        log.info("recognizer %d ready (pid %s): %s streams, model loaded in %ss, warmed in "
                 "%ss", self.index, self.proc.pid, self.info.get("streams"),
                 self.info.get("load_seconds"), self.info.get("warm_seconds"))
        self._reader = asyncio.get_running_loop().create_task(
            self._read(self.proc.stdout, decoder))

    @staticmethod
    async def _first(stdout: asyncio.StreamReader, decoder: Decoder) -> Message:
        pending: list[Message] = []
        while not pending:
            data = await stdout.read(65536)
            if not data:
                raise RuntimeError("the recognizer process exited during start-up")
            pending = decoder.feed(data)
        if pending[0].kind is not Kind.READY:
            raise ProtocolError(f"expected READY, got {pending[0].kind.name}")
        return pending[0]

    async def _read(self, stdout: asyncio.StreamReader, decoder: Decoder) -> None:
        try:
            while data := await stdout.read(65536):
                for message in decoder.feed(data):
                    self._deliver(message)
        except (ProtocolError, ConnectionError) as exc:
            log.error("recognizer %d: broken pipe protocol: %s", self.index, exc)
        finally:
            self.ready = False
            for stream in list(self.streams.values()):
                stream.drop("its recognizer process ended")

    def _deliver(self, message: Message) -> None:
        stream = self.streams.get(message.stream)
        if stream is None:
            return
        data = message.data()
        if message.kind in (Kind.PARTIAL, Kind.SEGMENT):
            with contextlib.suppress(Exception):
                stream.on_text(message.kind.name.lower(), str(data.get("text", "")))
        elif message.kind is Kind.FINAL:
            self.streams.pop(message.stream, None)
            stream.final = data
            text = str(data.get("text") or "")
            transcript = None
            if text:
                confidence = data.get("confidence")
                transcript = Transcript(
                    text=text, engine="vosk", model=str(data.get("model", "")),
                    confidence=float(confidence) if isinstance(confidence, int | float) else None)
            if not stream.result.done():
                stream.result.set_result(transcript)
        elif message.kind is Kind.FAILED:
            stream.drop(str(data.get("error", "failed")))

    def live_streams(self) -> int:
        return sum(not s.batch for s in self.streams.values())

    def batch_streams(self) -> int:
        return len(self.streams) - self.live_streams()

    def backlog_seconds(self) -> float:
        if self.proc is None or self.proc.stdin is None:
            return 0.0
        return self.proc.stdin.transport.get_write_buffer_size() / BYTES_PER_SECOND

    def send(self, stream: LiveRecognition, data: bytes) -> None:
        stdin = self.proc.stdin if self.proc is not None else None
        if stdin is None or not self.ready or stdin.is_closing():
            stream.drop("its recognizer process is not running")
            return
        if self.backlog_seconds() > MAX_BACKLOG_SECONDS:
            for lagging in list(self.streams.values()):
                lagging.drop(f"recognizer {self.index} is {self.backlog_seconds():.0f} s behind")
            return
        stdin.write(data)

    async def drain(self) -> None:
        """Wait until the process has caught up with the audio queued for it (a batch
        stream's pace; the live streams never wait)."""
        stdin = self.proc.stdin if self.proc is not None else None
        if stdin is not None and not stdin.is_closing():
            with contextlib.suppress(ConnectionError):
                await stdin.drain()

    def release(self, sid: int) -> None:
        """Tell the process to finish a dropped stream (its result is ignored)."""
        stdin = self.proc.stdin if self.proc is not None else None
        if stdin is not None and self.ready and not stdin.is_closing():
            stdin.write(encode(Kind.CLOSE, sid))

    def open(self, sid: int, on_text: OnText, *, batch: bool = False,
             grammar: list[str] | None = None) -> LiveRecognition:
        stream = LiveRecognition(sid, self, on_text, batch=batch)
        self.streams[sid] = stream
        self.send(stream, encode_json(Kind.OPEN, sid, {"grammar": grammar, "batch": True}
                                      if batch else {"grammar": self.config.grammar}))
        return stream

    async def stop(self) -> None:
        self.ready = False
        proc = self.proc
        if proc is None:
            return
        if proc.stdin is not None:
            proc.stdin.close()
        try:
            await asyncio.wait_for(proc.wait(), 5)
        except TimeoutError:
            proc.kill()
            await proc.wait()
        if self._reader is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader


class RecognizerPool:
    def __init__(self, config: PoolConfig) -> None:
        self.config = config
        self.workers = [_Worker(i, config) for i in range(config.total_processes)]
        self.admitted = 0  # streams admitted since start
        self.refused = 0  # streams refused for lack of capacity since start
        self._next_sid = 1
        self._stopping = False
        self._supervisor: asyncio.Task[None] | None = None

    @property
    def live_workers(self) -> list[_Worker]:
        return self.workers[:max(0, self.config.processes)]

    @property
    def capacity(self) -> int:
        """Live streams the ready processes take."""
        return sum(self.config.streams_per_process for w in self.live_workers if w.ready)

    @property
    def active(self) -> int:
        return sum(len(w.streams) for w in self.workers)

    async def start(self) -> None:
        """Start every process (in parallel); one that fails is retried in the background."""
        results = await asyncio.gather(*(w.start() for w in self.workers),
                                       return_exceptions=True)
        for worker, result in zip(self.workers, results, strict=True):
            if isinstance(result, BaseException):
                log.error("recognizer %d did not start: %s", worker.index, result)
        self._supervisor = asyncio.get_running_loop().create_task(self._supervise())

    async def _supervise(self) -> None:
        """Restart processes that ended (live capacity comes back by itself)."""
        while not self._stopping:
            await asyncio.sleep(RESTART_DELAY)
            for worker in self.workers:
                if worker.ready or self._stopping:
                    continue
                with contextlib.suppress(ProcessLookupError):
                    if worker.proc is not None and worker.proc.returncode is None:
                        worker.proc.kill()
                try:
                    await worker.start()
                except Exception as exc:
                    log.error("recognizer %d did not restart: %s", worker.index, exc)

    def admit(self, on_text: OnText) -> LiveRecognition | None:
        """A live stream on the least busy process, or None when all are full."""
        ready = [w for w in self.live_workers if w.ready
                 and w.live_streams() < self.config.streams_per_process
                 and w.backlog_seconds() < MAX_BACKLOG_SECONDS / 2]
        if not ready:
            self.refused += 1
            return None
        self.admitted += 1
        return min(ready, key=lambda w: w.live_streams()).open(self._sid(), on_text)

    def admit_batch(self, grammar: list[str] | None = None) -> LiveRecognition | None:
        """A batch job's stream on the least busy ready process, or None when none is ready
        (or each has ``streams_per_process`` batch streams already). Batch streams do not
        count against the live capacity: their audio is fed no faster than the process
        decodes (:meth:`_Worker.drain`), so a live call on the same process waits behind at
        most :data:`BATCH_BACKLOG_SECONDS` of a file's audio."""
        ready = [w for w in self.workers if w.ready
                 and w.batch_streams() < self.config.streams_per_process]
        if not ready:
            return None
        worker = min(ready, key=lambda w: len(w.streams))
        return worker.open(self._sid(), lambda _kind, _text: None, batch=True, grammar=grammar)

    def _sid(self) -> int:
        sid = self._next_sid
        self._next_sid = self._next_sid % 0xFFFFFFFF + 1
        return sid

    async def stop(self) -> None:
        self._stopping = True
        if self._supervisor is not None:
            self._supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._supervisor
        await asyncio.gather(*(w.stop() for w in self.workers), return_exceptions=True)
