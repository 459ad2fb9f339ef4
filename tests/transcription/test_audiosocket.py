"""The AudioSocket frame codec, with known-answer byte strings."""

from __future__ import annotations

import uuid

import pytest

from transcription import audiosocket as a

CALL = uuid.UUID("0f0e0d0c-0b0a-0908-0706-050403020100")


def test_encode_known_answers() -> None:
    assert a.uuid_frame(CALL) == bytes.fromhex("010010" "0f0e0d0c0b0a09080706050403020100")
    assert a.uuid_frame(str(CALL)) == a.uuid_frame(CALL)
    assert a.audio_frame(b"\x01\x00\xff\x7f") == bytes.fromhex("100004" "0100ff7f")
    assert a.dtmf_frame("#") == b"\x03\x00\x01#"
    assert a.hangup_frame() == b"\x00\x00\x00"
    assert len(a.audio_frame(bytes(a.FRAME_BYTES))) == 3 + 320


def test_decode_across_arbitrary_splits() -> None:
    wire = (a.uuid_frame(CALL) + a.audio_frame(bytes(range(200)) * 2) + a.dtmf_frame("5")
            + a.encode(a.Kind.ERROR, b"\x02") + a.hangup_frame())
    for step in (1, 2, 3, 7, 64, len(wire)):
        decoder = a.Decoder()
        frames = []
        for i in range(0, len(wire), step):
            frames += decoder.feed(wire[i:i + step])
        assert decoder.pending == 0
        assert [f.kind for f in frames] == [a.Kind.UUID, a.Kind.AUDIO, a.Kind.DTMF,
                                            a.Kind.ERROR, a.Kind.HANGUP]
        assert frames[0].uuid == CALL
        assert frames[1].payload == bytes(range(200)) * 2
        assert frames[2].digit == "5"
        assert frames[3].payload == b"\x02"


def test_incomplete_frame_waits() -> None:
    decoder = a.Decoder()
    assert decoder.feed(b"\x10\x01\x40" + bytes(100)) == []
    assert decoder.pending == 103
    (frame,) = decoder.feed(bytes(220))
    assert frame.kind is a.Kind.AUDIO and len(frame.payload) == 320


def test_unknown_kind_is_a_protocol_error() -> None:
    with pytest.raises(a.ProtocolError, match="0x42"):
        a.Decoder().feed(b"\x42\x00\x00")


def test_wrong_payloads() -> None:
    with pytest.raises(a.ProtocolError):
        _ = a.Frame(a.Kind.UUID, b"short").uuid
    with pytest.raises(a.ProtocolError):
        _ = a.Frame(a.Kind.AUDIO, b"#").digit
    with pytest.raises(a.ProtocolError):
        a.dtmf_frame("x")
    with pytest.raises(a.ProtocolError):
        a.encode(a.Kind.AUDIO, bytes(0x10000))
