"""The RQ side of :mod:`tickets.jobs`: a job class that calls ``func(context, *args)`` and a
worker that hands its one context object to every job it performs.

The worker runs jobs in its own process, one after another, as RQ's ``SimpleWorker`` does —
not in a work horse forked per job. What a job needs stays warm from one job to the next:
the router's segmenter and classifier, pooled Vosk recognizers that have decoded before
(a fresh one costs about five times the CPU on its first message), the database pool.
Measured with forking, the fork alone cost about 100 ms of CPU per dispatch job and every
transcription job paid a cold recognizer (bench/results/router.md, call_burst.md). A job that
runs too long is stopped by RQ's timeout (a signal in this, the main thread). A job is taken
off its queue onto RQ's intermediate list (:mod:`tickets.jobclaim`), never popped into thin
air, and a worker keeps a liveness key while its process lives: a job whose worker was killed
before or while running it runs again within seconds (:mod:`tickets.jobrecovery`, run by the
relay), not after RQ's timeout.
The context is built once by the process that runs the worker (``hotline worker``); a test
calls a job function with a context of its own.

RQ's work loop quits on any error it does not expect, and a Redis connection dropped in the
middle of a job's bookkeeping — a Sentinel failover, a restarted Redis — is one; so
:func:`work_through_outages` starts a fresh worker after a pause until a stop is asked for,
for as long as Redis stays away (the process never exits on an outage).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from rq import Queue, SimpleWorker
from rq.executions import Execution
from rq.job import Job as RqJob
from rq.serializers import JSONSerializer

from tickets.jobclaim import ClaimingQueue
from tickets.jobrecovery import Liveness
from tickets.queues import QueueName
from tickets.workerbeat import QuietBookkeeping

log = logging.getLogger(__name__)

RESTART_PAUSE = 2.0  # seconds between a worker that quit on a lost Redis and the next
# RQ's maintenance (registries; its own clean-up of jobs left on an intermediate list, failed
# hence retried a minute after a maintenance run first saw them, stays as a backstop behind
# tickets.jobrecovery, which puts them back within seconds). RQ's default is 10 minutes.
MAINTENANCE_SECONDS = 30


class ContextJob(RqJob):
    """An RQ job whose function receives the worker's context as its first argument."""

    context: object | None = None

    def _execute(self) -> Any:
        if self.func is None:
            raise ValueError("cannot execute a job without a function")
        if self.context is None:
            raise RuntimeError(f"job {self.id} has no worker context (run it in ContextWorker)")
        return self.func(self.context, *self.args, **self.kwargs)


class ContextWorker(QuietBookkeeping):
    """An RQ worker that gives :attr:`context` to every job, takes jobs so that none is lost
    with it (:mod:`tickets.jobclaim`) and keeps a key alive while its process lives, by which
    :mod:`tickets.jobrecovery` knows that a job it was running needs running again; RQ's own
    heartbeats and state writes are spared (:mod:`tickets.workerbeat`)."""

    def __init__(self, queues: list[QueueName], *, connection: Redis, context: object) -> None:
        super().__init__([str(q) for q in queues], connection=connection,
                         serializer=JSONSerializer, job_class=ContextJob,
                         queue_class=ClaimingQueue, maintenance_interval=MAINTENANCE_SECONDS)
        self.context = context

    def work(self, *args: Any, **kwargs: Any) -> bool:
        liveness = Liveness(self.connection, self.name)
        liveness.start()
        try:
            return bool(super().work(*args, **kwargs))
        finally:
            liveness.stop()

    def prepare_job_execution(self, job: RqJob, remove_from_intermediate_queue: bool = False
                              ) -> None:
        # every job was claimed onto its queue's intermediate list, whatever the queue count
        super().prepare_job_execution(job, remove_from_intermediate_queue=True)

    def perform_job(self, job: RqJob, queue: Queue, execution: Execution) -> bool:
        if isinstance(job, ContextJob):
            job.context = self.context
        return bool(super().perform_job(job, queue, execution))


def work_through_outages(make: Callable[[], SimpleWorker], *, burst: bool = False,
                         pause: float = RESTART_PAUSE) -> bool:
    """Run workers made by ``make`` one after another: a worker that quit without being asked
    to (SIGTERM, SIGINT) or finishing its burst, or could not be made because Redis is away
    (a worker names its connection when made), is replaced after ``pause`` seconds, for as
    long as the outage lasts (one warning for it). Returns whether the last worker performed
    a job."""
    away = False
    while True:
        worker: SimpleWorker | None = None
        try:
            worker = make()
            away = False
            ok = bool(worker.work(burst=burst, with_scheduler=True))
        except (RedisConnectionError, RedisTimeoutError) as exc:
            if not away:
                log.warning("the RQ worker lost Redis (%s); a new one starts every %.0f s "
                            "until Redis answers", _first_line(exc), pause)
            away = True
            ok = False
        if worker is not None:
            _stop_listening(worker)
            if burst or _stop_requested(worker):
                return ok
            if not away:
                log.warning("the RQ worker quit on an error (a Redis failover?); a new one "
                            "starts in %.0f s", pause)
        elif burst:
            return False
        time.sleep(pause)
        if worker is not None and _stop_requested(worker):  # SIGTERM during the pause
            return ok


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _stop_listening(worker: SimpleWorker) -> None:
    """End the thread of a finished worker that listens for commands: a worker that quit on a
    lost Redis could not unsubscribe, and its thread would go on trying the old address."""
    thread = getattr(worker, "pubsub_thread", None)
    if thread is not None:
        thread.stop()


def _stop_requested(worker: SimpleWorker) -> bool:
    """Whether SIGTERM or SIGINT reached ``worker`` (RQ notes the time of the request)."""
    return getattr(worker, "_shutdown_requested_date", None) is not None
