"""The pipe protocol between the AudioSocket server and its recognizer processes (pure).

Each message is 1 byte kind + 4 bytes stream id + 4 bytes payload length (big-endian) +
payload. Audio goes one way as raw PCM; everything else is a small JSON object.

========  =======  ==============================================================
kind      way      payload
========  =======  ==============================================================
OPEN      to       ``{"grammar": [...] | null, "batch": bool}``: a new stream (batch: a
                   batch job's file, decoded in 0.5 s pieces as the jobs always did)
AUDIO     to       8 kHz 16-bit little-endian mono PCM
CLOSE     to       empty: no more audio, send the final result
READY     from     ``{"model", "streams", "load_seconds", "warm_seconds"}`` (id 0)
PARTIAL   from     ``{"text"}``: the growing hypothesis
SEGMENT   from     ``{"text"}``: a finished utterance
FINAL     from     a recognition (``Recognition.as_json()``): the stream is done
FAILED    from     ``{"error"}``: the stream is done without a result
========  =======  ==============================================================
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from transcription.tlv import FrameTooLong, Reader

HEADER = struct.Struct(">BII")
MAX_PAYLOAD = 1 << 20


class Kind(IntEnum):
    OPEN = 1
    AUDIO = 2
    CLOSE = 3
    READY = 10
    PARTIAL = 11
    SEGMENT = 12
    FINAL = 13
    FAILED = 14


class ProtocolError(ValueError):
    pass


@dataclass(frozen=True)
class Message:
    kind: Kind
    stream: int
    payload: bytes = b""

    def data(self) -> dict[str, Any]:
        """The JSON payload (every kind but AUDIO and CLOSE)."""
        try:
            value = json.loads(self.payload.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            raise ProtocolError(f"{self.kind.name}: payload is not JSON") from exc
        if not isinstance(value, dict):
            raise ProtocolError(f"{self.kind.name}: payload is not a JSON object")
        return value


def encode(kind: Kind, stream: int, payload: bytes = b"") -> bytes:
    if len(payload) > MAX_PAYLOAD:
        raise ProtocolError(f"payload of {len(payload)} bytes exceeds {MAX_PAYLOAD}")
    return HEADER.pack(kind, stream, len(payload)) + payload


def encode_json(kind: Kind, stream: int, data: dict[str, Any]) -> bytes:
    return encode(kind, stream, json.dumps(data, ensure_ascii=False).encode("utf-8"))


class Decoder:
    """Incremental: :meth:`feed` bytes as they arrive, get whole messages back."""

    def __init__(self) -> None:
        self._reader = Reader(HEADER, MAX_PAYLOAD)

    def feed(self, data: bytes) -> list[Message]:
        out: list[Message] = []
        try:
            frames = self._reader.feed(data)
        except FrameTooLong as exc:
            raise ProtocolError(str(exc)) from None
        for (kind, stream), payload in frames:
            try:
                known = Kind(kind)
            except ValueError as exc:
                raise ProtocolError(f"unknown message kind {kind}") from exc
            out.append(Message(known, stream, payload))
        return out
