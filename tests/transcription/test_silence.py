"""The energy-based silence detector on synthetic 8 kHz PCM."""

from __future__ import annotations

import math
import struct

import pytest

from transcription.silence import SilenceDetector, level_dbfs


def tone(seconds: float, amplitude: float = 0.3, freq: float = 440.0) -> bytes:
    n = int(8000 * seconds)
    return struct.pack(f"<{n}h", *(int(amplitude * 32767 * math.sin(2 * math.pi * freq * i
                                                                    / 8000)) for i in range(n)))


def quiet(seconds: float) -> bytes:
    return bytes(int(8000 * seconds) * 2)


def test_levels() -> None:
    assert level_dbfs(quiet(0.02)) == -math.inf
    assert level_dbfs(b"") == -math.inf
    # a full-scale square wave is 0 dBFS; a sine at 0.3 of full scale is about -13.5 dBFS
    square = struct.pack("<4h", 32767, -32767, 32767, -32767)
    assert level_dbfs(square) == pytest.approx(0, abs=1e-3)
    assert level_dbfs(tone(0.02)) == pytest.approx(20 * math.log10(0.3 / math.sqrt(2)), abs=0.2)


def test_silence_after_speech_ends() -> None:
    d = SilenceDetector(silence_seconds=1.0, no_speech_seconds=5.0)
    assert not d.feed(tone(0.5))
    assert d.heard_speech and d.speech_end == pytest.approx(0.5)
    assert not d.feed(quiet(0.9))
    assert d.feed(quiet(0.1))
    assert d.position == pytest.approx(1.5)


def test_speech_resets_the_silence_clock() -> None:
    d = SilenceDetector(silence_seconds=1.0)
    d.feed(tone(0.2) + quiet(0.8) + tone(0.2) + quiet(0.8))
    assert not d.silent
    assert d.speech_end == pytest.approx(1.2)


def test_no_speech_at_all() -> None:
    d = SilenceDetector(silence_seconds=1.0, no_speech_seconds=2.0)
    assert not d.feed(quiet(1.98))
    assert d.feed(quiet(0.02))
    assert not d.heard_speech


def test_quiet_noise_below_threshold_is_silence() -> None:
    d = SilenceDetector(threshold_dbfs=-40.0, no_speech_seconds=1.0)
    assert d.feed(tone(1.0, amplitude=0.005))  # about -49 dBFS


def test_odd_sized_chunks_are_carried_over() -> None:
    d = SilenceDetector()
    pcm = tone(0.1)
    for i in range(0, len(pcm), 77):
        d.feed(pcm[i:i + 77])
    assert d.position == pytest.approx(0.1)
