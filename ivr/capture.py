"""The :class:`~ivr.recorder.Recorder` of the 96010 flow: Asterisk records, the gateway listens.

1. ``EXEC MixMonitor ,r(<path>)`` — Asterisk records what the caller says into ``path``, in its
   own thread, from before the instructions and the beep: however late the gateway's next
   command comes (a burst of callers, a busy machine), no word is lost, and the message never
   depends on the recognizer.
2. The cue (instructions, beep) is played.
3. The end of the message is found live: ``EXEC AudioSocket <uuid>,<host>:<port>`` streams the
   caller to the live transcriber (:mod:`transcription.live`), which closes the socket on
   ``#``, silence or the maximum length and feeds a recognizer when one has room. If the stream
   cannot start, or there is no live transcriber, ``RECORD FILE`` (into a scratch file) finds
   the end instead.
4. ``EXEC StopMixMonitor`` closes the WAV; its header is complete when the next command runs.
   After a hang-up Asterisk closes it by itself; the capture waits for that.

Without MixMonitor (module not loaded) ``RECORD FILE`` records the message itself, as before.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from pathlib import Path

from ivr.agi import commands
from ivr.agi.session import ChannelHungUp
from ivr.record_file import record_file
from ivr.recorder import AgiCommands, Cue, Recording
from tickets.model import Transcript
from transcription.live import LiveTranscriber, new_session_key, topic_of
from transcription.stream import EndedBy

log = logging.getLogger(__name__)

CONNECT_GRACE = 1.0  # seconds to wait for the UUID frame after EXEC returned early
RESULT_TIMEOUT = 10.0  # seconds to wait for the live result after EXEC returned
CLOSE_TIMEOUT = 5.0  # seconds to wait for Asterisk to finish the WAV after a hang-up
COMMAND_MARGIN = 5.0  # keep a message this much shorter than the AGI command timeout


def wav_complete(path: Path) -> bool:
    """True when the RIFF size in the header matches the file (Asterisk writes it on close)."""
    try:
        with open(path, "rb") as f:
            head = f.read(8)
            size = f.seek(0, 2)
    except FileNotFoundError:
        return False
    return (len(head) == 8 and head[:4] == b"RIFF"
            and int.from_bytes(head[4:8], "little") == size - 8)


async def wait_complete(path: Path, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while not wav_complete(path):
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(0.02)
    return True


class Capture:
    def __init__(self, transcriber: LiveTranscriber | None = None, *,
                 audiosocket_host: str = "127.0.0.1", silence_seconds: int = 3) -> None:
        self.transcriber = transcriber
        self.host = audiosocket_host
        self.silence_seconds = silence_seconds

    def _limit(self, agi: AgiCommands, max_seconds: int) -> int:
        timeout = getattr(agi, "command_timeout", None)
        if isinstance(timeout, int | float) and max_seconds > timeout - COMMAND_MARGIN:
            return max(1, int(timeout - COMMAND_MARGIN))
        return max_seconds

    async def record(self, agi: AgiCommands, path: Path, *, cue: Cue, call_ref: str,
                     max_seconds: int) -> Recording:
        path.parent.mkdir(parents=True, exist_ok=True)
        limit = self._limit(agi, max_seconds)
        mixing = False
        ended: EndedBy = "hangup"
        transcript: asyncio.Future[Transcript | None] | None = None
        scratch = path.with_name(path.stem + ".listen.wav")
        try:
            mixing = await self._mixmonitor(agi, path)
            await cue()
            if self.transcriber is not None:
                ended, transcript = await self._stream(agi, call_ref, limit,
                                                       scratch if mixing else path)
            else:
                ended = await record_file(agi, scratch if mixing else path, limit,
                                          silence_seconds=self.silence_seconds)
        except ChannelHungUp:  # the caller hung up, or the connection to Asterisk is gone
            ended = "hangup"
        finally:
            with contextlib.suppress(FileNotFoundError):
                scratch.unlink()
        if mixing:
            await self._stop(agi, path, ended)
        return Recording(path=path, ended_by=ended, transcript=transcript)

    async def _mixmonitor(self, agi: AgiCommands, path: Path) -> bool:
        """Start Asterisk's recording of the caller; False when MixMonitor is unavailable."""
        code, result, _ = await agi.execute(commands.exec_app("MixMonitor", f",r({path})"))
        if code == 511:
            raise ChannelHungUp("hang-up before the recording started")
        if code != 200 or result != 0:
            log.warning("call %s: MixMonitor unavailable (%d result=%d); RECORD FILE records "
                        "the message", agi.unique_id, code, result)
            return False
        return True

    async def _stop(self, agi: AgiCommands, path: Path, ended: EndedBy) -> None:
        if ended != "hangup":
            with contextlib.suppress(ChannelHungUp):
                await agi.execute(commands.exec_app("StopMixMonitor"))
        if not await wait_complete(path, CLOSE_TIMEOUT):
            log.warning("call %s: Asterisk did not finish %s within %.0f s; taking it as it is",
                        agi.unique_id, path.name, CLOSE_TIMEOUT)

    async def _stream(self, agi: AgiCommands, call_ref: str, limit: int, fallback: Path,
                      ) -> tuple[EndedBy, asyncio.Future[Transcript | None] | None]:
        """Listen over AudioSocket; RECORD FILE into ``fallback`` if it cannot start."""
        transcriber = self.transcriber
        assert transcriber is not None
        key = new_session_key()
        session = transcriber.expect(key, call=call_ref, topic=topic_of(call_ref),
                                     max_seconds=limit)
        try:
            code, result, _ = await agi.execute(
                commands.exec_app("AudioSocket", f"{key},{self.host}:{transcriber.port}"))
        except BaseException:
            transcriber.cancel(key)
            raise
        if not session.connected.is_set():
            try:
                await asyncio.wait_for(session.connected.wait(), CONNECT_GRACE)
            except TimeoutError:
                transcriber.cancel(key)
                if code == 511 or result == -1:  # the caller is gone
                    raise ChannelHungUp("hang-up before the stream started") from None
                log.warning("call %s: AudioSocket did not connect (EXEC answered %d result=%d); "
                            "RECORD FILE finds the end of the message", agi.unique_id, code,
                            result)
                return await record_file(agi, fallback, limit,
                                         silence_seconds=self.silence_seconds), None
        try:
            live = await asyncio.wait_for(asyncio.shield(session.result), RESULT_TIMEOUT)
        except TimeoutError:
            transcriber.cancel(key)
            return ("hangup" if code == 511 or result == -1 else "timeout"), None
        return live.ended_by, live.transcript
