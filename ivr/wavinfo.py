"""Facts about a PCM WAV file in pure Python (stdlib ``wave``): duration and loudness."""

from __future__ import annotations

import array
import math
import sys
import wave
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class WavInfo:
    frames: int
    rate: int
    channels: int
    sample_width: int
    rms: float  # root mean square of the samples, 16-bit scale (0 … 32768)
    peak: int

    @property
    def duration(self) -> float:
        return self.frames / self.rate if self.rate else 0.0

    @property
    def dbfs(self) -> float:
        return 20 * math.log10(self.rms / 32768) if self.rms > 0 else float("-inf")


def wav_duration(path: Path) -> float:
    """Seconds of audio from the header alone (cheap enough for the event loop)."""
    with wave.open(str(path), "rb") as w:
        rate = w.getframerate()
        return w.getnframes() / rate if rate else 0.0


def wav_info(path: Path) -> WavInfo:
    """Read a 16-bit PCM WAV (raises ``wave.Error``/``OSError`` for other files)."""
    with wave.open(str(path), "rb") as w:
        frames, rate = w.getnframes(), w.getframerate()
        channels, width = w.getnchannels(), w.getsampwidth()
        data = w.readframes(frames)
    if width != 2:
        raise wave.Error(f"{path.name}: {8 * width}-bit samples, expected 16-bit")
    samples = array.array("h")
    samples.frombytes(data[: len(data) // 2 * 2])
    if sys.byteorder == "big":
        samples.byteswap()
    n = len(samples)
    rms = math.sqrt(sum(s * s for s in samples) / n) if n else 0.0
    peak = max((abs(s) for s in samples), default=0)
    return WavInfo(frames=frames, rate=rate, channels=channels, sample_width=width, rms=rms,
                   peak=peak)
