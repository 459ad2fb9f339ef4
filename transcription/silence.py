"""An energy-based end-of-speech detector for 8 kHz 16-bit PCM (pure, no I/O).

Feed it the audio as it arrives; it measures each 20 ms frame's level in dBFS and says when
the caller has fallen silent: ``silence_seconds`` of quiet after some speech, or
``no_speech_seconds`` of quiet from the start (nobody said anything).
"""

from __future__ import annotations

import math
import sys
from array import array
from dataclasses import dataclass

FRAME_SAMPLES = 160  # 20 ms at 8 kHz
FULL_SCALE = 32768.0


def level_dbfs(pcm: bytes) -> float:
    """RMS level of 16-bit little-endian PCM in dBFS (-inf for digital silence)."""
    samples = array("h")
    samples.frombytes(pcm[: len(pcm) - len(pcm) % 2])
    if sys.byteorder == "big":
        samples.byteswap()
    if not samples:
        return -math.inf
    power = sum(s * s for s in samples) / len(samples)
    if power == 0:
        return -math.inf
    return 10 * math.log10(power / (FULL_SCALE * FULL_SCALE))


@dataclass
class SilenceDetector:
    threshold_dbfs: float = -40.0
    silence_seconds: float = 3.0
    no_speech_seconds: float = 10.0
    sample_rate: int = 8000

    position: float = 0.0  # seconds of audio seen
    speech_end: float | None = None  # end of the last loud frame, None before any speech
    _carry: bytes = b""

    def feed(self, pcm: bytes) -> bool:
        """Add audio; True once the caller counts as silent (stays True afterwards)."""
        data = self._carry + pcm
        frame_bytes = FRAME_SAMPLES * 2 * self.sample_rate // 8000
        whole = len(data) - len(data) % frame_bytes
        self._carry = data[whole:]
        for offset in range(0, whole, frame_bytes):
            self.position += frame_bytes / 2 / self.sample_rate
            if level_dbfs(data[offset:offset + frame_bytes]) >= self.threshold_dbfs:
                self.speech_end = self.position
        return self.silent

    @property
    def heard_speech(self) -> bool:
        return self.speech_end is not None

    @property
    def silent(self) -> bool:
        if self.speech_end is None:
            return self.position >= self.no_speech_seconds
        return self.position - self.speech_end >= self.silence_seconds
