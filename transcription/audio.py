"""Audio files → 8 kHz 16-bit mono PCM for the recognizer.

A WAV that is already telephone audio is read with :mod:`wave`; anything else (another rate,
stereo, 8-bit, A-law WAV, AMR voice notes, Ogg) is converted by ``sox`` (Debian package).
Empty, corrupt or unsupported files raise :class:`AudioError` with a reason a person can read.
"""

from __future__ import annotations

import shutil
import subprocess
import wave
from pathlib import Path

SAMPLE_RATE = 8000
MAX_SECONDS = 3600
SOX_TYPES = {".amr": "amr-nb", ".awb": "amr-wb"}  # extensions sox does not map itself


class AudioError(ValueError):
    """Audio that cannot be transcribed; ``str(error)`` is the reason for the ticket."""


def _read_plain_wav(path: Path) -> bytes | None:
    """The PCM of an 8 kHz 16-bit mono WAV, or None when it needs converting."""
    try:
        with wave.open(str(path), "rb") as w:
            if (w.getnchannels(), w.getsampwidth(), w.getframerate()) != (1, 2, SAMPLE_RATE):
                return None
            frames = w.getnframes()
            return w.readframes(min(frames, MAX_SECONDS * SAMPLE_RATE))
    except (wave.Error, EOFError):
        return None


def _convert(path: Path, max_seconds: int) -> bytes:
    sox = shutil.which("sox")
    if sox is None:
        raise AudioError("cannot convert audio: sox is not installed")
    result = subprocess.run(
        [sox, "-V1", *(["-t", SOX_TYPES[path.suffix]] if path.suffix in SOX_TYPES else []),
         str(path), "-t", "raw", "-r", str(SAMPLE_RATE), "-c", "1", "-b", "16",
         "-e", "signed-integer", "-L", "-", "trim", "0", str(max_seconds)],
        capture_output=True, check=False, timeout=600,
    )
    if result.returncode != 0:
        detail = result.stderr.decode("utf-8", "replace").strip().splitlines()
        reason = detail[-1] if detail else f"sox exit status {result.returncode}"
        raise AudioError(f"unreadable or unsupported audio ({reason})")
    return result.stdout


def load_pcm(path: Path, max_seconds: int = MAX_SECONDS) -> bytes:
    """8 kHz 16-bit little-endian mono PCM of ``path`` (at most ``max_seconds``)."""
    if not path.is_file():
        raise AudioError(f"no such file: {path.name}")
    if path.stat().st_size == 0:
        raise AudioError("empty file")
    pcm = _read_plain_wav(path)
    if pcm is None:
        pcm = _convert(path, max_seconds)
    if len(pcm) < 2:
        raise AudioError("no audio in the file")
    return pcm[: len(pcm) - len(pcm) % 2]
