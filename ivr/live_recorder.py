"""The live :class:`~ivr.recorder.Recorder`: the caller's audio streams over AudioSocket to the
in-process :class:`~transcription.live.LiveTranscriber`, which writes the WAV and returns the
final transcript the moment the caller presses ``#`` or falls silent.

``EXEC AudioSocket <uuid>,<host>:<port>`` blocks the AGI session while the audio flows; the
UUID is random and new for every recording (registered with the transcriber just before the
EXEC), so nobody can claim the stream by guessing it from the call's predictable unique id;
``host`` is the address *Asterisk* connects to (``HOTLINE_AUDIOSOCKET_HOST``), not
necessarily the one the transcriber listens on. The partial texts are published under the
call's stable id (:func:`~transcription.live.call_uuid`) for the operators' console. When
the transcriber closes the socket Asterisk answers ``200 result=0`` and the flow goes on (the
ticket is stored with its transcript, then its number is read back). If AudioSocket cannot
start (module missing, nothing connects), the ``fallback`` recorder (``RECORD FILE``) records
instead and the batch job transcribes later.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from ivr.agi.session import ChannelHungUp
from ivr.recorder import AgiCommands, Recorder, Recording
from transcription.live import LiveTranscriber, call_uuid, session_uuid

log = logging.getLogger(__name__)

CONNECT_GRACE = 1.0  # seconds to wait for the UUID frame after EXEC returned early
RESULT_TIMEOUT = 30.0  # seconds to wait for the final transcript after the socket closed
COMMAND_MARGIN = 5.0  # keep the recording this much shorter than the AGI command timeout


class LiveRecordingFailed(RuntimeError):
    pass


class LiveRecorder:
    def __init__(self, transcriber: LiveTranscriber, *, host: str = "127.0.0.1",
                 fallback: Recorder | None = None) -> None:
        self.transcriber = transcriber
        self.host = host
        self.fallback = fallback

    def _limit(self, agi: AgiCommands, max_seconds: int) -> float:
        timeout = getattr(agi, "command_timeout", None)
        if isinstance(timeout, int | float) and max_seconds > timeout - COMMAND_MARGIN:
            return max(1.0, float(timeout) - COMMAND_MARGIN)
        return float(max_seconds)

    async def record(self, agi: AgiCommands, path: Path, max_seconds: int) -> Recording:
        key = session_uuid()
        session = self.transcriber.expect(key, path, self._limit(agi, max_seconds),
                                          call=agi.unique_id, topic=call_uuid(agi.unique_id))
        line = f"EXEC AudioSocket {key},{self.host}:{self.transcriber.port}"
        try:
            code, result, _ = await agi.execute(line)
        except BaseException:
            self.transcriber.cancel(key)
            raise
        if not session.connected.is_set():
            try:
                await asyncio.wait_for(session.connected.wait(), CONNECT_GRACE)
            except TimeoutError:
                self.transcriber.cancel(key)
                reason = f"AudioSocket did not connect (EXEC answered {code} result={result})"
                if code == 511 or result == -1:  # the caller is gone: nothing to record
                    raise ChannelHungUp(reason) from None
                if self.fallback is None:
                    raise LiveRecordingFailed(reason) from None
                log.warning("call %s: %s; recording with the fallback", agi.unique_id, reason)
                return await self.fallback.record(agi, path, max_seconds)
        try:
            live = await asyncio.wait_for(asyncio.shield(session.result), RESULT_TIMEOUT)
        except TimeoutError:
            raise LiveRecordingFailed(f"no final transcript within {RESULT_TIMEOUT:g}s") from None
        log.info("call %s: live recording %.1fs ended by %s, transcript %s", agi.unique_id,
                 live.duration, live.ended_by, "yes" if live.transcript else "no")
        return Recording(path=live.path, ended_by=live.ended_by, duration=live.duration,
                         transcript=live.transcript)
