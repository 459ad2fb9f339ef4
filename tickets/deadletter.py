"""Jobs that failed every attempt (RQ's failed registry per queue): list them, send them back.

A job lands here only after its queue's retries (:data:`tickets.queues.RETRY_INTERVALS`) are
used up; it stays :data:`tickets.queues.FAILED_TTL` for a person to look at
(``hotline jobs failed``) and to send back once the cause is fixed (``hotline jobs retry``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from redis import Redis
from rq.exceptions import NoSuchJobError
from rq.job import Job as RqJob
from rq.registry import FailedJobRegistry
from rq.serializers import JSONSerializer

from tickets.queues import QueueName, queue


@dataclass(frozen=True)
class FailedJob:
    id: str
    queue: QueueName
    path: str
    args: tuple[object, ...]
    ended_at: datetime | None
    error: str  # the last line of the traceback


def _registry(name: QueueName, redis: Redis) -> FailedJobRegistry:
    return FailedJobRegistry(queue=queue(name, redis))


def failed(redis: Redis, queues: list[QueueName]) -> list[FailedJob]:
    found: list[FailedJob] = []
    for name in queues:
        for job_id in _registry(name, redis).get_job_ids():
            try:
                job = RqJob.fetch(job_id, connection=redis, serializer=JSONSerializer)
            except NoSuchJobError:
                continue
            info = job.latest_result()
            trace = (info.exc_string or "") if info is not None else ""
            last = next((line for line in reversed(trace.strip().splitlines()) if line), "")
            found.append(FailedJob(job_id, name, job.func_name or "?", tuple(job.args),
                                   job.ended_at, last))
    return found


def retry(redis: Redis, queues: list[QueueName], job_ids: list[str] | None = None) -> int:
    """Requeue the given failed jobs (all of ``queues``' when ``job_ids`` is None)."""
    count = 0
    for name in queues:
        registry = _registry(name, redis)
        for job_id in registry.get_job_ids():
            if job_ids is None or job_id in job_ids:
                registry.requeue(job_id)
                count += 1
    return count
