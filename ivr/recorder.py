"""How the call flow records the resident's message (the seam between IVR and transcription).

The flow asks a :class:`Recorder` for one message: Asterisk records the caller into a WAV at a
path both sides see (from before the instructions are played, so nothing said is ever lost to
a slow gateway), the recorder finds the end of the message (``#``, silence, the maximum length,
a hang-up) and, when live recognition had room for the call, hands over the transcript that is
on its way.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from tickets.model import Transcript
from transcription.stream import EndedBy

# plays the instructions and the beep once Asterisk records
Cue = Callable[[], Awaitable[None]]


@dataclass(frozen=True)
class Recording:
    path: Path  # 8 kHz 16-bit mono WAV written by Asterisk
    ended_by: EndedBy
    # the final live transcript, when the call was admitted to live recognition
    transcript: asyncio.Future[Transcript | None] | None = None

    @property
    def live(self) -> bool:
        return self.transcript is not None


class AgiCommands(Protocol):
    """What a recorder needs from the AGI session (implemented by the FastAGI session)."""

    @property
    def unique_id(self) -> str: ...

    async def execute(self, line: str) -> tuple[int, int, str]:
        """Send one AGI command line; return (code, result, trailing data) of the reply."""
        ...


class Recorder(Protocol):
    async def record(self, agi: AgiCommands, path: Path, *, cue: Cue, call_ref: str,
                     max_seconds: int) -> Recording:
        """Record one message into ``path``. Never raises for a hang-up or a lost connection
        (the recording says ``hangup``): whatever Asterisk wrote must still be persisted."""
        ...
