"""Test audio made with espeak-ng and sox (8 kHz, 16-bit, mono WAV, as Asterisk plays it)."""

from __future__ import annotations

import subprocess
from pathlib import Path


def speech(path: Path, text: str, *, voice: str = "en", rate: int = 150) -> Path:
    """A WAV of ``text`` spoken by espeak-ng's ``voice`` at ``rate`` words a minute; returns
    the path WITHOUT extension, as Playback() wants it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    raw = path.with_name(path.stem + ".raw.wav")
    subprocess.run(["espeak-ng", "-v", voice, "-s", str(rate), "-w", str(raw), text], check=True)
    subprocess.run(["sox", str(raw), "-r", "8000", "-c", "1", "-b", "16", str(path)],
                   check=True)
    raw.unlink()
    return path.with_suffix("")


def tone(path: Path, seconds: float) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["sox", "-n", "-r", "8000", "-c", "1", "-b", "16", str(path),
                    "synth", str(seconds), "sine", "600"], check=True)
    return path


def short_fallback_prompts(prompts: Path) -> Path:
    """Half-second stand-ins for the dialplan's own fallback prompts (fast tests)."""
    for name in ("fallback.wav", "fallback-thanks.wav"):
        tone(prompts / name, 0.5)
    return prompts
