"""``RECORD FILE``: Asterisk records and finds the end of a message by itself.

``RECORD FILE <path> wav "#" <ms> 0 s=<silence>``: ``#`` or ``silence`` seconds of quiet end
the recording, ``ms`` bounds its length. ``path`` is given without ``.wav`` (Asterisk adds the
format's extension) and must name the same file for Asterisk and for us (a shared folder at the
same path). The reply's ``(dtmf)`` / ``(timeout)`` / ``(hangup)`` says how it ended; Asterisk
reports silence as ``timeout``, so the two are told apart by the recorded length. The capture
uses it to find the end of a message when live streaming is not available (Asterisk's
MixMonitor holds the message itself), and as the recording when MixMonitor is missing.
"""

from __future__ import annotations

import wave
from pathlib import Path

from ivr.agi import commands
from ivr.recorder import AgiCommands
from ivr.wavinfo import wav_duration
from transcription.stream import EndedBy


def wav_path(path: Path) -> Path:
    """The WAV file for a recording path given with or without the ``.wav`` suffix."""
    return path if path.suffix == ".wav" else path.with_name(path.name + ".wav")


def recorded_seconds(path: Path) -> float:
    """Seconds of audio in the WAV (0 when missing or unreadable: nothing was recorded)."""
    try:
        return wav_duration(wav_path(path))
    except (OSError, EOFError, wave.Error):
        return 0.0


def ended_by(code: int, data: str, result: int, duration: float, max_seconds: int) -> EndedBy:
    """How a RECORD FILE ended, from its reply (pure; see the module docstring)."""
    if code == 511 or result == -1 or data == "hangup":
        return "hangup"
    if data == "dtmf":
        return "dtmf"
    if data == "timeout" and duration < max_seconds - 1:
        return "silence"
    return "timeout"


async def record_file(agi: AgiCommands, path: Path, max_seconds: int, *,
                      silence_seconds: int = 3, escape_digits: str = "#") -> EndedBy:
    """Record into ``path`` (a .wav) until ``#``, silence or the maximum length."""
    target = wav_path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    line = commands.record_file(str(target.with_suffix("")), "wav", escape_digits,
                                max_seconds * 1000, silence_seconds)
    code, result, data = await agi.execute(line)
    if code not in (200, 511):
        raise RuntimeError(f"RECORD FILE answered {code} {data}")
    return ended_by(code, data, result, recorded_seconds(target), max_seconds)
