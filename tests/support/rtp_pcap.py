"""A caller's RTP stream as a pcap file for SIPp's ``play_pcap_audio`` (pure, no I/O but
:func:`write_caller_pcap`).

One stream per caller script: G.711 speech (A-law or µ-law) and RFC 4733 DTMF events share ONE
SSRC, continuous sequence numbers and an RTP timestamp that advances 160 per 20 ms packet —
unlike SIPp's bundled ``dtmf_2833_*.pcap`` files, whose fixed sequence numbers and SSRC make
Asterisk drop every digit after the first.
"""

from __future__ import annotations

import struct
import wave
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

RATE = 8000
PTIME_MS = 20
SAMPLES_PER_PACKET = RATE * PTIME_MS // 1000  # 160
PT_PCMU = 0
PT_PCMA = 8
PT_EVENT = 101
DTMF_EVENTS = {**{str(d): d for d in range(10)}, "*": 10, "#": 11,
               "A": 12, "B": 13, "C": 14, "D": 15}
ULAW_SILENCE = 0xFF
ALAW_SILENCE = 0xD5

PCAP_GLOBAL_HEADER = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)  # Ethernet


# -- G.711 (ITU-T G.711, after the Sun reference implementation) ---------------------------

def linear_to_ulaw(sample: int) -> int:
    sign = 0x80 if sample < 0 else 0
    magnitude = min(-sample if sample < 0 else sample, 32635) + 0x84
    exponent = max((magnitude >> 7).bit_length() - 1, 0)
    mantissa = (magnitude >> (exponent + 3)) & 0x0F
    return ~(sign | (exponent << 4) | mantissa) & 0xFF


_ALAW_SEGMENT_ENDS = (0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF)


def linear_to_alaw(sample: int) -> int:
    value = sample >> 3
    if value >= 0:
        mask = 0xD5
    else:
        mask = 0x55
        value = -value - 1
    segment = next((i for i, end in enumerate(_ALAW_SEGMENT_ENDS) if value <= end), 8)
    if segment >= 8:
        return 0x7F ^ mask
    coded = segment << 4
    coded |= (value >> 1 if segment < 2 else value >> segment) & 0x0F
    return coded ^ mask


_ULAW = bytes(linear_to_ulaw(s - 65536 if s >= 32768 else s) for s in range(65536))
_ALAW = bytes(linear_to_alaw(s - 65536 if s >= 32768 else s) for s in range(65536))


def encode_g711(pcm16le: bytes, codec: str) -> bytes:
    """16-bit little-endian mono PCM → one G.711 byte per sample."""
    table = {"pcmu": _ULAW, "ulaw": _ULAW, "pcma": _ALAW, "alaw": _ALAW}[codec]
    count = len(pcm16le) // 2
    samples = struct.unpack(f"<{count}H", pcm16le[: count * 2])
    return bytes(table[s] for s in samples)


# -- packets --------------------------------------------------------------------------------

def ipv4_checksum(header: bytes) -> int:
    if len(header) % 2:
        header += b"\0"
    total = sum(struct.unpack(f"!{len(header) // 2}H", header))
    while total > 0xFFFF:
        total = (total & 0xFFFF) + (total >> 16)
    return int(~total & 0xFFFF)


def rtp_packet(*, payload_type: int, seq: int, timestamp: int, ssrc: int, payload: bytes,
               marker: bool = False) -> bytes:
    first = 0x80  # V=2, no padding, no extension, no CSRC
    second = (0x80 if marker else 0) | (payload_type & 0x7F)
    return struct.pack("!BBHII", first, second, seq & 0xFFFF, timestamp & 0xFFFFFFFF,
                       ssrc) + payload


def rfc4733_payload(event: int, *, end: bool, duration: int, volume: int = 10) -> bytes:
    return struct.pack("!BBH", event, (0x80 if end else 0) | (volume & 0x3F), duration)


def udp_ipv4_ethernet(payload: bytes, *, src_port: int, dst_port: int, ident: int,
                      src: bytes = b"\x7f\0\0\x01", dst: bytes = b"\x7f\0\0\x01") -> bytes:
    udp = struct.pack("!HHHH", src_port, dst_port, 8 + len(payload), 0) + payload
    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), ident & 0xFFFF, 0x4000, 64,
                         17, 0, src, dst)
    header = header[:10] + struct.pack("!H", ipv4_checksum(header)) + header[12:]
    ethernet = b"\0\0\0\0\0\x02" + b"\0\0\0\0\0\x01" + b"\x08\x00"
    return ethernet + header + udp


def pcap_record(frame: bytes, at_usec: int) -> bytes:
    return struct.pack("<IIII", at_usec // 1_000_000, at_usec % 1_000_000, len(frame),
                       len(frame)) + frame


# -- a caller script ------------------------------------------------------------------------

@dataclass(frozen=True)
class Silence:
    seconds: float


@dataclass(frozen=True)
class Speech:
    pcm16le: bytes  # 8 kHz mono


@dataclass(frozen=True)
class Digits:
    digits: str
    tone_ms: int = 160
    gap_ms: int = 200


Step = Silence | Speech | Digits


def read_wav_8k(path: Path) -> Speech:
    """An 8 kHz 16-bit mono WAV as a :class:`Speech` step (make one with sox)."""
    with wave.open(str(path), "rb") as w:
        if (w.getframerate(), w.getnchannels(), w.getsampwidth()) != (RATE, 1, 2):
            raise ValueError(f"{path}: need 8 kHz 16-bit mono")
        return Speech(w.readframes(w.getnframes()))


@dataclass(frozen=True)
class RtpFrame:
    payload_type: int
    marker: bool
    timestamp: int
    payload: bytes
    at_ms: int  # send time from the start of the stream


def rtp_frames(steps: Iterable[Step], *, codec: str = "pcma") -> list[RtpFrame]:
    """The caller's packets, 20 ms apart; a DTMF event holds the media clock's timestamp
    of its start while its duration grows (RFC 4733 §2.5), the end packet is sent 3 times."""
    audio_pt = PT_PCMA if codec in ("pcma", "alaw") else PT_PCMU
    silence_byte = ALAW_SILENCE if audio_pt == PT_PCMA else ULAW_SILENCE
    frames: list[RtpFrame] = []
    clock = 0  # RTP timestamp units (samples)
    first_audio = True

    def audio(chunk: bytes) -> None:
        nonlocal clock, first_audio
        chunk = chunk.ljust(SAMPLES_PER_PACKET, bytes([silence_byte]))
        frames.append(RtpFrame(audio_pt, first_audio, clock, chunk, clock // 8))
        first_audio = False
        clock += SAMPLES_PER_PACKET

    for step in steps:
        if isinstance(step, Silence):
            for _ in range(max(1, round(step.seconds * 1000 / PTIME_MS))):
                audio(b"")
        elif isinstance(step, Speech):
            coded = encode_g711(step.pcm16le, codec)
            for i in range(0, len(coded), SAMPLES_PER_PACKET):
                audio(coded[i:i + SAMPLES_PER_PACKET])
        else:
            for digit in step.digits:
                event = DTMF_EVENTS[digit.upper()]
                start = clock
                packets = max(1, step.tone_ms // PTIME_MS)
                for n in range(1, packets + 1):
                    duration = n * SAMPLES_PER_PACKET
                    end = n == packets
                    for _ in range(3 if end else 1):
                        frames.append(RtpFrame(PT_EVENT, n == 1, start,
                                               rfc4733_payload(event, end=end, duration=duration),
                                               clock // 8))
                    clock += SAMPLES_PER_PACKET
                for _ in range(max(1, step.gap_ms // PTIME_MS)):
                    audio(b"")
    return frames


def caller_pcap(frames: Sequence[RtpFrame], *, ssrc: int = 0x96010, first_seq: int = 1000,
                src_port: int = 6000, dst_port: int = 6001,
                start_usec: int = 1_700_000_000_000_000) -> bytes:
    """The whole pcap file: every frame with the one SSRC and consecutive sequence numbers.
    End-packet retransmissions are sent back to back (same send time)."""
    out = bytearray(PCAP_GLOBAL_HEADER)
    for i, frame in enumerate(frames):
        rtp = rtp_packet(payload_type=frame.payload_type, seq=first_seq + i,
                         timestamp=frame.timestamp, ssrc=ssrc, payload=frame.payload,
                         marker=frame.marker)
        out += pcap_record(udp_ipv4_ethernet(rtp, src_port=src_port, dst_port=dst_port,
                                             ident=i), start_usec + frame.at_ms * 1000)
    return bytes(out)


def duration_ms(frames: Sequence[RtpFrame]) -> int:
    return frames[-1].at_ms + PTIME_MS if frames else 0


def write_caller_pcap(path: Path, steps: Iterable[Step], *, codec: str = "pcma") -> int:
    """Write the pcap; returns its length in milliseconds."""
    frames = rtp_frames(steps, codec=codec)
    path.write_bytes(caller_pcap(frames))
    return duration_ms(frames)
