"""The live transcriber: an asyncio AudioSocket server that records and recognises each call.

Asterisk's ``AudioSocket(UUID,127.0.0.1:PORT)`` (started from the AGI flow with
``EXEC AudioSocket``) connects and streams the caller's audio. Per connection the server:

1. identifies the call by the UUID frame: a random, single-use session UUID the recorder
   registered with :meth:`expect` just before ``EXEC AudioSocket``. A connection with any
   other UUID (or a second one for a session already connected) is closed at once and never
   touches a registered session, so nobody who can reach the port can claim a call by
   guessing its id;
2. hands every audio frame to a worker thread that writes the WAV (this *is* the
   recording), feeds a Vosk stream and an energy-based silence detector — decoding never
   runs on the event loop — and sends a short silent frame back every half second
   (Asterisk's ``AudioSocket`` drops a connection that is quiet both ways for 2 s);
3. publishes partial and segment texts (:mod:`transcription.publish`);
4. ends on DTMF ``#`` (``dtmf``), silence (``silence``: quiet audio, or no audio frames at
   all for as long — a Local channel or silence suppression sends none), the maximum
   length (``timeout``) by closing the socket — Asterisk's ``EXEC`` then answers
   ``200 result=0`` and the AGI goes on — or on the caller hanging up (``hangup``: EOF
   or a hangup frame);
5. resolves the session's result: the WAV path, how it ended, its length and the final
   transcript.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import time
import uuid
import wave
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from router.model import Transcript
from transcription import audiosocket
from transcription.audiosocket import (
    BYTES_PER_SECOND,
    FRAME_BYTES,
    SAMPLE_RATE,
    Kind,
    ProtocolError,
)
from transcription.chinese import postprocess
from transcription.engine import Engine, Stream
from transcription.publish import NullPublisher, Publisher, channel
from transcription.result import Recognition
from transcription.silence import SilenceDetector

log = logging.getLogger(__name__)

EndedBy = Literal["dtmf", "silence", "timeout", "hangup"]
WATCH_SECONDS = 0.1  # how often the watchdog looks at the clock
DECODE_BYTES = BYTES_PER_SECOND // 5  # at most 200 ms per decoder call
UUID_NAMESPACE = uuid.UUID("5b0c6a52-6f1e-4d8e-9d7a-96010a0d1050")


def call_uuid(unique_id: str) -> str:
    """The public, stable id of a call, derived from its Asterisk unique id: the live
    transcript's topic (``hotline:transcript:<call_uuid>``). Predictable, so never the
    AudioSocket session UUID (see :func:`session_uuid`)."""
    return str(uuid.uuid5(UUID_NAMESPACE, unique_id))


def session_uuid() -> str:
    """A fresh, unguessable AudioSocket session UUID (one per recording)."""
    return str(uuid.uuid4())


def wav_path(path: Path) -> Path:
    """``RECORD FILE`` takes a path without extension; the live recording is that + .wav."""
    return path if path.suffix == ".wav" else path.with_name(path.name + ".wav")


@dataclass(frozen=True)
class LivePolicy:
    end_digits: str = "#"
    silence_seconds: float = 3.0  # quiet after speech that ends the message
    no_speech_seconds: float = 10.0  # quiet from the start that ends it
    threshold_dbfs: float = -40.0  # a 20 ms frame at or above this level is speech
    identify_timeout: float = 5.0  # seconds to wait for the UUID frame
    # app_audiosocket (Asterisk 22) gives up after 2 s without traffic in either direction,
    # which happens when the caller's leg sends no frames (Local channels, silence
    # suppression); a 20 ms silent frame back to the caller this often keeps it open.
    keepalive_seconds: float = 0.5


@dataclass(frozen=True)
class LiveResult:
    uuid: str
    call: str
    path: Path
    ended_by: EndedBy
    duration: float  # seconds of audio received
    recognition: Recognition | None
    transcript: Transcript | None
    error: str | None = None
    speech_end: float | None = None  # stream seconds of the last loud frame
    speech_end_at: float | None = None  # time.monotonic() when that frame was decoded
    ended_at: float = 0.0  # time.monotonic() when the end was decided (digit, silence, EOF)
    final_at: float = 0.0  # time.monotonic() when the final transcript was ready


@dataclass
class LiveSession:
    uuid: str  # the AudioSocket session UUID (secret until Asterisk connects)
    call: str
    path: Path
    max_seconds: float
    topic: str = ""  # the id published with the partial texts; "" = the session UUID
    connected: asyncio.Event = field(default_factory=asyncio.Event)
    result: asyncio.Future[LiveResult] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class _End:
    """Why the stream ended, decided once (the first reason wins)."""

    def __init__(self) -> None:
        self.reason: EndedBy | None = None
        self.at = 0.0

    def set(self, reason: EndedBy) -> bool:
        if self.reason is not None:
            return False
        self.reason, self.at = reason, time.monotonic()
        return True


class _Worker:
    """Runs in a worker thread: WAV writer + Vosk stream + silence detector for one call."""

    def __init__(self, engine: Engine, path: Path, grammar: list[str] | None,
                 policy: LivePolicy) -> None:
        self.engine = engine
        self.path = path
        self.grammar = grammar
        self.detector = SilenceDetector(policy.threshold_dbfs, policy.silence_seconds,
                                        policy.no_speech_seconds, SAMPLE_RATE)
        self.chunks: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
        self.written = 0  # bytes of audio in the recording
        self.started_at = time.monotonic()
        self.speech_end_at: float | None = None  # when the last loud frame was seen

    def run(self, on_update: Any, on_silence: Any) -> Recognition:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        stream: Stream = self.engine.stream(SAMPLE_RATE, self.grammar)
        silent = False
        with wave.open(str(self.path), "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(SAMPLE_RATE)
            done = False
            while not done:
                pieces = [self.chunks.get()]
                while True:  # take everything queued: fewer, larger decoder calls
                    try:
                        pieces.append(self.chunks.get_nowait())
                    except queue.Empty:
                        break
                if pieces[-1] is None:
                    done = True
                if silent:
                    continue  # the caller fell silent: the rest is not part of the message
                pcm = b"".join(p for p in pieces if p is not None)
                pcm, silent = self._until_silent(pcm)
                if silent:
                    on_silence()
                if not pcm:
                    continue
                out.writeframes(pcm)
                self.written += len(pcm)
                for offset in range(0, len(pcm), DECODE_BYTES):  # a burst: keep endpoints
                    update = stream.accept(pcm[offset:offset + DECODE_BYTES])
                    if update.partial is not None or update.segment is not None:
                        on_update(update.partial, update.segment)
        return stream.finish()

    def _until_silent(self, pcm: bytes) -> tuple[bytes, bool]:
        """The audio up to the 20 ms frame where the detector calls it silence."""
        for offset in range(0, len(pcm), FRAME_BYTES):
            before = self.detector.speech_end
            silent = self.detector.feed(pcm[offset:offset + FRAME_BYTES])
            if self.detector.speech_end != before:
                self.speech_end_at = time.monotonic()
            if silent:
                return pcm[:offset + FRAME_BYTES], True
        return pcm, False

    def quiet_seconds(self) -> tuple[float, bool]:
        """Wall-clock seconds since the last loud frame (or the start) and whether anybody
        spoke: silence by the clock, for legs that send no frames while nobody talks."""
        last = self.speech_end_at
        return time.monotonic() - (last or self.started_at), last is not None


class LiveTranscriber:
    """The AudioSocket server. Runs inside the ``hotline agi`` process, beside the flow."""

    def __init__(self, engine: Engine, *, host: str = "127.0.0.1", port: int = 4574,
                 publisher: Publisher | None = None, policy: LivePolicy | None = None,
                 grammar: list[str] | None = None, max_streams: int = 32) -> None:
        self.engine = engine
        self.host = host
        self.port = port
        self.publisher: Publisher = publisher or NullPublisher()
        self.policy = policy or LivePolicy()
        self.grammar = grammar
        self._sessions: dict[str, LiveSession] = {}
        self._server: asyncio.Server | None = None
        self._executor = ThreadPoolExecutor(max_streams, thread_name_prefix="live-vosk")
        self._outbox: asyncio.Queue[tuple[str, dict[str, Any]] | None] | None = None
        self._pump: asyncio.Task[None] | None = None

    # -- lifecycle ------------------------------------------------------------------------
    async def start(self) -> None:
        """Listen (``port=0`` picks a free port, then :attr:`port` holds it); the model is
        loaded here, in a worker thread, so the first call does not wait for it."""
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._executor, self.engine.model)
        self._outbox = asyncio.Queue()
        self._pump = loop.create_task(self._publish_in_order(self._outbox))
        self._server = await asyncio.start_server(self._handle, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        log.info("live transcriber on %s:%d (model %s)", self.host, self.port, self.engine.name)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for session in self._sessions.values():
            if not session.result.done():
                session.result.cancel()
        self._sessions.clear()
        if self._outbox is not None and self._pump is not None:
            self._outbox.put_nowait(None)  # publish what is queued, then stop
            await self._pump
            self._outbox = self._pump = None
        self._executor.shutdown(wait=False, cancel_futures=True)

    # -- sessions -------------------------------------------------------------------------
    def expect(self, call_uuid: str, path: Path, max_seconds: float,
               call: str | None = None, topic: str | None = None) -> LiveSession:
        """Register a call about to connect under its AudioSocket session UUID (use
        :func:`session_uuid`); ``path`` is where the WAV goes, ``topic`` the id its texts are
        published under (``hotline:transcript:<topic>``, default the session UUID)."""
        key = str(uuid.UUID(call_uuid))
        pending = self._sessions.get(key)
        if pending is not None and not pending.result.done():
            raise RuntimeError(f"a live session for {key} is already open")
        session = LiveSession(key, call or key, wav_path(path), max_seconds, topic or key)
        self._sessions[key] = session
        return session

    def cancel(self, call_uuid: str) -> None:
        session = self._sessions.pop(str(uuid.UUID(call_uuid)), None)
        if session is not None and not session.result.done():
            session.result.cancel()

    # -- one connection -------------------------------------------------------------------
    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        decoder = audiosocket.Decoder()
        try:
            session, pending = await asyncio.wait_for(self._identify(reader, decoder),
                                                      self.policy.identify_timeout)
        except (TimeoutError, ProtocolError, ConnectionError, asyncio.IncompleteReadError) as exc:
            log.warning("audiosocket connection dropped before a known UUID: %s", exc)
            writer.close()
            return
        if session is None:
            writer.close()
            return
        session.connected.set()
        try:
            result = await self._run(session, reader, writer, decoder, pending)
        except Exception as exc:
            log.exception("live session %s failed", session.uuid)
            if not session.result.done():
                session.result.set_exception(exc)
        else:
            if not session.result.done():
                session.result.set_result(result)
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()
            if self._sessions.get(session.uuid) is session:
                del self._sessions[session.uuid]

    async def _identify(self, reader: asyncio.StreamReader,
                        decoder: audiosocket.Decoder,
                        ) -> tuple[LiveSession | None, list[audiosocket.Frame]]:
        while True:
            data = await reader.read(4096)
            if not data:
                raise ConnectionError("EOF before the UUID frame")
            frames = decoder.feed(data)
            if not frames:
                continue
            first = frames[0]
            key = str(first.uuid)  # ProtocolError unless it is a UUID frame
            session = self._sessions.get(key)
            if session is None or session.connected.is_set():
                log.warning("audiosocket connection with an unknown or used session UUID; "
                            "refused")
                return None, []
            return session, frames[1:]  # frames after the UUID in the same read

    async def _run(self, session: LiveSession, reader: asyncio.StreamReader,
                   writer: asyncio.StreamWriter, decoder: audiosocket.Decoder,
                   pending: list[audiosocket.Frame]) -> LiveResult:
        loop = asyncio.get_running_loop()
        worker = _Worker(self.engine, session.path, self.grammar, self.policy)
        end = _End()
        received = 0
        limit = int(session.max_seconds * BYTES_PER_SECOND)
        topic = channel(session.topic)

        def finish(reason: EndedBy) -> None:  # on the loop: decide and hang up the socket
            if end.set(reason):
                writer.close()

        def on_update(partial: str | None, segment: Any) -> None:  # worker thread
            text = postprocess(segment.text if segment is not None else partial or "")
            kind = "segment" if segment is not None else "partial"
            self._publish(loop, topic, {"type": kind, "uuid": session.topic,
                                        "call": session.call, "text": text})

        def on_silence() -> None:  # worker thread
            loop.call_soon_threadsafe(finish, "silence")

        decoding = loop.run_in_executor(self._executor, worker.run, on_update, on_silence)
        def quiet() -> bool:  # the watchdog asks: silent by the clock?
            seconds, spoke = worker.quiet_seconds()
            return seconds >= (self.policy.silence_seconds if spoke
                               else self.policy.no_speech_seconds)

        keepalive = loop.create_task(self._watch(writer, quiet, finish))
        try:
            while end.reason is None:
                frames, pending = pending, []
                if not frames:
                    try:
                        data = await reader.read(4096)
                    except ConnectionError:
                        data = b""
                    if not data:
                        finish("hangup")
                        break
                    frames = decoder.feed(data)
                for frame in frames:
                    if frame.kind is Kind.AUDIO:
                        payload = frame.payload
                        if limit and received + len(payload) >= limit:
                            payload = payload[: max(0, limit - received)]
                            worker.chunks.put(payload)
                            received += len(payload)
                            finish("timeout")
                            break
                        worker.chunks.put(payload)
                        received += len(payload)
                    elif frame.kind is Kind.DTMF:
                        if frame.digit in self.policy.end_digits:
                            finish("dtmf")
                            break
                    elif frame.kind in (Kind.HANGUP, Kind.ERROR):
                        finish("hangup")
                        break
        finally:
            keepalive.cancel()
            worker.chunks.put(None)
        error = None
        recognition: Recognition | None = None
        try:
            recognition = await decoding
        except Exception as exc:  # a broken recognizer must not lose the recording
            log.exception("live decoding of %s failed", session.uuid)
            error = f"live decoding failed: {exc}"
        final_at = time.monotonic()
        transcript = None
        if recognition is not None and recognition.text:
            transcript = recognition.transcript(self.engine.name)
        assert end.reason is not None
        result = LiveResult(
            uuid=session.uuid, call=session.call, path=session.path, ended_by=end.reason,
            duration=worker.written / BYTES_PER_SECOND, recognition=recognition,
            transcript=transcript, error=error, speech_end=worker.detector.speech_end,
            speech_end_at=worker.speech_end_at,
            ended_at=end.at, final_at=final_at,
        )
        self._publish(loop, topic, {
            "type": "final", "uuid": session.topic, "call": session.call,
            "text": transcript.text if transcript else "",
            "confidence": transcript.confidence if transcript else None,
            "ended_by": end.reason, "duration": round(result.duration, 3),
            "model": self.engine.name,
        })
        log.info("live recording %s ended by %s after %.1f s", session.uuid, end.reason,
                 result.duration)
        return result

    async def _watch(self, writer: asyncio.StreamWriter, quiet: Any, finish: Any) -> None:
        """Keep the connection alive, and end it when the caller has been quiet too long by
        the clock (frames or not)."""
        frame = audiosocket.audio_frame(bytes(FRAME_BYTES))
        sent = time.monotonic()
        while not writer.is_closing():
            await asyncio.sleep(WATCH_SECONDS)
            if quiet():
                finish("silence")
            elif time.monotonic() - sent >= self.policy.keepalive_seconds:
                sent = time.monotonic()
                if not writer.is_closing():
                    writer.write(frame)

    def _publish(self, loop: asyncio.AbstractEventLoop, topic: str,
                 message: dict[str, Any]) -> None:
        """Queue a message from any thread; one task publishes them in order, so a late
        partial never overtakes the final text."""
        outbox = self._outbox
        if outbox is None or loop.is_closed():
            return
        try:
            on_loop = asyncio.get_running_loop() is loop
        except RuntimeError:
            on_loop = False
        if on_loop:
            outbox.put_nowait((topic, message))
        else:
            loop.call_soon_threadsafe(outbox.put_nowait, (topic, message))

    async def _publish_in_order(
        self, outbox: asyncio.Queue[tuple[str, dict[str, Any]] | None]
    ) -> None:
        while (item := await outbox.get()) is not None:
            topic, message = item
            try:
                await self.publisher.publish(topic, message)
            except Exception as exc:  # the call goes on without its live view
                log.warning("publishing to %s failed: %s", topic, exc)
