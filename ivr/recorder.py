"""How the call flow records the resident's message (the seam between IVR and transcription).

The flow asks a :class:`Recorder` for one recording. ``RECORD FILE`` (Asterisk writes the WAV)
is the baseline; the live recorder streams the caller's audio over AudioSocket to the
transcription room, which writes the same WAV and returns the final transcript at the end.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

from router.model import Transcript

EndedBy = Literal["dtmf", "silence", "timeout", "hangup"]


@dataclass(frozen=True)
class Recording:
    path: Path  # 8 kHz 16-bit mono WAV, at a path Asterisk and the gateway both see
    ended_by: EndedBy
    duration: float  # seconds of audio
    transcript: Transcript | None = None  # final transcript when recorded live


class AgiCommands(Protocol):
    """What a recorder needs from the AGI session (implemented by the FastAGI session)."""

    @property
    def unique_id(self) -> str: ...

    async def execute(self, line: str) -> tuple[int, int, str]:
        """Send one AGI command line; return (code, result, trailing data) of the reply."""
        ...


class Recorder(Protocol):
    async def record(self, agi: AgiCommands, path: Path, max_seconds: int) -> Recording: ...
