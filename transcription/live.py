"""The live transcriber: an asyncio AudioSocket server, a thin I/O shell around
:class:`~transcription.stream.LiveStream` (the pure per-frame state) and the recognizer pool.

Asterisk's ``AudioSocket(UUID,HOST:PORT)`` (started from the AGI flow with ``EXEC
AudioSocket``) connects and streams the caller's audio while Asterisk itself records the
message (``MixMonitor`` in the flow): this server never holds the only copy of anybody's words.
Per connection it

1. identifies the session by its UUID frame — a random, single-use UUID registered with
   :meth:`LiveTranscriber.expect` just before ``EXEC AudioSocket``; any other UUID, or a second
   connection for a session, is closed at once;
2. feeds every frame to the session's :class:`LiveStream` and acts on the answer: audio goes to
   the session's recognizer stream (when the pool admitted one), an end closes the socket —
   Asterisk's EXEC then answers ``200 result=0`` and the flow goes on at once;
3. sends a short silent frame back every half second (Asterisk's ``AudioSocket`` drops a
   connection that is quiet both ways for 2 s) and ticks the stream's clock (silence on legs
   that send no frames);
4. resolves the session's :class:`LiveResult` when the message ends — without waiting for the
   recognizer, whose final transcript arrives later on ``LiveResult.transcript``;
5. publishes the growing text (``partial``/``segment``), ``final`` and — for a call beyond the
   live capacity — ``pending`` on ``hotline:transcript:<topic>`` (:mod:`transcription.publish`),
   and counts each call admitted to live recognition or refused (``live_admitted``,
   ``live_refused`` in ``hotline:metrics:transcription``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tickets.model import Transcript
from transcription import audiosocket
from transcription.audiosocket import FRAME_BYTES, ProtocolError
from transcription.publish import Counting, NullPublisher, Publisher, channel
from transcription.recognizers import LiveRecognition, RecognizerPool
from transcription.stream import Audio, End, EndedBy, LiveStream, StreamPolicy

log = logging.getLogger(__name__)

WATCH_SECONDS = 0.1  # how often the watchdog looks at the clock
IDENTIFY_TIMEOUT = 5.0  # seconds to wait for the UUID frame
KEEPALIVE_SECONDS = 0.5
UUID_NAMESPACE = uuid.UUID("5b0c6a52-6f1e-4d8e-9d7a-96010a0d1050")


def topic_of(call_ref: str) -> str:
    """The public, stable id of a call (its live-transcript topic), derived from the call's
    ``channel_ref``. Predictable, so never the AudioSocket session UUID."""
    return str(uuid.uuid5(UUID_NAMESPACE, call_ref))


def new_session_key() -> str:
    """A fresh, unguessable AudioSocket session UUID (one per recording)."""
    return str(uuid.uuid4())


@dataclass(frozen=True)
class LiveResult:
    call: str
    ended_by: EndedBy
    seconds: float  # audio received
    heard_speech: bool
    ended_at: float  # time.monotonic() when the end was decided
    # the final transcript, when the call was admitted to live recognition
    transcript: asyncio.Future[Transcript | None] | None = None


@dataclass
class LiveSession:
    key: str  # the AudioSocket session UUID (secret until Asterisk connects)
    call: str
    topic: str
    policy: StreamPolicy
    recognition: LiveRecognition | None
    connected: asyncio.Event = field(default_factory=asyncio.Event)
    result: asyncio.Future[LiveResult] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future())


class LiveTranscriber:
    """The AudioSocket server. Runs inside the ``hotline agi`` process, beside the flow."""

    def __init__(self, *, pool: RecognizerPool | None = None, host: str = "127.0.0.1",
                 port: int = 4574, publisher: Publisher | None = None,
                 policy: StreamPolicy | None = None) -> None:
        self.pool = pool
        self.host = host
        self.port = port
        self.publisher: Publisher = publisher or NullPublisher()
        self.policy = policy or StreamPolicy()
        self._sessions: dict[str, LiveSession] = {}
        self._running: dict[str, Callable[[EndedBy], None]] = {}
        self._server: asyncio.Server | None = None
        # a message to publish, or the name of a counter to increment
        self._messages: asyncio.Queue[tuple[str, dict[str, Any]] | str | None] | None = None
        self._pump: asyncio.Task[None] | None = None

    # -- lifecycle ------------------------------------------------------------------------
    async def start(self) -> None:
        """Listen (``port=0`` picks a free port, then :attr:`port` holds it)."""
        self._messages = asyncio.Queue()
        self._pump = asyncio.get_running_loop().create_task(self._publish_in_order())
        self._server = await asyncio.start_server(self._handle, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        log.info("live transcriber on %s:%d (live capacity %d streams)", self.host, self.port,
                 self.pool.capacity if self.pool else 0)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for session in self._sessions.values():
            if session.recognition is not None:
                session.recognition.drop("the transcriber stopped")
            if not session.result.done():
                session.result.cancel()
        self._sessions.clear()
        if self._messages is not None and self._pump is not None:
            self._messages.put_nowait(None)  # publish what is queued, then stop
            await self._pump
            self._messages = self._pump = None

    # -- sessions -------------------------------------------------------------------------
    def expect(self, key: str, *, call: str, topic: str,
               max_seconds: float | None = None) -> LiveSession:
        """Register a call about to connect under its session UUID (:func:`new_session_key`);
        admit it to live recognition when there is capacity."""
        key = str(uuid.UUID(key))
        if key in self._sessions:
            raise RuntimeError(f"a live session for {key} is already open")
        policy = self.policy
        if max_seconds is not None:
            policy = StreamPolicy(policy.end_digits, policy.silence_seconds,
                                  policy.no_speech_seconds, policy.threshold_dbfs, max_seconds)
        where = channel(topic)

        def on_text(kind: str, text: str) -> None:
            self.publish(where, {"type": kind, "uuid": topic, "call": call, "text": text})

        recognition = self.pool.admit(on_text) if self.pool is not None else None
        if recognition is not None:
            self._count("live_admitted")
        else:
            if self.pool is not None:
                self._count("live_refused")
                log.warning("call %s: live recognition full (%d of %d streams busy); recorded "
                            "for the batch transcriber (%d of %d calls since start)", call,
                            self.pool.active, self.pool.capacity, self.pool.refused,
                            self.pool.refused + self.pool.admitted)
            self.publish(where, {"type": "pending", "uuid": topic, "call": call,
                                 "mode": "batch"})
        session = LiveSession(key, call, topic, policy, recognition)
        self._sessions[key] = session
        return session

    def end_all(self) -> None:
        """End every message being streamed now (the gateway is stopping): each ends as if
        its maximum length was reached, and its flow goes on to store it."""
        for end in list(self._running.values()):
            end("timeout")

    def cancel(self, key: str) -> None:
        session = self._sessions.pop(str(uuid.UUID(key)), None)
        if session is None:
            return
        if session.recognition is not None:
            session.recognition.drop("the session was cancelled")
        if not session.result.done():
            session.result.cancel()

    # -- one connection -------------------------------------------------------------------
    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        decoder = audiosocket.Decoder()
        try:
            session, pending = await asyncio.wait_for(self._identify(reader, decoder),
                                                      IDENTIFY_TIMEOUT)
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
            log.exception("live session %s failed", session.key)
            if not session.result.done():
                session.result.set_exception(exc)
        else:
            if not session.result.done():
                session.result.set_result(result)
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()
            if self._sessions.get(session.key) is session:
                del self._sessions[session.key]

    async def _identify(self, reader: asyncio.StreamReader, decoder: audiosocket.Decoder,
                        ) -> tuple[LiveSession | None, list[audiosocket.Frame]]:
        while True:
            data = await reader.read(4096)
            if not data:
                raise ConnectionError("EOF before the UUID frame")
            frames = decoder.feed(data)
            if not frames:
                continue
            key = str(frames[0].uuid)  # ProtocolError unless it is a UUID frame
            session = self._sessions.get(key)
            if session is None or session.connected.is_set():
                log.warning("audiosocket connection with an unknown or used session UUID; "
                            "refused")
                return None, []
            return session, frames[1:]  # frames after the UUID in the same read

    async def _run(self, session: LiveSession, reader: asyncio.StreamReader,
                   writer: asyncio.StreamWriter, decoder: audiosocket.Decoder,
                   pending: list[audiosocket.Frame]) -> LiveResult:
        stream = LiveStream(session.policy, started_at=time.monotonic())
        ended: asyncio.Future[EndedBy] = asyncio.get_running_loop().create_future()

        def end(reason: EndedBy) -> None:
            if not ended.done():
                ended.set_result(reason)
                writer.close()

        watchdog = asyncio.get_running_loop().create_task(self._watch(writer, stream, end))
        recognition = session.recognition
        self._running[session.key] = end
        try:
            frames = pending
            while not ended.done():
                for frame in frames:
                    step = stream.feed(frame, time.monotonic())
                    if isinstance(step, Audio):
                        if recognition is not None:
                            recognition.feed(step.pcm)
                        if step.end is not None:
                            end(step.end)
                    elif isinstance(step, End):
                        end(step.reason)
                    if ended.done():
                        break
                if ended.done():
                    break
                try:
                    data = await reader.read(4096)
                except ConnectionError:
                    data = b""
                if not data:
                    step_end = stream.hangup()
                    end(step_end.reason if step_end else "hangup")
                    break
                frames = decoder.feed(data)
        finally:
            self._running.pop(session.key, None)
            watchdog.cancel()
            if recognition is not None:
                recognition.close()
        reason = ended.result()
        transcript = recognition.result if recognition is not None else None
        if transcript is not None:
            transcript.add_done_callback(
                lambda done: self._publish_final(session, reason, stream.seconds, done))
        log.info("live message %s ended by %s after %.1f s (%s)", session.call, reason,
                 stream.seconds, "live transcript" if recognition else "batch transcript")
        return LiveResult(call=session.call, ended_by=reason, seconds=stream.seconds,
                          heard_speech=stream.heard_speech, ended_at=time.monotonic(),
                          transcript=transcript)

    async def _watch(self, writer: asyncio.StreamWriter, stream: LiveStream,
                     end: Callable[[EndedBy], None]) -> None:
        """Keep the connection alive; end the message on silence by the clock."""
        frame = audiosocket.audio_frame(bytes(FRAME_BYTES))
        sent = time.monotonic()
        while not writer.is_closing():
            await asyncio.sleep(WATCH_SECONDS)
            now = time.monotonic()
            step = stream.tick(now)
            if step is not None:
                end(step.reason)
            elif now - sent >= KEEPALIVE_SECONDS and not writer.is_closing():
                sent = now
                writer.write(frame)

    def _publish_final(self, session: LiveSession, reason: EndedBy, seconds: float,
                       done: asyncio.Future[Transcript | None]) -> None:
        transcript = None if done.cancelled() or done.exception() else done.result()
        self.publish(channel(session.topic), {
            "type": "final" if transcript is not None else "pending",
            "uuid": session.topic, "call": session.call,
            "text": transcript.text if transcript else "",
            "confidence": transcript.confidence if transcript else None,
            "ended_by": reason, "duration": round(seconds, 3),
            "mode": "live" if transcript is not None else "batch",
        })

    # -- publishing -----------------------------------------------------------------------
    def publish(self, topic: str, message: dict[str, Any]) -> None:
        """Queue a message (on the loop); one task publishes them in order, so a late partial
        never overtakes the final text."""
        if self._messages is not None:
            self._messages.put_nowait((topic, message))

    def _count(self, name: str) -> None:
        if self._messages is not None and isinstance(self.publisher, Counting):
            self._messages.put_nowait(name)

    async def _publish_in_order(self) -> None:
        assert self._messages is not None
        while (item := await self._messages.get()) is not None:
            try:
                if isinstance(item, str):
                    assert isinstance(self.publisher, Counting)
                    await self.publisher.count(item)
                else:
                    await self.publisher.publish(*item)
            except Exception as exc:  # the call goes on without its live view
                log.warning("publishing %s failed: %s", item if isinstance(item, str)
                            else item[0], exc)
