"""What the caller heard: speech segments of a WAV and a search for the read-back digits."""

from __future__ import annotations

import array
import math
import wave
from pathlib import Path

FRAME = 0.02  # seconds
GAP = 0.12  # quiet this long separates two segments


def _frames_rms(path: Path) -> tuple[list[float], float]:
    with wave.open(str(path), "rb") as w:
        rate, width, channels = w.getframerate(), w.getsampwidth(), w.getnchannels()
        data = w.readframes(w.getnframes())
    assert width == 2, path
    samples = array.array("h")
    samples.frombytes(data[: len(data) // 2 * 2])
    samples = samples[::channels]
    step = int(rate * FRAME)
    out = []
    for i in range(0, len(samples) - step + 1, step):
        chunk = samples[i : i + step]
        out.append(math.sqrt(sum(s * s for s in chunk) / step))
    return out, FRAME


def speech_segments(path: Path, threshold: float = 300.0) -> list[tuple[float, float]]:
    """(start, duration) of each stretch of sound, in seconds."""
    levels, frame = _frames_rms(path)
    segments: list[tuple[float, float]] = []
    start: int | None = None
    quiet = 0
    for i, level in enumerate(levels):
        if level >= threshold:
            if start is None:
                start = i
            quiet = 0
        elif start is not None:
            quiet += 1
            if quiet * frame >= GAP:
                segments.append((start * frame, (i - quiet + 1 - start) * frame))
                start, quiet = None, 0
    if start is not None:
        segments.append((start * frame, (len(levels) - quiet - start) * frame))
    return segments


def prompt_speech_seconds(path: Path) -> float:
    """Length of the sound in a prompt file (its padding excluded)."""
    segs = speech_segments(path)
    return segs[-1][0] + segs[-1][1] - segs[0][0] if segs else 0.0


def digit_run(segments: list[tuple[float, float]], number: str, prompts: Path,
              tolerance: float = 0.1) -> int | None:
    """Index of the first run of segments whose lengths match the digit prompts of
    ``number`` in order (each within ``tolerance`` seconds), or None."""
    expected = [prompt_speech_seconds(prompts / "digits" / f"{d}.wav") for d in number]
    return find_sequence(segments, expected, tolerance)


def find_sequence(segments: list[tuple[float, float]], expected: list[float],
                  tolerance: float = 0.1) -> int | None:
    """Index of the first run of segments whose lengths match ``expected`` in order."""
    lengths = [d for _, d in segments]
    for i in range(len(lengths) - len(expected) + 1):
        if all(abs(lengths[i + k] - e) <= tolerance for k, e in enumerate(expected)):
            return i
    return None


def heard_prompt(segments: list[tuple[float, float]], prompt: Path) -> int | None:
    """Where the caller heard ``prompt`` (matched by its own segment lengths), or None."""
    return find_sequence(segments, [d for _, d in speech_segments(prompt)])
