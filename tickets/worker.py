"""The RQ side of :mod:`tickets.jobs`: a job class that calls ``func(context, *args)`` and a
worker that hands its one context object to every job it performs.

The worker runs jobs in its own process, one after another, as RQ's ``SimpleWorker`` does —
not in a work horse forked per job. What a job needs stays warm from one job to the next:
the router's segmenter and classifier, pooled Vosk recognizers that have decoded before
(a fresh one costs about five times the CPU on its first message), the database pool.
Measured with forking, the fork alone cost about 100 ms of CPU per dispatch job and every
transcription job paid a cold recognizer (bench/results/router.md, call_burst.md). A job that
runs too long is stopped by RQ's timeout (a signal in this, the main thread); a job that kills
the process is retried after ``hotline run`` restarts the worker (RQ's abandoned-job handling).
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

from tickets.queues import QueueName

log = logging.getLogger(__name__)

RESTART_PAUSE = 2.0  # seconds between a worker that quit on a lost Redis and the next
# RQ's maintenance (registries, and jobs stuck between BLMOVE and their start: a job whose
# BLMOVE answer was lost when Redis died is failed, hence retried, one minute after a
# maintenance run first saw it). RQ's default is 10 minutes; every 30 s brings such a job
# back within about two minutes.
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


class ContextWorker(SimpleWorker):
    """An RQ worker that gives :attr:`context` to every job."""

    def __init__(self, queues: list[QueueName], *, connection: Redis, context: object) -> None:
        super().__init__([str(q) for q in queues], connection=connection,
                         serializer=JSONSerializer, job_class=ContextJob,
                         maintenance_interval=MAINTENANCE_SECONDS)
        self.context = context

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
