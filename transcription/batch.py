"""File recognition: a whole file through one stream (blocking; run it off the event loop)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from transcription.audio import SAMPLE_RATE, load_pcm
from transcription.engine import Engine
from transcription.result import Recognition

CHUNK_BYTES = SAMPLE_RATE * 2 // 2  # 0.5 s


def transcribe_pcm(engine: Engine, pcm: bytes, *, grammar: list[str] | None = None,
                   progress: Callable[[int, int], None] | None = None) -> Recognition:
    stream = engine.stream(SAMPLE_RATE, grammar)
    for offset in range(0, len(pcm), CHUNK_BYTES):
        stream.accept(pcm[offset:offset + CHUNK_BYTES])
        if progress is not None:
            progress(min(offset + CHUNK_BYTES, len(pcm)), len(pcm))
    return stream.finish()


def transcribe_file(engine: Engine, path: Path, *, grammar: list[str] | None = None,
                    progress: Callable[[int, int], None] | None = None) -> Recognition:
    """Recognise an audio file (raises :class:`~transcription.audio.AudioError`)."""
    return transcribe_pcm(engine, load_pcm(path), grammar=grammar, progress=progress)


class FileRecognizer(Protocol):
    """What the batch jobs recognise files with: the recognizer processes of ``hotline agi``
    (:class:`transcription.batchclient.RemoteRecognizer`, the worker's) or an engine in this
    process (:class:`LocalRecognizer`: the CLI, the tests)."""

    name: str

    def recognise(self, pcm: bytes) -> Recognition: ...


class LocalRecognizer:
    """A model loaded in this process (``grammar``: restricted to these words)."""

    def __init__(self, engine: Engine, grammar: list[str] | None = None) -> None:
        self.engine = engine
        self.name = engine.name
        self.grammar = grammar

    def recognise(self, pcm: bytes) -> Recognition:
        return transcribe_pcm(self.engine, pcm, grammar=self.grammar)


def recognise_file(recognizer: FileRecognizer, path: Path) -> Recognition:
    """Recognise an audio file (raises :class:`~transcription.audio.AudioError`)."""
    return recognizer.recognise(load_pcm(path))
