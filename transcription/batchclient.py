"""The batch jobs' side of :mod:`transcription.batchservice`: a file's audio to the recognizer
processes of ``hotline agi`` over their local socket, the recognition back (blocking: jobs run
in worker threads). The worker process never imports Vosk."""

from __future__ import annotations

import socket
from pathlib import Path

from transcription.recproto import Decoder, Kind, ProtocolError, encode, encode_json
from transcription.result import Recognition, VoskResultError, parse_recognition

CHUNK_BYTES = 16000  # 1 s of 8 kHz audio per AUDIO message
ANSWER_TIMEOUT = 540.0  # under the job's own timeout (tickets.queues.JOB_TIMEOUT)


class RecognizerUnavailable(RuntimeError):
    """No recognition now (the recognizers are down, busy or ended mid-file): the job fails and
    RQ retries it; nothing on the ticket changed."""


class RemoteRecognizer:
    """Recognises files on the recognizer processes behind ``path``."""

    def __init__(self, path: Path, name: str, *, timeout: float = ANSWER_TIMEOUT,
                 grammar: list[str] | None = None) -> None:
        self.path = path
        self.name = name  # the model's, as the recognizer processes load it (same settings)
        self.timeout = timeout
        self.grammar = grammar  # None (the jobs): open vocabulary

    def recognise(self, pcm: bytes) -> Recognition:
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
                conn.settimeout(self.timeout)
                conn.connect(str(self.path))
                return self._exchange(conn, pcm)
        except (OSError, ProtocolError, VoskResultError) as exc:
            raise RecognizerUnavailable(
                f"the recognizer processes at {self.path} did not answer ({exc}); is "
                "'hotline agi' running?") from exc

    def _exchange(self, conn: socket.socket, pcm: bytes) -> Recognition:
        conn.sendall(encode_json(Kind.OPEN, 1, {"grammar": self.grammar}))
        for offset in range(0, len(pcm), CHUNK_BYTES):
            conn.sendall(encode(Kind.AUDIO, 1, pcm[offset:offset + CHUNK_BYTES]))
        conn.sendall(encode(Kind.CLOSE, 1))
        decoder = Decoder()
        while data := conn.recv(65536):
            for message in decoder.feed(data):
                if message.kind is Kind.FINAL:
                    return parse_recognition(message.data())
                if message.kind is Kind.FAILED:
                    raise RecognizerUnavailable(str(message.data().get("error", "failed")))
        raise RecognizerUnavailable(f"the recognizer service at {self.path} closed the "
                                    "connection without an answer")
