"""The RQ side of :mod:`router.jobs`: a job class that calls ``func(context, *args)`` and a
worker that hands its one context object to every job it performs.

The context is built once by the process that runs the worker (``hotline worker``) and shared
by the work horses RQ forks; a test calls a job function with a context of its own.
"""

from __future__ import annotations

from typing import Any

from redis import Redis
from rq import Queue, Worker
from rq.executions import Execution
from rq.job import Job as RqJob
from rq.serializers import JSONSerializer

from router.queues import QueueName


class ContextJob(RqJob):
    """An RQ job whose function receives the worker's context as its first argument."""

    context: object | None = None

    def _execute(self) -> Any:
        if self.func is None:
            raise ValueError("cannot execute a job without a function")
        if self.context is None:
            raise RuntimeError(f"job {self.id} has no worker context (run it in ContextWorker)")
        return self.func(self.context, *self.args, **self.kwargs)


class ContextWorker(Worker):
    """An RQ worker that gives :attr:`context` to every job."""

    def __init__(self, queues: list[QueueName], *, connection: Redis, context: object) -> None:
        super().__init__([str(q) for q in queues], connection=connection,
                         serializer=JSONSerializer, job_class=ContextJob)
        self.context = context

    def perform_job(self, job: RqJob, queue: Queue, execution: Execution) -> bool:
        if isinstance(job, ContextJob):
            job.context = self.context
        return bool(super().perform_job(job, queue, execution))
