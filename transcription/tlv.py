"""Length-prefixed frames read incrementally (pure: bytes in, frames out; no I/O).

Both of the transcriber's wire protocols frame their messages the same way — a fixed
big-endian header whose last field is the payload's length, then the payload: AudioSocket
(:mod:`transcription.audiosocket`, ``>BH``) and the recognizer pipe
(:mod:`transcription.recproto`, ``>BII``). :class:`Reader` cuts frames out of a byte stream as
it arrives; each protocol turns the header fields into its own message type.
"""

from __future__ import annotations

import struct


class FrameTooLong(ValueError):
    """A header announcing a payload longer than the protocol allows."""

    def __init__(self, length: int, limit: int) -> None:
        super().__init__(f"message of {length} bytes exceeds {limit}")
        self.length = length
        self.limit = limit


class Reader:
    """:meth:`feed` bytes as they arrive; get back ``(header fields, payload)`` for every whole
    frame (the length field left out). A frame announcing more than ``max_payload`` bytes is
    refused as soon as its header is read, before its payload is buffered."""

    def __init__(self, header: struct.Struct, max_payload: int) -> None:
        self.header = header
        self.max_payload = max_payload
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[tuple[tuple[int, ...], bytes]]:
        self._buffer += data
        frames: list[tuple[tuple[int, ...], bytes]] = []
        size = self.header.size
        while len(self._buffer) >= size:
            *fields, length = self.header.unpack_from(self._buffer)
            if length > self.max_payload:
                raise FrameTooLong(length, self.max_payload)
            if len(self._buffer) < size + length:
                break
            frames.append((tuple(fields), bytes(self._buffer[size:size + length])))
            del self._buffer[:size + length]
        return frames

    @property
    def pending(self) -> int:
        """Bytes of an incomplete frame still buffered."""
        return len(self._buffer)
