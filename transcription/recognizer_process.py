"""A recognizer process: Vosk decoding for live calls, away from the call path.

``python -m transcription.recognizer_process --model DIR --streams K`` loads the model, warms
``K`` recognizers (so a burst of calls does not pay the cold graph-composition cost one by one),
lowers its own CPU priority (``--nice``: the FastAGI event loop, Asterisk and the web server
always come first), says READY and then serves :mod:`transcription.recproto` messages on
stdin/stdout until stdin closes. Single-threaded: one process decodes on one core; the parent
runs one process per core it can spare and admits at most ``K`` streams to each.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import BinaryIO

from transcription import batch
from transcription.audiosocket import BYTES_PER_SECOND
from transcription.chinese import postprocess
from transcription.engine import Engine, Stream
from transcription.models import ModelLocation
from transcription.recproto import Decoder, Kind, Message, encode_json
from transcription.warmup import warm

DECODE_BYTES = BYTES_PER_SECOND // 5  # at most 200 ms per decoder call


class Server:
    def __init__(self, engine: Engine, out: BinaryIO) -> None:
        self.engine = engine
        self.out = out
        self.streams: dict[int, Stream] = {}
        self.pieces: dict[int, int] = {}  # bytes per decoder call, by stream

    def send(self, kind: Kind, stream: int, data: dict[str, object]) -> None:
        self.out.write(encode_json(kind, stream, data))
        self.out.flush()

    def handle(self, message: Message) -> None:
        sid = message.stream
        try:
            if message.kind is Kind.OPEN:
                data = message.data()
                grammar = data.get("grammar")
                self.streams[sid] = self.engine.stream(
                    grammar=[str(w) for w in grammar] if isinstance(grammar, list) else None)
                # a batch job's file: decoded in the pieces the worker's own model used to
                self.pieces[sid] = (batch.CHUNK_BYTES if data.get("batch") is True
                                    else DECODE_BYTES)
            elif message.kind is Kind.AUDIO:
                stream = self.streams.get(sid)
                if stream is not None:
                    self._accept(sid, stream, message.payload)
            elif message.kind is Kind.CLOSE:
                stream = self.streams.pop(sid, None)
                self.pieces.pop(sid, None)
                if stream is not None:
                    result = stream.finish().as_json()
                    self.send(Kind.FINAL, sid, {**result, "model": self.engine.name})
        except Exception as exc:  # one broken stream never stops the others
            self.streams.pop(sid, None)
            self.pieces.pop(sid, None)
            self.send(Kind.FAILED, sid, {"error": f"{type(exc).__name__}: {exc}"})

    def _accept(self, sid: int, stream: Stream, pcm: bytes) -> None:
        piece = self.pieces.get(sid, DECODE_BYTES)
        for offset in range(0, len(pcm), piece):
            update = stream.accept(pcm[offset:offset + piece])
            if update.segment is not None:
                self.send(Kind.SEGMENT, sid, {"text": postprocess(update.segment.text)})
            elif update.partial is not None:
                self.send(Kind.PARTIAL, sid, {"text": postprocess(update.partial)})


def serve(engine: Engine, source: BinaryIO, out: BinaryIO) -> None:
    server = Server(engine, out)
    decoder = Decoder()
    fd = source.fileno()
    while True:
        data = os.read(fd, 65536)
        if not data:
            return  # the parent went away
        for message in decoder.feed(data):
            server.handle(message)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--name", required=True, help="the model's name in transcripts")
    parser.add_argument("--streams", type=int, default=4)
    parser.add_argument("--warmup", type=Path, help="a WAV of speech to warm recognizers with")
    parser.add_argument("--nice", type=int, default=10)
    args = parser.parse_args(argv)
    if args.nice:
        os.nice(args.nice)
    out = sys.stdout.buffer
    sys.stdout = sys.stderr  # nothing but protocol messages on the pipe
    engine = Engine(ModelLocation(args.model, args.name, "setting"))
    started = time.perf_counter()
    engine.model()
    loaded = time.perf_counter() - started
    warmed = warm(engine, args.streams, args.warmup)
    out.write(encode_json(Kind.READY, 0, {
        "model": engine.name, "streams": args.streams, "load_seconds": round(loaded, 3),
        "warm_seconds": round(warmed, 3), "pid": os.getpid()}))
    out.flush()
    try:
        serve(engine, sys.stdin.buffer, out)
    except (BrokenPipeError, KeyboardInterrupt):
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
