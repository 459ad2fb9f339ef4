"""One live message as a pure state: an AudioSocket frame in, what to do out.

The AudioSocket server (:mod:`transcription.live`) is a thin I/O shell around this: it decodes
frames, hands each to :meth:`LiveStream.feed` and acts on the answer — pass the audio on to
the recognizer, or end the message and close the socket. The clock is an argument, so tests
drive a stream with plain frames and plain numbers (like vosk-server's ``process_chunk``).

A message ends by the caller's ``#`` (``dtmf``), by silence — quiet audio after speech, or
nothing said at all, measured on the audio and, for legs that send no frames while nobody
talks (Local channels, silence suppression), by the clock (:meth:`LiveStream.tick`) — by its
maximum length (``timeout``) or by the caller hanging up (``hangup``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from transcription.audiosocket import BYTES_PER_SECOND, FRAME_BYTES, Frame, Kind
from transcription.silence import level_dbfs

EndedBy = Literal["dtmf", "silence", "timeout", "hangup"]


@dataclass(frozen=True)
class StreamPolicy:
    end_digits: str = "#"
    silence_seconds: float = 3.0  # quiet after speech that ends the message
    no_speech_seconds: float = 10.0  # quiet from the start that ends it
    threshold_dbfs: float = -40.0  # a 20 ms frame at or above this level is speech
    max_seconds: float = 120.0  # the longest message


@dataclass(frozen=True)
class Audio:
    """Append this audio to the message (pass it to the recognizer); then end the message
    when ``end`` is set (its maximum length or silence was reached within this frame)."""

    pcm: bytes
    end: EndedBy | None = None


@dataclass(frozen=True)
class End:
    """The message is over (close the socket; Asterisk's EXEC then returns)."""

    reason: EndedBy


Step = Audio | End | None


@dataclass
class LiveStream:
    policy: StreamPolicy
    started_at: float  # the clock when the stream was identified
    received: int = 0  # bytes of audio accepted into the message
    speech_end: float | None = None  # audio seconds at the end of the last loud frame
    loud_at: float | None = None  # the clock when the last loud frame arrived
    ended: EndedBy | None = None
    _measured: int = field(default=0, repr=False)  # bytes whose level was measured
    _carry: bytes = field(default=b"", repr=False)

    @property
    def seconds(self) -> float:
        """Seconds of audio in the message."""
        return self.received / BYTES_PER_SECOND

    @property
    def heard_speech(self) -> bool:
        return self.speech_end is not None

    def _end(self, reason: EndedBy) -> End:
        self.ended = reason
        return End(reason)

    def feed(self, frame: Frame, now: float) -> Step:
        """The next frame from Asterisk; what to do with it (None: nothing)."""
        if self.ended is not None:
            return None
        if frame.kind is Kind.HANGUP or frame.kind is Kind.ERROR:
            return self._end("hangup")
        if frame.kind is Kind.DTMF:
            return self._end("dtmf") if frame.digit in self.policy.end_digits else None
        if frame.kind is not Kind.AUDIO:
            return None
        limit = int(self.policy.max_seconds * BYTES_PER_SECOND) // 2 * 2  # whole samples
        pcm = frame.payload[: max(0, limit - self.received)]
        self._measure(pcm, now)
        self.received += len(pcm)
        if self.received >= limit:
            self.ended = "timeout"
        elif self._quiet_audio():
            self.ended = "silence"
        if not pcm:
            return End(self.ended) if self.ended else None
        return Audio(pcm, self.ended)

    def tick(self, now: float) -> End | None:
        """The clock advanced: silence by the clock ends the message."""
        if self.ended is not None:
            return None
        last = self.loud_at if self.loud_at is not None else self.started_at
        limit = (self.policy.silence_seconds if self.loud_at is not None
                 else self.policy.no_speech_seconds)
        if now - last >= limit:
            return self._end("silence")
        return None

    def hangup(self) -> End | None:
        """The connection closed without a hangup frame."""
        return None if self.ended is not None else self._end("hangup")

    def _measure(self, chunk: bytes, now: float) -> None:
        """The level of every whole 20 ms frame (a partial frame waits for the rest)."""
        data = self._carry + chunk
        whole = len(data) - len(data) % FRAME_BYTES
        self._carry = data[whole:]
        for offset in range(0, whole, FRAME_BYTES):
            self._measured += FRAME_BYTES
            if level_dbfs(data[offset:offset + FRAME_BYTES]) >= self.policy.threshold_dbfs:
                self.speech_end = self._measured / BYTES_PER_SECOND
                self.loud_at = now

    def _quiet_audio(self) -> bool:
        if self.speech_end is None:
            return self.seconds >= self.policy.no_speech_seconds
        # in bytes: a difference of float seconds can fall short and end a frame late
        quiet = self.received - round(self.speech_end * BYTES_PER_SECOND)
        return quiet >= round(self.policy.silence_seconds * BYTES_PER_SECOND)
