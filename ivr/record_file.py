"""The baseline :class:`~ivr.recorder.Recorder`: Asterisk's ``RECORD FILE`` writes the WAV.

``RECORD FILE <path> wav "#" <ms> 0 s=<silence>``: ``#`` or ``silence`` seconds of quiet end
the recording, ``ms`` bounds its length. ``path`` is given without ``.wav`` (Asterisk adds the
format's extension) and must name the same file for Asterisk and for us (a shared folder at the
same path). The reply's ``(dtmf)`` / ``(timeout)`` / ``(hangup)`` says how it ended; Asterisk
reports silence as ``timeout``, so we tell the two apart by the recorded length.
"""

from __future__ import annotations

import logging
import wave
from pathlib import Path

from ivr.agi import commands
from ivr.agi.protocol import ProtocolError
from ivr.recorder import AgiCommands, EndedBy, Recording
from ivr.wavinfo import wav_duration

log = logging.getLogger(__name__)


def wav_path(path: Path) -> Path:
    """The WAV file for a recording path given with or without the ``.wav`` suffix."""
    return path if path.suffix == ".wav" else path.with_name(path.name + ".wav")


def recorded_seconds(path: Path) -> float:
    """Seconds of audio in the WAV (0 when missing or unreadable: nothing was recorded)."""
    try:
        return wav_duration(wav_path(path))
    except (OSError, EOFError, wave.Error):
        return 0.0


def ended_by(data: str, result: int, duration: float, max_seconds: int) -> EndedBy:
    """How a RECORD FILE ended, from its reply (pure; see the module docstring)."""
    if result == -1 or data == "hangup":
        return "hangup"
    if data == "dtmf":
        return "dtmf"
    if data == "timeout" and duration < max_seconds - 1:
        return "silence"
    return "timeout"


class FileRecorder:
    def __init__(self, *, silence_seconds: int = 4, escape_digits: str = "#") -> None:
        self.silence_seconds = silence_seconds
        self.escape_digits = escape_digits

    async def record(self, agi: AgiCommands, path: Path, max_seconds: int) -> Recording:
        target = wav_path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        line = commands.record_file(
            str(target.with_suffix("")), "wav", self.escape_digits, max_seconds * 1000,
            self.silence_seconds,
        )
        code, result, data = await agi.execute(line)
        duration = recorded_seconds(target)
        if code == 511:
            how: EndedBy = "hangup"
        elif code != 200:
            raise ProtocolError(f"RECORD FILE answered {code} {data}")
        else:
            how = ended_by(data, result, duration, max_seconds)
        log.info("call %s: recorded %.1fs, ended by %s", agi.unique_id, duration, how)
        return Recording(path=target, ended_by=how, duration=duration)
