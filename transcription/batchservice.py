"""Batch recognition through the live path's recognizer processes: one model per machine.

``hotline agi`` owns the recognizer processes (:mod:`transcription.recognizers`). This serves
them to the batch transcription jobs on a local Unix socket, with the pipe protocol of
:mod:`transcription.recproto`: one connection is one file — ``OPEN``, ``AUDIO``…, ``CLOSE`` —
answered by one ``FINAL`` (the recognition and the model) or ``FAILED`` (``{"error"}``: no
process ready within :data:`ADMIT_WAIT`, the process ended mid-file); the job then fails and
RQ retries it, the ticket untouched. The workers never load the model themselves.

A file is fed only while its process has less than
:data:`~transcription.recognizers.BATCH_BACKLOG_SECONDS` of audio queued (``drain()`` on its
pipe), so a live call on
the same process is never held back for long; batch files do not take live capacity.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from pathlib import Path

from transcription.recognizers import LiveRecognition, RecognizerPool
from transcription.recproto import Decoder, Kind, ProtocolError, encode, encode_json

log = logging.getLogger(__name__)

ADMIT_WAIT = 60.0  # seconds a file waits for a ready recognizer before FAILED
READ_BYTES = 65536


class BatchService:
    def __init__(self, pool: RecognizerPool, path: Path) -> None:
        self.pool = pool
        self.path = path
        self.served = 0  # files answered with FINAL since start
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()  # a socket a previous run left behind
        self._server = await asyncio.start_unix_server(self._serve, path=str(self.path))
        os.chmod(self.path, 0o600)
        log.info("batch recognition on %s", self.path)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()

    async def _admit(self, grammar: list[str] | None) -> LiveRecognition | None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + ADMIT_WAIT
        while (stream := self.pool.admit_batch(grammar)) is None:
            if loop.time() >= deadline:
                return None
            await asyncio.sleep(0.5)
        return stream

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        stream: LiveRecognition | None = None
        decoder = Decoder()
        try:
            while stream is None or not (stream.closed or stream.result.done()):
                data = await reader.read(READ_BYTES)
                if not data:
                    return  # the job went away: its stream is dropped below
                for message in decoder.feed(data):
                    if message.kind is Kind.OPEN and stream is None:
                        grammar = message.data().get("grammar")
                        stream = await self._admit(
                            [str(w) for w in grammar] if isinstance(grammar, list) else None)
                        if stream is None:
                            await self._answer(writer, Kind.FAILED, {
                                "error": "no recognizer process is ready"})
                            return
                    elif stream is None:
                        raise ProtocolError(f"{message.kind.name} before OPEN")
                    elif message.kind is Kind.AUDIO:
                        await self._feed(stream, message.payload)
                    elif message.kind is Kind.CLOSE:
                        stream.close()
            await asyncio.shield(stream.result)
            if stream.final is not None:
                self.served += 1
                await self._answer(writer, Kind.FINAL, stream.final)
            else:
                await self._answer(writer, Kind.FAILED, {"error": stream.dropped or "dropped"})
        except (ProtocolError, ConnectionError) as exc:
            log.warning("batch recognition: %s", exc)
        finally:
            if stream is not None and not stream.result.done():
                stream.drop("the batch job disconnected")
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    @staticmethod
    async def _feed(stream: LiveRecognition, pcm: bytes) -> None:
        """Pass audio on once the process has caught up (see the module docstring)."""
        stream.feed(pcm)
        await stream.worker.drain()

    @staticmethod
    async def _answer(writer: asyncio.StreamWriter, kind: Kind, data: dict[str, object]) -> None:
        writer.write(encode_json(kind, 0, data) if data else encode(kind, 0))
        await writer.drain()
