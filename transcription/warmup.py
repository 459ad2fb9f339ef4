"""Warming recognizers before the first caller needs them.

A fresh Vosk recognizer pays for building its decoding graph caches on its first message:
measured (bench/results/transcription.md), about 0.8 CPU-seconds per second of continuous
speech against 0.2 for one that has decoded before. Decoding a few seconds of speech at
start-up and pooling the recognizer moves that cost out of a burst of callers.
"""

from __future__ import annotations

import time
from pathlib import Path

from transcription.audio import AudioError, load_pcm
from transcription.audiosocket import BYTES_PER_SECOND
from transcription.engine import Engine

WARMUP_SECONDS = 4.0
CHUNK_BYTES = BYTES_PER_SECOND // 5  # 200 ms per decoder call, as in a live stream


def warm(engine: Engine, streams: int, speech: Path | None) -> float:
    """Decode up to :data:`WARMUP_SECONDS` of ``speech`` (a WAV; silence if missing or
    unreadable) on ``streams`` recognizers and pool them; the seconds it took."""
    started = time.perf_counter()
    pcm = b""
    if speech is not None:
        try:
            pcm = load_pcm(speech)[: int(WARMUP_SECONDS * BYTES_PER_SECOND)]
        except AudioError:
            pcm = b""
    pcm = pcm or bytes(int(WARMUP_SECONDS * BYTES_PER_SECOND))
    opened = [engine.stream() for _ in range(streams)]
    for stream in opened:
        for offset in range(0, len(pcm), CHUNK_BYTES):
            stream.accept(pcm[offset:offset + CHUNK_BYTES])
    for stream in opened:
        stream.finish()  # back into the engine's pool, graph caches kept
    return time.perf_counter() - started
