"""The caller's message as audio (pure, bytes in, bytes out): repair a WAV whose header was
never finished, find the speech and keep it with a margin around it.

Asterisk starts recording the caller before the instructions are played (so no word is lost
however slowly the gateway answers), which leaves quiet seconds before the message; those are
cut here, so a ticket's audio starts at the resident's first words. A recording interrupted by
a crash has a header that still says "0 bytes": :func:`repair` derives the sizes from the data.
"""

from __future__ import annotations

import io
import struct
import wave
from dataclasses import dataclass

import numpy as np

RATE = 8000
FRAME = 160  # samples in 20 ms
SPEECH_DBFS = -40.0  # a 20 ms frame this loud is speech
NOISE_DBFS = -50.0  # below this everywhere: nothing was said
MARGIN_SECONDS = 0.5  # kept before the first and after the last loud frame


class NotWav(ValueError):
    pass


def repair(data: bytes) -> bytes:
    """A RIFF/WAVE file whose RIFF and ``data`` sizes match the bytes present (unchanged when
    they already do). Only the canonical PCM layout Asterisk writes is handled."""
    if len(data) < 44 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise NotWav("not a RIFF/WAVE file")
    offset = 12
    while offset + 8 <= len(data):
        chunk, size = data[offset:offset + 4], struct.unpack_from("<I", data, offset + 4)[0]
        if chunk == b"data":
            body = len(data) - offset - 8
            body -= body % 2
            fixed = bytearray(data[:offset + 8 + body])
            struct.pack_into("<I", fixed, 4, len(fixed) - 8)
            struct.pack_into("<I", fixed, offset + 4, body)
            return bytes(fixed)
        offset += 8 + size + size % 2
    raise NotWav("no data chunk")


@dataclass(frozen=True)
class Pcm:
    samples: bytes  # 16-bit little-endian mono
    rate: int

    @property
    def seconds(self) -> float:
        return len(self.samples) / 2 / self.rate if self.rate else 0.0


def read_pcm(data: bytes) -> Pcm:
    try:
        with wave.open(io.BytesIO(repair(data)), "rb") as w:
            if w.getsampwidth() != 2 or w.getnchannels() != 1:
                raise NotWav("expected 16-bit mono PCM")
            return Pcm(w.readframes(w.getnframes()), w.getframerate())
    except (wave.Error, EOFError) as exc:
        raise NotWav(str(exc)) from None


def write_wav(pcm: Pcm) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(pcm.rate)
        w.writeframes(pcm.samples)
    return out.getvalue()


def frame_levels(pcm: Pcm) -> np.ndarray:
    """dBFS of every whole 20 ms frame."""
    frame = max(1, pcm.rate // 50)
    samples = np.frombuffer(pcm.samples[: len(pcm.samples) // 2 * 2], dtype="<i2")
    whole = len(samples) // frame * frame
    if whole == 0:
        return np.zeros(0)
    frames = samples[:whole].astype(np.float64).reshape(-1, frame)
    power = np.mean(frames * frames, axis=1) / (32768.0 * 32768.0)
    with np.errstate(divide="ignore"):
        return np.asarray(10 * np.log10(power))


@dataclass(frozen=True)
class Message:
    wav: bytes  # the speech with its margins (the whole recording when nothing was cut)
    seconds: float
    said_something: bool  # False: nothing above the noise floor at all


def message(data: bytes, *, speech_dbfs: float = SPEECH_DBFS,
            noise_dbfs: float = NOISE_DBFS, margin: float = MARGIN_SECONDS) -> Message:
    """The message in a recording: from ``margin`` before the first loud frame to ``margin``
    after the last. Quiet but not silent audio (a soft voice) is kept whole, never dropped."""
    pcm = read_pcm(data)
    levels = frame_levels(pcm)
    said = bool(levels.size and levels.max() >= noise_dbfs)
    loud = np.flatnonzero(levels >= speech_dbfs)
    if not loud.size:
        return Message(write_wav(pcm), pcm.seconds, said)
    frame_bytes = 2 * max(1, pcm.rate // 50)
    keep = int(margin * pcm.rate) * 2
    start = max(0, int(loud[0]) * frame_bytes - keep)
    end = min(len(pcm.samples), (int(loud[-1]) + 1) * frame_bytes + keep)
    clipped = Pcm(pcm.samples[start:end], pcm.rate)
    return Message(write_wav(clipped), clipped.seconds, True)
