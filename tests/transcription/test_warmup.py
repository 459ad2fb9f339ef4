"""Warming recognizers: the warmed one goes back into the engine's pool; a missing or broken
speech file falls back to silence instead of failing the start-up."""

from __future__ import annotations

from pathlib import Path

from transcription.engine import Engine
from transcription.warmup import warm


def test_a_warmed_recognizer_waits_in_the_pool(engine: Engine, tmp_path: Path) -> None:
    before = engine.idle_recognizers()
    assert warm(engine, 1, tmp_path / "missing.wav") > 0
    assert engine.idle_recognizers() >= max(before, 1)


def test_warm_up_without_a_readable_file_does_not_fail(engine: Engine, tmp_path: Path) -> None:
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"RIFF not really")
    # zero recognizers: only the reading of the file is tried (decoding costs seconds)
    assert warm(engine, 0, broken) >= 0
    assert warm(engine, 0, tmp_path / "missing.wav") >= 0
