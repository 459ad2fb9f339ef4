"""The AudioSocket wire protocol (pure: bytes in, frames out; no I/O).

Asterisk's ``AudioSocket(UUID,HOST:PORT)`` opens a TCP connection and exchanges frames of
1 byte kind + 2 bytes big-endian payload length + payload:

====  ===========================================================
0x00  hangup (no payload)
0x01  the call's UUID (16 bytes, binary)
0x03  a DTMF digit (1 ASCII byte)
0x10  audio: 8 kHz 16-bit little-endian mono PCM (320 bytes = 20 ms)
0xff  error (optional 1-byte code)
====  ===========================================================
"""

from __future__ import annotations

import struct
import uuid
from dataclasses import dataclass
from enum import IntEnum

from transcription.tlv import Reader

HEADER = struct.Struct(">BH")
SAMPLE_RATE = 8000
BYTES_PER_SECOND = SAMPLE_RATE * 2
FRAME_BYTES = 320  # 20 ms
MAX_PAYLOAD = 0xFFFF


class Kind(IntEnum):
    HANGUP = 0x00
    UUID = 0x01
    DTMF = 0x03
    AUDIO = 0x10
    ERROR = 0xFF


class ProtocolError(ValueError):
    """Bytes that are not a valid AudioSocket frame."""


@dataclass(frozen=True)
class Frame:
    kind: Kind
    payload: bytes = b""

    @property
    def uuid(self) -> uuid.UUID:
        if self.kind is not Kind.UUID or len(self.payload) != 16:
            raise ProtocolError("not a 16-byte UUID frame")
        return uuid.UUID(bytes=self.payload)

    @property
    def digit(self) -> str:
        if self.kind is not Kind.DTMF or len(self.payload) != 1:
            raise ProtocolError("not a 1-byte DTMF frame")
        return self.payload.decode("ascii")


def encode(kind: Kind, payload: bytes = b"") -> bytes:
    if len(payload) > MAX_PAYLOAD:
        raise ProtocolError(f"payload of {len(payload)} bytes exceeds {MAX_PAYLOAD}")
    return HEADER.pack(kind, len(payload)) + payload


def uuid_frame(call: uuid.UUID | str) -> bytes:
    value = call if isinstance(call, uuid.UUID) else uuid.UUID(call)
    return encode(Kind.UUID, value.bytes)


def audio_frame(pcm: bytes) -> bytes:
    return encode(Kind.AUDIO, pcm)


def dtmf_frame(digit: str) -> bytes:
    if len(digit) != 1 or digit not in "0123456789*#ABCD":
        raise ProtocolError(f"not a DTMF digit: {digit!r}")
    return encode(Kind.DTMF, digit.encode("ascii"))


def hangup_frame() -> bytes:
    return encode(Kind.HANGUP)


class Decoder:
    """Incremental decoder: :meth:`feed` bytes as they arrive, get complete frames back."""

    def __init__(self) -> None:
        self._reader = Reader(HEADER, MAX_PAYLOAD)

    def feed(self, data: bytes) -> list[Frame]:
        frames: list[Frame] = []
        for (kind_byte,), payload in self._reader.feed(data):
            try:
                kind = Kind(kind_byte)
            except ValueError as exc:
                raise ProtocolError(f"unknown frame kind 0x{kind_byte:02x}") from exc
            frames.append(Frame(kind, payload))
        return frames

    @property
    def pending(self) -> int:
        """Bytes of an incomplete frame still buffered."""
        return self._reader.pending
